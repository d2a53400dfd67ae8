// Sigma `condition` expressions, parsed by recursive descent straight into an
// ir::Predicate over the rule's already-lowered search identifiers.
//
// Grammar (keywords case-insensitive; precedence: `x of` > not > and > or):
//   expr    := and_expr ( "or" and_expr )*
//   and_expr:= not_expr ( "and" not_expr )*
//   not_expr:= "not" not_expr | primary
//   primary := "(" expr ")" | quant | IDENT
//   quant   := ( "all" | "any" | NUMBER ) "of" ( "them" | PATTERN )
// PATTERN is an identifier with `*` wildcards. `them` covers every identifier
// except those starting with `_`. `N of` with N > 1 means "at least N".
// Nesting is limited so hostile input cannot exhaust the stack.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "ir/predicate.h"

namespace vigil::sigma {

struct ConditionError {
  std::string message;
  size_t offset = 0;  ///< byte offset in the condition text
};

struct ConditionResult {
  ir::Predicate predicate;
  std::optional<ConditionError> error;
};

/// Parse `text` and combine `searches` (identifier -> lowered predicate) accordingly.
ConditionResult parse_condition(std::string_view text, const std::map<std::string, ir::Predicate>& searches);

}  // namespace vigil::sigma
