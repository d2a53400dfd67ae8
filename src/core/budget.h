// The budget for what rule content may build at run time.
//
// Rules come from the internet: an `eval x=x.x` loop, a replace() that grows
// its input, two mvexpands of 100k values, printf("%0999999999d") or a 50 MB
// rule file must cost a bounded amount of memory and time. One set of limits,
// documented here and in the README; when a rule hits one, the operation
// yields null (or stops adding values/rows), and a located warning with the
// reason `budget` names the rule and the limit, counted in the summary.
#pragma once
#include <cstddef>

namespace vigil::budget {

/// Bytes in one string value a rule builds (eval concatenation, replace(), printf()).
inline constexpr size_t kMaxValueBytes = 4u << 20;
/// Values in one multivalue field a rule builds (mvrange, rex max_match=0, split).
inline constexpr size_t kMaxValues = 100'000;
/// Rows one operator may produce from its input (mvexpand).
inline constexpr size_t kMaxRows = 1'000'000;
/// Values (summed over all fields of all rows) one operator may produce:
/// rows alone do not bound memory when each copied row carries a large field.
inline constexpr size_t kMaxCells = 10'000'000;
/// printf() field width and precision.
inline constexpr size_t kMaxFormatWidth = 4096;
/// Bytes of one rule file (ESCU or Sigma YAML); the largest real rule is ~30 KB.
inline constexpr size_t kMaxRuleFileBytes = 4u << 20;

}  // namespace vigil::budget
