// vigil lint: parse, check and classify rules without logs.
#include <fmt/format.h>

#include <map>
#include <memory>

#include "clickhouse/pushdown.h"
#include "clickhouse/schema.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "core/escape.h"
#include "core/strings.h"
#include "engine/field_usage.h"
#include "risk/risk.h"

namespace vigil::cli {

namespace {
struct LintArgs {
  Common common;
  std::vector<std::string> rules;
  std::string format = "text";
  bool all = false;
  bool clickhouse = false;  ///< say what of each rule runs on ClickHouse (hunt --clickhouse)
};
}  // namespace

static std::string lint_json(const ir::CompiledRule& r, const std::vector<FieldWarning>& fw,
                             const std::string& placement) {
  std::string s = "{";
  s += "\"path\":" + json_quote(r.info.file);
  if (r.location.line) s += fmt::format(",\"line\":{}", r.location.line);
  s += ",\"id\":" + json_quote(r.info.id);
  s += ",\"name\":" + json_quote(r.info.name);
  s += ",\"language\":" + json_quote(r.info.language == ir::Language::sigma ? "sigma" : "escu");
  s += ",\"type\":" + json_quote(r.info.type);
  s += fmt::format(",\"parsed\":{},\"executable\":{}", r.parsed ? "true" : "false",
                   r.parsed && r.executable ? "true" : "false");
  s += ",\"reasons\":[";
  for (size_t i = 0; i < r.reasons.size(); ++i) s += (i ? "," : "") + json_quote(r.reasons[i]);
  s += "],\"field_warnings\":[";
  for (size_t i = 0; i < fw.size(); ++i)
    s += std::string(i ? "," : "") + "{\"field\":" + json_quote(fw[i].field) + ",\"where\":" + json_quote(fw[i].where) +
         ",\"sources\":" + json_quote(fw[i].sources) + ",\"filter_dead\":" + (fw[i].filter_dead ? "true" : "false") +
         ",\"message\":" + json_quote(fw[i].message()) + "}";
  s += "]";
  if (!placement.empty()) s += ",\"clickhouse\":" + json_quote(placement);
  return s + "}";
}

static int run_lint(LintArgs& a) {
  Common& c = a.common;
  DiagnosticSink diags;
  configure_diagnostics(diags, c);
  // Per-rule verdicts go to stdout; the loader's own diagnostics are summarised, not repeated.
  diags.set_quiet(true);
  diags.set_keep(true);
  Output out;
  if (!open_output(c, out)) return usage;
  if (a.format != "text" && a.format != "json") {
    std::fprintf(stderr, "error: lint --format is text or json\n");
    return usage;
  }
  RuleSet rs({c.content, data_dir(c), !c.allow_writes.empty(), cache_dir(c)});
  rs.load(a.rules, diags);
  // Field-aware check: which rules read a field no mapping produces for their sources. Such a
  // rule stays executable (hunt runs it); it is its own class, "executable, with field warnings".
  auto norm = load_normalizer(c, diags);
  DataSourceCatalog catalog;
  if (norm) catalog = DataSourceCatalog::load(find_content_root(a.rules, c.content), *norm);
  size_t field_warned = 0;
  // Paths that could not be read are not rules, so no verdict names them:
  // say which, on stderr, whatever the quiet loader reported.
  for (auto& d : diags.kept())
    if (d.reason == "missing-path" || d.reason == "unreadable-rule") std::fprintf(stderr, "%s\n", render_text(d).c_str());
  // --clickhouse: against the tables `vigil load` creates (clickhouse/schema.h).
  std::unique_ptr<clickhouse::SqlTranslator> tr;
  clickhouse::Store store;
  if (a.clickhouse && norm) {
    for (auto& t : clickhouse::build_schema(*norm)) store.columns[t.name] = t.columns;
    tr = std::make_unique<clickhouse::SqlTranslator>(*norm, rs.atoms(), store);
  }
  std::map<std::string, size_t> ch_local;
  size_t ch_pushed = 0, ch_second_pass = 0;
  size_t parsed = 0, executable = 0, escu = 0, sigma = 0;
  std::map<std::string, size_t> reasons;
  for (auto& r : rs.rules()) {
    parsed += r.parsed;
    executable += r.parsed && r.executable;
    (r.info.language == ir::Language::sigma ? sigma : escu)++;
    if (!(r.parsed && r.executable) && !r.reasons.empty()) {
      // Group by reason, not by place: the rule's path and quoted names are elided
      // ("no logsource mapping for '…' in data/sigma/logsources.yml"), the same for both languages.
      reasons[(r.parsed ? "not executable: " : "not parsed: ") + reason_category(r.reasons.front())]++;
    }
    std::vector<FieldWarning> fw;
    if (norm && r.parsed && r.executable) fw = check_rule_fields(r, rs.atoms(), *norm, catalog);
    if (!fw.empty()) {
      ++field_warned;
      reasons["field warnings: reads a field no mapping produces"]++;
    }
    std::string placement;
    if (tr && r.parsed && r.executable && risk::reads_risk(r)) {
      // hunt runs these over its own risk events, never over the cluster's tables.
      placement = kSecondPass;
      ++ch_second_pass;
    } else if (tr && r.parsed && r.executable) {
      placement = clickhouse::placement_summary(*tr, store, *norm, r);
      for (size_t si = 0; si < r.plan.streams.size(); ++si) {
        if (r.plan.streams[si].source.kind != ir::Source::Kind::datamodel) continue;
        clickhouse::PushedStream p;
        std::string why = clickhouse::plan_push(*tr, store, *norm, r, si, p);
        if (why.empty()) ++ch_pushed;
        else ++ch_local[why.substr(0, why.find(": "))];
      }
    }
    if (a.format == "json") {
      std::fprintf(out.file, "%s\n", lint_json(r, fw, placement).c_str());
    } else if (a.all || a.clickhouse || !(r.parsed && r.executable) || !fw.empty()) {
      std::string where = r.info.file + (r.location.line ? ":" + std::to_string(r.location.line) : "");
      const char* verdict = !r.parsed         ? "rejected"
                            : !r.executable   ? "not executable"
                            : !fw.empty()     ? "executable, with field warnings"
                                              : "ok";
      std::fprintf(out.file, "%s: %s: %s", escape_controls(where).c_str(), verdict,
                   escape_controls(r.info.name).c_str());
      for (auto& why : r.reasons) std::fprintf(out.file, "\n    %s", escape_controls(why).c_str());
      for (auto& w : fw) std::fprintf(out.file, "\n    %s: %s", escape_controls(w.where).c_str(), escape_controls(w.message()).c_str());
      if (!placement.empty()) std::fprintf(out.file, "\n    clickhouse: %s", escape_controls(placement).c_str());
      std::fprintf(out.file, "\n");
    }
  }
  // The vocabulary of every verb: loaded, executable, not executable (of which some did not parse).
  std::string line = fmt::format("rules loaded {} ({} escu, {} sigma): {} executable, {} not executable ({} not parsed)",
                                 rs.rules().size(), escu, sigma, executable, rs.rules().size() - executable,
                                 rs.rules().size() - parsed);
  line += fmt::format("; {} executable with field warnings", field_warned);
  if (rs.files_ignored()) line += fmt::format("; {} files held no rule", rs.files_ignored());
  if (tr) {
    size_t local = 0;
    for (auto& [why, n] : ch_local) local += n;
    line += fmt::format("; clickhouse: {} tstats aggregations on the cluster, {} locally, {} rules in the second pass "
                        "over risk events",
                        ch_pushed, local, ch_second_pass);
    for (auto& [why, n] : ch_local) reasons["clickhouse: aggregated locally: " + why] += n;
  }
  std::fprintf(a.format == "json" ? stderr : out.file, "%s\n", line.c_str());
  std::fflush(out.file);  // the verdicts before the reasons on stderr (2>&1)
  if (!c.quiet && !reasons.empty()) {
    std::fprintf(stderr, "reasons:\n");
    for (auto& [why, n] : reasons) std::fprintf(stderr, "  %5zu  %s\n", n, why.c_str());
  }
  if (rs.rules().empty()) return nothing_ran;
  if (c.strict && rs.rejected()) return rejected;
  return ok;
}

std::function<int()> register_lint(CLI::App& app) {
  auto a = std::make_shared<LintArgs>();
  auto* sub = app.add_subcommand("lint", "Parse, check and classify rules without logs");
  sub->footer(
      "Every rule is reported as parsed or rejected (with its location), and executable or not\n"
      "(naming the missing command, lookup or macro). An executable rule that reads a field no\n"
      "normalization mapping produces for its data sources is 'executable, with field warnings'\n"
      "(it still runs in hunt). Text output lists only problem rules unless --all.\n"
      "Examples:\n"
      "  vigil lint security_content/detections\n"
      "  vigil lint --format json sigma/rules | jq 'select(.executable|not)'\n"
      "  vigil lint --clickhouse security_content/detections/endpoint   # what runs where on ClickHouse");
  sub->add_option("rules", a->rules, "rule files or directories")->required();
  sub->add_option("--format", a->format, "text or json (one object per rule per line)");
  sub->add_flag("--all", a->all, "text: list every rule, not only the ones with problems");
  sub->add_flag("--clickhouse", a->clickhouse,
                "say per rule what runs on ClickHouse in hunt --clickhouse (filter, tstats aggregation) and "
                "what runs locally, with the reason");
  CommonOptions co;
  co.strict = true;
  add_common(*sub, a->common, co);
  sub->add_option("--allow-writes", a->common.allow_writes, "treat rules that write lookups under DIR as executable");
  sub->add_option("-o,--output", a->common.output, "write the report to FILE");
  return [a, sub]() { return sub->parsed() ? run_lint(*a) : -1; };
}

}  // namespace vigil::cli
