// Interning of atoms for a whole loaded corpus, with per-rule reference
// counts split by rule language (the catalog's "corpus N (sigma a, splunk b)").
#pragma once
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "core/hash_index.h"
#include "ir/atom.h"

namespace vigil::ir {

enum class Language : uint8_t { escu, sigma };

class AtomTable {
 public:
  AtomId intern(const Atom& a);
  /// intern(other.get(id)), with the hash `other` made for it (tables compiled apart, merged).
  AtomId intern_from(const AtomTable& other, AtomId id);
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
  // Atoms are found by their identity (Atom::key()'s parts) without building the key text: a
  // corpus interns ~100k atoms at load, and a formatted key per atom was 18% of compiling's perf
  // samples; a node-based set over the ids was then 7% of a start's main thread (perf), hence an
  // open-addressing index probed with the hash made once.
  static size_t identity_hash(const Atom& a);
  static bool same_identity(const Atom& a, const Atom& b);
  AtomId intern_hashed(const Atom& a, size_t h);  // mu_ held
  std::vector<Atom> atoms_;
  std::vector<size_t> hashes_;  // [atom]: identity_hash, so growing the index hashes nothing again
  HashIndex index_;
  std::vector<Counts> counts_;
  std::vector<uint32_t> last_rule_;  // last rule index counted per atom (+1), to count a rule once
  std::mutex mu_;
};

}  // namespace vigil::ir
