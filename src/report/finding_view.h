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
  std::vector<std::string> message_missing;  ///< `$field$` tokens of the template the row could not fill
  std::vector<EntityView> entities;
  std::vector<TechniqueView> mitre_attack;
  std::vector<std::string> analytic_story;
  std::string first_time, last_time;  ///< ISO-8601 UTC, empty when unknown
  double count = 0;
  const Row* fields = nullptr;
  std::vector<EventRef> sources;
  std::string status;                  ///< the rule's status (Sigma: experimental, …; ESCU: production, …)
  std::vector<std::string> tags;       ///< the rule's tags (Sigma) and analytic stories (ESCU)
  // For people (table, summary, HTML): who, where and what, from entities or the row.
  std::string host, user;
  std::string image;    ///< the process (image path or name) the finding is about
  std::string details;  ///< `key=value` pairs that matter: command line, image, parent, user, target
};

/// The level a finding is shown with: the rule's own (Sigma), else one derived from its risk
/// score (ESCU): >= 80 critical, >= 60 high, >= 40 medium, >= 20 low, else informational.
std::string effective_level(const std::string& level, double risk_score);
/// informational 0, low 1, medium 2, high 3, critical 4; -1 for anything else.
int level_rank(std::string_view level);

/// `for_people`: also host, user, image and details (the table, the summary and the HTML report
/// show them; JSON lines and CSV do not, and skip their cost).
FindingView describe(const Finding& f, const content::AttackTable* attack, bool for_people = true);
/// `$field$` tokens replaced by the row's values (multivalues joined with ", "). A token the row
/// lacks is filled from the usual aliases of its field (dest from Computer/host, user from
/// User/SubjectUserName, … any case), else rendered `<field?>` and added to `missing`: a finding
/// never shows an unfilled `$field$`.
std::string substitute_message(const std::string& tmpl, const Row& row, std::vector<std::string>* missing = nullptr);
/// ISO-8601 UTC for a row time value: epoch number, or text that core/time.h parses.
std::string to_iso_time(const Value* v);

}  // namespace vigil::report
