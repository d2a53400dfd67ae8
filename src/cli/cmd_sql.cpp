// vigil sql: the ClickHouse SQL a rule runs as (clickhouse/sql.h), as Sigma's converters print
// queries for other back ends. Without --clickhouse the SQL is written against the tables `vigil
// load` creates; with it, against what the server holds (its columns).
#include "clickhouse/pushdown.h"
#include "clickhouse/sql.h"
#include "clickhouse/store.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "risk/risk.h"

namespace vigil::cli {

namespace {
struct SqlArgs {
  Common common;
  std::vector<std::string> rules;
  std::string url;
  bool batch = false;
};

int run_sql(SqlArgs& a) {
  Common& c = a.common;
  DiagnosticSink diags;
  configure_diagnostics(diags, c);
  auto norm = load_normalizer(c, diags);
  if (!norm) return ended(diags, c, nothing_ran);
  RuleSet rs({c.content, data_dir(c), !c.allow_writes.empty(), cache_dir(c)});
  rs.load(a.rules, diags);
  clickhouse::Store store;
  if (!a.url.empty()) {
    clickhouse::HttpClient client(a.url);
    auto st = clickhouse::inspect(client);
    if (!st) {
      diags.error({a.url}, st.error().message, "clickhouse");
      return ended(diags, c, nothing_ran);
    }
    store = std::move(st.value());
  } else {
    for (auto& t : clickhouse::build_schema(*norm)) store.columns[t.name] = t.columns;
  }
  clickhouse::SqlTranslator tr(*norm, rs.atoms(), store);
  std::vector<const ir::CompiledRule*> runnable;
  for (auto& r : rs.rules()) {
    if (!r.parsed) continue;
    if (!r.executable) {
      std::printf("-- %s: not executable (%s)\n\n", r.info.name.c_str(),
                  r.reasons.empty() ? "?" : r.reasons.front().c_str());
      continue;
    }
    if (risk::reads_risk(r)) {
      std::printf("-- %s (%s)\n-- %s\n\n", r.info.name.c_str(), r.info.file.c_str(), kSecondPass);
      continue;
    }
    runnable.push_back(&r);
    if (!a.batch)
      std::printf("-- %s (%s)\n%s\n", r.info.name.c_str(), r.info.file.c_str(),
                  clickhouse::explain_rule(tr, store, *norm, r).c_str());
  }
  if (a.batch) {
    // What hunt --clickhouse sends: the aggregation queries, then the record fetch.
    auto plan = clickhouse::plan_pushdown(tr, store, *norm, runnable);
    auto by_table = plan.queries();
    std::vector<std::string> tables;
    std::string q = tr.fetch_query(runnable, &tables, &plan.pushed);
    std::printf("-- %zu rules, %zu table scans: %zu aggregation queries, %zu record scans:", runnable.size(),
                by_table.size() + tables.size(), by_table.size(), tables.size());
    for (auto& t : tables) std::printf(" %s", t.c_str());
    std::printf("\n");
    for (auto& [why, n] : plan.not_pushed) std::printf("-- aggregated locally: %zu streams: %s\n", n, why.c_str());
    for (auto& [table, streams] : by_table)
      std::printf("-- %zu streams aggregated on ClickHouse over %s, sent to %s\n%s;\n", streams.size(), table.c_str(),
                  clickhouse::push_destination(store).c_str(),
                  clickhouse::push_query(clickhouse::push_table(store, table), streams).c_str());
    std::printf("-- records\n%s\n", q.c_str());
  }
  return runnable.empty() ? nothing_ran : ok;
}
}  // namespace

std::function<int()> register_sql(CLI::App& app) {
  auto a = std::make_shared<SqlArgs>();
  auto* sub = app.add_subcommand("sql", "Print the ClickHouse SQL rules run as (hunt --clickhouse)");
  sub->footer(
      "Per stream: the table, the WHERE clause the cluster runs, which atoms are decided locally and why,\n"
      "whether its first aggregation (tstats) runs on the cluster as a GROUP BY or locally and why, and\n"
      "the operators that run locally.\n"
      "Examples:\n"
      "  vigil sql rule.yml\n"
      "  vigil sql --batch sigma/rules/windows   # the one query hunt sends for all of them\n");
  sub->add_option("rules", a->rules, "rule files or directories")->required();
  sub->add_option("--clickhouse", a->url, "write the SQL for the tables on this server (default: vigil load's schema)");
  sub->add_flag("--batch", a->batch, "print the single batched query a hunt sends for all the rules");
  add_common(*sub, a->common, CommonOptions{});
  return [a, sub]() { return sub->parsed() ? run_sql(*a) : -1; };
}

}  // namespace vigil::cli
