// A Finding as users see it: rule identity, risk, message with `$field$`
// substituted from the result row, entities, ATT&CK techniques with names
// and tactics, stories, time range, the row itself and its source events.
#pragma once
#include <string>
#include <vector>

#include "content/attack.h"
#include "engine/engine.h"

namespace vigil::report {

struct EntityView {
  std::string field, type, value, role;
  double score = 0;
};
struct TechniqueView {
  std::string id, name;
  std::vector<std::string> tactics;
};

struct FindingView {
  std::string rule_id, rule_name, rule_language, rule_type, level, file;
  double risk_score = 0;
  std::string message;
  std::vector<EntityView> entities;
  std::vector<TechniqueView> mitre_attack;
  std::vector<std::string> analytic_story;
  std::string first_time, last_time;  ///< ISO-8601 UTC, empty when unknown
  double count = 0;
  const Row* fields = nullptr;
  std::vector<EventRef> sources;
};

FindingView describe(const Finding& f, const content::AttackTable* attack);
/// `$field$` tokens replaced by the row's values (multivalues joined with ", "); unknown tokens stay.
std::string substitute_message(const std::string& tmpl, const Row& row);
/// ISO-8601 UTC for a row time value: epoch number, or text that core/time.h parses.
std::string to_iso_time(const Value* v);

}  // namespace vigil::report
