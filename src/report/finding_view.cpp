#include "report/finding_view.h"

#include "core/strings.h"
#include "core/time.h"

namespace vigil::report {

std::string substitute_message(const std::string& t, const Row& row) {
  std::string out;
  size_t i = 0;
  while (i < t.size()) {
    size_t a = t.find('$', i);
    if (a == std::string::npos) break;
    size_t b = t.find('$', a + 1);
    if (b == std::string::npos) break;
    out.append(t, i, a - i);
    std::string name = t.substr(a + 1, b - a - 1);
    const Value* v = row.get(name);
    if (v && !v->is_null()) {
      auto vals = v->all_texts();
      for (size_t k = 0; k < vals.size(); ++k) out += (k ? ", " : "") + vals[k];
    } else {
      out.append(t, a, b - a + 1);
    }
    i = b + 1;
  }
  out.append(t, i);
  return out;
}

std::string to_iso_time(const Value* v) {
  if (!v || v->is_null()) return {};
  if (auto n = v->to_number(); n && *n > 0) return format_iso8601(*n, 0);
  if (auto t = parse_time(v->text())) return format_iso8601(*t, 0);
  return {};
}

FindingView describe(const Finding& f, const content::AttackTable* attack) {
  FindingView v;
  const ir::RuleInfo& r = f.rule->info;
  v.rule_id = r.id;
  v.rule_name = r.name;
  v.rule_language = r.language == ir::Language::sigma ? "sigma" : "escu";
  v.rule_type = r.type;
  v.level = r.level;
  v.file = r.file;
  v.risk_score = r.risk_score;
  v.message = substitute_message(r.message.empty() ? r.name : r.message, f.row);
  auto add_entities = [&](const std::vector<ir::RiskEntity>& list, const char* default_role) {
    for (auto& e : list) {
      const Value* val = f.row.get(e.field);
      if (!val || val->is_null()) continue;
      for (auto& text : val->all_texts())
        v.entities.push_back({e.field, e.type, text, e.role.empty() ? default_role : e.role, e.score});
    }
  };
  add_entities(r.entities, "victim");
  add_entities(r.threat_objects, "threat");
  for (auto& id : r.mitre_attack) {
    TechniqueView t{to_upper(id), {}, {}};
    if (attack)
      if (auto* tech = attack->find(id)) {
        t.name = tech->name;
        t.tactics = tech->tactics;
      }
    v.mitre_attack.push_back(std::move(t));
  }
  v.analytic_story = r.stories;
  const Value* first = f.row.get("firstTime");
  const Value* last = f.row.get("lastTime");
  if (!first) first = f.row.get("_time");
  if (!last) last = first;
  v.first_time = to_iso_time(first);
  v.last_time = to_iso_time(last);
  if (const Value* c = f.row.get("count"); c)
    if (auto n = c->to_number()) v.count = *n;
  if (v.count == 0) v.count = f.sources.empty() ? 1 : static_cast<double>(f.sources.size());
  v.fields = &f.row;
  v.sources = f.sources;
  return v;
}

}  // namespace vigil::report
