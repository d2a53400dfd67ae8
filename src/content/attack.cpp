#include "content/attack.h"

#include <simdjson.h>

#include <algorithm>

#include "core/strings.h"

namespace vigil::content {

Result<AttackTable> AttackTable::load(const std::string& path) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto err = parser.load(path).get(root))
    return Error{std::string("cannot read ATT&CK table: ") + simdjson::error_message(err), {path}};
  AttackTable t;
  std::unordered_map<std::string, std::string> tactic_names;
  simdjson::dom::array tactics, techniques;
  if (root["tactics"].get(tactics) || root["techniques"].get(techniques))
    return Error{"ATT&CK table needs 'tactics' and 'techniques' arrays", {path}};
  for (auto tac : tactics) {
    std::string_view id, sn, name;
    if (tac["id"].get(id) || tac["shortname"].get(sn) || tac["name"].get(name)) continue;
    t.tactics_.push_back({std::string(id), std::string(sn), std::string(name)});
    tactic_names[std::string(sn)] = std::string(name);
  }
  for (auto tech : techniques) {
    std::string_view id, name;
    if (tech["id"].get(id) || tech["name"].get(name)) continue;
    Technique x{std::string(id), std::string(name), {}, false};
    simdjson::dom::array tacs;
    if (!tech["tactics"].get(tacs))
      for (auto s : tacs) {
        std::string_view sn;
        if (s.get(sn)) continue;
        auto it = tactic_names.find(std::string(sn));
        x.tactics.push_back(it != tactic_names.end() ? it->second : std::string(sn));
      }
    bool dep = false;
    if (!tech["deprecated"].get(dep)) x.deprecated = dep;
    t.index_[to_upper(x.id)] = t.techniques_.size();
    t.techniques_.push_back(std::move(x));
  }
  // Order each technique's tactics by the matrix order.
  for (auto& tech : t.techniques_)
    std::stable_sort(tech.tactics.begin(), tech.tactics.end(), [&](const std::string& a, const std::string& b) {
      auto pos = [&](const std::string& n) {
        for (size_t i = 0; i < t.tactics_.size(); ++i)
          if (t.tactics_[i].name == n) return i;
        return t.tactics_.size();
      };
      return pos(a) < pos(b);
    });
  return t;
}

const Technique* AttackTable::find(std::string_view id) const {
  auto it = index_.find(to_upper(id));
  return it == index_.end() ? nullptr : &techniques_[it->second];
}

}  // namespace vigil::content
