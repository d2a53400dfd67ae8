#include "clickhouse/schema.h"

#include <algorithm>

#include "clickhouse/http_client.h"
#include "core/strings.h"

namespace vigil::clickhouse {

const std::vector<std::string>& raw_columns() {
  // The fields most rules of both corpora test (ESCU raw searches, Sigma's Windows rules): as
  // columns they are read and compared without unpacking the key/value arrays.
  static const std::vector<std::string> cols = {
      "source", "sourcetype", "EventCode", "Channel", "Computer", "Provider", "Image", "CommandLine",
      "ParentImage", "ParentCommandLine", "OriginalFileName", "User", "TargetFilename", "TargetObject",
      "Details", "ImageLoaded", "TargetImage", "SourceImage", "GrantedAccess", "CallTrace",
      "ScriptBlockText", "ServiceName", "ImagePath", "NewProcessName", "ParentProcessName",
      "SubjectUserName", "TargetUserName", "LogonType", "IpAddress", "DestinationIp", "DestinationPort",
      "DestinationHostname", "QueryName", "PipeName", "ShareName", "RelativeTargetName", "ObjectName",
      "AccessMask", "Hashes", "Signed", "Signature", "Description", "Product", "Company", "CurrentDirectory",
      "IntegrityLevel", "EventType", "Payload", "ContextInfo", "Data", "user", "dest", "process_name"};
  return cols;
}

std::string dataset_table_name(const std::string& dataset) {
  std::string out = "vigil_dm_";
  for (char ch : dataset) out += std::isalnum(static_cast<unsigned char>(ch)) ? ascii_lower(ch) : '_';
  return out;
}

std::vector<TableSchema> build_schema(const Normalizer& n) {
  std::vector<TableSchema> out;
  out.push_back({kRawTable, "", "", raw_columns()});
  for (auto& d : n.datasets()) {
    if (d.prefix.empty()) continue;
    TableSchema t{dataset_table_name(d.name), d.name, d.prefix, {}};
    for (auto& f : d.fields)
      if (std::find(t.columns.begin(), t.columns.end(), f) == t.columns.end()) t.columns.push_back(f);
    out.push_back(std::move(t));
  }
  return out;
}

std::string create_local_sql(const TableSchema& t, bool clustered) {
  std::string name = clustered ? t.name + "_local" : t.name;
  std::string sql = "CREATE TABLE IF NOT EXISTS " + sql_ident(name) +
                    " (seq UInt64, _time Float64, host String, source_file String, record_id String";
  if (t.raw()) sql += ", event_id String";
  for (auto& c : t.columns) sql += ", " + sql_ident("c_" + c) + " Nullable(String)";
  sql += ", f_k Array(String), f_v Array(String), m_k Array(String), m_v Array(String)";
  if (t.raw())
    sql += ", rec_format UInt8, rec_offset UInt64, rec_line UInt64, rec_recovered UInt8"
           ", sys_k Array(String), sys_v Array(String), data_k Array(String), data_v Array(String)";
  // The raw table is ordered by the engine's bucket key, so one event id's rows are read together.
  sql += t.raw() ? ") ENGINE = MergeTree() ORDER BY (event_id, seq)" : ") ENGINE = MergeTree() ORDER BY seq";
  return sql;
}

std::string create_distributed_sql(const TableSchema& t, const std::string& cluster) {
  return "CREATE TABLE IF NOT EXISTS " + sql_ident(t.name) + " AS " + sql_ident(t.name + "_local") +
         " ENGINE = Distributed(" + sql_ident(cluster) + ", currentDatabase(), " + sql_ident(t.name + "_local") +
         ", cityHash64(host))";
}

}  // namespace vigil::clickhouse
