// `vigil load`: reads logs exactly as `hunt` does, normalizes every record,
// and inserts it into the raw table and the table of each CIM dataset it
// belongs to (clickhouse/schema.h), in RowBinary batches over HTTP.
// Accounting as in hunt: read = inserted + skipped.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "clickhouse/http_client.h"
#include "core/diagnostic.h"
#include "core/result.h"
#include "ingest/reader.h"
#include "normalize/normalizer.h"

namespace vigil::clickhouse {

struct LoadOptions {
  std::string cluster;                  ///< create <t>_local + Distributed tables on this cluster
  std::vector<std::string> shard_urls;  ///< shards' HTTP URLs, when ON CLUSTER DDL is unavailable
  size_t batch_bytes = 16u << 20;       ///< flush a table's batch past this many bytes
  ReadOptions read;
  std::function<void(uint64_t events)> on_batch;  ///< after each insert (progress)
};

struct LoadResult {
  ReadStats read;
  uint64_t inserted = 0;       ///< events (rows of the raw table)
  uint64_t dataset_rows = 0;   ///< rows of the dataset tables
  uint64_t inserts = 0;        ///< INSERT requests
  uint64_t first_seq = 0;      ///< load order of the first event inserted
};

/// Creates missing tables, then loads. An error (server gone, insert refused) stops the load and
/// says how many events were inserted before it.
Result<LoadResult> load(const HttpClient& client, const Normalizer& norm, const std::vector<std::string>& inputs,
                        const LoadOptions& opts, DiagnosticSink& diags);

}  // namespace vigil::clickhouse
