// The tables vigil keeps in ClickHouse, derived from the normalization tables.
//
//   vigil_raw          one row per event: _time, host, source_file, record_id, seq (load order),
//                      event_id (the engine's bucket key: EventID, lower-cased), the common Splunk
//                      raw fields as Nullable(String) columns (first value), every other raw-view
//                      field and the later values of multivalue fields in `f_k`/`f_v` arrays, and
//                      the record as read (`rec_*`: format, file, offset, line, System and
//                      EventData fields), from which a hunt rebuilds the exact Event.
//   vigil_dm_<dataset> one row per event in a CIM dataset (Endpoint.Processes …): the same key
//                      columns, one Nullable(String) column per dataset field (unprefixed), later
//                      multivalue values in `f_k`/`f_v`.
//
// Without a cluster these are MergeTree tables. With one, each is `<name>_local` (MergeTree) on
// every shard plus `<name>` (Distributed over them, sharded by cityHash64(host)), so an event's
// rows in every table live on one shard and per-shard `IN` subqueries over the local tables are
// exact. A NULL column means the field is absent; '' is an empty value: missing and empty stay apart.
#pragma once
#include <string>
#include <vector>

#include "normalize/normalizer.h"

namespace vigil::clickhouse {

struct TableSchema {
  std::string name;                   ///< vigil_raw, vigil_dm_endpoint_processes
  std::string dataset;                ///< "" for the raw table, else Endpoint.Processes
  std::string prefix;                 ///< dataset field prefix (Processes), "" for raw
  std::vector<std::string> columns;   ///< field columns (unprefixed names), Nullable(String)
  bool raw() const { return dataset.empty(); }
};

/// The raw table and one table per dataset the normalizer defines (datasets with no prefix add
/// raw-view fields and get no table of their own).
std::vector<TableSchema> build_schema(const Normalizer& n);
/// CREATE TABLE statement(s) for `t`. `cluster` empty: one MergeTree table; else the local table
/// (engine MergeTree) for each shard and the Distributed table over them (two statements).
std::string create_local_sql(const TableSchema& t, bool clustered);
std::string create_distributed_sql(const TableSchema& t, const std::string& cluster);
/// The raw-view columns (common Splunk fields).
const std::vector<std::string>& raw_columns();
/// Table name for a dataset name (Endpoint.Processes -> vigil_dm_endpoint_processes).
std::string dataset_table_name(const std::string& dataset);
inline constexpr const char* kRawTable = "vigil_raw";

}  // namespace vigil::clickhouse
