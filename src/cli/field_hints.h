// Hints for ad-hoc searches: the fields a query reads that no event of the
// logs read carries, each with the closest field name that does occur
// (`no event has field Logon_Typ; did you mean Logon_Type?`), and the
// indexes a query names that no event is in. A query whose field never
// occurs silently returns nothing; this says why.
#pragma once
#include <string>
#include <vector>

#include "engine/engine.h"
#include "ir/atom_table.h"
#include "ir/rule.h"

namespace vigil::cli {

/// One line per field `rule` reads that no event had (`seen`: noted as the search ran), and one per
/// `index=` term that no event's index matches.
std::vector<std::string> missing_field_hints(const ir::CompiledRule& rule, const ir::AtomTable& atoms,
                                             const Engine::FieldsSeen& seen);

/// The closest of `candidates` to `field` (same name ignoring case, `_` and `.` first, then edit
/// distance ≤ 2); empty when none is close.
std::string closest_field(const std::string& field, const std::vector<std::string>& candidates);

}  // namespace vigil::cli
