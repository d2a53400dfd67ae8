#include "clickhouse/remote_hunt.h"

#include <chrono>

#include "clickhouse/row_binary.h"
#include "clickhouse/sql.h"
#include "clickhouse/store.h"

namespace vigil::clickhouse {

namespace {
double since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

bool read_kv(RowReader& in, std::vector<Field>& out) {
  uint64_t n = in.varint();
  if (!in.ok() || n > (1u << 24)) return false;
  out.resize(n);
  for (auto& f : out) f.name = in.str();
  uint64_t m = in.varint();
  if (m != n) return false;
  for (auto& f : out) f.value = in.str();
  return in.ok();
}
}  // namespace

Result<RemoteHunt> remote_hunt(const HttpClient& client, const Normalizer& norm, const ir::AtomTable& atoms,
                               const std::vector<const ir::CompiledRule*>& rules, const EngineOptions& opts,
                               DiagnosticSink& diags, FindingSink sink) {
  auto store = inspect(client);
  if (!store) return store.error();
  if (!store->has(kRawTable))
    return Error{"no vigil tables on " + client.url() + " (load events first: vigil load --clickhouse URL LOG…)", {}};
  RemoteHunt out;
  out.stats.clustered = store->clustered;
  out.stats.shards = store->shards.size();
  SqlTranslator tr(norm, atoms, *store);
  std::string sql = tr.fetch_query(rules, &out.stats.tables_scanned);

  auto t0 = std::chrono::steady_clock::now();
  auto body = client.query(sql);
  out.stats.query_seconds = since(t0);
  if (!body) {
    std::string msg = store->clustered ? explain_failure(client, *store, body.error().message) : body.error().message;
    return Error{msg, {}};
  }
  out.stats.bytes_fetched = body->size();

  // Parse everything before the engine sees a record: a malformed answer is an error, not a
  // partial hunt.
  auto t1 = std::chrono::steady_clock::now();
  struct Rec {
    uint8_t format;
    std::string_view file;
    uint64_t offset, line;
    bool recovered;
    std::vector<Field> system, data;
  };
  std::vector<Rec> recs;
  RowReader in(*body);
  while (!in.at_end()) {
    Rec r;
    r.format = in.u8();
    r.file = in.str();
    r.offset = in.u64();
    r.line = in.u64();
    r.recovered = in.u8() != 0;
    if (!in.ok() || !read_kv(in, r.system) || !read_kv(in, r.data))
      return Error{"malformed answer from " + client.url() + " after " + std::to_string(recs.size()) + " records", {}};
    recs.push_back(std::move(r));
  }
  out.stats.rows_fetched = recs.size();
  out.engine = std::make_unique<Engine>(norm, atoms, rules, opts, diags, std::move(sink));
  Record rec;
  for (auto& r : recs) {
    rec.format = static_cast<LogFormat>(r.format);
    rec.file = r.file;
    rec.offset = r.offset;
    rec.line = r.line;
    rec.recovered = r.recovered;
    rec.system = std::move(r.system);
    rec.data = std::move(r.data);
    out.engine->process(rec);
  }
  out.engine->finish();
  out.stats.local_seconds = since(t1);
  return out;
}

}  // namespace vigil::clickhouse
