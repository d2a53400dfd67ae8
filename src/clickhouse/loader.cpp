#include "clickhouse/loader.h"

#include <algorithm>
#include <unordered_map>

#include "clickhouse/row_binary.h"
#include "clickhouse/schema.h"
#include "clickhouse/store.h"
#include "core/intern.h"
#include "core/strings.h"

namespace vigil::clickhouse {

namespace {

struct TableWriter {
  const TableSchema* schema = nullptr;
  std::string insert_sql;
  std::unordered_map<Symbol, uint32_t> column_of;  // field symbol (prefixed for datasets) -> column
  RowWriter rows;
  uint64_t pending = 0;
  // per-event scratch
  std::vector<std::string_view> first;
  std::vector<uint8_t> present;
  std::vector<std::string_view> keys, vals;    // fields without a column
  std::vector<std::string_view> mkeys, mvals;  // later values of column fields (multivalue)
};

std::string insert_sql(const TableSchema& t) {
  std::string s = "INSERT INTO " + sql_ident(t.name) + " (seq, _time, host, source_file, record_id";
  if (t.raw()) s += ", event_id";
  for (auto& c : t.columns) s += ", " + sql_ident("c_" + c);
  s += ", f_k, f_v, m_k, m_v";
  if (t.raw()) s += ", rec_format, rec_offset, rec_line, rec_recovered, sys_k, sys_v, data_k, data_v";
  return s + ") FORMAT RowBinary";
}

void write_kv(RowWriter& w, const std::vector<Field>& fields) {
  w.varint(fields.size());
  for (auto& f : fields) w.str(f.name);
  w.varint(fields.size());
  for (auto& f : fields) w.str(f.value);
}

}  // namespace

Result<LoadResult> load(const HttpClient& client, const Normalizer& norm, const std::vector<std::string>& inputs,
                        const LoadOptions& opts, DiagnosticSink& diags) {
  auto schema = build_schema(norm);
  if (auto r = ensure_tables(client, schema, opts.cluster, opts.shard_urls); !r) return r.error();
  // For the hunt's aggregation push-down, which queries each shard directly (Store::shard_urls).
  if (!opts.cluster.empty() && !opts.shard_urls.empty())
    if (auto r = record_shard_urls(client, opts.shard_urls); !r) return r.error();
  auto cur = client.query("SELECT max(seq) FROM " + sql_ident(kRawTable) + " FORMAT TabSeparated");
  if (!cur) return cur.error();
  long long max_seq = 0;
  parse_int(trim(*cur), max_seq);

  LoadResult res;
  res.first_seq = uint64_t(max_seq) + 1;
  uint64_t seq = res.first_seq;

  std::vector<TableWriter> writers(schema.size());
  std::vector<int> writer_of_view(norm.datasets().size() + 1, -1);  // Event view -> writer
  writer_of_view[0] = 0;
  for (size_t i = 0; i < schema.size(); ++i) {
    auto& w = writers[i];
    w.schema = &schema[i];
    w.insert_sql = insert_sql(schema[i]);
    for (uint32_t c = 0; c < schema[i].columns.size(); ++c) {
      std::string f = schema[i].raw() ? schema[i].columns[c] : schema[i].prefix + "." + schema[i].columns[c];
      w.column_of.emplace(field_id(f), c);
    }
    w.first.resize(schema[i].columns.size());
    w.present.resize(schema[i].columns.size());
    if (!schema[i].raw()) writer_of_view[size_t(norm.dataset_id(schema[i].dataset)) + 1] = int(i);
  }
  // Datasets without a table of their own (no prefix) add raw-view fields.
  for (size_t d = 0; d < norm.datasets().size(); ++d)
    if (norm.datasets()[d].prefix.empty()) writer_of_view[d + 1] = 0;

  const Symbol host_sym = field_id("host"), eid_sym = field_id("EventID");
  Error failure;
  bool failed = false;
  auto flush = [&](TableWriter& w) {
    if (failed || w.pending == 0) return;
    auto r = client.insert(w.insert_sql, w.rows.data());
    ++res.inserts;
    if (!r) {
      failed = true;
      failure = r.error();
      return;
    }
    if (w.schema->raw()) {
      res.inserted += w.pending;
      if (opts.on_batch) opts.on_batch(res.inserted);
    } else {
      res.dataset_rows += w.pending;
    }
    w.rows.clear();
    w.pending = 0;
  };

  Event ev;
  std::vector<uint8_t> touched(writers.size());
  std::vector<std::string_view> no_values;
  auto visit = [&](const Record& r) {
    if (failed) {
      ++res.read.records_skipped;  // not inserted: counted so read = inserted + skipped still holds
      ++res.read.skip_reasons["not-inserted"];
      return;
    }
    norm.normalize(r, ev);
    std::string_view host, eid, rid;
    ev.get(host_sym, host);
    ev.get(eid_sym, eid);
    rid = r.system_value(sys::EventRecordID);
    std::string rid_text = !rid.empty() ? std::string(rid) : r.line ? "line " + std::to_string(r.line) : "";
    std::fill(touched.begin(), touched.end(), 0);
    for (auto& w : writers) {
      std::fill(w.present.begin(), w.present.end(), 0);
      w.keys.clear();
      w.vals.clear();
      w.mkeys.clear();
      w.mvals.clear();
    }
    for (auto& f : ev.fields()) {
      int wi = f.view < writer_of_view.size() ? writer_of_view[f.view] : -1;
      if (wi < 0) continue;
      auto& w = writers[size_t(wi)];
      touched[size_t(wi)] = 1;
      // Dataset fields are stored unprefixed, like the columns.
      std::string_view name = field_name(f.name);
      if (!w.schema->raw() && name.size() > w.schema->prefix.size() && name[w.schema->prefix.size()] == '.')
        name.remove_prefix(w.schema->prefix.size() + 1);
      auto it = w.column_of.find(f.name);
      if (it == w.column_of.end()) {
        // f_k holds each name once (its first value), so SQL reads it with indexOf, no lambda.
        if (ev.has_repeats() && std::find(w.keys.begin(), w.keys.end(), name) != w.keys.end()) {
          w.mkeys.push_back(name);
          w.mvals.push_back(f.value);
        } else {
          w.keys.push_back(name);
          w.vals.push_back(f.value);
        }
      } else if (!w.present[it->second]) {
        w.present[it->second] = 1;
        w.first[it->second] = f.value;
      } else {
        w.mkeys.push_back(name);
        w.mvals.push_back(f.value);
      }
    }
    touched[0] = 1;
    for (size_t i = 0; i < ev.datasets().size(); ++i) {
      DatasetId d = ev.datasets()[i];
      int wi = size_t(d) + 1 < writer_of_view.size() ? writer_of_view[size_t(d) + 1] : -1;
      if (wi >= 0) touched[size_t(wi)] = 1;
    }
    for (size_t i = 0; i < writers.size(); ++i) {
      if (!touched[i]) continue;
      auto& w = writers[i];
      auto& o = w.rows;
      o.u64(seq);
      o.f64(ev.has_time() ? ev.time() : 0.0);
      o.str(host);
      o.str(r.file);
      o.str(rid_text);
      if (w.schema->raw()) {
        std::string lower(eid);
        for (auto& ch : lower) ch = ascii_lower(ch);
        o.str(lower);
      }
      for (size_t c = 0; c < w.first.size(); ++c) {
        if (w.present[c]) o.nullable_str(w.first[c]);
        else o.null();
      }
      o.varint(w.keys.size());
      for (auto k : w.keys) o.str(k);
      o.varint(w.vals.size());
      for (auto v : w.vals) o.str(v);
      o.varint(w.mkeys.size());
      for (auto k : w.mkeys) o.str(k);
      o.varint(w.mvals.size());
      for (auto v : w.mvals) o.str(v);
      if (w.schema->raw()) {
        o.u8(static_cast<uint8_t>(r.format));
        o.u64(r.offset);
        o.u64(r.line);
        o.u8(r.recovered ? 1 : 0);
        write_kv(o, r.system);
        write_kv(o, r.data);
      }
      ++w.pending;
    }
    ++seq;
    // The raw table's batch decides when every table is flushed, so a failure loses one batch.
    if (writers[0].rows.size() >= opts.batch_bytes)
      for (auto& w : writers) flush(w);
  };
  read_inputs(inputs, opts.read, visit, diags, res.read);
  for (auto& w : writers) flush(w);
  if (failed) {
    failure.message += " (" + std::to_string(res.inserted) + " events were inserted before the error)";
    return failure;
  }
  return res;
}

}  // namespace vigil::clickhouse
