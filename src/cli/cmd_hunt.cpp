// vigil hunt: run rules over logs, findings out.
#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <map>
#include <tuple>

#include <unistd.h>

#include <fmt/format.h>

#include "clickhouse/remote_hunt.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/hunt_filters.h"
#include "normalize/normalizer.h"
#include "risk/risk_pass.h"
#include "report/html_report.h"
#include "report/triage.h"

namespace vigil::cli {

namespace {
struct HuntArgs {
  Common common;
  std::vector<std::string> rules;
  std::vector<std::string> logs;
  bool rule_stats = false;
  bool profile = false;
  std::string risk_out;   ///< --risk-out FILE: risk events as JSONL
  bool incidents = false; ///< --incidents: also run data/risk/incidents
  bool no_group = false;
  std::string summary_out;  ///< --summary-out FILE (JSON)
  std::string html;         ///< --html FILE
  std::string catalog;      ///< --catalog-url: the catalog the HTML report links rule pages to
  HuntFilters filters;
  std::string clickhouse;  ///< --clickhouse URL: hunt over the events loaded there (vigil load)
  bool no_push_down = false;  ///< --no-push-down: tstats aggregations run locally on fetched records
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

// --profile: what handing on the findings cost (the sink of run_hunt), beside the engine's phases.
// Every finding handed on by the engines (the hunt's, then the correlations'), in the time window
// or not (those outside it are only described).
struct FindingTimes {
  double describe = 0;  // report::describe: the finding's message, entities, ATT&CK, times
  // Its risk events (--risk-out) and the second pass over them: with one thread, the correlation
  // rules' engine evaluates each batch of risk events as it fills, here.
  double risk = 0;
  double write = 0;  // the output line, the summary's counts and the bookkeeping around them
  // Risk events made, and those handed to the correlation rules' engine (RiskPass::admitted).
  size_t risk_events = 0, risk_handed_on = 0;
};

// --profile: where the time went (loading, each phase of an event, the findings, the tails), and
// the rules that cost the most evaluation time, with their candidate and matched events.
// `written` and `outside` are run_hunt's counts of the findings in and outside the time window.
static void print_profile(const Engine& eng, const RuleSet& rs, double load_seconds, const FindingTimes& ft,
                          size_t written, size_t outside) {
  std::fprintf(stderr,
               "profile: %.2f s loading and compiling rules; %zu corpus files, %zu of them from the bundle (%zu "
               "already parsed)%s\n",
               load_seconds, rs.files_read(), rs.files_from_cache(), rs.trees_from_cache(),
               rs.files_read() ? "" : " (--no-cache)");
  const Engine::Phases& ph = eng.phases();
  std::fprintf(stderr,
               "profile: %llu events: %.2f s normalizing them (data model views, raw field names), %.2f s "
               "opening the rules' gates (the rule lists each visits, literal prefilters over its values); "
               "all workers\n",
               static_cast<unsigned long long>(eng.evaluated()), ph.normalize_seconds, ph.gate_seconds);
  std::vector<size_t> idx(eng.rules().size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  auto& st = eng.rule_stats();
  std::sort(idx.begin(), idx.end(), [&](size_t x, size_t y) { return st[x].seconds > st[y].seconds; });
  double total = 0;
  for (auto& s : st) total += s.seconds;
  // In all, as the columns below count: events the gates let through to a rule's stream (once per
  // stream), and events that passed its first stream's filter (a rule sharing another's stream counts
  // as the other does).
  uint64_t candidates = 0, matched = 0;
  for (auto& s : st) {
    candidates += s.candidates;
    matched += s.events_matched;
  }
  std::fprintf(stderr, "profile: %.2f s in rules (filter, capture, per-row operators; all workers)\n", total);
  std::fprintf(stderr, "profile: %llu candidates in all rules (events let through to a rule's stream, once per stream), %llu matched\n",
               static_cast<unsigned long long>(candidates), static_cast<unsigned long long>(matched));
  // The aggregating rules' findings come out of their tails: their time is in the tails' too.
  std::fprintf(stderr,
               "profile: %zu finding%s%s: %.2f s describing them, %.2f s making their risk events and "
               "correlating them, %.2f s writing them\n",
               written + outside, written + outside == 1 ? "" : "s",
               outside ? (" (" + std::to_string(outside) + " outside the time window)").c_str() : "",
               ft.describe, ft.risk, ft.write);
  if (ft.risk_events)
    std::fprintf(stderr,
                 "profile: %zu risk events, %zu of them handed to the correlation rules (the others' rules and "
                 "risk-object types meet none of their filters)\n",
                 ft.risk_events, ft.risk_handed_on);
  std::fprintf(stderr, "profile: %.2f s in the rules' tails after the last event (aggregations' tables and the operators after them; %u thread%s)\n",
               eng.tail_seconds(), eng.tail_threads(), eng.tail_threads() == 1 ? "" : "s");
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
  // and groups of stats/tstats states (memory grows with them, not with events).
  uint64_t all_groups = 0;
  for (auto& s : st) all_groups += s.groups_held;
  uint64_t joined_away = 0;
  for (auto& s : st) joined_away += s.groups_joined_away;
  if (all_groups)
    std::fprintf(stderr, "%9llu groups held by stats/tstats states in all (%llu not made into rows: a join with nothing on one side)\n",
                 static_cast<unsigned long long>(all_groups), static_cast<unsigned long long>(joined_away));
  std::sort(idx.begin(), idx.end(), [&](size_t x, size_t y) { return st[x].groups_held > st[y].groups_held; });
  for (size_t k = 0; k < idx.size() && k < 10 && st[idx[k]].groups_held; ++k)
    std::fprintf(stderr, "%9llu groups     %s\n", static_cast<unsigned long long>(st[idx[k]].groups_held),
                 eng.rules()[idx[k]]->info.name.c_str());
}

// --risk-out FILE ('-' = stdout): opened before the hunt, written as findings come. Lines for
// stdout are held in memory and follow the findings, as a separate block.
// --risk-out: written to FILE.part and renamed when the hunt completes, so a hunt that fails
// midway leaves no truncated risk file (and an earlier one in place).
struct RiskOut {
  std::FILE* file = nullptr;
  bool to_stdout = false;
  char* buf = nullptr;
  size_t size = 0;
  std::string part;
  bool open(const std::string& path, DiagnosticSink& diags) {
    to_stdout = path == "-";
    part = to_stdout ? std::string() : path + ".part";
    file = to_stdout ? open_memstream(&buf, &size) : std::fopen(part.c_str(), "wb");
    if (!file) diags.error({path}, "cannot write risk events: " + std::string(std::strerror(errno)), "risk-out");
    return file != nullptr;
  }
  bool close(const std::string& path, DiagnosticSink& diags) {
    if (!file) return true;
    bool ok = std::ferror(file) == 0;
    ok = std::fclose(file) == 0 && ok;
    file = nullptr;
    if (to_stdout && buf) std::fwrite(buf, 1, size, stdout);
    std::free(buf);
    buf = nullptr;
    if (ok && !to_stdout) ok = std::rename(part.c_str(), path.c_str()) == 0;
    if (!ok) {
      diags.error({path}, "cannot write risk events: " + std::string(std::strerror(errno)), "risk-out");
      if (!to_stdout) std::remove(part.c_str());
    }
    return ok;
  }
  ~RiskOut() {
    if (!file) return;
    std::fclose(file);  // the hunt ended before close(): drop what was written
    if (!to_stdout) std::remove(part.c_str());
    std::free(buf);
  }
};

// Rules that cannot run: counted by reason in the run summary; --verbose names each.
static void report_not_executable(const RuleSet& rs, const Common& c, DiagnosticSink& diags) {
  if (!c.verbose) return;
  for (auto& r : rs.rules())
    if (r.parsed && !r.executable)
      diags.warning(r.location, "rule '" + r.info.name + "' is not executable: " +
                                    (r.reasons.empty() ? std::string("?") : r.reasons.front()),
                    "rule-not-executable");
}

static int run_hunt(HuntArgs& a) {
  Summary summary;
  Common& c = a.common;
  Progress progress(!c.quiet);
  DiagnosticSink diags;
  configure_diagnostics(diags, c, &progress);
  Output out;
  report::Format fmt;
  double now;
  if (!open_output(c, out) || !resolve_format(c, out, fmt) || !parse_now(c, now) || !a.filters.prepare()) return ended(diags, c, usage);
  std::string dd = data_dir(c);
  progress.phase("loading rules");
  auto norm = load_normalizer(c, diags);
  if (!norm) return ended(diags, c, nothing_ran);
  RuleSet& rs = keep_until_exit(std::make_unique<RuleSet>(RuleSetOptions{c.content, dd, !c.allow_writes.empty(), cache_dir(c)}));
  auto rule_paths = a.rules;
  if (a.incidents) rule_paths.push_back(risk::incident_rules_dir(dd));
  auto load_start = std::chrono::steady_clock::now();
  rs.load(rule_paths, diags);
  auto all_rules = executable_rules(rs);
  double load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
  report_not_executable(rs, c, diags);
  hint_missing_macros(rs, c, diags);
  // Rules over datamodel=Risk run in the second pass, over the first pass's risk events. The
  // rule filters select among the user's rules; --incidents always runs its two.
  std::vector<const ir::CompiledRule*> rules, correlations, incident_rules;
  for (auto* r : all_rules) {
    const bool incident = a.incidents && r->info.file.rfind(risk::incident_rules_dir(dd), 0) == 0;
    if (!incident && !a.filters.rule_selected(r->info)) continue;
    if (!risk::reads_risk(*r)) {
      rules.push_back(r);
      continue;
    }
    correlations.push_back(r);
    if (incident) incident_rules.push_back(r);
  }
  const bool risk_on = !a.risk_out.empty() || !correlations.empty();
  if (all_rules.empty()) {
    progress.stop();
    diags.error({}, "no executable rule loaded from the given --rules paths", "no-rules");
    summary.print(c, nullptr, 0, &rs, 0, diags);
    return ended(diags, c, nothing_ran);
  }
  if (rules.empty() && correlations.empty()) {
    progress.stop();
    diags.error({}, fmt::format("the filters ({}) leave none of the {} executable rules", a.filters.describe(),
                                all_rules.size()),
                "no-rules");
    summary.print(c, nullptr, 0, &rs, 0, diags);
    return ended(diags, c, nothing_ran);
  }
  auto attack = load_attack(c, diags);
  RunOptions ro = run_options(c, now, &progress);
  ro.engine.profile = a.profile;

  // JSONL and CSV are written as findings become final (per-event rules in input order, then the
  // aggregations); the table, for people, is grouped and sorted into a timeline first.
  const bool table = fmt == report::Format::table;
  const bool hold = table || !a.html.empty();
  const bool stdout_is_terminal = !out.owned && isatty(fileno(stdout));
  auto w = table ? nullptr : report::make_finding_writer(fmt, out.file);
  std::vector<report::FindingView> held;
  report::HuntSummary results;
  // Who, where and what of each finding, and the summary counted from them, are shown by the
  // table, the HTML report and --summary-out only.
  const bool for_people = hold || !a.summary_out.empty();
  std::map<const ir::CompiledRule*, size_t> per_rule;
  size_t written = 0, outside_window = 0;
  // Risk events go to the second pass as findings come (risk/risk_pass.h), so none is kept.
  risk::RiskPass risk_pass(attack.get());
  RiskOut risk_out;
  ir::CompiledRule top_rule;
  if (risk_on) {
    if (!a.risk_out.empty() && !risk_out.open(a.risk_out, diags)) {
      progress.stop();
      return ended(diags, c, usage);
    }
    if (table && !correlations.empty()) top_rule = rs.compile_query(risk::kTopObjectsSpl, diags);
    // Both passes test atoms of one table: compiling them (every regex, every prefilter group)
    // once, not once per pass: the second compile was 11% of a start's main thread (perf).
    if (!ro.engine.matcher) ro.engine.matcher = Engine::shared_matcher(rs.atoms(), ro.engine);
    risk_pass.start(correlations, top_rule.executable ? &top_rule : nullptr, rs.atoms(), *norm, ro.engine, diags,
                    risk_out.file);
  }
  std::vector<report::FindingView> incidents;
  bool second_pass = false;
  FindingTimes times;
  using Clock = std::chrono::steady_clock;
  auto lap = [&](Clock::time_point& t0, double& into) {  // --profile only
    const Clock::time_point t1 = Clock::now();
    into += std::chrono::duration<double>(t1 - t0).count();
    t0 = t1;
  };
  ro.on_finding = [&](Finding&& f) {
    // --profile: every finding handed on, in the time window or not, correlations' too.
    const bool timed = a.profile;
    Clock::time_point t0;
    if (timed) t0 = Clock::now();
    auto v = report::describe(f, attack.get(), for_people);
    if (timed) lap(t0, times.describe);
    if (!a.filters.finding_selected(v)) {
      ++outside_window;
      return;
    }
    ++per_rule[f.rule];
    ++written;
    if (second_pass) {
      v.rule_type = "Correlation";  // over risk events; never fed back into risk
      if (std::find(incident_rules.begin(), incident_rules.end(), f.rule) != incident_rules.end()) {
        incidents.push_back(v);
        incidents.back().fields = nullptr;  // the row does not outlive this call
      }
    } else if (risk_on) {
      if (timed) lap(t0, times.write);  // the bookkeeping above
      risk_pass.add(f, v);
      if (timed) lap(t0, times.risk);
    }
    progress.add_finding();
    if (for_people) results.add(v);
    if (w) {
      if (stdout_is_terminal) progress.clear();
      w->write(v);
    }
    if (timed) lap(t0, times.write);
    if (hold) {
      v.fields = nullptr;  // the row does not outlive this call
      held.push_back(std::move(v));
    }
  };
  // A live input that paused: its findings are evaluated (run_rules) and written out now.
  ro.read.on_pause = [&] {
    std::fflush(out.file);
    if (risk_out.file) std::fflush(risk_out.file);
  };
  progress.phase("reading");
  RunResult res;
  if (a.clickhouse.empty()) {
    res = run_rules(rules, rs.atoms(), *norm, a.logs, ro, diags);
  } else {
    // Filters run on ClickHouse, the rest here (clickhouse/remote_hunt.h). Nothing is written
    // unless the whole fetch succeeded.
    clickhouse::HttpClient client(a.clickhouse);
    auto rh = clickhouse::remote_hunt(client, *norm, rs.atoms(), rules, ro.engine, diags, ro.on_finding,
                                      !a.no_push_down);
    if (!rh) {
      diags.error({a.clickhouse}, rh.error().message, "clickhouse");
      progress.stop();
      summary.print(c, nullptr, 0, &rs, -1, diags);
      return ended(diags, c, nothing_ran);
    }
    const auto& st = rh->stats;
    res.engine = std::move(rh->engine);
    res.evaluated = st.rows_fetched;
    res.read.files = 1;
    res.read.records_read = st.rows_fetched;
    if (!c.quiet) {
      progress.clear();
      std::string tables, agg;
      for (auto& t : st.tables_scanned) tables += (tables.empty() ? "" : ", ") + t;
      for (auto& t : st.agg_tables) agg += (agg.empty() ? "" : ", ") + t;
      size_t datamodel = st.streams_pushed;
      for (auto& [why, n] : st.not_pushed) datamodel += n;
      std::fprintf(stderr,
                   "clickhouse: %zu table scans (aggregations: %s; records: %s)%s; %zu of %zu tstats streams "
                   "aggregated on the cluster (%llu groups%s, %.1f MB in %.2fs); %llu events fetched (%.1f MB) in "
                   "%.2fs; local engine %.2fs\n",
                   st.agg_tables.size() + st.tables_scanned.size(), agg.empty() ? "none" : agg.c_str(),
                   tables.c_str(), st.clustered ? (" on " + std::to_string(st.shards) + " shards").c_str() : "",
                   st.streams_pushed, datamodel, static_cast<unsigned long long>(st.groups_fetched),
                   st.agg_per_shard ? " from each shard's local tables" : "",
                   st.agg_bytes / 1e6, st.agg_seconds, static_cast<unsigned long long>(st.rows_fetched),
                   st.bytes_fetched / 1e6, st.query_seconds, st.local_seconds);
      if (!st.unselective.empty())
        std::fprintf(stderr, "clickhouse: every event fetched: no SQL condition selects for rule '%s'%s\n",
                     st.unselective.front().c_str(),
                     st.unselective.size() > 1 ? (" and " + std::to_string(st.unselective.size() - 1) + " more").c_str() : "");
      if (!st.not_pushed.empty()) {
        std::string why;
        for (auto& [w, n] : st.not_pushed) why += (why.empty() ? "" : "; ") + w + " " + std::to_string(n);
        std::fprintf(stderr, "clickhouse: datamodel streams aggregated here: %s\n", why.c_str());
      }
    }
  }
  if (risk_on) {
    progress.phase("risk");
    second_pass = true;
    risk_pass.finish(ro.on_finding);
    if (!risk_out.close(a.risk_out, diags)) {
      progress.stop();
      return ended(diags, c, usage);
    }
  }
  progress.phase("writing");
  results.finish();
  if (w) w->finish();
  // The table goes to the terminal the progress line is on: the line ends first.
  progress.stop();
  bool color = use_color(c, out.file);
  if (table) {
    report::write_triage_table(held, !a.no_group, color, terminal_width(out.file), out.file);
    std::fputs(results.text(color).c_str(), out.file);
    // The risk ending comes last (incidents, then the top risk objects).
    if (!correlations.empty())
      risk::print_risk_summary(out.file, a.incidents ? &incidents : nullptr, risk_pass.top(), 10,
                               risk_pass.event_count());
  }
  std::fflush(out.file);
  if (!a.summary_out.empty()) {
    std::FILE* f = std::fopen(a.summary_out.c_str(), "w");
    if (!f) diags.error({a.summary_out}, "cannot write the summary", "output");
    else {
      std::fprintf(f, "%s\n", results.json().c_str());
      std::fclose(f);
    }
  }
  if (!a.html.empty()) {
    report::HuntReportInfo info;
    info.catalog = a.catalog;
    info.inputs = a.logs;
    info.rules_run = rules.size() + correlations.size();
    info.records = res.read.records_read;
    if (!report::write_hunt_html(a.html, held, results, info))
      diags.error({a.html}, "cannot write the HTML report", "output");
  }
  if (a.rule_stats) print_rule_stats(*res.engine, per_rule);
  times.risk_events = risk_pass.event_count();
  times.risk_handed_on = risk_pass.handed_on_count();
  if (a.profile) print_profile(*res.engine, rs, load_seconds, times, written, outside_window);
  report_regex_limits(rules, diags);
  rs.report_lookup_errors(diags);
  if (a.filters.active() && !c.quiet) {
    diags.print_groups();
    std::fprintf(stderr, "filters: %s: %zu of %zu executable rules run", a.filters.describe().c_str(), rules.size() + correlations.size(),
                 all_rules.size());
    if (outside_window) std::fprintf(stderr, "; %zu findings outside the time window", outside_window);
    std::fprintf(stderr, "\n");
  }
  summary.print(c, &res.read, res.evaluated, &rs, static_cast<long>(written), diags);

  if (nothing_readable(res.read)) return ended(diags, c, nothing_ran);
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
      "  vigil hunt --rules escu/ --rules sigma/rules --incidents --risk-out risk.jsonl logs/\n"
      "Risk-based alerting: every finding yields one risk event per risk object (ESCU observables,\n"
      "rba:, finding:; Sigma: host and user fields). Rules whose search reads datamodel=Risk (ESCU's\n"
      "Correlation rules, your own) run in a second pass over those risk events, in the same command;\n"
      "their findings have rule_type Correlation and are not turned into risk events.\n"
      "  vigil hunt --rules sigma/rules --min-level high --from 2022-01-01 --exclude-status experimental logs/\n"
      "  vigil hunt --rules escu/ --include-rule T1003 --html report.html --summary-out summary.json logs/\n"
      "Logs may be .evtx, XmlWinEventLog text, JSON lines (NXLog, OTRF, evtx-JSON, Winlogbeat,\n"
      "CrowdStrike), or .gz/.zip/.tar.gz of those; directories are read recursively, following links,\n"
      "and a file reached by two paths (a link, a file named twice) is read once.\n"
      "  vigil hunt --clickhouse http://127.0.0.1:8123 --rules sigma/rules   # over `vigil load`ed events");
  sub->add_option("-r,--rules", a->rules, "rule files or directories (ESCU and Sigma, mixed)")->required()->allow_extra_args(false);
  auto* logs = sub->add_option("logs", a->logs, "log files, directories or archives ('-' = stdin)");
  auto* ch = sub->add_option("--clickhouse", a->clickhouse,
                             "hunt over the events `vigil load` put on this ClickHouse server (HTTP URL) instead of "
                             "LOG arguments: filters run there, the rest here; findings as a local hunt's");
  logs->excludes(ch);
  sub->add_flag("--no-push-down", a->no_push_down,
                "with --clickhouse: run tstats aggregations here on fetched records instead of as GROUP BY on "
                "the cluster (faster on ClickHouse 18.16 for large rule sets over small data; README)")
      ->needs(ch);
  ch->excludes(logs);
  sub->add_option("--risk-out", a->risk_out,
                  "write risk events as JSON lines to FILE ('-' = stdout): one per risk object of each finding, "
                  "with Splunk ES's Risk.All_Risk fields (risk_object, risk_score, source, annotations.mitre_attack.*)")
      ->type_name("FILE");
  sub->add_flag("--incidents", a->incidents,
                "also run ES's two default risk incident rules (data/risk/incidents: score > 100 for one object in "
                "24 h; >= 3 tactics and >= 4 detections for one object in 7 days) over the risk events; the table "
                "ends with the incidents and the top risk objects");
  sub->add_flag("--rule-stats", a->rule_stats, "print per-rule counts (findings, matched events) on stderr");
  sub->add_flag("--profile", a->profile,
                "print where the time went on stderr: loading, normalizing the events, the rules' gates, the "
                "rules, handing on the findings, their tails, how many events reached a rule's filter and passed "
                "it, and the 20 rules that cost the most");
  sub->add_flag("--no-group", a->no_group,
                "table: one row per finding (default: one per rule, host, user and process, with count and time range)");
  sub->add_option("--summary-out", a->summary_out,
                  "write the results summary as JSON to FILE (levels, risk bands, top rules/hosts/users, ATT&CK)");
  sub->add_option("--html", a->html, "write an HTML report to FILE: summary, timeline per host, ATT&CK heat map");
  sub->add_option("--catalog-url", a->catalog,
                  "the catalog (vigil catalog --out DIR) the HTML report links each rule to: a DIR or URL");
  a->filters.add_options(*sub);
  CommonOptions co;
  co.format = co.run = co.strict = co.fail_on_findings = co.color = true;
  add_common(*sub, a->common, co);
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
