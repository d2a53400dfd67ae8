// vigil test: run rules' own tests (Sigma regression data, ESCU tests with local attack data).
#include <fmt/format.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "engine/rule_tests.h"
#include "normalize/normalizer.h"
#include "report/junit.h"

namespace vigil::cli {

namespace {
struct TestArgs {
  Common common;
  std::vector<std::string> rules;
  std::string sigma_regression;
  std::string attack_data;
  std::string junit;  ///< --junit FILE
  bool verbose = false;
};
}  // namespace

static int run_test(TestArgs& a) {
  Summary summary;
  Common& c = a.common;
  c.verbose = a.verbose;
  if (a.sigma_regression.empty() && a.attack_data.empty()) {
    std::fprintf(stderr, "error: give --sigma-regression DIR and/or --attack-data DIR\n");
    return usage;
  }
  Progress progress(!c.quiet);
  progress.phase("loading rules");
  DiagnosticSink diags;
  configure_diagnostics(diags, c, &progress);
  diags.set_quiet(true);  // per-rule loader noise is summarised by lint; tests report per case
  double now;
  if (!parse_now(c, now)) return usage;
  std::string dd = data_dir(c);
  auto norm = load_normalizer(c, diags);
  if (!norm) {
    std::fprintf(stderr, "error: cannot load the normalization tables from %s/normalize\n", dd.c_str());
    return nothing_ran;
  }
  RuleSet rs({c.content, dd, false, cache_dir(c)});
  rs.load(a.rules, diags);
  {
    DiagnosticSink hints;
    configure_diagnostics(hints, c);
    hint_missing_macros(rs, c, hints);
  }
  RunOptions ro;
  ro.engine.now = now;
  ro.read.threads = c.threads;
  progress.phase("running rule tests");
  // Each verdict is printed as its case ends (a whole corpus's cases take minutes), then the totals.
  const bool stdout_is_terminal = isatty(fileno(stdout));
  size_t passed = 0, failed = 0, skipped = 0;
  auto verdict = [&](const RuleTestResult& r) {
    std::string line;
    if (r.skipped) {
      ++skipped;
      if (a.verbose) line = fmt::format("SKIP  {} ({})\n", r.name, r.detail);
    } else if (r.passed) {
      ++passed;
      if (a.verbose) line = fmt::format("PASS  {}  [{} matches]\n", r.name, r.matches);
    } else {
      ++failed;
      line = fmt::format("FAIL  {}  {}: {}\n", r.name, r.rule_name.empty() ? r.rule_id : r.rule_name, r.detail);
    }
    if (line.empty()) return;
    if (stdout_is_terminal) progress.clear();  // the verdict goes where the progress line was
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
  };
  std::vector<RuleTestResult> results;
  if (!a.sigma_regression.empty()) {
    auto r = run_sigma_regression(a.sigma_regression, rs, *norm, ro, diags, verdict);
    results.insert(results.end(), r.begin(), r.end());
  }
  if (!a.attack_data.empty()) {
    auto r = run_escu_tests(a.attack_data, rs, *norm, ro, diags, verdict);
    results.insert(results.end(), r.begin(), r.end());
  }
  progress.stop();
  if (!a.junit.empty()) {
    std::FILE* f = a.junit == "-" ? stdout : std::fopen(a.junit.c_str(), "wb");
    if (!f) {
      std::fprintf(stderr, "error: cannot write %s\n", a.junit.c_str());
      return usage;
    }
    report::write_junit(f, results);
    if (f != stdout) std::fclose(f);
  }
  if (skipped) std::printf("%zu passed, %zu failed, %zu skipped\n", passed, failed, skipped);
  else std::printf("%zu passed, %zu failed\n", passed, failed);
  return failed ? rejected : (passed ? ok : nothing_ran);
}

std::function<int()> register_test(CLI::App& app) {
  auto a = std::make_shared<TestArgs>();
  auto* sub = app.add_subcommand("test", "Run rules' own tests (Sigma regression data, ESCU tests); ends with 'N passed, M failed'");
  sub->footer(
      "Examples:\n"
      "  vigil test --rules sigma/rules --sigma-regression sigma/regression_data\n"
      "  vigil test --rules security_content/detections --attack-data attack_data/   # ESCU tests: resolved by\n"
      "      the attack_data URL's path after datasets/attack_techniques/ (file, else its folder)\n"
      "  vigil test --rules detections/ --attack-data attack_data/ --junit report.xml   # for CI\n"
      "An ESCU case passes as in contentctl: the rule returns at least one result and every risk\n"
      "object and threat object field it names (observables, rba:, finding:) is present and not null\n"
      "in every result. Exit code 1 when any case fails.");
  sub->add_option("-r,--rules", a->rules, "rule files or directories")->required()->allow_extra_args(false);
  sub->add_option("--sigma-regression", a->sigma_regression, "SigmaHQ regression_data directory");
  sub->add_option("--attack-data", a->attack_data, "local root of attack_data (datasets/attack_techniques layout)");
  sub->add_option("--junit", a->junit, "also write the cases as JUnit XML to FILE (CI test reports)")->type_name("FILE");
  sub->add_flag("-v,--verbose", a->verbose, "list passing and skipped cases too, and every diagnostic as it happens");
  CommonOptions co;
  co.verbose = false;  // test's own --verbose (below) covers the diagnostics too
  add_common(*sub, a->common, co);
  sub->add_option("--threads", a->common.threads, "worker threads (default: all cores)");
  sub->add_option("--now", a->common.now, "pin now() for relative-time functions (ISO-8601 or epoch seconds)");
  return [a, sub]() { return sub->parsed() ? run_test(*a) : -1; };
}

}  // namespace vigil::cli
