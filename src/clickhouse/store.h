// What one ClickHouse deployment holds for vigil: which tables exist (local or
// Distributed), their field columns, and the shards of the cluster behind them.
// Used by the loader (to create what is missing) and by the remote hunt (to
// write SQL against what is there and to name a shard that fails).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "clickhouse/http_client.h"
#include "clickhouse/schema.h"
#include "core/result.h"

namespace vigil::clickhouse {

struct Shard {
  int number = 0;
  std::string host;
  int port = 0;  ///< native TCP port, as system.clusters lists it
  std::string address() const { return host + ":" + std::to_string(port); }
};

struct Store {
  bool clustered = false;  ///< vigil_raw is a Distributed table over vigil_raw_local
  std::string cluster;     ///< its cluster name
  std::vector<Shard> shards;
  std::map<std::string, std::vector<std::string>> columns;  ///< table -> field columns (unprefixed)
  /// Each shard's HTTP URL, same order as `shards`, when the load recorded them (vigil_shards) and
  /// each answered as that shard (system.clusters.is_local); else empty. The aggregation push-down
  /// then sends its queries to every shard's local tables directly.
  std::vector<std::string> shard_urls;
  bool has(const std::string& table) const { return columns.count(table) != 0; }
  /// The name a per-shard subquery reads (`<t>_local` on a cluster, else `<t>`).
  std::string local_name(const std::string& table) const { return clustered ? table + "_local" : table; }
};

/// Table where `vigil load --shard URL…` records the shards' HTTP URLs (one row each).
inline constexpr const char* kShardsTable = "vigil_shards";

/// Reads system.tables / system.columns / system.clusters of the current database, and the
/// recorded shard URLs (checked against the cluster: every shard once).
Result<Store> inspect(const HttpClient& client);

/// Creates the tables of `schema` that are missing. With `cluster`, a MergeTree `<t>_local` on
/// every shard and a Distributed `<t>`: first by `ON CLUSTER` (needs ZooKeeper); without it, on
/// each of `shard_urls` (the shards' HTTP URLs) and on the server itself.
Result<bool> ensure_tables(const HttpClient& client, const std::vector<TableSchema>& schema, const std::string& cluster,
                           const std::vector<std::string>& shard_urls);

/// Records `shard_urls` in kShardsTable on the server (replacing what was there).
Result<bool> record_shard_urls(const HttpClient& client, const std::vector<std::string>& shard_urls);

/// After a failed query on a cluster: which shards do not answer (probed through the server),
/// as "shard 2 (127.0.0.1:9001)"; empty when every shard answers or none could be probed.
std::vector<std::string> dead_shards(const HttpClient& client, const Store& store);
/// `message` with the shard(s) that do not answer named first, when there are any.
std::string explain_failure(const HttpClient& client, const Store& store, const std::string& message);

}  // namespace vigil::clickhouse
