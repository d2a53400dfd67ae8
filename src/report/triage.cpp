#include "report/triage.h"

#include <algorithm>
#include <cstring>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "core/escape.h"
#include "core/strings.h"

namespace vigil::report {

namespace {

const char* level_color(const std::string& level) {
  switch (level_rank(level)) {
    case 4: return "\033[1;37;41m";  // critical: white on red
    case 3: return "\033[1;31m";     // high: bold red
    case 2: return "\033[33m";       // medium: yellow
    case 1: return "\033[32m";       // low: green
    default: return "\033[2m";       // informational: dim
  }
}

// One terminal line: breaks become spaces, controls are escaped, then cut at a UTF-8 boundary.
std::string cell(std::string s, size_t w) {
  for (auto& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  s = escape_controls(s);
  if (w && display_width(s) > w) {
    size_t cut = 0, cols = 0;
    while (cut < s.size() && cols + 1 < w) {
      ++cut;
      while (cut < s.size() && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) ++cut;
      ++cols;
    }
    s = s.substr(0, cut) + "…";
  }
  return s;
}

const char* short_level(const std::string& l) {
  switch (level_rank(l)) {
    case 4: return "crit";
    case 3: return "high";
    case 2: return "med";
    case 1: return "low";
    default: return "info";
  }
}

}  // namespace

std::string risk_band(double score) {
  if (score >= 80) return "80-100";
  if (score >= 60) return "60-79";
  if (score >= 40) return "40-59";
  if (score >= 20) return "20-39";
  return "0-19";
}

std::vector<FindingGroup> group_findings(const std::vector<FindingView>& findings) {
  std::vector<FindingGroup> groups;
  std::map<std::tuple<std::string, std::string, std::string, std::string, std::string>, size_t> index;
  std::vector<std::set<std::string>> details;
  for (auto& f : findings) {
    // Rule × host: what a responder triages. Users and processes differ within a group; the
    // details column shows the first and how many variants there were.
    auto key = std::make_tuple(f.rule_id, f.rule_name, f.host, std::string(), std::string());
    auto [it, fresh] = index.try_emplace(key, groups.size());
    if (fresh) {
      FindingGroup g;
      g.rule_id = f.rule_id;
      g.rule_name = f.rule_name;
      g.rule_language = f.rule_language;
      g.level = effective_level(f.level, f.risk_score);
      g.host = f.host;
      g.user = f.user;
      g.image = f.image;
      g.details = f.rule_language == "escu" && f.message != f.rule_name ? f.message : f.details;
      g.risk_score = f.risk_score;
      g.techniques = f.mitre_attack;
      groups.push_back(std::move(g));
      details.emplace_back();
    }
    FindingGroup& g = groups[it->second];
    ++g.findings;
    if (details[it->second].size() < 1000) details[it->second].insert(f.details + "\x1f" + f.message);
    g.risk_score = std::max(g.risk_score, f.risk_score);
    if (!f.first_time.empty() && (g.first_time.empty() || f.first_time < g.first_time)) g.first_time = f.first_time;
    if (!f.last_time.empty() && (g.last_time.empty() || f.last_time > g.last_time)) g.last_time = f.last_time;
    for (auto& s : f.sources)
      if (g.sources.size() < 5) g.sources.push_back(s);
  }
  for (size_t i = 0; i < groups.size(); ++i) groups[i].distinct_details = details[i].size();
  std::stable_sort(groups.begin(), groups.end(), [](const FindingGroup& a, const FindingGroup& b) {
    if (a.first_time.empty() != b.first_time.empty()) return b.first_time.empty();
    return std::tie(a.first_time, a.rule_name, a.host) < std::tie(b.first_time, b.rule_name, b.host);
  });
  return groups;
}

std::vector<HuntSummary::Count>* HuntSummary::list(int k) {
  switch (k) {
    case 0: return &rules;
    case 1: return &hosts;
    case 2: return &users;
    case 3: return &tactics;
    default: return &techniques;
  }
}

void HuntSummary::bump(int k, const std::string& key, const std::string& extra) {
  auto* l = list(k);
  auto [it, fresh] = index_[k].try_emplace(key, l->size());
  if (fresh) l->push_back({key, extra, 0});
  ++(*l)[it->second].n;
}

void HuntSummary::add(const FindingView& f) {
  ++findings;
  std::string level = effective_level(f.level, f.risk_score);
  ++by_level[level];
  ++by_risk[risk_band(f.risk_score)];
  bump(0, f.rule_name, level);
  if (!f.host.empty()) bump(1, f.host, {});
  if (!f.user.empty()) bump(2, f.user, {});
  std::set<std::string> tactics_here;
  for (auto& t : f.mitre_attack) {
    bump(4, t.id, t.name);
    for (auto& ta : t.tactics) tactics_here.insert(ta);
  }
  for (auto& ta : tactics_here) bump(3, ta, {});
  if (!f.first_time.empty() && (first_time.empty() || f.first_time < first_time)) first_time = f.first_time;
  if (!f.last_time.empty() && (last_time.empty() || f.last_time > last_time)) last_time = f.last_time;
}

void HuntSummary::finish() {
  for (int k = 0; k < 5; ++k) {
    auto* l = list(k);
    std::stable_sort(l->begin(), l->end(), [](const Count& a, const Count& b) {
      return a.n != b.n ? a.n > b.n : a.key < b.key;
    });
    index_[k].clear();
  }
}

std::string HuntSummary::json() const {
  auto counts = [](const std::vector<Count>& l, const char* extra_name) {
    std::string s = "[";
    for (size_t i = 0; i < l.size(); ++i) {
      s += fmt::format("{}{{\"name\":{},\"findings\":{}", i ? "," : "", json_quote(l[i].key), l[i].n);
      if (extra_name) s += fmt::format(",\"{}\":{}", extra_name, l[i].extra.empty() ? "null" : json_quote(l[i].extra));
      s += "}";
    }
    return s + "]";
  };
  auto map = [](const std::map<std::string, uint64_t>& m) {
    std::string s = "{";
    for (auto& [k, v] : m) s += fmt::format("{}{}:{}", s.size() > 1 ? "," : "", json_quote(k), v);
    return s + "}";
  };
  return fmt::format(
      "{{\"findings\":{},\"by_level\":{},\"by_risk\":{},\"first_time\":{},\"last_time\":{},\"rules\":{},"
      "\"hosts\":{},\"users\":{},\"tactics\":{},\"techniques\":{}}}",
      findings, map(by_level), map(by_risk), first_time.empty() ? "null" : json_quote(first_time),
      last_time.empty() ? "null" : json_quote(last_time), counts(rules, "level"), counts(hosts, nullptr),
      counts(users, nullptr), counts(tactics, nullptr), counts(techniques, "technique"));
}

std::string HuntSummary::text(bool color, size_t top) const {
  const char* bold = color ? "\033[1m" : "";
  const char* reset = color ? "\033[0m" : "";
  std::string s = fmt::format("\n{}Results summary{}\n", bold, reset);
  s += fmt::format("  findings {} from {} rules · hosts {} · users {}\n", findings, rules.size(), hosts.size(),
                   users.size());
  if (!first_time.empty()) s += fmt::format("  events    {} → {}\n", first_time, last_time);
  std::string lv;
  for (const char* l : {"critical", "high", "medium", "low", "informational"})
    if (auto it = by_level.find(l); it != by_level.end())
      lv += fmt::format("{}{}{} {}{}", lv.empty() ? "" : " · ", color ? level_color(l) : "", l, it->second, reset);
  if (!lv.empty()) s += "  by level  " + lv + "\n";
  std::string rk;
  for (auto it = by_risk.rbegin(); it != by_risk.rend(); ++it)
    rk += fmt::format("{}{} {}", rk.empty() ? "" : " · ", it->first, it->second);
  // "80-100" sorts before "0-19" as text: show the bands from the highest down.
  std::vector<std::string> bands = {"80-100", "60-79", "40-59", "20-39", "0-19"};
  rk.clear();
  for (auto& b : bands)
    if (auto it = by_risk.find(b); it != by_risk.end()) rk += fmt::format("{}{} {}", rk.empty() ? "" : " · ", b, it->second);
  if (!rk.empty()) s += "  by risk   " + rk + "\n";
  auto section = [&](const char* title, const std::vector<Count>& l, bool level_extra, bool name_extra) {
    if (l.empty()) return;
    s += fmt::format("  {}{}{}\n", bold, title, reset);
    for (size_t i = 0; i < l.size() && i < top; ++i) {
      std::string key = cell(l[i].key, 90);
      if (level_extra)
        s += fmt::format("    {:>6}  {}{:<4}{}  {}\n", l[i].n, color ? level_color(l[i].extra) : "",
                         short_level(l[i].extra), reset, key);
      else if (name_extra && !l[i].extra.empty())
        s += fmt::format("    {:>6}  {} {}\n", l[i].n, key, cell(l[i].extra, 60));
      else
        s += fmt::format("    {:>6}  {}\n", l[i].n, key);
    }
    if (l.size() > top) s += fmt::format("    … {} more\n", l.size() - top);
  };
  section("top rules", rules, true, false);
  section("top hosts", hosts, false, false);
  section("top users", users, false, false);
  section("ATT&CK tactics", tactics, false, false);
  section("ATT&CK techniques", techniques, false, true);
  return s;
}

void write_triage_table(const std::vector<FindingView>& findings, bool group, bool color, size_t width,
                        std::FILE* out) {
  std::vector<FindingGroup> groups;
  if (group) {
    groups = group_findings(findings);
  } else {
    for (auto& f : findings) {
      FindingGroup g;
      g.rule_name = f.rule_name;
      g.level = effective_level(f.level, f.risk_score);
      g.host = f.host;
      g.details = f.rule_language == "escu" && f.message != f.rule_name ? f.message : f.details;
      g.first_time = f.first_time;
      g.last_time = f.last_time;
      g.findings = 1;
      g.distinct_details = 1;
      g.sources = f.sources;
      groups.push_back(std::move(g));
    }
  }
  // Columns: time range, level, count, host, rule, details (what is left of the width).
  struct Line {
    std::string time, level, count, host, rule, details;
  };
  std::vector<Line> lines;
  auto short_time = [](const std::string& t) { return t.empty() ? std::string("-") : t; };
  for (auto& g : groups) {
    Line l;
    l.time = short_time(g.first_time);
    if (group && g.last_time != g.first_time && !g.last_time.empty()) {
      // The same day: only the time of the last event.
      bool same_day = g.last_time.size() > 11 && g.first_time.compare(0, 11, g.last_time, 0, 11) == 0;
      l.time += " → " + (same_day ? g.last_time.substr(11) : g.last_time);
    }
    l.level = g.level;
    l.count = std::to_string(g.findings);
    l.host = cell(g.host.empty() ? "-" : g.host, 32);
    l.rule = cell(g.rule_name, 60);
    std::string d = g.details.empty() ? std::string("-") : g.details;
    if (g.distinct_details > 1) d = fmt::format("({} variants) ", g.distinct_details) + d;
    if (!group && !g.sources.empty()) {
      auto& src = g.sources.front();
      std::string where = src.file.substr(src.file.rfind('/') == std::string::npos ? 0 : src.file.rfind('/') + 1);
      d += fmt::format("  [{}{}{}]", where, src.record_id.empty() ? "" : " ", src.record_id);
    }
    l.details = d;
    lines.push_back(std::move(l));
  }
  size_t wt = 10, wl = 5, wc = 5, wh = 4, wr = 4;
  for (auto& l : lines) {
    wt = std::max(wt, display_width(l.time));
    wl = std::max(wl, std::strlen(short_level(l.level)));
    wc = std::max(wc, l.count.size());
    wh = std::max(wh, display_width(l.host));
    wr = std::max(wr, display_width(l.rule));
  }
  size_t used = wt + wl + wc + wh + wr + 10;
  size_t wd = width > used + 20 ? width - used : 60;
  auto pad = [](const std::string& s, size_t w) {
    size_t d = display_width(s);
    return s + std::string(w > d ? w - d : 0, ' ');
  };
  const char* reset = color ? "\033[0m" : "";
  const char* bold = color ? "\033[1m" : "";
  std::string head = pad(group ? "time (first → last)" : "time", wt) + "  " + pad("level", wl) + "  " +
                     std::string(wc > 5 ? wc - 5 : 0, ' ') + "count  " + pad("host", wh) + "  " + pad("rule", wr) +
                     "  details";
  std::fprintf(out, "%s%s%s\n", bold, head.c_str(), reset);
  for (auto& l : lines) {
    std::string count = std::string(wc - l.count.size(), ' ') + l.count;
    std::string lvl = pad(short_level(l.level), wl);
    std::string row = pad(l.time, wt) + "  " + (color ? level_color(l.level) : "") + lvl + reset + "  " + count + "  " +
                      pad(l.host, wh) + "  " + pad(l.rule, wr) + "  " + cell(l.details, wd);
    std::fprintf(out, "%s\n", std::string(trim(row)).c_str());
  }
}

size_t display_width(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

}  // namespace vigil::report
