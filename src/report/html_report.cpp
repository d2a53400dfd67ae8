#include "report/html_report.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>

#include "core/time.h"
#include "report/catalog.h"
#include "report/html.h"

namespace vigil::report {

namespace {

// The ATT&CK enterprise tactics in kill-chain order: the heat map's columns.
const char* const kTactics[] = {"Reconnaissance",  "Resource Development", "Initial Access",  "Execution",
                                "Persistence",     "Privilege Escalation", "Defense Evasion", "Credential Access",
                                "Discovery",       "Lateral Movement",     "Collection",      "Command and Control",
                                "Exfiltration",    "Impact"};

const char* level_css(const std::string& level) {
  switch (level_rank(level)) {
    case 4: return "critical";
    case 3: return "high";
    case 2: return "medium";
    case 1: return "low";
    default: return "info";
  }
}

const char* level_fill(const std::string& level) {
  switch (level_rank(level)) {
    case 4: return "#b71c1c";
    case 3: return "#e53935";
    case 2: return "#fb8c00";
    case 1: return "#43a047";
    default: return "#90a4ae";
  }
}

std::string heat(size_t n, size_t max) {
  if (!n || !max) return "#f4f6f8";
  double t = std::min(1.0, 0.25 + 0.75 * double(n) / double(max));
  int r = 255, g = int(235 - 170 * t), b = int(220 - 190 * t);
  return fmt::format("rgb({},{},{})", r, g, b);
}

const char* kCss = R"(
.report h2{margin-top:1.6em}
.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{border:1px solid #d0d7de;border-radius:6px;padding:10px 16px;min-width:120px;background:#fff}
.card b{display:block;font-size:1.6em}
.lvl{display:inline-block;padding:1px 7px;border-radius:10px;color:#fff;font-size:.85em;font-weight:600}
.lvl.critical{background:#b71c1c}.lvl.high{background:#e53935}.lvl.medium{background:#fb8c00}
.lvl.low{background:#43a047}.lvl.info{background:#90a4ae}
.bar{height:14px;display:inline-block;vertical-align:middle;border-radius:3px}
.cols{display:flex;gap:24px;flex-wrap:wrap}.cols>div{flex:1;min-width:260px}
table.list{border-collapse:collapse;width:100%}table.list td,table.list th{padding:3px 8px;border-bottom:1px solid #eaeef2;text-align:left;vertical-align:top}
table.list td.n{text-align:right;font-variant-numeric:tabular-nums}
.timeline svg{display:block}.timeline .host{font-family:monospace;font-size:12px}
.heat{display:flex;gap:4px;overflow-x:auto}.heat .col{min-width:118px;flex:1}
.heat h3{font-size:.8em;margin:0 0 4px 0;padding:4px;background:#24292f;color:#fff;border-radius:3px}
.heat .t{display:block;font-size:.75em;padding:3px 4px;margin-bottom:3px;border-radius:3px;color:#111;text-decoration:none}
.heat .empty{color:#999;font-size:.75em;padding:3px}
td.details{font-family:monospace;font-size:.85em;word-break:break-all}
td.src{font-size:.8em;color:#57606a;word-break:break-all}
)";

}  // namespace

bool write_hunt_html(const std::string& path, const std::vector<FindingView>& findings, const HuntSummary& summary,
                     const HuntReportInfo& info) {
  namespace fs = std::filesystem;
  std::vector<FindingGroup> groups = group_findings(findings);
  std::string out;
  out.reserve(64 << 10);
  page_begin(out, "vigil hunt report", nullptr);
  out += "<style>";
  out += kCss;
  out += "</style><div class=\"report\">";

  // The link to a rule's page in a catalog (vigil catalog names pages by rule id).
  auto rule_href = [&](const FindingGroup& g) -> std::string {
    if (info.catalog.empty()) return {};
    std::string base = info.catalog;
    if (!base.empty() && base.back() == '/') base.pop_back();
    if (base.find("://") == std::string::npos) base = "file://" + fs::absolute(base).lexically_normal().string();
    return base + "/rules/" + slugify(g.rule_id) + ".html";
  };

  // ---- header and summary
  std::time_t now = std::time(nullptr);
  out += "<h1>Hunt report</h1><p class=\"muted\">";
  out += fmt::format("{} rules over ", info.rules_run);
  for (size_t i = 0; i < info.inputs.size(); ++i) out += (i ? ", " : "") + std::string("<code>") + html_escape(info.inputs[i]) + "</code>";
  out += fmt::format("; {} records; written {}</p>", info.records, format_iso8601(double(now), 0));
  out += "<div class=\"cards\">";
  out += fmt::format("<div class=\"card\"><b id=\"n-findings\">{}</b>findings</div>", summary.findings);
  out += fmt::format("<div class=\"card\"><b>{}</b>rows (rule × host)</div>", groups.size());
  out += fmt::format("<div class=\"card\"><b>{}</b>rules fired</div>", summary.rules.size());
  out += fmt::format("<div class=\"card\"><b>{}</b>hosts</div>", summary.hosts.size());
  out += fmt::format("<div class=\"card\"><b>{}</b>users</div>", summary.users.size());
  if (!summary.first_time.empty())
    out += fmt::format("<div class=\"card\"><b style=\"font-size:1em\">{}<br>{}</b>first and last event</div>",
                       html_escape(summary.first_time), html_escape(summary.last_time));
  out += "</div>";

  out += "<div class=\"cols\"><div><h2>By level</h2><table class=\"list\">";
  uint64_t maxl = 1;
  for (auto& [l, n] : summary.by_level) maxl = std::max(maxl, n);
  for (const char* l : {"critical", "high", "medium", "low", "informational"}) {
    auto it = summary.by_level.find(l);
    uint64_t n = it == summary.by_level.end() ? 0 : it->second;
    out += fmt::format("<tr><td><span class=\"lvl {}\">{}</span></td><td class=\"n\">{}</td><td style=\"width:60%\">"
                       "<span class=\"bar\" style=\"width:{}%;background:{}\"></span></td></tr>",
                       level_css(l), l, n, n * 100 / maxl, level_fill(l));
  }
  out += "</table></div>";
  auto top_list = [&](const char* title, const std::vector<HuntSummary::Count>& l, bool rules) {
    out += fmt::format("<div><h2>{}</h2><table class=\"list\">", title);
    for (size_t i = 0; i < l.size() && i < 10; ++i) {
      out += fmt::format("<tr><td class=\"n\">{}</td><td>", l[i].n);
      if (rules) out += fmt::format("<span class=\"lvl {}\">{}</span> ", level_css(l[i].extra), html_escape(l[i].extra));
      out += html_escape(l[i].key) + "</td></tr>";
    }
    if (l.size() > 10) out += fmt::format("<tr><td></td><td class=\"muted\">… {} more</td></tr>", l.size() - 10);
    out += "</table></div>";
  };
  top_list("Top rules", summary.rules, true);
  top_list("Top hosts", summary.hosts, false);
  top_list("Top users", summary.users, false);
  out += "</div>";

  // ---- timeline per host: one strip per host, a mark per finding group at its first event,
  // spanning to its last, coloured by level.
  auto first = parse_time(summary.first_time), last = parse_time(summary.last_time);
  out += "<h2>Timeline per host</h2>";
  if (first && last) {
    double t0 = *first, t1 = std::max(*last, *first + 1);
    std::vector<std::string> hosts;
    for (size_t i = 0; i < summary.hosts.size() && i < 25; ++i) hosts.push_back(summary.hosts[i].key);
    const int label = 230, width = 1100, row = 22;
    int h = int(hosts.size()) * row + 30;
    out += fmt::format("<div class=\"timeline\"><svg width=\"{}\" height=\"{}\" role=\"img\" aria-label=\"timeline\">", label + width + 10, h);
    for (size_t i = 0; i < hosts.size(); ++i) {
      int y = int(i) * row + 4;
      out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>", label, y, width, row - 4,
                         i % 2 ? "#f6f8fa" : "#eef1f4");
      out += fmt::format("<text class=\"host\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>", label - 6, y + 13,
                         html_escape(hosts[i].size() > 29 ? hosts[i].substr(0, 28) + "…" : hosts[i]));  // fits the 230px label column
      for (auto& g : groups) {
        if (g.host != hosts[i]) continue;
        auto a = parse_time(g.first_time), b = parse_time(g.last_time);
        if (!a) continue;
        if (!b) b = a;
        double x0 = label + (*a - t0) / (t1 - t0) * width, x1 = label + (*b - t0) / (t1 - t0) * width;
        out += fmt::format("<rect x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" rx=\"3\" fill=\"{}\" opacity=\"0.8\">"
                           "<title>{} · {} finding(s) · {} → {}</title></rect>",
                           x0 - 2, y + 2, std::max(4.0, x1 - x0 + 4), row - 8, level_fill(g.level), html_escape(g.rule_name),
                           g.findings, html_escape(g.first_time), html_escape(g.last_time));
      }
    }
    int ya = int(hosts.size()) * row + 20;
    out += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\">{}</text>", label, ya, html_escape(summary.first_time));
    out += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{}</text>", label + width, ya,
                       html_escape(summary.last_time));
    out += "</svg>";
    if (summary.hosts.size() > hosts.size())
      out += fmt::format("<p class=\"muted\">The {} hosts with the most findings of {}.</p>", hosts.size(), summary.hosts.size());
    out += "</div>";
  } else {
    out += "<p class=\"muted\">No finding carries an event time.</p>";
  }

  // ---- ATT&CK heat map: the techniques that fired, under each of their tactics.
  out += "<h2>ATT&amp;CK techniques that fired</h2><div class=\"heat\" id=\"heatmap\">";
  std::map<std::string, std::map<std::string, std::pair<uint64_t, std::string>>> by_tactic;  // tactic -> id -> (n, name)
  uint64_t maxt = 0;
  for (auto& f : findings)
    for (auto& t : f.mitre_attack) {
      std::vector<std::string> tactics = t.tactics.empty() ? std::vector<std::string>{"(no tactic known)"} : t.tactics;
      for (auto& ta : tactics) {
        auto& cell = by_tactic[ta][t.id];
        ++cell.first;
        if (cell.second.empty()) cell.second = t.name;
        maxt = std::max(maxt, cell.first);
      }
    }
  std::vector<std::string> columns(std::begin(kTactics), std::end(kTactics));
  for (auto& [ta, _] : by_tactic)
    if (std::find(columns.begin(), columns.end(), ta) == columns.end()) columns.push_back(ta);
  for (auto& ta : columns) {
    out += "<div class=\"col\"><h3>" + html_escape(ta) + "</h3>";
    auto it = by_tactic.find(ta);
    if (it == by_tactic.end()) {
      out += "<div class=\"empty\">—</div></div>";
      continue;
    }
    std::vector<std::pair<std::string, std::pair<uint64_t, std::string>>> cells(it->second.begin(), it->second.end());
    std::stable_sort(cells.begin(), cells.end(), [](auto& a, auto& b) { return a.second.first > b.second.first; });
    for (auto& [id, v] : cells)
      out += fmt::format("<span class=\"t\" style=\"background:{}\" title=\"{} finding(s)\"><b>{}</b> {} ({})</span>",
                         heat(v.first, maxt), v.first, html_escape(id), html_escape(v.second), v.first);
    out += "</div>";
  }
  out += "</div>";

  // ---- findings, grouped
  out += fmt::format("<h2>Findings ({} rows, {} findings)</h2>", groups.size(), summary.findings);
  out += "<table class=\"list\" id=\"findings\"><tr><th>first → last event</th><th>level</th><th>count</th><th>host</th>"
         "<th>rule</th><th>details</th><th>source</th></tr>";
  for (auto& g : groups) {
    std::string when = html_escape(g.first_time.empty() ? "-" : g.first_time);
    if (!g.last_time.empty() && g.last_time != g.first_time) when += "<br>" + html_escape(g.last_time);
    std::string href = rule_href(g);
    std::string rule = href.empty() ? html_escape(g.rule_name)
                                    : "<a class=\"rule-link\" href=\"" + html_escape(href) + "\">" + html_escape(g.rule_name) + "</a>";
    std::string details = html_escape(g.details.empty() ? "-" : g.details);
    if (g.distinct_details > 1) details = fmt::format("<span class=\"muted\">({} variants)</span> ", g.distinct_details) + details;
    std::string src;
    if (!g.sources.empty()) {
      auto& s = g.sources.front();
      src = html_escape(s.file) + (s.record_id.empty() ? "" : " · record " + html_escape(s.record_id)) +
            (s.line ? fmt::format(" · line {}", s.line) : "");
    }
    out += fmt::format("<tr class=\"finding\"><td>{}</td><td><span class=\"lvl {}\">{}</span></td><td class=\"n\">{}</td>"
                       "<td>{}</td><td>{}</td><td class=\"details\">{}</td><td class=\"src\">{}</td></tr>",
                       when, level_css(g.level), html_escape(g.level), g.findings, html_escape(g.host.empty() ? "-" : g.host),
                       rule, details, src);
  }
  out += "</table></div>";
  page_end(out);

  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  bool ok = std::fwrite(out.data(), 1, out.size(), f) == out.size();
  ok = std::fclose(f) == 0 && ok;
  return ok;
}

}  // namespace vigil::report
