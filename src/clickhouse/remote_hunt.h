// `vigil hunt --clickhouse URL`: rules run where the data lives.
//
// First, the first aggregation of every tstats stream that can be pushed runs
// on the cluster (clickhouse/pushdown.h): one GROUP BY query (one scan) per
// dataset table, sent to each shard's local table when the load recorded the
// shard URLs, whose groups enter the engine's state for that operator. Then one query scans vigil_raw once and each dataset table
// the other streams use once (however many rules): it returns, in load order,
// the records that pass the SQL form of any other stream's filter (clickhouse/
// sql.h, a superset of each filter) and those the pushed streams leave to the
// engine (a multivalue field, no time).
// The records are rebuilt exactly as they were read and fed to the same
// Engine a local hunt uses, which re-evaluates the exact filters and runs the
// per-row operators, aggregations, tails and finding construction: findings,
// risk scores and messages are the local engine's by construction.
//
// A failure anywhere (server down, a shard gone mid-query) is an error naming
// the server or the shard; no findings are emitted before the fetch completed.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "clickhouse/http_client.h"
#include "core/result.h"
#include "engine/engine.h"

namespace vigil::clickhouse {

struct RemoteHuntStats {
  uint64_t rows_fetched = 0;
  uint64_t bytes_fetched = 0;
  std::vector<std::string> tables_scanned;  ///< by the record fetch, one scan each
  std::vector<std::string> unselective;     ///< rules whose filter selects nothing in SQL (every event fetched)
  // Aggregation push-down (clickhouse/pushdown.h)
  size_t streams_pushed = 0;                ///< tstats streams aggregated on the cluster
  std::map<std::string, size_t> not_pushed; ///< datamodel streams aggregated here, by reason
  std::vector<std::string> agg_tables;      ///< one aggregation query (one scan) each
  bool agg_per_shard = false;               ///< sent to each shard's local tables (Store::shard_urls)
  uint64_t groups_fetched = 0;             ///< per shard when agg_per_shard (partial groups)
  uint64_t agg_bytes = 0;
  double agg_seconds = 0;
  double query_seconds = 0;                 ///< SQL on the cluster, transfer included
  double local_seconds = 0;                 ///< rebuilding records and the local engine
  bool clustered = false;
  size_t shards = 0;
};

/// `push_down` false: every aggregation runs locally on fetched records (as before push-down).
struct RemoteHunt {
  RemoteHuntStats stats;
  std::unique_ptr<Engine> engine;  ///< for per-rule statistics
};

Result<RemoteHunt> remote_hunt(const HttpClient& client, const Normalizer& norm, const ir::AtomTable& atoms,
                               const std::vector<const ir::CompiledRule*>& rules, const EngineOptions& opts,
                               DiagnosticSink& diags, FindingSink sink, bool push_down = true);

}  // namespace vigil::clickhouse
