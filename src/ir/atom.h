// The indicator atom: (field, kind, value, options). Every rule in either
// language lowers its filters to boolean trees over atoms; atoms are interned
// once for the loaded corpus so that a shared indicator is one object, counted
// once per rule for the catalog and evaluated once per event by the matcher.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "core/intern.h"

namespace vigil::ir {

enum class AtomKind : uint8_t {
  eq,           ///< whole-value equality (value has no wildcard)
  wildcard,     ///< whole-value glob; `*` any run, `?` any one char (Sigma only)
  contains,     ///< substring
  starts_with,
  ends_with,
  regex,        ///< PCRE, unanchored (Sigma `re`, SPL `match()`/`regex`)
  cidr,         ///< IPv4/IPv6 network, value like 10.0.0.0/8
  lt, le, gt, ge,  ///< numeric comparison with `value` as a number
  exists,       ///< the field is present (any value, empty included)
  field_eq,     ///< equal to the value of another field (`value` is that field's name)
  keyword,      ///< field-less search term: any field (or the raw text) contains/matches it
  field_contains,     ///< contains the value of another field (Sigma `fieldref|contains`)
  field_starts_with,  ///< starts with the value of another field (`fieldref|startswith`)
  field_ends_with,    ///< ends with the value of another field (`fieldref|endswith`)
};
const char* atom_kind_name(AtomKind k);
/// The kinds that compare a field with another field's value (`value` names that field).
inline bool is_field_ref(AtomKind k) {
  return k == AtomKind::field_eq || k == AtomKind::field_contains || k == AtomKind::field_starts_with ||
         k == AtomKind::field_ends_with;
}
/// A field-reference atom's test of value `v` against the other field's value `o`.
bool field_ref_matches(AtomKind k, std::string_view v, std::string_view o, bool case_sensitive);

struct Atom {
  Symbol field = kNoSymbol;     ///< interned canonical field name (core/intern.h field_names())
  AtomKind kind = AtomKind::eq;
  std::string value;            ///< literal, pattern or number text
  bool case_sensitive = false;  ///< SPL search/tstats and Sigma: insensitive; SPL where/eval: sensitive

  /// Its identity as one text (field, kind, case, value folded when case-insensitive): atoms with
  /// equal keys are one atom in an AtomTable (which compares the parts without building the text).
  std::string key() const;
  bool operator==(const Atom& o) const {
    return field == o.field && kind == o.kind && case_sensitive == o.case_sensitive && value == o.value;
  }
};

using AtomId = uint32_t;

}  // namespace vigil::ir
