// MITRE ATT&CK Enterprise: technique names and tactics, read from the JSON
// table (tactics in matrix order; techniques with name, tactics, platforms).
#pragma once
#include <string>
#include <unordered_map>
#include <vector>

#include "core/result.h"

namespace vigil::content {

struct Tactic {
  std::string id;         ///< TA0002
  std::string shortname;  ///< execution
  std::string name;       ///< Execution
};

struct Technique {
  std::string id;    ///< T1059.001
  std::string name;  ///< as ATT&CK names it (sub-techniques: the sub-technique name)
  std::vector<std::string> tactics;  ///< display names, matrix order
  bool deprecated = false;
};

class AttackTable {
 public:
  static Result<AttackTable> load(const std::string& path);
  const Technique* find(std::string_view id) const;
  /// The tactic with this shortname (`defense-evasion`), or null.
  const Tactic* find_tactic(std::string_view shortname) const;
  /// The tactic with this display name (Defense Evasion), or null.
  const Tactic* find_tactic_named(std::string_view name) const;
  const std::vector<Tactic>& tactics() const { return tactics_; }
  const std::vector<Technique>& techniques() const { return techniques_; }
  bool empty() const { return techniques_.empty(); }

 private:
  std::vector<Tactic> tactics_;
  std::vector<Technique> techniques_;
  std::unordered_map<std::string, size_t> index_;
};

/// A technique a rule names, with what is known of it.
struct RuleTechnique {
  std::string id;                    ///< upper case: T1059.001
  std::string name;                  ///< empty when the table does not have it
  std::vector<std::string> tactics;  ///< display names (Defense Evasion), matrix order where known
};

/// A rule's techniques with names and tactics. The table's tactics for a technique it has. A
/// technique it lacks comes from a newer ATT&CK than the table (Sigma tags T1685 with the tactic
/// `defense-impairment`, which a 2025 table has neither of): it takes the rule's own tactic tags
/// (`tactic_tags`, shortnames) that none of the rule's known techniques has, else all of them, so
/// that a finding, its risk event and the coverage counts do not lose the tactic the rule states.
/// `table` may be null: every technique is then one it lacks. Duplicate ids are listed once.
std::vector<RuleTechnique> rule_techniques(const AttackTable* table, const std::vector<std::string>& techniques,
                                           const std::vector<std::string>& tactic_tags);

/// A tactic's display name: the table's for a shortname it has, else the shortname in title case
/// (`defense-impairment` -> Defense Impairment; `and`/`of` stay lower case, as ATT&CK writes them).
std::string tactic_display_name(const AttackTable* table, std::string_view shortname);

/// The shortname of a tactic's display name: the table's, else the name lower-cased with hyphens
/// for spaces (Defense Impairment -> defense-impairment), as Sigma and ATT&CK spell shortnames.
std::string tactic_shortname(const AttackTable* table, std::string_view display_name);

}  // namespace vigil::content
