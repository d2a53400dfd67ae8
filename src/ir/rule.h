// A compiled rule: the metadata findings need plus the plan the engine runs.
// Both front ends (ESCU via spl/, Sigma via sigma/) produce this.
#pragma once
#include <string>
#include <vector>

#include "ir/atom_table.h"
#include "ir/plan.h"

namespace vigil::ir {

struct RiskEntity {
  std::string field;  ///< result field holding the entity (user, dest, …)
  std::string type;   ///< user | system | other | hostname | ip address …
  double score = 0;   ///< per-entity score where the schema has one
  std::string role;   ///< victim | attacker | threat
};

struct RuleInfo {
  Language language = Language::escu;
  std::string id, name, type, status, level, author, description;
  std::string file;         ///< path it was loaded from
  double risk_score = 0;    ///< see content/escu.h for how it is derived per schema form
  std::string message;      ///< risk message template with $field$ tokens
  std::vector<RiskEntity> entities;        ///< risk objects
  std::vector<RiskEntity> threat_objects;
  std::vector<std::string> mitre_attack;   ///< technique ids (T1047, T1059.001)
  std::vector<std::string> attack_tactics; ///< tactic shortnames the rule tags (Sigma `attack.execution`)
  std::vector<std::string> stories;        ///< analytic stories
  std::vector<std::string> data_sources;   ///< ESCU data_source names, or Sigma logsource summary
  std::vector<std::string> tags;           ///< Sigma tags as written
  std::vector<std::string> references;
  /// False for a Sigma rule that a loaded correlation references with `generate: false` (the
  /// default): it runs only inside the correlation and gives no findings of its own.
  bool generate = true;
  std::string query;   ///< ESCU `search:` text as written, or Sigma detection/condition
  std::string body;    ///< the whole rule file text
};

/// One pipeline stage as explain shows it: the command, its text with macros
/// expanded, and (for filtering stages) the predicate it lowers to.
struct StageInfo {
  std::string command;            ///< tstats, search, where, eval, stats, … (Sigma: selection names, condition)
  std::string text;               ///< the stage's source text, macros expanded
  bool has_predicate = false;
  Predicate predicate;            ///< atoms interned in the rule set's AtomTable
};

struct CompiledRule {
  RuleInfo info;
  Plan plan;
  std::vector<StageInfo> stages;  ///< for explain/catalog
  std::vector<std::string> macros_used;
  bool parsed = false;       ///< front end accepted the rule text
  bool executable = false;   ///< every stage has an implementation and every resource exists
  std::vector<std::string> reasons;  ///< why not parsed / not executable
  SourceLocation location;   ///< where the rule (or its first error) is
};

}  // namespace vigil::ir
