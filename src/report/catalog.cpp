#include "report/catalog.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "core/strings.h"
#include "report/html.h"

namespace vigil::report {

namespace fs = std::filesystem;

std::string indicator_page_name(const ir::Atom& a) {
  // FNV-1a over the atom's identity: the same indicator gets the same name in every build,
  // whatever else the corpus holds (interning order, and so atom ids, depend on it).
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : a.key()) h = (h ^ c) * 1099511628211ull;
  std::string readable = slugify(std::string(field_names().name(a.field)) + "-" + ir::atom_kind_name(a.kind) + "-" + a.value);
  if (readable.size() > 60) readable.resize(60);
  return fmt::format("{}-{:08x}", readable, static_cast<uint32_t>(h ^ (h >> 32)));
}

std::string slugify(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (out.size() >= 80) break;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    out += ok ? c : '_';
  }
  if (out.empty() || out[0] == '.') out.insert(out.begin(), '_');  // no hidden files, no "." / ".."
  return out;
}

std::string url_encode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~')
      out += char(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

namespace {

// The index page's script: reads window.VIGIL_RULES (assets/rules.js), fills the filter
// selects, applies ?q=…&lang=… from the URL (what a bookmarked or linked search needs, and
// how the browser test drives it), and re-renders the table on every keystroke.
const char* kCatalogJs = R"JS((function () {
  "use strict";
  var errors = document.getElementById("errors");
  window.addEventListener("error", function (e) {
    if (errors) errors.textContent += "error: " + (e.message || e) + "\n";
  });
  var rules = window.VIGIL_RULES || [];
  var techNames = window.VIGIL_TECHNIQUES || {};
  // Row layout, see catalog.cpp: slug, name, lang, type, status, techniques, tactics, events, id, description, engine
  var COL = { lang: 2, type: 3, status: 4, technique: 5, tactic: 6, event: 7, engine: 10 };
  var ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" };
  function esc(s) { return String(s).replace(/[&<>"']/g, function (c) { return ESC[c]; }); }
  function vals(r, k) { var v = r[COL[k]]; return Array.isArray(v) ? v : [v]; }
  var hay = rules.map(function (r) {
    return [r[1], r[8], r[3], r[2], r[4], r[5].join(" "), r[6].join(" "), r[7].join(" "), r[9]].join("\n").toLowerCase();
  });
  var box = document.getElementById("q");
  var selects = {};
  Object.keys(COL).forEach(function (k) {
    var sel = document.getElementById("f-" + k);
    if (!sel) return;
    selects[k] = sel;
    var counts = {};
    rules.forEach(function (r) { vals(r, k).forEach(function (v) { if (v !== "") counts[v] = (counts[v] || 0) + 1; }); });
    var keys = Object.keys(counts).sort();
    var html = "<option value=\"\">" + esc(sel.getAttribute("data-label")) + ": any</option>";
    keys.forEach(function (v) {
      var label = k === "technique" && techNames[v] ? v + " " + techNames[v] : v;
      html += "<option value=\"" + esc(v) + "\">" + esc(label) + " (" + counts[v] + ")</option>";
    });
    sel.innerHTML = html;
  });
  var tbody = document.getElementById("rows");
  var countEl = document.getElementById("count");
  function current() {
    var f = {};
    Object.keys(selects).forEach(function (k) { if (selects[k].value) f[k] = selects[k].value; });
    return f;
  }
  function render() {
    var q = box.value.trim().toLowerCase();
    var terms = q ? q.split(/\s+/) : [];
    var f = current();
    var keys = Object.keys(f);
    var out = [];
    for (var i = 0; i < rules.length; i++) {
      var r = rules[i], ok = true;
      for (var t = 0; ok && t < terms.length; t++) ok = hay[i].indexOf(terms[t]) >= 0;
      for (var j = 0; ok && j < keys.length; j++) ok = vals(r, keys[j]).indexOf(f[keys[j]]) >= 0;
      if (!ok) continue;
      out.push("<tr class=\"rule\"><td><a href=\"rules/" + encodeURIComponent(r[0]) + ".html\">" + esc(r[1]) +
        "</a></td><td><span class=\"badge " + esc(r[2]) + "\">" + esc(r[2]) + "</span></td><td>" + esc(r[3]) +
        "</td><td>" + esc(r[4]) + (r[10] !== "ok" ? " <span class=\"badge bad\">" + esc(r[10]) + "</span>" : "") +
        "</td><td>" + esc(r[5].join(", ")) + "</td><td>" + esc(r[7].join(", ")) + "</td></tr>");
    }
    tbody.innerHTML = out.join("");
    countEl.textContent = out.length + " of " + rules.length + " rules";
    box.setAttribute("value", box.value);  // visible in a DOM dump, for tests and bookmarks alike
    try {
      var p = new URLSearchParams();
      if (box.value) p.set("q", box.value);
      keys.forEach(function (k) { p.set(k, f[k]); });
      var s = p.toString();
      history.replaceState(null, "", s ? "?" + s : location.pathname);
    } catch (e) { /* some browsers refuse replaceState on file:// URLs; the filter still works */ }
  }
  var params = new URLSearchParams(location.search);
  if (params.has("q")) box.value = params.get("q");
  Object.keys(selects).forEach(function (k) {
    var v = params.get(k);
    if (v === null) return;
    var sel = selects[k];
    if (!Array.prototype.some.call(sel.options, function (o) { return o.value === v; })) {
      var o = document.createElement("option");
      o.value = v; o.textContent = v + " (0)";
      sel.appendChild(o);
    }
    sel.value = v;
  });
  box.addEventListener("input", render);
  Object.keys(selects).forEach(function (k) { selects[k].addEventListener("change", render); });
  render();
})();
)JS";

// A JSON string literal appended to `out` (json_escape_to writes the escaped body only).
void js_string(std::string& out, std::string_view s) {
  out += '"';
  json_escape_to(out, s);
  out += '"';
}

std::string js_array(const std::vector<std::string>& xs) {
  std::string s = "[";
  for (size_t i = 0; i < xs.size(); ++i) {
    if (i) s += ',';
    js_string(s, xs[i]);
  }
  return s + "]";
}

class SiteWriter {
 public:
  SiteWriter(std::string root, DiagnosticSink& diags, CatalogStats& stats) : root_(std::move(root)), diags_(diags), stats_(stats) {}
  void write(const std::string& rel, const std::string& content) {
    std::string path = root_ + "/" + rel;
    std::FILE* f = std::fopen(path.c_str(), "wb");
    size_t n = f ? std::fwrite(content.data(), 1, content.size(), f) : 0;
    bool ok = f && n == content.size();
    if (f && std::fclose(f) != 0) ok = false;
    std::lock_guard lock(mu_);
    if (!ok) {
      ++stats_.write_errors;
      diags_.error({path}, "cannot write catalog file", "catalog-write");
      return;
    }
    ++stats_.files;
    stats_.bytes += content.size();
  }

 private:
  std::string root_;
  DiagnosticSink& diags_;
  CatalogStats& stats_;
  std::mutex mu_;
};

std::string engine_verdict(const ir::CompiledRule& r) {
  return !r.parsed ? "not parsed" : !r.executable ? "not executable" : "ok";
}

std::string event_key(const EventRow& e) {
  std::string k = e.provider;
  if (!e.event.empty()) k += " · " + e.event;
  return k;
}

// Background of a matrix cell: more rules, deeper blue (log scale: counts range from 1 to hundreds).
std::string matrix_heat(size_t n, size_t max) {
  if (n == 0 || max == 0) return "#fafbfc";
  double t = std::log1p(double(n)) / std::log1p(double(max));
  int a = int(235 - t * 150), b = int(243 - t * 110);
  return fmt::format("rgb({},{},255)", a, b);
}

}  // namespace

CatalogStats write_catalog(const Explainer& explainer, const std::string& out_dir, DiagnosticSink& diags) {
  CatalogStats stats;
  const RuleSet& rs = *explainer.context().rules;
  const auto& rules = rs.rules();
  const content::AttackTable* attack = explainer.context().attack;
  stats.rules = rules.size();
  std::error_code ec;
  for (const char* sub : {"", "/rules", "/indicators", "/assets"}) {
    fs::create_directories(out_dir + sub, ec);
    if (ec) {
      diags.error({out_dir + sub}, "cannot create catalog directory: " + ec.message(), "catalog-write");
      ++stats.write_errors;
      return stats;
    }
  }
  SiteWriter site(out_dir, diags, stats);

  // Unique page names: the rule id (two files may share one, e.g. a copied rule), else the file name.
  std::vector<std::string> slugs(rules.size());
  {
    std::unordered_map<std::string, int> used;
    for (size_t i = 0; i < rules.size(); ++i) {
      const auto& info = rules[i].info;
      std::string base = slugify(!info.id.empty() ? info.id : fs::path(info.file).stem().string());
      int n = used[base]++;
      slugs[i] = n ? fmt::format("{}-{}", base, n + 1) : base;
    }
  }

  // One view per rule, computed once; the rule pages are rendered from it on two threads
  // (views only read the rule set). Indicator pages and the index reuse the same views.
  std::vector<RuleView> views(rules.size());
  RuleLinks rule_links;
  rule_links.root = "../";
  rule_links.css_href = "../assets/catalog.css";
  const ir::AtomTable& atom_table = rs.atoms();
  rule_links.indicator = [&atom_table](ir::AtomId id) {
    return "../indicators/" + indicator_page_name(atom_table.get(id)) + ".html";
  };
  {
    unsigned threads = std::max(1u, std::min(2u, std::thread::hardware_concurrency()));
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        std::string page;
        for (size_t i = t; i < rules.size(); i += threads) {
          views[i] = explainer.view(rules[i]);
          page.clear();
          render_rule_html_to(page, views[i], &rule_links);
          site.write("rules/" + slugs[i] + ".html", page);
        }
      });
    }
    for (auto& th : pool) th.join();
    stats.rule_pages = rules.size();
  }

  // Indicator -> rules that test it, in rule order.
  std::map<ir::AtomId, std::vector<uint32_t>> by_atom;
  std::map<std::string, std::vector<uint32_t>> by_technique;
  // A technique the table lacks: how many rules give it each tactic (content::rule_techniques).
  std::map<std::string, std::map<std::string, size_t>> unlisted_votes;
  std::map<std::string, std::vector<uint32_t>> by_event;
  std::map<std::string, const EventRow*> event_rows;
  for (uint32_t i = 0; i < views.size(); ++i) {
    for (auto& row : views[i].indicators)
      for (auto& v : row.values) by_atom[v.atom].push_back(i);
    std::set<std::string> techs;
    for (auto& t : views[i].attack) {
      techs.insert(t.id);
      if (!(attack && attack->find(t.id)) && t.tactic != "(unknown tactic)") ++unlisted_votes[t.id][t.tactic];
    }
    for (auto& t : techs) by_technique[t].push_back(i);
    for (auto& e : views[i].events) {
      std::string k = event_key(e);
      auto& list = by_event[k];
      if (list.empty() || list.back() != i) list.push_back(i);
      event_rows.emplace(k, &e);
    }
  }
  // Its columns: the tactics most of its rules give it (a rule tags tactics for all its techniques at
  // once, so a few rules put a newer technique under a tactic of their other techniques).
  std::map<std::string, std::set<std::string>> unlisted_tactics;
  for (auto& [id, votes] : unlisted_votes) {
    size_t most = 0;
    for (auto& [tac, n] : votes) most = std::max(most, n);
    for (auto& [tac, n] : votes)
      if (n == most) unlisted_tactics[id].insert(tac);
  }
  stats.techniques = by_technique.size();
  stats.event_types = by_event.size();

  // ---- indicator pages
  {
    const ir::AtomTable& atoms = rs.atoms();
    RuleLinks links{"../", "../assets/catalog.css", {}};
    std::string page;
    for (auto& [id, list] : by_atom) {
      const ir::Atom& a = atoms.get(id);
      page.clear();
      std::string title = atoms.describe(id);
      page_begin(page, title, &links);
      page += "<p class=\"crumb\">Indicators</p><h1><code>" + html_escape(title) + "</code></h1>";
      page += "<table><tr><th>Field</th><td>" + html_escape(field_names().name(a.field)) + "</td></tr><tr><th>Kind</th><td>" +
              html_escape(ir::atom_kind_name(a.kind)) + (a.case_sensitive ? " (case-sensitive)" : "") +
              "</td></tr><tr><th>Value</th><td><code>" + html_escape(a.value) + "</code></td></tr><tr><th>Corpus</th><td>" +
              html_escape(format_counts(atoms.counts(id))) + "</td></tr></table>";
      page += fmt::format("<h2>Rules testing this indicator ({})</h2><table><tr><th>Rule</th><th>Language</th><th>Type</th></tr>",
                          list.size());
      for (auto i : list) {
        const auto& info = rules[i].info;
        page += fmt::format("<tr><td><a href=\"../rules/{}.html\">{}</a></td><td><span class=\"badge {}\">{}</span></td><td>{}</td></tr>",
                            html_escape(slugs[i]), html_escape(info.name), views[i].language, views[i].language,
                            html_escape(info.type));
      }
      page += "</table>";
      page_end(page);
      site.write("indicators/" + indicator_page_name(a) + ".html", page);
    }
    stats.indicator_pages = by_atom.size();
  }

  // ---- index data + page
  {
    std::string js = "window.VIGIL_RULES=[\n";
    for (size_t i = 0; i < views.size(); ++i) {
      const auto& v = views[i];
      const auto& info = rules[i].info;
      std::vector<std::string> techs, tactics, events;
      for (auto& t : v.attack) {
        if (std::find(techs.begin(), techs.end(), t.id) == techs.end()) techs.push_back(t.id);
        if (std::find(tactics.begin(), tactics.end(), t.tactic) == tactics.end()) tactics.push_back(t.tactic);
      }
      for (auto& e : v.events) events.push_back(event_key(e));
      js += js_array({slugs[i], info.name, v.language, info.type, info.status.empty() ? "(none)" : info.status});
      js.pop_back();  // extend the array with the list columns
      js += "," + js_array(techs) + "," + js_array(tactics) + "," + js_array(events) + ",";
      js_string(js, info.id);
      js += ",";
      js_string(js, info.description);
      js += ",";
      js_string(js, engine_verdict(rules[i]));
      js += "],\n";
    }
    js += "];\nwindow.VIGIL_TECHNIQUES={";
    bool first = true;
    for (auto& [tid, list] : by_technique) {
      const content::Technique* t = attack ? attack->find(tid) : nullptr;
      if (!t) continue;
      js += first ? "" : ",";
      first = false;
      js_string(js, tid);
      js += ":";
      js_string(js, t->name);
    }
    js += "};\n";
    site.write("assets/rules.js", js);
    site.write("assets/catalog.js", kCatalogJs);
    site.write("assets/catalog.css", catalog_css());

    RuleLinks links{"", "assets/catalog.css", {}};
    std::string page;
    page_begin(page, "vigil catalog: rules", &links);
    size_t escu = 0, sigma = 0;
    for (auto& r : rules) (r.info.language == ir::Language::sigma ? sigma : escu)++;
    page += fmt::format("<h1>Rules</h1><p class=\"muted\">{} rules ({} splunk, {} sigma), {} indicators, {} techniques.</p>",
                        rules.size(), escu, sigma, by_atom.size(), by_technique.size());
    page += "<div id=\"errors\"></div><div class=\"filters\">"
            "<input id=\"q\" type=\"search\" placeholder=\"search names, ids, techniques, events, descriptions\" autofocus>";
    for (auto [key, label] : std::initializer_list<std::pair<const char*, const char*>>{
             {"lang", "language"}, {"type", "type"}, {"status", "status"}, {"engine", "engine"},
             {"tactic", "tactic"}, {"technique", "technique"}, {"event", "event type"}})
      page += fmt::format("<select id=\"f-{}\" data-label=\"{}\"></select>", key, label);
    page += "</div><p id=\"count\"></p><table><thead><tr><th>Rule</th><th>Language</th><th>Type</th><th>Status</th>"
            "<th>Techniques</th><th>Events</th></tr></thead><tbody id=\"rows\"></tbody></table>"
            "<noscript>The search needs JavaScript; every rule page is under rules/.</noscript>"
            "<script src=\"assets/rules.js\"></script><script src=\"assets/catalog.js\"></script>";
    page_end(page);
    site.write("index.html", page);
  }

  // ---- ATT&CK matrix
  {
    RuleLinks links{"", "assets/catalog.css", {}};
    std::string page;
    page_begin(page, "vigil catalog: ATT&CK matrix", &links);
    page += "<h1>MITRE ATT&amp;CK matrix</h1><p class=\"muted\">Tactics (columns) × techniques; a cell's colour grows with the "
            "number of rules that name the technique; a cell links to those rules. Techniques without rules are greyed; "
            "sub-techniques are listed when a rule names them.</p><div class=\"matrix\">";
    size_t max = 0;
    for (auto& [t, list] : by_technique) max = std::max(max, list.size());
    auto cell = [&](const std::string& id, const std::string& name) {
      auto it = by_technique.find(id);
      size_t n = it == by_technique.end() ? 0 : it->second.size();
      return fmt::format("<a class=\"cell{}\" style=\"background:{}\" href=\"index.html?technique={}\" title=\"{} rules\">{} {} <b>{}</b></a>",
                         n ? "" : " zero", matrix_heat(n, max), url_encode(id), n, html_escape(id), html_escape(name), n);
    };
    std::set<std::string> placed;
    // Techniques newer than the table, under the tactics their rules tag (a column of its own for a
    // tactic the table lacks, after the table's).
    auto unlisted_in = [&](const std::string& tactic) {
      std::string cells;
      for (auto& [id, tactics] : unlisted_tactics)
        if (tactics.count(tactic)) {
          cells += cell(id, "");
          placed.insert(id);
        }
      return cells;
    };
    if (attack) {
      for (auto& tac : attack->tactics()) {
        std::vector<const content::Technique*> col;
        for (auto& t : attack->techniques()) {
          if (std::find(t.tactics.begin(), t.tactics.end(), tac.name) == t.tactics.end()) continue;
          bool sub = t.id.find('.') != std::string::npos;
          // A deprecated technique (T1574.002, merged into T1574.001) only where a rule still names it.
          if ((sub || t.deprecated) && !by_technique.count(t.id)) continue;
          col.push_back(&t);
        }
        std::sort(col.begin(), col.end(), [](auto* a, auto* b) { return a->id < b->id; });
        page += "<div class=\"col\"><h3>" + html_escape(tac.name) + "</h3>";
        for (auto* t : col) {
          page += cell(t->id, t->deprecated ? t->name + " (deprecated)" : t->name);
          placed.insert(t->id);
        }
        page += unlisted_in(tac.name) + "</div>";
      }
    }
    std::set<std::string> new_tactics;
    for (auto& [id, tactics] : unlisted_tactics)
      for (auto& tac : tactics)
        if (!(attack && attack->find_tactic_named(tac))) new_tactics.insert(tac);
    for (auto& tac : new_tactics)
      page += "<div class=\"col\"><h3>" + html_escape(tac) + " <span class=\"muted\">(not in the table)</span></h3>" +
              unlisted_in(tac) + "</div>";
    std::string unknown;
    for (auto& [id, list] : by_technique)
      if (!placed.count(id)) unknown += cell(id, attack && attack->find(id) ? attack->find(id)->name : "");
    if (!unknown.empty()) {
      page += "<div class=\"col\"><h3>";
      html_escape_to(page, kNotInAttackTable);
      page += "</h3>" + unknown + "</div>";
    }
    page += "</div>";
    page_end(page);
    site.write("attack.html", page);
  }

  // ---- data sources: which rules each event type feeds
  {
    RuleLinks links{"", "assets/catalog.css", {}};
    std::string page;
    page_begin(page, "vigil catalog: data sources", &links);
    page += "<h1>Data sources</h1><p class=\"muted\">Each event type (provider and event) with the rules it feeds, from "
            "ESCU data sources and Sigma logsources alike.</p><table><tr><th>Provider</th><th>Event</th><th>Title</th>"
            "<th>Rules</th></tr>";
    std::vector<std::pair<std::string, const std::vector<uint32_t>*>> order;
    for (auto& [k, list] : by_event) order.emplace_back(k, &list);
    std::stable_sort(order.begin(), order.end(), [](auto& a, auto& b) { return a.second->size() > b.second->size(); });
    for (auto& [k, list] : order) {
      const EventRow* e = event_rows[k];
      page += "<tr><td>" + html_escape(e->provider) + "</td><td>" + html_escape(e->event) + "</td><td>" + html_escape(e->title) +
              fmt::format("</td><td><a href=\"index.html?event={}\">{} rules</a><details><summary>list</summary>",
                          url_encode(k), list->size());
      for (auto i : *list)
        page += fmt::format("<a href=\"rules/{}.html\">{}</a><br>", html_escape(slugs[i]), html_escape(rules[i].info.name));
      page += "</details></td></tr>";
    }
    page += "</table>";
    page_end(page);
    site.write("datasources.html", page);
  }
  return stats;
}

}  // namespace vigil::report
