// vigil: one detection engine for Splunk ESCU (SPL over CIM) and Sigma rules,
// run directly on raw Windows logs.
#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/common.h"

#ifdef VIGIL_JEMALLOC_CONF
// jemalloc's settings for vigil (MALLOC_CONF in the environment still overrides them):
// - one arena for the few threads a hunt runs;
// - transparent huge pages where the kernel offers them (`madvise` mode, Debian's default): loading
//   both corpora touches ~90 MB of fresh heap, and taking it 4 KB at a time was 19,000 page faults,
//   a third of a 0.5 s start (0.53 -> 0.33 s);
// - freed pages kept for reuse 5 s before they go back to the OS (jemalloc's default: 10 s; no
//   muzzy stage). With huge pages, 1 s (the setting before them) made a hunt fault and zero freed
//   pages again: OTRF with both corpora and two threads took 5.07-5.13 s against 5.35-5.38 s, at
//   the same peak RSS (221-234 MB either way; docs/performance-history.md, stop 30).
extern "C" const char* malloc_conf;
const char* malloc_conf = "narenas:1,dirty_decay_ms:5000,muzzy_decay_ms:0,thp:always";
#endif

int main(int argc, char** argv) {
  CLI::App app{"vigil: run Splunk ESCU (SPL/CIM) and Sigma detections directly on raw endpoint logs"};
  app.set_version_flag("--version", std::string("vigil ") + VIGIL_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Start here:\n"
      "  vigil hunt --rules RULES... LOGS...    run rules, findings out\n"
      "  vigil search 'SPL' LOGS...            ad-hoc SPL over local logs\n"
      "  vigil lint RULES...                    which rules parse and run, and why not\n"
      "  vigil coverage --rules RULES... LOGS... which rules can run on these logs, and why not\n"
      "  vigil load --clickhouse URL LOGS...    logs into ClickHouse; then hunt --clickhouse URL --rules RULES\n"
      "Run 'vigil <verb> --help' for each verb's options and examples.\n"
      "Exit codes: 0 ran; 1 input or rule rejected (--strict); 2 usage; 3 nothing could run; 10 findings (--fail-on-findings).");
  std::vector<std::function<int()>> verbs = {
      vigil::cli::register_hunt(app), vigil::cli::register_search(app), vigil::cli::register_lint(app),
      vigil::cli::register_dump(app), vigil::cli::register_test(app), vigil::cli::register_explain(app),
      vigil::cli::register_catalog(app), vigil::cli::register_coverage(app),
      vigil::cli::register_load(app),    vigil::cli::register_sql(app)};
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : vigil::cli::usage;
  }
  for (auto& v : verbs) {
    int rc = v();
    if (rc >= 0) return rc;
  }
  return vigil::cli::usage;
}
