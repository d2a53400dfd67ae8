// Lowering of Sigma detection items (`field|mod|mod: value(s)`) and search
// identifiers to ir::Predicate over interned atoms.
//
// Values are kept in Sigma's escaped pattern form (`*`, `?` wildcards; `\*`,
// `\?`, `\\` escapes; any other backslash is literal) through the value
// modifiers (windash, base64, base64offset, utf16*, wide, expand), then the
// match modifier (contains/startswith/endswith add `*`) and each pattern is
// classified: no wildcard -> eq, `*lit*` -> contains, `lit*` -> starts_with,
// `*lit` -> ends_with, `*` -> exists, anything else -> wildcard. So a plain
// `'*\wmic.exe'` and `|endswith: '\wmic.exe'` are one atom.
// Expansions of one value (base64offset's three shifts, windash's dashes,
// placeholder values) are OR-ed even under `|all`, as in pySigma.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "core/yaml.h"

#include "ir/atom_table.h"
#include "ir/predicate.h"
#include "sigma/sigma.h"

namespace vigil::sigma {

struct Problem {
  std::string message;
  yaml::Mark mark;
};

struct LowerContext {
  ir::AtomTable& atoms;
  const Logsources& logsources;
  const Logsources::Entry* entry = nullptr;  ///< the rule's logsource (field mapping); may be null
  std::vector<Problem> errors;                ///< the rule cannot be compiled
  std::vector<Problem> unresolved;            ///< compiled, but cannot run (e.g. unconfigured placeholder)
};

/// One detection item: `key` is `field|modifiers` (an empty field makes a keyword search).
ir::Predicate lower_item(std::string_view key, const yaml::Node& value, const yaml::Mark& mark, LowerContext& cx);
/// One search identifier's value: a map (AND of items), a list (OR of maps / keywords) or a keyword.
ir::Predicate lower_search(const yaml::Node& value, LowerContext& cx);

/// Pattern helpers (exposed for tests).
std::string sigma_escape(std::string_view literal);
std::string base64_encode(std::string_view bytes);
/// pySigma's base64offset: the three shift-invariant substrings of base64(value).
std::vector<std::string> base64_offsets(std::string_view bytes);
/// pySigma's windash: every `-`/`/` that starts a word (`\B[-/]\b`) in all five dash forms.
std::vector<std::string> windash_variants(std::string_view pattern);

}  // namespace vigil::sigma
