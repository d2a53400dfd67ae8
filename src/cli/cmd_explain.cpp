// vigil explain: one rule as the engine runs it (report/explain.h), optionally
// with corpus-wide indicator counts (--corpus) and the parser/IR dumps.
#include <fmt/format.h>

#include <filesystem>

#include "clickhouse/pushdown.h"
#include "clickhouse/schema.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "report/explain.h"
#include "report/html.h"
#include "risk/risk.h"

namespace vigil::cli {

namespace {
struct ExplainArgs {
  Common common;
  std::string rule;
  std::vector<std::string> corpus;
  std::string format = "md";
  bool dump_ast = false;
  bool dump_ir = false;
};

std::string canonical(const std::string& p) {
  std::error_code ec;
  auto c = std::filesystem::weakly_canonical(p, ec);
  return ec ? p : c.string();
}

// Indices of the rules loaded from `file` (a file may hold several Sigma documents).
std::vector<size_t> rules_from(const RuleSet& rs, const std::string& file, size_t from = 0) {
  std::vector<size_t> out;
  std::string want = canonical(file);
  for (size_t i = from; i < rs.rules().size(); ++i)
    if (canonical(rs.rules()[i].info.file) == want) out.push_back(i);
  return out;
}
}  // namespace

static int run_explain(ExplainArgs& a) {
  Common& c = a.common;
  if (a.format != "md" && a.format != "json" && a.format != "html" && a.format != "sql") {
    std::fprintf(stderr, "error: explain --format is md, json, html or sql\n");
    return usage;
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(a.rule, ec)) {
    std::fprintf(stderr, "error: %s is not a rule file\n", a.rule.c_str());
    return usage;
  }
  DiagnosticSink diags;
  configure_diagnostics(diags, c);
  // Loader diagnostics (other corpus rules, content tables) are not what explain is about: they are
  // counted and summarised; the explained rule's own problems are listed in its page.
  diags.set_quiet(true);
  Output out;
  if (!open_output(c, out)) return usage;

  std::vector<std::string> paths = a.corpus;
  paths.insert(paths.begin(), a.rule);
  std::string content_root = report::discover_content_root(c.content, paths);
  std::string dd = data_dir(c);
  RuleSet rs({content_root, dd, false, cache_dir(c)});
  // The explained rule is loaded once: from the corpus when it lies inside it, else on its own.
  if (!a.corpus.empty()) rs.load(a.corpus, diags);
  std::vector<size_t> mine = rules_from(rs, a.rule);
  if (mine.empty()) {
    size_t before = rs.rules().size();
    rs.load({a.rule}, diags);
    mine = rules_from(rs, a.rule, before);
  }
  if (mine.empty()) {
    std::fprintf(stderr, "error: %s holds no ESCU or Sigma rule\n", a.rule.c_str());
    return rejected;
  }
  if (a.format == "sql") {
    // What hunt --clickhouse runs where for this rule, against the tables `vigil load` creates.
    auto norm = load_normalizer(c, diags);
    if (!norm) return nothing_ran;
    clickhouse::Store store;
    for (auto& t : clickhouse::build_schema(*norm)) store.columns[t.name] = t.columns;
    clickhouse::SqlTranslator tr(*norm, rs.atoms(), store);
    std::string text;
    for (auto i : mine) {
      const ir::CompiledRule& r = rs.rules()[i];
      text += "-- " + r.info.name + " (" + r.info.file + ")\n";
      if (!r.executable) text += "-- not executable: " + (r.reasons.empty() ? std::string("?") : r.reasons[0]) + "\n";
      else if (risk::reads_risk(r)) text += std::string("-- ") + kSecondPass + "\n";
      else text += clickhouse::explain_rule(tr, store, *norm, r);
    }
    std::fwrite(text.data(), 1, text.size(), out.file);
    return ok;
  }
  auto attack = load_attack(c, diags);
  auto tables = report::load_explain_tables(dd, content_root, diags);
  report::Explainer explainer(tables.context(rs, attack.get()));

  content::MacroTable macros;
  if (a.dump_ast) {
    DiagnosticSink quiet(stderr);
    quiet.set_quiet(true);
    macros.load_file(dd + "/macros.yml", quiet);
    if (!content_root.empty()) macros.load_dir(content_root + "/macros", quiet);
  }
  std::string text;
  if (a.format == "json" && mine.size() > 1) text += "[";
  for (size_t k = 0; k < mine.size(); ++k) {
    const ir::CompiledRule& r = rs.rules()[mine[k]];
    report::RuleView v = explainer.view(r);
    if (a.format == "json") {
      text += (k ? "," : "") + report::render_json(v);
    } else if (a.format == "html") {
      text += report::render_rule_html(v, nullptr);
    } else {
      if (k) text += "\n---\n\n";
      text += report::render_markdown(v);
      if (a.dump_ast) text += "\n## AST\n\n```\n" + report::dump_ast(r, macros) + "```\n";
      if (a.dump_ir) text += "\n## IR\n\n```\n" + report::dump_ir(r, rs.atoms()) + "```\n";
    }
  }
  if (a.format == "json" && mine.size() > 1) text += "]";
  if (a.format == "json") text += "\n";
  std::fwrite(text.data(), 1, text.size(), out.file);
  std::fflush(out.file);  // before what follows on stderr (2>&1)
  // Dumps in json/html would break the document: they go to stderr instead.
  if (a.format != "md" && (a.dump_ast || a.dump_ir)) {
    for (auto i : mine) {
      if (a.dump_ast) std::fprintf(stderr, "%s", report::dump_ast(rs.rules()[i], macros).c_str());
      if (a.dump_ir) std::fprintf(stderr, "%s", report::dump_ir(rs.rules()[i], rs.atoms()).c_str());
    }
  }
  if (!c.quiet && (!a.corpus.empty() || diags.errors() + diags.warnings())) {
    // The loader's diagnostics were held (they concern the corpus, not this rule): say what they were.
    auto by_reason = diags.counts_by_reason();
    std::string reasons;
    for (auto& [why, n] : by_reason) reasons += fmt::format("{}{} {}", reasons.empty() ? "" : ", ", n, why);
    std::fprintf(stderr, "explain: counts over %s; loader diagnostics: %s\n", count_rules(rs).text().c_str(),
                 reasons.empty() ? "none" : reasons.c_str());
  }
  bool bad = false;
  for (auto i : mine) bad |= !(rs.rules()[i].parsed && rs.rules()[i].executable);
  return c.strict && bad ? rejected : ok;
}

std::function<int()> register_explain(CLI::App& app) {
  auto a = std::make_shared<ExplainArgs>();
  auto* sub = app.add_subcommand("explain", "Show a rule as the engine runs it: coverage, stages, predicates, indicators");
  sub->footer(
      "Sections: ATT&CK coverage, event coverage, rule body, stages and predicates (macros expanded),\n"
      "indicators (field, kind, values) with corpus counts, compiled plan. With --corpus, counts span every\n"
      "rule loaded from those paths (ESCU and Sigma alike; the explained rule included, loaded once).\n"
      "Examples:\n"
      "  vigil explain detections/endpoint/remote_process_instantiation_via_wmi.yml\n"
      "  vigil explain rule.yml --corpus security_content/detections --corpus sigma/rules --format html -o rule.html");
  sub->add_option("rule", a->rule, "the rule file (ESCU or Sigma YAML)")->required();
  sub->add_option("--corpus", a->corpus, "rule files or directories to count shared indicators over (repeatable)");
  sub->add_option("--format", a->format, "md (default), json, html or sql (what hunt --clickhouse runs where)");
  sub->add_flag("--dump-ast", a->dump_ast, "also print the parse tree (ESCU: the macro-expanded SPL's AST)");
  sub->add_flag("--dump-ir", a->dump_ir, "also print the IR: streams, predicate trees with atom ids, atoms");
  CommonOptions co;
  co.strict = true;
  add_common(*sub, a->common, co);
  sub->add_option("-o,--output", a->common.output, "write the page to FILE");
  return [a, sub]() { return sub->parsed() ? run_explain(*a) : -1; };
}

}  // namespace vigil::cli
