// Interning of atoms for a whole loaded corpus, with per-rule reference
// counts split by rule language (the catalog's "corpus N (sigma a, splunk b)").
#pragma once
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_set>
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
  // Atoms are found by their identity (Atom::key()'s parts) without building the key text: a
  // corpus interns ~100k atoms at load, and a formatted key per atom was 18% of compiling's perf samples.
  static size_t identity_hash(const Atom& a);
  static bool same_identity(const Atom& a, const Atom& b);
  struct IndexHash {
    const AtomTable* t;
    using is_transparent = void;
    size_t operator()(AtomId id) const { return t->hashes_[id]; }
    size_t operator()(const Atom& a) const { return identity_hash(a); }
  };
  struct IndexEq {
    const AtomTable* t;
    using is_transparent = void;
    bool operator()(AtomId x, AtomId y) const { return x == y; }
    bool operator()(const Atom& a, AtomId y) const { return same_identity(a, t->atoms_[y]); }
    bool operator()(AtomId x, const Atom& b) const { return same_identity(b, t->atoms_[x]); }
  };
  std::vector<Atom> atoms_;
  std::vector<size_t> hashes_;  // [atom]: identity_hash, so growing the index hashes nothing again
  std::unordered_set<AtomId, IndexHash, IndexEq> index_{0, IndexHash{this}, IndexEq{this}};
  std::vector<Counts> counts_;
  std::vector<uint32_t> last_rule_;  // last rule index counted per atom (+1), to count a rule once
  std::mutex mu_;
};

}  // namespace vigil::ir
