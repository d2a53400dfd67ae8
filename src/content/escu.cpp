#include "content/escu.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/strings.h"

namespace vigil::content {

namespace {

std::string str(const YAML::Node& n, const char* key) {
  auto v = n[key];
  return v && v.IsScalar() ? v.as<std::string>() : std::string();
}
std::vector<std::string> strs(const YAML::Node& n) {
  std::vector<std::string> out;
  if (n && n.IsSequence())
    for (auto x : n)
      if (x.IsScalar()) out.push_back(x.as<std::string>());
  if (n && n.IsScalar()) out.push_back(n.as<std::string>());
  return out;
}
std::optional<double> num(const YAML::Node& n) {
  if (!n || !n.IsScalar()) return std::nullopt;
  double d;
  if (parse_number(n.as<std::string>(), d)) return d;
  return std::nullopt;
}
std::string lower_type(std::string t) { return to_lower(t); }

}  // namespace

bool looks_like_escu(const YAML::Node& doc) {
  return doc.IsMap() && doc["search"] && !doc["detection"] && (doc["tags"] || doc["finding"] || doc["rba"]);
}

std::string filter_macro_name(std::string_view name) {
  std::string s;
  for (char c : name) s += (c == ' ' || c == '-' || c == '.' || c == '/') ? '_' : ascii_lower(c);
  return s + "_filter";
}

Result<EscuDetection> load_escu(const std::string& path, std::string_view text, const YAML::Node& doc) {
  EscuDetection d;
  ir::RuleInfo& r = d.info;
  r.language = ir::Language::escu;
  r.file = path;
  r.body = std::string(text);
  r.name = str(doc, "name");
  r.id = str(doc, "id");
  r.type = str(doc, "type");
  r.status = str(doc, "status");
  r.author = str(doc, "author");
  r.description = str(doc, "description");
  r.references = strs(doc["references"]);
  r.data_sources = strs(doc["data_source"]);
  if (r.data_sources.empty()) r.data_sources = strs(doc["data_sources"]);
  auto search = doc["search"];
  if (!search || !search.IsScalar() || r.name.empty())
    return Error{"ESCU detection needs 'name' and a 'search' string", {path, static_cast<uint32_t>(doc.Mark().line + 1)}};
  d.search = search.as<std::string>();
  d.search_line = static_cast<uint32_t>(search.Mark().line + 1);
  r.query = d.search;

  auto tags = doc["tags"];
  // Stories and techniques: top level (newer form) or under tags.
  r.stories = strs(doc["analytic_story"]);
  r.mitre_attack = strs(doc["mitre_attack_id"]);
  if (tags && tags.IsMap()) {
    if (r.stories.empty()) r.stories = strs(tags["analytic_story"]);
    if (r.mitre_attack.empty()) r.mitre_attack = strs(tags["mitre_attack_id"]);
  }

  std::optional<double> score;
  if (auto rba = doc["rba"]; rba && rba.IsMap()) {
    r.message = str(rba, "message");
    for (auto o : rba["risk_objects"]) {
      ir::RiskEntity e{str(o, "field"), lower_type(str(o, "type")), num(o["score"]).value_or(0), "victim"};
      score = std::max(score.value_or(0), e.score);
      r.entities.push_back(std::move(e));
    }
    for (auto o : rba["threat_objects"])
      r.threat_objects.push_back({str(o, "field"), lower_type(str(o, "type")), 0, "threat"});
  }
  if (auto f = doc["finding"]; f && f.IsMap()) {
    if (r.message.empty()) r.message = str(f, "title");
    if (auto e = f["entity"]; e && e.IsMap()) {
      ir::RiskEntity ent{str(e, "field"), lower_type(str(e, "type")), num(e["score"]).value_or(0), "victim"};
      score = std::max(score.value_or(0), ent.score);
      r.entities.push_back(std::move(ent));
    }
  }
  if (auto inf = doc["intermediate_findings"]; inf && inf.IsMap()) {
    if (auto m = str(inf, "message"); !m.empty()) r.message = m;
    for (auto e : inf["entities"]) {
      ir::RiskEntity ent{str(e, "field"), lower_type(str(e, "type")), num(e["score"]).value_or(0), "victim"};
      bool dup = false;
      for (auto& x : r.entities) dup |= x.field == ent.field;
      if (!dup) r.entities.push_back(std::move(ent));
    }
  }
  if (tags && tags.IsMap()) {
    if (r.message.empty()) r.message = str(tags, "message");
    if (!score) {
      if (auto s = num(tags["risk_score"])) score = s;
      else if (auto i = num(tags["impact"]), c = num(tags["confidence"]); i && c) score = std::round(*i * *c / 100);
    }
    for (auto o : tags["observable"]) {
      std::string role = o["role"] && o["role"].IsSequence() && o["role"].size() ? o["role"][0].as<std::string>() : "";
      ir::RiskEntity e{str(o, "name"), lower_type(str(o, "type")), 0, lower_type(role)};
      (e.role == "attacker" ? r.threat_objects : r.entities).push_back(std::move(e));
    }
  }
  r.risk_score = score.value_or(0);
  for (auto& e : r.entities)
    if (e.score == 0) e.score = r.risk_score;
  for (auto t : doc["tests"]) {
    EscuTest test{str(t, "name"), {}};
    for (auto a : t["attack_data"]) test.attack_data.push_back({str(a, "data"), str(a, "source"), str(a, "sourcetype")});
    d.tests.push_back(std::move(test));
  }
  return d;
}

std::string find_content_root(const std::string& rule_path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path p = fs::absolute(rule_path, ec);
  if (!fs::is_directory(p, ec)) p = p.parent_path();
  for (int depth = 0; depth < 12 && !p.empty(); ++depth) {
    if (fs::is_directory(p / "macros", ec) && (fs::is_directory(p / "detections", ec) || fs::is_directory(p / "lookups", ec)))
      return p.string();
    if (p == p.parent_path()) break;
    p = p.parent_path();
  }
  return {};
}

}  // namespace vigil::content
