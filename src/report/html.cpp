#include "report/html.h"

#include <fmt/format.h>

namespace vigil::report {

void html_escape_to(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      case '\0': out += "&#xFFFD;"; break;  // NUL is a parse error in HTML
      default: out += c;
    }
  }
}

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 16);
  html_escape_to(out, s);
  return out;
}

const char* catalog_css() {
  return R"CSS(
:root{--fg:#1d2330;--muted:#5d6677;--line:#d9dee7;--bg:#fff;--head:#f3f5f9;--accent:#1f5fbf;--code:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
nav{background:#1d2330;color:#fff;padding:8px 20px;display:flex;gap:18px;align-items:center}
nav a{color:#fff;text-decoration:none;font-weight:600}nav .brand{font-size:16px;margin-right:12px}
main{padding:16px 24px;max-width:1400px}
h1{font-size:22px;margin:8px 0}h2{font-size:17px;margin:22px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:14px;margin:14px 0 6px}
a{color:var(--accent)}
.crumb,.muted{color:var(--muted)}
table{border-collapse:collapse;margin:6px 0;width:100%}
th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{background:var(--head)}
pre{background:var(--code);border:1px solid var(--line);padding:8px;overflow:auto;white-space:pre-wrap;word-break:break-word;margin:6px 0}
code{background:var(--code);padding:0 3px;border-radius:3px;word-break:break-all}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;background:#e8edf6;margin-right:4px}
.badge.sigma{background:#e6f4ea}.badge.splunk{background:#fde8d7}.badge.bad{background:#fbe0e0}
.count{color:var(--muted);font-size:12px;white-space:nowrap}
.filters{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0}
.filters input,.filters select{font:inherit;padding:4px 6px;border:1px solid var(--line);border-radius:4px}
#q{min-width:320px}
#errors:empty{display:none}#errors{color:#a00;border:1px solid #a00;padding:6px}
.matrix{display:flex;gap:6px;align-items:flex-start;overflow-x:auto}
.matrix .col{min-width:150px;flex:1}
.matrix .col h3{font-size:12px;background:var(--head);padding:4px;margin:0 0 4px;border:1px solid var(--line)}
.matrix a.cell{display:block;font-size:11px;padding:3px 4px;margin-bottom:3px;border:1px solid var(--line);color:var(--fg);text-decoration:none}
.matrix .cell.zero{color:#9aa1ad}
details summary{cursor:pointer}
)CSS";
}

void page_begin(std::string& out, std::string_view title, const RuleLinks* links) {
  out += "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>";
  html_escape_to(out, title);
  out += "</title>";
  if (links && !links->css_href.empty()) {
    out += "<link rel=\"stylesheet\" href=\"";
    html_escape_to(out, links->css_href);
    out += "\">";
  } else {
    out += "<style>";
    out += catalog_css();
    out += "</style>";
  }
  out += "</head><body>";
  if (links) {
    std::string r = html_escape(links->root);
    out += fmt::format(
        "<nav><a class=\"brand\" href=\"{0}index.html\">vigil catalog</a><a href=\"{0}index.html\">Rules</a>"
        "<a href=\"{0}attack.html\">ATT&amp;CK matrix</a><a href=\"{0}datasources.html\">Data sources</a></nav>",
        r);
  }
  out += "<main>";
}

void page_end(std::string& out) { out += "</main></body></html>\n"; }

namespace {

void pre(std::string& out, std::string_view text) {
  out += "<pre>";
  html_escape_to(out, text);
  out += "</pre>";
}

}  // namespace

void render_rule_html_to(std::string& o, const RuleView& v, const RuleLinks* links) {
  const ir::RuleInfo& info = v.rule->info;
  std::string title = info.name.empty() ? "(unnamed rule)" : info.name;
  page_begin(o, title, links);
  std::string root = links ? html_escape(links->root) : "";
  o += "<p class=\"crumb\">Detection rules › ";
  o += v.language == "sigma" ? "Sigma" : "Splunk";
  o += "</p><h1>";
  html_escape_to(o, title);
  o += "</h1><p>";
  o += fmt::format("<span class=\"badge {}\">{}</span>", v.language, v.language);
  // Sigma rules carry "sigma" as their type: one badge says it.
  if (!info.type.empty() && info.type != v.language) o += "<span class=\"badge\">" + html_escape(info.type) + "</span>";
  if (!v.status.empty())
    o += fmt::format("<span class=\"badge{}\">{}</span>", v.rule->parsed && v.rule->executable ? "" : " bad",
                     html_escape(v.status));
  if (!info.level.empty()) o += "<span class=\"badge\">level " + html_escape(info.level) + "</span>";
  o += "</p>";
  if (!info.id.empty() || !info.file.empty())
    o += "<p class=\"muted\">id <code>" + html_escape(info.id) + "</code> · file <code>" + html_escape(info.file) + "</code></p>";
  if (!info.description.empty()) o += "<p>" + html_escape(info.description) + "</p>";
  if (!v.rule->reasons.empty()) {
    o += "<h2>Problems</h2><ul>";
    for (auto& why : v.rule->reasons) o += "<li>" + html_escape(why) + "</li>";
    o += "</ul>";
  }

  o += "<h2 id=\"attack\">MITRE ATT&amp;CK coverage</h2><table><tr><th>Tactic</th><th>Techniques</th></tr>";
  for (size_t i = 0; i < v.attack.size();) {
    size_t j = i;
    o += "<tr><td>" + html_escape(v.attack[i].tactic) + "</td><td>";
    for (; j < v.attack.size() && v.attack[j].tactic == v.attack[i].tactic; ++j) {
      if (j > i) o += ", ";
      std::string label = html_escape(v.attack[j].id);
      label += ' ';
      if (v.attack[j].name.empty()) {
        label += "<span class=\"muted\">";
        html_escape_to(label, kNotInAttackTable);
        label += "</span>";
      } else {
        html_escape_to(label, v.attack[j].name);
      }
      if (links) {
        o += fmt::format("<a href=\"{}index.html?technique={}\">{}</a>", root, html_escape(v.attack[j].id), label);
      } else {
        // A standalone page (explain --format html) links to MITRE's page of the technique.
        std::string id = v.attack[j].id, path = id;
        for (auto& ch : path)
          if (ch == '.') ch = '/';
        o += fmt::format("<a href=\"https://attack.mitre.org/techniques/{}/\">{}</a>", html_escape(path), label);
      }
    }
    o += "</td></tr>";
    i = j;
  }
  if (v.attack.empty()) o += "<tr><td colspan=\"2\" class=\"muted\">none</td></tr>";
  o += "</table>";

  o += "<h2 id=\"events\">Event coverage</h2><table><tr><th>Provider</th><th>Event</th><th>Title</th><th>Data source</th></tr>";
  for (auto& e : v.events) {
    o += "<tr><td>" + html_escape(e.provider) + "</td><td>" + html_escape(e.event) + "</td><td>" + html_escape(e.title) + "</td><td>";
    if (links) o += fmt::format("<a href=\"{}datasources.html\">{}</a>", root, html_escape(e.via));
    else html_escape_to(o, e.via);
    o += "</td></tr>";
  }
  if (v.events.empty()) o += "<tr><td colspan=\"4\" class=\"muted\">none</td></tr>";
  o += "</table>";

  o += "<h2 id=\"stages\">Stages and predicates</h2>";
  for (size_t i = 0; i < v.stages.size(); ++i) {
    o += fmt::format("<h3>Stage {}: {}</h3>", i + 1, html_escape(v.stages[i].command));
    pre(o, v.stages[i].text);
    if (!v.stages[i].predicate.empty()) {
      o += "<p class=\"muted\">Predicate</p>";
      pre(o, v.stages[i].predicate);
    }
  }
  if (v.stages.empty()) o += "<p class=\"muted\">none: the rule did not compile</p>";

  o += "<h2 id=\"indicators\">Indicators</h2><p class=\"muted\">Each row is a field, a match kind and the values the "
       "rule tests, as interned atoms of the engine's IR (macros expanded, field names canonical). The corpus count is "
       "the number of loaded rules that test the same atom, this rule included: high numbers point to widely shared "
       "indicators, 1 to an indicator specific to this rule.</p>";
  o += "<table><tr><th>Field</th><th>Kind</th><th>Values</th></tr>";
  for (auto& row : v.indicators) {
    o += "<tr><td>" + html_escape(row.field) + "</td><td>" + html_escape(row.kind) + "</td><td>";
    auto value_html = [&](const IndicatorValue& val) {
      std::string href = links && links->indicator ? links->indicator(val.atom) : "";
      if (!href.empty()) return "<a href=\"" + html_escape(href) + "\"><code>" + html_escape(val.value) + "</code></a>";
      return "<code>" + html_escape(val.value) + "</code>";
    };
    bool first = true;
    for (size_t j = 0; j < row.values.size(); ++j) {
      auto& val = row.values[j];
      if (val.variant_of >= 0) continue;  // shown beside its windash value
      if (!first) o += "<br>";
      first = false;
      o += value_html(val);
      std::string variants;
      for (auto& other : row.values)
        if (other.variant_of == int(j)) {
          variants += ' ';
          variants += value_html(other);
        }
      if (!variants.empty()) o += " <span class=\"muted\">windash:" + variants + "</span>";
      o += " <span class=\"count\">" + html_escape(format_counts(val.counts)) + "</span>";
    }
    o += "</td></tr>";
  }
  if (v.indicators.empty()) o += "<tr><td colspan=\"3\" class=\"muted\">none</td></tr>";
  o += "</table>";

  o += "<h2 id=\"plan\">Compiled plan</h2>";
  for (size_t i = 0; i < v.plan.size(); ++i) {
    auto& s = v.plan[i];
    o += fmt::format("<h3>Stream {}{}</h3><table>", i, i == 0 ? " (result)" : "");
    o += "<tr><th>source</th><td>" + html_escape(s.source) + "</td></tr>";
    o += "<tr><th>capture</th><td>" + html_escape(s.capture) + "</td></tr>";
    o += "<tr><th>operators</th><td>";
    for (size_t j = 0; j < s.operators.size(); ++j) o += (j ? " | " : "") + html_escape(s.operators[j]);
    if (s.operators.empty()) o += "<span class=\"muted\">none</span>";
    o += "</td></tr><tr><th>filter</th><td>";
    pre(o, s.filter);
    o += "</td></tr></table>";
  }
  if (v.plan.empty()) o += "<p class=\"muted\">no plan: the rule did not compile</p>";
  o += "<p id=\"prefilter\"><b>Prefilter:</b> " + html_escape(v.prefilter) + "</p>";

  // The rule as written comes last: what the engine runs (stages, indicators, plan) is what the
  // page is for, and a long YAML body above it pushed it out of sight.
  o += "<h2 id=\"body\">Rule body</h2>";
  o += "<details open><summary>" + html_escape(info.file) + "</summary>";
  pre(o, info.body);
  o += "</details>";
  page_end(o);
}

std::string render_rule_html(const RuleView& v, const RuleLinks* links) {
  std::string out;
  render_rule_html_to(out, v, links);
  return out;
}

}  // namespace vigil::report
