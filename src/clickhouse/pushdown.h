// Aggregation push-down: the first aggregation of a `tstats` stream over a CIM dataset runs on
// the cluster as a GROUP BY, and its groups enter the engine's partial state for that operator
// (Engine::add_groups, ir::PreGroup), so the tail, findings, risk and messages run unchanged here.
//
// A stream is pushed only when the result is the local engine's exactly:
// - its filter translates exactly (StreamSql::exact) over the dataset table;
// - tstats is its first operator; BY `_time` (with or without span=) is a number computed as the
//   engine does (floor(_time / span) * span, IEEE double either way); span= on other fields is not;
// - every aggregate is order-free: count, count(f), dc(f), values(f), min/max(f) (sent as the
//   group's distinct values, so the engine's own numeric-or-text rule decides), min/max(_time)
//   (sent as numbers; all that matters for them).
// The table stores each field's first value in its column and later values in m_k/m_v, and a
// missing time as 0: the GROUP BY covers only rows with one value per field and a time
// (`empty(m_k) AND _time != 0`); the other rows are fetched as records and aggregated by the
// engine into the same state (aggregate_here says which events those are). Because the pushed
// functions do not depend on row order, the two halves combine exactly.
//
// All pushed streams over one table share one query and one scan: each row becomes, per stream whose
// condition it passes, one row (ARRAY JOIN of the passing stream numbers), and the query groups by
// (stream, BY values); which fields are a stream's BY and value fields (bit masks), its fillnull
// text and span come from constant arrays indexed by the stream number. BY values and tagged values
// are built after the ARRAY JOIN, so only for the rows that pass. The conditions sit in lambdas of
// 16 streams each: ClickHouse 18.16 analyses one flat list of all of a table's conditions in
// quadratic time (see push_query). A query covers at most 64 distinct BY fields and 64 value fields
// (bit masks); past that a table would need a second query. On a cluster whose shard URLs the load
// recorded, the query goes to every shard's local table and the engine adds up the partial groups.
#pragma once
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "clickhouse/sql.h"
#include "clickhouse/store.h"
#include "ir/plan.h"
#include "ir/rule.h"
#include "normalize/event.h"

namespace vigil::clickhouse {

/// One stream whose first aggregation runs on the cluster.
struct PushedStream {
  size_t rule = 0;    ///< index into the hunt's rule list
  size_t stream = 0;  ///< stream of that rule
  std::string table;  ///< logical dataset table
  std::string condition;               ///< exact filter plus the BY-present tests (UInt8)
  std::vector<std::string> keys;       ///< BY fields but `_time`, in BY order (Nullable(String) expressions)
  int time_by = -1;                    ///< position of a BY `_time` in the BY list, if any
  double span = 0;                     ///< its span= in seconds (0: the exact time)
  std::optional<std::string> fill;     ///< fillnull_value
  std::vector<std::string> counts;     ///< fields whose values count(f) counts
  std::vector<std::string> values;     ///< fields whose distinct values dc/values/min/max need
  enum class Part : uint8_t { rows, count_values, time_min, time_max, value_set };
  struct PartSource {
    Part part = Part::rows;
    size_t index = 0;  ///< into counts or values
  };
  std::vector<PartSource> parts;  ///< per aggregate
};

/// Whether stream `si` of `rule` can be pushed: "" and `out` filled, else the reason it is not
/// ("category: detail").
std::string plan_push(const SqlTranslator& tr, const Store& store, const Normalizer& norm,
                      const ir::CompiledRule& rule, size_t si, PushedStream& out);

/// Push-down over a hunt's rules: the streams pushed, grouped by table, and why the others are not.
struct PushPlan {
  std::vector<PushedStream> streams;
  std::set<std::pair<const ir::CompiledRule*, size_t>> pushed;  ///< for SqlTranslator::fetch_query
  std::map<std::string, size_t> not_pushed;                    ///< datamodel streams by reason category
  /// The aggregation queries: (table, its pushed streams as pointers into `streams`), one scan each.
  std::vector<std::pair<std::string, std::vector<const PushedStream*>>> queries() const;
};
PushPlan plan_pushdown(const SqlTranslator& tr, const Store& store, const Normalizer& norm,
                       const std::vector<const ir::CompiledRule*>& rules);

/// The one query (one scan of `table`) computing the groups of `streams` (one of queries()).
std::string push_query(const std::string& table, const std::vector<const PushedStream*>& streams);
/// The table that query reads, and where it goes: each shard's `<t>_local` when the shard URLs are
/// known (Store::shard_urls; the engine adds up the shards' partial groups), else `table` on the
/// server (a Distributed table on a cluster).
std::string push_table(const Store& store, const std::string& table);
std::string push_destination(const Store& store);

/// Reads push_query's RowBinary answer: groups per stream (same order as `streams`).
bool read_groups(std::string_view body, const std::vector<const PushedStream*>& streams,
                 std::vector<std::vector<ir::PreGroup>>& out, std::string& error);

/// What runs where for one rule (`vigil sql`, `explain --format sql`): per stream, its filter's SQL,
/// its first aggregation's GROUP BY when pushed, else why it runs locally; then what runs locally.
std::string explain_rule(const SqlTranslator& tr, const Store& store, const Normalizer& norm,
                         const ir::CompiledRule& rule);
/// The same in one line (`lint --clickhouse`): "filter: …; aggregation: …".
std::string placement_summary(const SqlTranslator& tr, const Store& store, const Normalizer& norm,
                              const ir::CompiledRule& rule);

/// SQL: the dataset-table rows a pushed stream still needs as records (aggregated by the engine).
inline constexpr const char* kAggregatedLocally = "(notEmpty(m_k) OR _time = 0)";
/// The same decision on an Event, for the stream's view (EngineOptions::aggregate_here).
bool aggregate_here(const Event& ev, uint16_t view);

}  // namespace vigil::clickhouse
