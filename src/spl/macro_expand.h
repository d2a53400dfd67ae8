// SPL macro expansion: `name` and `name(a, b)` are replaced, recursively, by
// their definitions with `$arg$` replaced by the literal argument text.
// Macros inside double-quoted strings are not expanded (Splunk documents
// this); ``` … ``` comments are stripped.
//
// Parenthesisation rule (why: `sysmon` and `wineventlog_security` expand to
// bare OR chains; `(def)` keeps one macro = one search term whatever the
// surrounding precedence, spl.md §4):
// - command position (start of the text, right after a top-level `|`, or right
//   after the `[` of a subsearch): the definition is inserted bare when its
//   first word is an SPL command (`convert …`, `rename X.* AS *`, `search *`),
//   because a command must not be wrapped; otherwise it is a search expression
//   (`sourcetype=… OR source=…`) and is wrapped.
// - value position (right after `=`, `,`, or inside an `IN (` list): bare, so
//   `summariesonly=`summariesonly_config`` and ``x IN (`list_macro`)`` stay valid.
// - expression position inside a search expression (the implicit leading
//   search, `search`, `where`, and a tstats/from clause after its `where`):
//   wrapped in parentheses. A definition that starts with the `search` command
//   (filter stubs `search *`, `search NOT *`) drops that word there, so it
//   becomes the terms it denotes.
// - any other position (command arguments such as `tstats `summariesonly``):
//   bare.
// Missing non-filter macros are listed in `missing` and expand to nothing
// (to `search *` in command position, so the pipeline stays well formed).
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "content/macros.h"
#include "spl/parser.h"

namespace vigil::spl {

struct MacroExpansion {
  std::string text;                   ///< expanded, comment-free SPL
  std::vector<std::string> used;      ///< distinct macro names expanded, first-use order (`name` or `name(N)`)
  std::vector<std::string> missing;   ///< distinct non-filter macros with no definition
  std::optional<SplError> error;      ///< cycle, depth limit, unterminated macro/comment (span in the input)
};

/// Expand every macro of `search`. Never throws.
MacroExpansion expand_macros(std::string_view search, const content::MacroTable& macros);

}  // namespace vigil::spl
