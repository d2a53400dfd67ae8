#include "clickhouse/remote_hunt.h"

#include <chrono>
#include <set>
#include <thread>
#include <deque>

#include "clickhouse/pushdown.h"
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
                               DiagnosticSink& diags, FindingSink sink, bool push_down) {
  auto store = inspect(client);
  if (!store) return store.error();
  if (!store->has(kRawTable))
    return Error{"no vigil tables on " + client.url() + " (load events first: vigil load --clickhouse URL LOG…)", {}};
  RemoteHunt out;
  out.stats.clustered = store->clustered;
  out.stats.shards = store->shards.size();
  SqlTranslator tr(norm, atoms, *store);

  // Push-down: which streams, then one aggregation query (one scan) per dataset table.
  PushPlan plan;
  if (push_down) plan = plan_pushdown(tr, *store, norm, rules);
  out.stats.streams_pushed = plan.streams.size();
  out.stats.not_pushed = plan.not_pushed;
  std::vector<std::pair<const PushedStream*, std::vector<ir::PreGroup>>> groups;
  auto ta = std::chrono::steady_clock::now();
  {
    // One query per dataset table. On a cluster whose shard URLs are known, it goes to every shard's
    // local table at once (one thread each) and the engine adds up the partial groups of the shards
    // (GroupTable::add_group: counts summed, value sets united, so the result is the same); that way
    // each shard analyses the query once, not the initiator too. Otherwise it goes to the server
    // (over the Distributed table on a cluster). One query in flight per server: two on one
    // Distributed table crashed a shard of ClickHouse 18.16 (SIGSEGV) once on OTRF.
    const auto queries = plan.queries();
    const bool per_shard = store->clustered && !store->shard_urls.empty();
    out.stats.agg_per_shard = per_shard;
    std::deque<HttpClient> shards;
    if (per_shard)
      for (auto& u : store->shard_urls) shards.emplace_back(u);
    for (auto& [table, streams] : queries) {
      std::vector<Result<std::string>> answers;
      const std::string sql = push_query(push_table(*store, table), streams);
      if (per_shard) {
        answers.assign(shards.size(), Result<std::string>(Error{"not sent", {}}));
        std::vector<std::thread> threads;
        for (size_t i = 0; i < shards.size(); ++i)
          threads.emplace_back([&, i] { answers[i] = shards[i].query(sql); });
        for (auto& t : threads) t.join();
      } else {
        answers.push_back(client.query(sql));
      }
      out.stats.agg_tables.push_back(table);
      for (size_t a = 0; a < answers.size(); ++a) {
        auto& body = answers[a];
        if (!body) {
          std::string msg = store->clustered ? explain_failure(client, *store, body.error().message) : body.error().message;
          return Error{msg, {}};
        }
        out.stats.agg_bytes += body->size();
        std::vector<std::vector<ir::PreGroup>> per_stream;
        std::string why;
        if (!read_groups(*body, streams, per_stream, why))
          return Error{"aggregation over " + table + " from " + (per_shard ? shards[a].url() : client.url()) + ": " + why, {}};
        for (size_t i = 0; i < streams.size(); ++i) {
          out.stats.groups_fetched += per_stream[i].size();
          groups.emplace_back(streams[i], std::move(per_stream[i]));
        }
      }
    }
  }
  out.stats.agg_seconds = since(ta);

  std::string sql = tr.fetch_query(rules, &out.stats.tables_scanned, &plan.pushed, &out.stats.unselective);

  auto t0 = std::chrono::steady_clock::now();
  auto body = client.query(sql);
  out.stats.query_seconds = since(t0);
  if (!body) {
    std::string msg = store->clustered ? explain_failure(client, *store, body.error().message) : body.error().message;
    return Error{msg, {}};
  }
  out.stats.bytes_fetched = body->size();

  // Two passes over the answer: the first only checks it (a malformed answer is an error, not a
  // partial hunt), the second rebuilds each record in turn and hands it to the engine. Memory is
  // the answer itself, not a second copy of every record.
  auto t1 = std::chrono::steady_clock::now();
  Record rec;
  auto next = [&](RowReader& in) {
    rec.format = static_cast<LogFormat>(in.u8());
    rec.file = in.str();
    rec.offset = in.u64();
    rec.line = in.u64();
    rec.recovered = in.u8() != 0;
    return in.ok() && read_kv(in, rec.system) && read_kv(in, rec.data);
  };
  uint64_t n = 0;
  for (RowReader in(*body); !in.at_end(); ++n)
    if (!next(in))
      return Error{"malformed answer from " + client.url() + " after " + std::to_string(n) + " records", {}};
  out.stats.rows_fetched = n;
  EngineOptions eo = opts;
  for (auto& p : plan.streams) eo.pushed.emplace_back(uint32_t(p.rule), uint32_t(p.stream));
  eo.aggregate_here = &aggregate_here;
  out.engine = std::make_unique<Engine>(norm, atoms, rules, eo, diags, std::move(sink));
  for (auto& [p, gs] : groups)
    if (!out.engine->add_groups(p->rule, p->stream, gs))
      return Error{"the engine refused the groups of rule '" + rules[p->rule]->info.name + "'", {}};
  for (RowReader in(*body); !in.at_end();) {
    next(in);
    out.engine->process(rec);
  }
  out.engine->finish();
  out.stats.local_seconds = since(t1);
  return out;
}

}  // namespace vigil::clickhouse
