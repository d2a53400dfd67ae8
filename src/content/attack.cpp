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

const Tactic* AttackTable::find_tactic(std::string_view shortname) const {
  for (auto& t : tactics_)
    if (iequals(t.shortname, shortname)) return &t;
  return nullptr;
}

const Tactic* AttackTable::find_tactic_named(std::string_view name) const {
  for (auto& t : tactics_)
    if (t.name == name) return &t;
  return nullptr;
}

std::string tactic_display_name(const AttackTable* table, std::string_view shortname) {
  if (table)
    if (const Tactic* t = table->find_tactic(shortname)) return t->name;
  std::string out;
  for (std::string_view word : split(shortname, '-')) {
    if (word.empty()) continue;
    if (!out.empty()) out += ' ';
    std::string w = to_lower(word);
    if (w != "and" && w != "of") w[0] = ascii_upper(w[0]);
    out += w;
  }
  return out;
}

std::string tactic_shortname(const AttackTable* table, std::string_view display_name) {
  if (table)
    if (const Tactic* t = table->find_tactic_named(display_name)) return t->shortname;
  std::string out = to_lower(display_name);
  std::replace(out.begin(), out.end(), ' ', '-');
  return out;
}

std::vector<RuleTechnique> rule_techniques(const AttackTable* table, const std::vector<std::string>& techniques,
                                           const std::vector<std::string>& tactic_tags) {
  std::vector<RuleTechnique> out;
  std::vector<size_t> unknown;  // positions in `out` of the techniques the table lacks
  for (auto& raw : techniques) {
    std::string id = to_upper(trim(raw));
    if (id.empty() || std::any_of(out.begin(), out.end(), [&](const RuleTechnique& t) { return t.id == id; })) continue;
    RuleTechnique t{std::move(id), {}, {}};
    if (const Technique* known = table ? table->find(t.id) : nullptr) {
      t.name = known->name;
      t.tactics = known->tactics;
    } else {
      unknown.push_back(out.size());
    }
    out.push_back(std::move(t));
  }
  if (unknown.empty() || tactic_tags.empty()) return out;
  std::vector<std::string> all, left;  // the tags' display names; those no known technique has
  for (auto& tag : tactic_tags) {
    std::string name = tactic_display_name(table, tag);
    if (name.empty() || std::find(all.begin(), all.end(), name) != all.end()) continue;
    all.push_back(name);
    bool explained = false;  // by a known technique: the unknown ones have no tactics yet
    for (auto& t : out) explained = explained || std::find(t.tactics.begin(), t.tactics.end(), name) != t.tactics.end();
    if (!explained) left.push_back(name);
  }
  for (size_t i : unknown) out[i].tactics = left.empty() ? all : left;
  return out;
}

}  // namespace vigil::content
