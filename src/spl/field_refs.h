// Which input fields an SPL expression reads: for the engine's projection (a
// stream captures only the fields its plan reads) and for field-aware lint.
#pragma once
#include <string>
#include <vector>

#include "spl/ast.h"

namespace vigil::spl {

/// Appends every field an eval/where expression reads and returns true; false when it cannot tell
/// or its value is not a function of those fields: searchmatch("…") reads the fields its search
/// string names, at run time; random() and time() change from call to call.
bool expression_fields(const Expr& e, std::vector<std::string>& out);

/// Appends the fields a search expression reads; false when it has bare keywords or
/// wildcard field names (it may read any field).
bool search_fields(const SearchExpr& e, std::vector<std::string>& out);

}  // namespace vigil::spl
