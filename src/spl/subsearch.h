// Load-time resolution of `[ | inputlookup … ]` search terms.
//
// Splunk runs a subsearch first and pastes its results into the outer search
// through an implicit `format`: `( ( f1="a" AND f2="b" ) OR ( f1="c" ) )`, one
// parenthesised group per result row, values of a multivalue field ORed; no
// results give `NOT ( )`, which matches nothing (`( )` matches everything). When
// the subsearch reads only a lookup table (inputlookup, then rename / table /
// fields / search / where / eval / dedup / head), its results are fixed at
// load, so the term becomes an ordinary filter: it can prefilter events and
// projection sees its fields. Anything else (a subsearch over events, `return`,
// a `search`/`query` result field that pastes raw text) is left to run time: a
// mid-pipeline `search` then runs the subsearch as another stream of the plan and
// applies the term to the rows it gets (make_search in op_filter.cpp).
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/value.h"
#include "ir/atom_table.h"
#include "spl/ast.h"

namespace vigil::content {
class LookupRegistry;
}

namespace vigil::spl {

/// One result row as `format` renders it: (field, its values) in the row's field order.
using FormatRow = std::vector<std::pair<std::string, std::vector<std::string>>>;

/// Runs a `[ … ]` term's pipeline at load time; nullopt when it cannot be resolved there.
using SubsearchResolver = std::function<std::optional<std::vector<FormatRow>>(const Pipeline&)>;

/// Splunk's default cap on the results a subsearch hands to its outer search (limits.conf maxout).
inline constexpr size_t kSubsearchMaxResults = 10000;

/// A subsearch's result rows as `format` reads them (at most kSubsearchMaxResults; `_` fields left
/// out); nullopt when a row has a `search`/`query` field, whose text would be pasted as search syntax.
std::optional<std::vector<FormatRow>> format_rows(const Table& rows);

/// A resolver over `lookups` (null: resolves nothing). `atoms` serves the subsearch's own
/// `search`/`where` commands. Rows past kSubsearchMaxResults are dropped, as Splunk drops them.
SubsearchResolver lookup_subsearch_resolver(const content::LookupRegistry* lookups, ir::AtomTable* atoms);

}  // namespace vigil::spl
