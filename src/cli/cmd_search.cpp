// vigil search: one ad-hoc SPL query over local logs.
#include <unistd.h>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/field_hints.h"
#include "normalize/normalizer.h"

namespace vigil::cli {

namespace {
struct SearchArgs {
  Common common;
  std::string query;
  std::vector<std::string> logs;
};
}  // namespace

static int run_search(SearchArgs& a) {
  Summary summary("results");
  Common& c = a.common;
  Progress progress(!c.quiet);
  DiagnosticSink diags;
  configure_diagnostics(diags, c, &progress);
  Output out;
  report::Format fmt;
  double now;
  if (!open_output(c, out) || !resolve_format(c, out, fmt) || !parse_now(c, now)) return ended(diags, c, usage);
  std::string dd = data_dir(c);
  auto norm = load_normalizer(c, diags);
  if (!norm) return ended(diags, c, nothing_ran);
  RuleSet rs({c.content, dd, !c.allow_writes.empty(), cache_dir(c)});
  ir::CompiledRule rule = rs.compile_query(a.query, diags);
  if (!rule.parsed || !rule.executable) {
    progress.stop();
    diags.print_groups();  // the query's own error, located, before the exit
    return ended(diags, c, usage);
  }
  RunOptions ro = run_options(c, now, &progress);
  ro.engine.keep_zero_counts = true;  // results, not findings: `| stats count` over nothing says 0, as Splunk does
  ro.engine.note_fields = true;       // for the hints when nothing is found (field_hints.h)
  // Rows go to the writer as they become final (per-event results in input order, then the
  // aggregations): JSON lines are written at once (memory does not grow with the results, and a
  // live input is answered as it comes); CSV and the table wait for their header (RowWriter).
  const bool stdout_is_terminal = !out.owned && isatty(fileno(stdout));
  auto writer = report::make_row_writer(fmt, out.file);
  size_t results = 0;
  bool first_is_zero_count = false;
  ro.on_finding = [&](Finding&& f) {
    if (++results == 1) first_is_zero_count = is_zero_count(f.row);
    progress.add_finding();
    if (stdout_is_terminal && fmt == report::Format::jsonl) progress.clear();
    writer->write(f.row);
  };
  ro.read.on_pause = [&] { std::fflush(out.file); };  // a live input paused: what it gave is out
  progress.phase("reading");
  RunResult res = run_rules({&rule}, rs.atoms(), *norm, a.logs, ro, diags);
  progress.stop();
  auto written = writer->finish();
  if (written.rows_lost) diags.error({c.output.empty() ? "<stdout>" : c.output}, written.message, "output");
  else if (!written.message.empty()) diags.warning({}, written.message, "output");
  std::fflush(out.file);
  if (res.engine->satisfied())
    diags.note({}, fmt::format("head has its rows: reading stopped after {} records; the rest of the input was not read",
                               res.read.records_read),
               "stopped-early");
  // Nothing found (no rows, or one `count` of 0): say which field of the query no event carries.
  if ((results == 0 || (results == 1 && first_is_zero_count)) && res.read.records_read > res.read.records_skipped)
    for (auto& hint : missing_field_hints(rule, rs.atoms(), res.engine->fields_seen()))
      diags.warning({}, hint, "unknown-field");
  report_regex_limits({&rule}, diags);
  rs.report_lookup_errors(diags);
  summary.print(c, &res.read, res.evaluated, nullptr, static_cast<long>(results), diags);
  if (nothing_readable(res.read)) return ended(diags, c, nothing_ran);
  if (written.rows_lost) return rejected;
  if (c.fail_on_findings && results) return findings;
  if (c.strict && (res.read.records_skipped || res.read.files_skipped)) return rejected;
  return ok;
}

std::function<int()> register_search(CLI::App& app) {
  auto a = std::make_shared<SearchArgs>();
  auto* sub = app.add_subcommand("search", "Run one ad-hoc SPL query over logs; result rows out");
  sub->footer(
      "Examples:\n"
      "  vigil search 'EventCode=1 Image=\"*\\\\wmic.exe\" | table _time host CommandLine' logs/\n"
      "  vigil search '| tstats count from datamodel=Endpoint.Processes by Processes.process_name' Sysmon.evtx\n"
      "  vigil search --content security_content '`sysmon` EventCode=1 | stats count by Image' logs/\n"
      "  vigil search '| tstats count where index=* by host sourcetype' logs/   # what is there\n"
      "  vigil search 'EventCode=4688 | top limit=5 NewProcessName by host' logs/\n"
      "  vigil search 'EventCode=4625 | timechart span=1h count by host limit=5' logs/\n"
      "  vigil search 'EventCode=4624 | chart count over host by LogonType' logs/\n"
      "  vigil search --now 2024-05-01 'index=* EventCode=4625 earliest=-7d@d | stats count by host' logs/\n"
      "Raw searches see Splunk's raw field names (EventCode, Image, source, sourcetype, host, _time);\n"
      "events from local logs are in index main. tstats from datamodel sees CIM datasets (Endpoint.Processes\n"
      "as Processes.*), tstats without one the events. earliest=/latest= set the time range (relative to\n"
      "--now, else the clock; epoch seconds or ISO-8601). timechart without span= picks Splunk's span for\n"
      "at most 100 buckets over the events' times; spans are in UTC, and calendar spans (1mon, 1y) are refused.\n"
      "Rows are written as they become final (JSON lines at once, also from a live '-'); CSV and the\n"
      "table name every column in their header, so they come at the end (CSV spooled to a temp file).");
  sub->add_option("query", a->query, "the SPL query")->required();
  sub->add_option("logs", a->logs, "log files, directories or archives ('-' = stdin)")->required();
  CommonOptions co;
  co.format = co.run = co.strict = co.fail_on_findings = true;
  add_common(*sub, a->common, co);
  return [a, sub]() { return sub->parsed() ? run_search(*a) : -1; };
}

}  // namespace vigil::cli
