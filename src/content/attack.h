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
  const std::vector<Tactic>& tactics() const { return tactics_; }
  const std::vector<Technique>& techniques() const { return techniques_; }
  bool empty() const { return techniques_.empty(); }

 private:
  std::vector<Tactic> tactics_;
  std::vector<Technique> techniques_;
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace vigil::content
