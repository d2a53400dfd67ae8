// Interning of atoms for a whole loaded corpus, with per-rule reference
// counts split by rule language (the catalog's "corpus N (sigma a, splunk b)").
#pragma once
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/atom.h"

namespace vigil::ir {

enum class Language : uint8_t { escu, sigma };

class AtomTable {
 public:
  AtomId intern(const Atom& a);
  const Atom& get(AtomId id) const { return atoms_[id]; }
  size_t size() const { return atoms_.size(); }
  /// Record that rule `rule_key` (unique per rule) references `id`; counted once per rule.
  void add_reference(AtomId id, Language lang, uint32_t rule_index);
  struct Counts {
    uint32_t escu = 0, sigma = 0;
    uint32_t total() const { return escu + sigma; }
  };
  Counts counts(AtomId id) const;
  /// Human-readable `field kind value` of one atom.
  std::string describe(AtomId id) const;

 private:
  std::vector<Atom> atoms_;
  std::unordered_map<std::string, AtomId> index_;
  std::vector<Counts> counts_;
  std::vector<uint32_t> last_rule_;  // last rule index counted per atom (+1), to count a rule once
  std::mutex mu_;
};

}  // namespace vigil::ir
