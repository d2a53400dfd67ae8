#include "content/escu.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "content/yaml_access.h"
#include "core/budget.h"
#include "core/strings.h"

namespace vigil::content {

namespace {

using yaml::child;
using yaml::number;
using yaml::text;
using yaml::texts;

std::string lower_type(std::string t) { return to_lower(t); }

Result<EscuDetection> load_escu_checked(const std::string& path, std::string_view body, const yaml::Node& doc);

}  // namespace

bool looks_like_escu(const yaml::Node& doc) {
  return doc.IsMap() && doc["search"] && !doc["detection"] && (doc["tags"] || doc["finding"] || doc["rba"]);
}

std::string filter_macro_name(std::string_view name) {
  std::string s;
  for (char c : name) s += (c == ' ' || c == '-' || c == '.' || c == '/') ? '_' : ascii_lower(c);
  return s + "_filter";
}

Result<EscuDetection> load_escu(const std::string& path, std::string_view text, const yaml::Node& doc) {
  // The accessors never throw; the handler is the net for whatever the YAML
  // layer may still throw on content nobody has thought of, so one bad rule never
  // ends the run for the rules loaded beside it.
  try {
    return load_escu_checked(path, text, doc);
  } catch (const yaml::Exception& e) {
    return yaml::from_exception(path, e);
  }
}

namespace {

#define VIGIL_TRY_ITEMS(var, map, key, what)                      \
  auto var##_r = yaml::map_items(path, map, key, what);            \
  if (!var##_r) return var##_r.error();                            \
  const std::vector<yaml::Node>& var = var##_r.value()

Result<EscuDetection> load_escu_checked(const std::string& path, std::string_view body, const yaml::Node& doc) {
  EscuDetection d;
  ir::RuleInfo& r = d.info;
  r.language = ir::Language::escu;
  r.file = path;
  r.body = std::string(body);
  r.name = text(doc, "name");
  r.id = text(doc, "id");
  r.type = text(doc, "type");
  r.status = text(doc, "status");
  r.author = text(doc, "author");
  r.description = text(doc, "description");
  r.references = texts(child(doc, "references"));
  r.data_sources = texts(child(doc, "data_source"));
  if (r.data_sources.empty()) r.data_sources = texts(child(doc, "data_sources"));
  auto search = child(doc, "search");
  if (!search.IsDefined() || !search.IsScalar() || r.name.empty())
    return Error{"ESCU detection needs 'name' and a 'search' string", yaml::where(path, doc)};
  if (search.Scalar().size() > budget::kMaxRuleFileBytes)
    return Error{"search is " + std::to_string(search.Scalar().size() >> 20) + " MiB, above the " +
                     std::to_string(budget::kMaxRuleFileBytes >> 20) + " MiB budget for one rule",
                 yaml::where(path, search)};
  d.search = search.Scalar();
  d.search_line = yaml::where(path, search).line;
  r.query = d.search;

  auto tags = child(doc, "tags");
  // Stories and techniques: top level (newer form) or under tags.
  r.stories = texts(child(doc, "analytic_story"));
  r.mitre_attack = texts(child(doc, "mitre_attack_id"));
  if (r.stories.empty()) r.stories = texts(child(tags, "analytic_story"));
  if (r.mitre_attack.empty()) r.mitre_attack = texts(child(tags, "mitre_attack_id"));

  std::optional<double> score;
  if (auto rba = child(doc, "rba"); rba.IsDefined() && rba.IsMap()) {
    r.message = text(rba, "message");
    VIGIL_TRY_ITEMS(risk_objects, rba, "risk_objects", "rba.risk_objects");
    for (const auto& o : risk_objects) {
      ir::RiskEntity e{text(o, "field"), lower_type(text(o, "type")), number(child(o, "score")).value_or(0), "victim"};
      score = std::max(score.value_or(0), e.score);
      r.entities.push_back(std::move(e));
    }
    VIGIL_TRY_ITEMS(threat_objects, rba, "threat_objects", "rba.threat_objects");
    for (const auto& o : threat_objects)
      r.threat_objects.push_back({text(o, "field"), lower_type(text(o, "type")), 0, "threat"});
  }
  if (auto f = child(doc, "finding"); f.IsDefined() && f.IsMap()) {
    if (r.message.empty()) r.message = text(f, "title");
    if (auto e = child(f, "entity"); e.IsDefined() && e.IsMap()) {
      ir::RiskEntity ent{text(e, "field"), lower_type(text(e, "type")), number(child(e, "score")).value_or(0), "victim"};
      score = std::max(score.value_or(0), ent.score);
      r.entities.push_back(std::move(ent));
    }
  }
  if (auto inf = child(doc, "intermediate_findings"); inf.IsDefined() && inf.IsMap()) {
    if (auto m = text(inf, "message"); !m.empty()) r.message = m;
    VIGIL_TRY_ITEMS(entities, inf, "entities", "intermediate_findings.entities");
    for (const auto& e : entities) {
      ir::RiskEntity ent{text(e, "field"), lower_type(text(e, "type")), number(child(e, "score")).value_or(0), "victim"};
      bool dup = false;
      for (auto& x : r.entities) dup |= x.field == ent.field;
      if (!dup) r.entities.push_back(std::move(ent));
    }
  }
  if (tags.IsDefined() && tags.IsMap()) {
    if (r.message.empty()) r.message = text(tags, "message");
    if (!score) {
      if (auto s = number(child(tags, "risk_score"))) score = s;
      else if (auto i = number(child(tags, "impact")), c = number(child(tags, "confidence")); i && c)
        score = std::round(*i * *c / 100);
    }
    VIGIL_TRY_ITEMS(observables, tags, "observable", "tags.observable");
    for (const auto& o : observables) {
      // `role` is a list of strings in the schema; a lone string is accepted,
      // anything else (a map, a list of maps) rejects the rule with its place.
      auto role_node = child(o, "role");
      std::vector<std::string> roles = texts(role_node);
      if (role_node.IsDefined() && !role_node.IsNull() && roles.empty() &&
          !(role_node.IsSequence() && role_node.size() == 0))
        return Error{"tags.observable role must be a string or a list of strings", yaml::where(path, role_node)};
      ir::RiskEntity e{text(o, "name"), lower_type(text(o, "type")), 0, lower_type(roles.empty() ? "" : roles[0])};
      (e.role == "attacker" ? r.threat_objects : r.entities).push_back(std::move(e));
    }
  }
  r.risk_score = score.value_or(0);
  for (auto& e : r.entities)
    if (e.score == 0) e.score = r.risk_score;
  VIGIL_TRY_ITEMS(tests, doc, "tests", "tests");
  for (const auto& t : tests) {
    EscuTest test{text(t, "name"), {}};
    VIGIL_TRY_ITEMS(attack_data, t, "attack_data", "tests[].attack_data");
    for (const auto& a : attack_data)
      test.attack_data.push_back({text(a, "data"), text(a, "source"), text(a, "sourcetype")});
    d.tests.push_back(std::move(test));
  }
  return d;
}

#undef VIGIL_TRY_ITEMS

}  // namespace

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
