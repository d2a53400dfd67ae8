// SPL pipeline operators: each non-generating command of a pipeline becomes an
// ir::Operator that transforms the captured rows in place (plan.h). Building
// an operator validates everything that can be checked before data arrives
// (regexes, eval functions, lookup tables, spans); a command that cannot run
// comes back with an error that says why, and the rule is then reported as not
// executable rather than half-run.
//
// Documented choices where Splunk's reference text was not available (spl.md
// "unverified"): `stats … by` drops rows whose BY field is null; `join` defaults
// to type=inner, max=1 (max=0 is unlimited), and `type=outer` behaves as `left`;
// `lookup … OUTPUT` clears its output fields on events that match no row (and
// get no default_match); events without the lookup's input field are left alone.
// Commands that write or execute (outputlookup, map, sendemail, script, collect,
// run) are refused unless writes are allowed; iplocation has no GeoIP database.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "content/lookups.h"
#include "ir/atom_table.h"
#include "ir/plan.h"
#include "spl/ast.h"

namespace vigil::spl {

struct OperatorEnv {
  ir::AtomTable* atoms = nullptr;                    ///< for lowering mid-pipeline `search`
  const content::LookupRegistry* lookups = nullptr;  ///< may be null: lookup commands then fail to build
  /// Compile a subsearch (join/append) into another stream of the same plan; returns the stream index or
  /// nullopt + error.
  std::function<std::optional<size_t>(const Pipeline&, std::string* error)> add_subsearch;
  bool allow_writes = false;  ///< outputlookup etc. refused unless true
  /// The rows are still events (no aggregation before): a bare `search` term searches what an event
  /// says, not where it is kept (index, source, sourcetype) nor the XML renderings of its values, as
  /// keywords do over events. After stats/tstats/chart/top, it searches every value of a result row.
  bool rows_are_events = true;
};

struct OperatorResult {
  std::unique_ptr<ir::Operator> op;
  std::string error;  ///< non-empty => not executable, says why
};

/// Any non-generating command (and the generating `inputlookup`, which replaces the rows).
OperatorResult make_operator(const Command& cmd, OperatorEnv& env);
/// Aggregation over captured dataset rows (the engine applied the WHERE filter already).
OperatorResult make_tstats_operator(const TstatsCmd& cmd);
/// Keeps the rows whose `_time` is in [earliest, latest) (Splunk's time modifiers: relative to the
/// run's now, epoch seconds or ISO-8601); either may be absent. Fails on a time it cannot read.
OperatorResult make_time_range_operator(const std::optional<std::string>& earliest,
                                        const std::optional<std::string>& latest);
/// True when make_operator can build `name` (for lint).
bool is_supported_command(std::string_view name);

// ---------------------------------------------------------------- internals shared by op_*.cpp
namespace ops {

OperatorResult error(std::string why);
template <class Op, class... A>
OperatorResult ok(A&&... a) {
  return OperatorResult{std::make_unique<Op>(std::forward<A>(a)...), {}};
}

/// A command's option by name in any case (`limit=`, `LIMIT=`), or `def`.
std::string opt(const std::map<std::string, std::string>& options, std::string_view key, std::string def = {});
/// An option that is set to true (`true`, `t` or `1`, any case).
bool opt_true(const std::map<std::string, std::string>& options, std::string_view key);

/// Field-name glob with `*` (case-sensitive, as field names are); captures what each `*` matched.
bool field_glob(std::string_view pattern, std::string_view name, std::vector<std::string_view>* captures = nullptr);
/// `to` with each `*` replaced, in turn, by what field_glob captured (rename/replace `A* AS B*`).
std::string glob_fill(std::string_view to, const std::vector<std::string_view>& caps);
/// Remove surrounding double quotes from a field token (`"Processes".*` -> `Processes.*`).
std::string unquote_field(std::string_view s);

/// Compiles `p` as another stream of the plan (env.add_subsearch); its index, or nullopt and why not.
std::optional<size_t> compile_subsearch(const Pipeline& p, OperatorEnv& env, std::string& why);

OperatorResult make_search(const Command& c, const SearchCmd& s, OperatorEnv& env);
OperatorResult make_where(const Command& c, const WhereCmd& w);
OperatorResult make_eval(const Command& c, const EvalCmd& e);
OperatorResult make_rename(const Command& c, const RenameCmd& r);
OperatorResult make_convert(const Command& c, const ConvertCmd& cv);
OperatorResult make_fields(const Command& c, const FieldsCmd& f);
OperatorResult make_rex(const Command& c, const RexCmd& r);
OperatorResult make_regex(const Command& c, const RegexCmd& r);
OperatorResult make_dedup(const Command& c, const DedupCmd& d);
OperatorResult make_fillnull(const Command& c, const FillnullCmd& f);
OperatorResult make_mvexpand(const Command& c, const MvexpandCmd& m);
OperatorResult make_sort(const Command& c, const SortCmd& s);
OperatorResult make_generic(const Command& c, const GenericCmd& g, OperatorEnv& env);

OperatorResult make_stats(const Command& c, const StatsCmd& s);
OperatorResult make_bin(const Command& c, const BinCmd& b);

OperatorResult make_join(const Command& c, const JoinCmd& j, OperatorEnv& env);
OperatorResult make_append(const Command& c, const AppendCmd& a, OperatorEnv& env);
OperatorResult make_lookup(const Command& c, const LookupCmd& l, OperatorEnv& env);
OperatorResult make_foreach(const Command& c, const ForeachCmd& f, OperatorEnv& env);

// Generic-bodied commands (parsed as words + options).
OperatorResult make_inputlookup(const Command& c, const GenericCmd& g, OperatorEnv& env);
OperatorResult make_outputlookup(const Command& c, const GenericCmd& g, OperatorEnv& env);
OperatorResult make_spath(const Command& c, const GenericCmd& g);
OperatorResult make_makemv(const Command& c, const GenericCmd& g);
OperatorResult make_xmlkv(const Command& c, const GenericCmd& g);
OperatorResult make_addtotals(const Command& c, const GenericCmd& g);
OperatorResult make_replace(const Command& c, const GenericCmd& g);
OperatorResult make_transaction(const Command& c, const GenericCmd& g, OperatorEnv& env);

}  // namespace ops
}  // namespace vigil::spl
