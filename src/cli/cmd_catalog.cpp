// vigil catalog: a static HTML site for a rule corpus (report/catalog.h).
#include <fmt/format.h>

#include <chrono>

#include "cli/commands.h"
#include "cli/common.h"
#include "report/catalog.h"

namespace vigil::cli {

namespace {
struct CatalogArgs {
  Common common;
  std::vector<std::string> rules;
  std::string out;
};
}  // namespace

static int run_catalog(CatalogArgs& a) {
  Common& c = a.common;
  auto start = std::chrono::steady_clock::now();
  Progress progress(!c.quiet);
  progress.phase("loading rules");
  DiagnosticSink diags;
  configure_diagnostics(diags, c, &progress);
  diags.set_quiet(true);  // rule problems are shown on each rule's page; the run ends with their count
  std::string content_root = report::discover_content_root(c.content, a.rules);
  std::string dd = data_dir(c);
  RuleSet rs({content_root, dd, false, cache_dir(c)});
  rs.load(a.rules, diags);
  if (rs.rules().empty()) {
    progress.stop();
    std::fprintf(stderr, "error: no rules found under the given paths\n");
    return nothing_ran;
  }
  auto load_done = std::chrono::steady_clock::now();
  auto attack = load_attack(c, diags);
  auto tables = report::load_explain_tables(dd, content_root, diags);
  report::Explainer explainer(tables.context(rs, attack.get()));
  diags.set_quiet(false);  // write errors must be seen
  progress.phase("writing pages");
  report::CatalogStats st = report::write_catalog(explainer, a.out, diags);
  progress.stop();
  auto end = std::chrono::steady_clock::now();
  if (!c.quiet) {
    double load_s = std::chrono::duration<double>(load_done - start).count();
    double total_s = std::chrono::duration<double>(end - start).count();
    std::fprintf(stderr,
                 "catalog: %s; %zu indicator pages, %zu techniques, %zu event types; "
                 "%zu files, %.1f MB in %s; load %.2fs, total %.2fs\n",
                 count_rules(rs).text().c_str(), st.indicator_pages, st.techniques, st.event_types, st.files,
                 st.bytes / 1e6, a.out.c_str(), load_s, total_s);
  }
  if (st.write_errors) return nothing_ran;
  return c.strict && rs.rejected() ? rejected : ok;
}

std::function<int()> register_catalog(CLI::App& app) {
  auto a = std::make_shared<CatalogArgs>();
  auto* sub = app.add_subcommand("catalog", "Write a static HTML catalog of rules (works from file://)");
  sub->footer(
      "The site: index.html (search and filters), a page per rule (explain's content), a page per shared\n"
      "indicator, an ATT&CK matrix (attack.html) and the event types each rule feeds (datasources.html).\n"
      "Examples:\n"
      "  vigil catalog --rules security_content/detections --rules sigma/rules --out site\n"
      "  xdg-open site/index.html");
  sub->add_option("--rules", a->rules, "rule files or directories (repeatable)")->required();
  sub->add_option("--out", a->out, "output directory (created when missing)")->required();
  CommonOptions co;
  co.strict = true;
  add_common(*sub, a->common, co);
  return [a, sub]() { return sub->parsed() ? run_catalog(*a) : -1; };
}

}  // namespace vigil::cli
