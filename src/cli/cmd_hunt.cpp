// vigil hunt: run rules over logs, findings out.
#include <algorithm>
#include <map>
#include <tuple>

#include "clickhouse/remote_hunt.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "normalize/normalizer.h"

namespace vigil::cli {

namespace {
struct HuntArgs {
  Common common;
  std::vector<std::string> rules;
  std::vector<std::string> logs;
  bool rule_stats = false;
  bool profile = false;
  std::string clickhouse;  ///< --clickhouse URL: hunt over the events loaded there (vigil load)
};
}  // namespace

// Per-rule counts on stderr: every rule that matched an event, most findings first.
static void print_rule_stats(const Engine& eng, const std::map<const ir::CompiledRule*, size_t>& per_rule) {
  std::vector<std::tuple<size_t, uint64_t, std::string>> rows;
  for (size_t i = 0; i < eng.rules().size(); ++i) {
    uint64_t matched = eng.rule_stats()[i].events_matched;
    auto it = per_rule.find(eng.rules()[i]);
    size_t n = it == per_rule.end() ? 0 : it->second;
    if (matched || n) rows.emplace_back(n, matched, eng.rules()[i]->info.name);
  }
  std::sort(rows.begin(), rows.end(), [](auto& x, auto& y) {
    return std::get<0>(x) != std::get<0>(y) ? std::get<0>(x) > std::get<0>(y) : std::get<2>(x) < std::get<2>(y);
  });
  std::fprintf(stderr, "%10s %14s  %s\n", "findings", "events", "rule");
  for (auto& [n, m, name] : rows) std::fprintf(stderr, "%10zu %14llu  %s\n", n, static_cast<unsigned long long>(m), name.c_str());
  std::fprintf(stderr, "%zu of %zu rules matched at least one event\n", rows.size(), eng.rules().size());
}

// --profile: the rules that cost the most evaluation time, with their candidate and matched events.
static void print_profile(const Engine& eng) {
  std::vector<size_t> idx(eng.rules().size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  auto& st = eng.rule_stats();
  std::sort(idx.begin(), idx.end(), [&](size_t x, size_t y) { return st[x].seconds > st[y].seconds; });
  double total = 0;
  for (auto& s : st) total += s.seconds;
  std::fprintf(stderr, "profile: %.2f s in rules (filter, capture, per-row operators; all workers)\n", total);
  std::fprintf(stderr, "%9s %12s %10s  %s\n", "seconds", "candidates", "matched", "rule");
  for (size_t k = 0; k < idx.size() && k < 20; ++k) {
    auto& s = st[idx[k]];
    std::fprintf(stderr, "%9.3f %12llu %10llu  %s\n", s.seconds, static_cast<unsigned long long>(s.candidates),
                 static_cast<unsigned long long>(s.events_matched), eng.rules()[idx[k]]->info.name.c_str());
  }
  // Memory: rows held whole for sort/dedup/join/eventstats-style operators.
  std::sort(idx.begin(), idx.end(), [&](size_t x, size_t y) { return st[x].rows_held > st[y].rows_held; });
  for (size_t k = 0; k < idx.size() && k < 10 && st[idx[k]].rows_held; ++k)
    std::fprintf(stderr, "%9llu rows held  %s\n", static_cast<unsigned long long>(st[idx[k]].rows_held),
                 eng.rules()[idx[k]]->info.name.c_str());
}

static int run_hunt(HuntArgs& a) {
  Summary summary;
  Common& c = a.common;
  DiagnosticSink diags;
  configure_diagnostics(diags, c);
  Output out;
  report::Format fmt;
  double now;
  if (!open_output(c, out) || !resolve_format(c, out, fmt) || !parse_now(c, now)) return usage;
  std::string dd = data_dir(c);
  auto norm = load_normalizer(c, diags);
  if (!norm) return nothing_ran;
  RuleSet rs({c.content, dd, !c.allow_writes.empty()});
  rs.load(a.rules, diags);
  auto rules = executable_rules(rs);
  for (auto& r : rs.rules())
    if (r.parsed && !r.executable && !c.quiet)
      diags.warning(r.location, "rule '" + r.info.name + "' is not executable: " +
                                    (r.reasons.empty() ? std::string("?") : r.reasons.front()),
                    "rule-not-executable");
  if (rules.empty()) {
    diags.error({}, "no executable rule loaded from the given --rules paths", "no-rules");
    summary.print(c, nullptr, 0, &rs, 0, diags);
    return nothing_ran;
  }
  auto attack = load_attack(c, diags);
  RunOptions ro = run_options(c, now);
  ro.engine.profile = a.profile;

  // JSONL and CSV are written as findings become final (per-event rules in input order, then the
  // aggregations); the table, for people, is sorted into a timeline first.
  auto w = report::make_finding_writer(fmt, out.file);
  std::vector<report::FindingView> held;
  std::map<const ir::CompiledRule*, size_t> per_rule;
  size_t written = 0;
  ro.on_finding = [&](Finding&& f) {
    ++per_rule[f.rule];
    ++written;
    auto v = report::describe(f, attack.get());
    if (fmt == report::Format::table) held.push_back(std::move(v));
    else w->write(v);
  };
  RunResult res;
  if (a.clickhouse.empty()) {
    res = run_rules(rules, rs.atoms(), *norm, a.logs, ro, diags);
  } else {
    // Filters run on ClickHouse, the rest here (clickhouse/remote_hunt.h). Nothing is written
    // unless the whole fetch succeeded.
    clickhouse::HttpClient client(a.clickhouse);
    auto rh = clickhouse::remote_hunt(client, *norm, rs.atoms(), rules, ro.engine, diags, ro.on_finding);
    if (!rh) {
      diags.error({a.clickhouse}, rh.error().message, "clickhouse");
      summary.print(c, nullptr, 0, &rs, -1, diags);
      return nothing_ran;
    }
    const auto& st = rh->stats;
    res.engine = std::move(rh->engine);
    res.evaluated = st.rows_fetched;
    res.read.files = 1;
    res.read.records_read = st.rows_fetched;
    if (!c.quiet) {
      std::string tables;
      for (auto& t : st.tables_scanned) tables += (tables.empty() ? "" : ", ") + t;
      std::fprintf(stderr,
                   "clickhouse: %zu table scans (%s)%s; %llu events fetched (%.1f MB) in %.2fs; local engine %.2fs\n",
                   st.tables_scanned.size(), tables.c_str(),
                   st.clustered ? (" on " + std::to_string(st.shards) + " shards").c_str() : "",
                   static_cast<unsigned long long>(st.rows_fetched), st.bytes_fetched / 1e6, st.query_seconds,
                   st.local_seconds);
    }
  }
  // Timeline order: by first time, then rule name (stable, so ties keep rule order).
  std::stable_sort(held.begin(), held.end(), [](auto& x, auto& y) {
    return std::tie(x.first_time, x.rule_name) < std::tie(y.first_time, y.rule_name);
  });
  for (auto& v : held) w->write(v);
  w->finish();
  std::fflush(out.file);
  if (a.rule_stats) print_rule_stats(*res.engine, per_rule);
  if (a.profile) print_profile(*res.engine);
  report_regex_limits(rules, diags);
  summary.print(c, &res.read, res.evaluated, &rs, static_cast<long>(written), diags);

  if (nothing_readable(res.read)) return nothing_ran;
  if (c.fail_on_findings && written) return findings;
  if (c.strict && (res.read.records_skipped || res.read.files_skipped || rs.rejected())) return rejected;
  return ok;
}

std::function<int()> register_hunt(CLI::App& app) {
  auto a = std::make_shared<HuntArgs>();
  auto* sub = app.add_subcommand("hunt", "Run ESCU and Sigma rules over logs; findings out");
  sub->footer(
      "Examples:\n"
      "  vigil hunt --rules detections/ logs/                  # every rule over every log, table on a terminal\n"
      "  vigil hunt --rules rule.yml --format jsonl -o f.jsonl Security.evtx\n"
      "  vigil hunt --rules sigma/rules --rules escu/ --fail-on-findings evidence.zip\n"
      "Logs may be .evtx, XmlWinEventLog text, JSON lines (NXLog, OTRF, evtx-JSON, Winlogbeat,\n"
      "CrowdStrike), or .gz/.zip/.tar.gz of those; directories are read recursively.\n"
      "  vigil hunt --clickhouse http://127.0.0.1:8123 --rules sigma/rules   # over `vigil load`ed events");
  sub->add_option("-r,--rules", a->rules, "rule files or directories (ESCU and Sigma, mixed)")->required()->allow_extra_args(false);
  auto* logs = sub->add_option("logs", a->logs, "log files, directories or archives ('-' = stdin)");
  auto* ch = sub->add_option("--clickhouse", a->clickhouse,
                             "hunt over the events `vigil load` put on this ClickHouse server (HTTP URL) instead of "
                             "LOG arguments: filters run there, the rest here; findings as a local hunt's");
  logs->excludes(ch);
  ch->excludes(logs);
  sub->add_flag("--rule-stats", a->rule_stats, "print per-rule counts (findings, matched events) on stderr");
  sub->add_flag("--profile", a->profile, "print the 20 rules that cost the most time on stderr");
  add_common(*sub, a->common, true);
  sub->add_flag("--recover", a->common.recover,
                "EVTX: also read deleted records (chunk slack, chunks the header dropped, unallocated slots), "
                "marked recovered with their offset");
  return [a, sub]() {
    if (!sub->parsed()) return -1;
    if (a->logs.empty() && a->clickhouse.empty()) {
      std::fprintf(stderr, "hunt: give LOG arguments, or --clickhouse URL\n");
      return int(usage);
    }
    return run_hunt(*a);
  };
}

}  // namespace vigil::cli
