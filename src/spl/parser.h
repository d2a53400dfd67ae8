// SPL lexer + recursive-descent parser (hand-written: no library parses SPL).
// Input is macro-expanded text (spl/macro_expand.h). Never throws; nesting is
// depth-limited; an error names the offending span.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "spl/ast.h"

namespace vigil::spl {

struct SplError {
  std::string message;
  Span span;
  std::string hint;
};

struct ParseResult {
  std::unique_ptr<Pipeline> pipeline;  ///< null when error is set
  std::optional<SplError> error;
};

/// Parse a whole pipeline (`search … | cmd … | cmd …`, or `| tstats …`).
ParseResult parse_pipeline(std::string_view text);

/// Parse a pipeline that runs on results rather than on events (a subsearch body,
/// `appendpipe`, a `foreach` body after template substitution, a `map` string): a
/// leading known command word (`eval …`, `stats …`) is that command, not search terms.
ParseResult parse_subpipeline(std::string_view text);

struct ExprResult {
  ExprPtr expr;
  std::optional<SplError> error;
};
/// Parse one eval/where expression.
ExprResult parse_expression(std::string_view text);

/// 1-based line and column of a byte offset in `text` (for diagnostics).
std::pair<uint32_t, uint32_t> line_col(std::string_view text, uint32_t offset);

}  // namespace vigil::spl
