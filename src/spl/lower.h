// Lowering of SPL filters to IR predicates over interned atoms (ir/atom.h).
//
// lower_search (search / tstats WHERE; case-insensitive unless CASE()):
//   f=v (no `*`)          -> eq v
//   f=*                    -> exists f
//   f="*x*" / "x*" / "*x"  -> contains x / starts_with x / ends_with x
//   other `*` patterns     -> wildcard (value in ir's glob syntax: `*` kept; a literal
//                             `\` before `*`/`?`/`\` and every literal `?` are
//                             backslash-escaped, because SPL has no `?` wildcard)
//   f!=v                   -> exists(f) AND NOT (f=v)     (Splunk's != vs NOT difference)
//   f IN (a, b)            -> OR of f=a, f=b (each value lowered as above)
//   f<v, f<=v, f>v, f>=v   -> lt/le/gt/ge (numeric; a warning when v is not a number)
//   keyword                -> keyword atom (no field; surrounding `*` trimmed); `*` -> always true
//   [subsearch] term       -> with a resolver that can run it at load (spl/subsearch.h): Splunk's
//                             `format` of its rows, OR of rows, AND within a row, each f=v
//                             lowered as above (no rows: always false, as format's `NOT ( )`);
//                             otherwise a warning and true (false under a NOT): the predicate
//                             then keeps a superset of what the search keeps
// Field names are kept exactly as written (`Processes.process_name`) and
// interned with field_id().
//
// lower_where (where / eval booleans; case-sensitive, as Splunk's where is):
//   f="lit" / f=="lit"     -> eq (case-sensitive); f!="lit" -> exists(f) AND NOT eq
//   f=g (two fields)       -> field_eq; f=5 -> ge 5 AND le 5 (numeric equality)
//   f<5 …                  -> lt/le/gt/ge
//   like(f,"p") / f LIKE "p" -> `%x%` contains, `x%` starts_with, `%x` ends_with, no
//                             wildcard eq, otherwise an anchored regex (`%` -> `.*`,
//                             `_` -> `.`); case-sensitive like the rest of where
//                             (Splunk's like() case rule is unverified, spl.md §5)
//   match(f,"re")          -> regex (case-sensitive; PCRE `(?i)` in the pattern still works)
//   isnotnull(f) / isnull(f) -> exists / NOT exists
//   f IN (…) / in(f, …)    -> OR of eq;  cidrmatch("net", f) -> cidr
//   AND / OR / NOT         -> and / or / not
// Anything else sets complete=false. The predicate returned is then a sound
// over-approximation (every row the where keeps satisfies it): an unlowerable
// subtree becomes `true` under an even number of NOTs and `false` under an odd
// number, so it can serve as a prefilter while the where operator still runs.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "ir/atom_table.h"
#include "ir/predicate.h"
#include "spl/ast.h"
#include "spl/subsearch.h"

namespace vigil::spl {

/// Lower a search/tstats-WHERE expression (a null SearchCmd::expr is simply always_true()). With
/// `time_bounds` (a stream's leading search), the `earliest=`/`latest=` terms of its top-level AND
/// are its time range (time_bounds()), not field tests: true here.
ir::Predicate lower_search(const SearchExpr& e, ir::AtomTable& atoms, std::vector<std::string>* warnings = nullptr,
                           const SubsearchResolver* resolve = nullptr, bool time_bounds = false);

/// Splunk's time modifiers among the terms of a leading search's top-level AND: `earliest=-24h@h`,
/// `latest=now`, epoch seconds or ISO-8601 (the last of each wins).
struct TimeBounds {
  std::optional<std::string> earliest, latest;
};
TimeBounds time_bounds(const SearchExpr& e);
/// An `earliest=`/`latest=` term under an OR or a NOT: not a time range (time_bounds() takes those of
/// the top-level AND only), and as a field test it would match nothing.
bool nested_time_bound(const SearchExpr& e);

/// Lower the simple subset of a where expression; `complete` tells whether the predicate is exact.
ir::Predicate lower_where(const Expr& e, ir::AtomTable& atoms, bool& complete);

}  // namespace vigil::spl
