// A predicate is a boolean tree over atoms. Missing fields make an atom false,
// so `NOT f=v` is true on events without f while `f!=v` (lowered as
// `exists(f) AND NOT f=v`) is not: exactly Splunk's documented difference.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "ir/atom.h"

namespace vigil::ir {

class AtomTable;

struct Predicate {
  enum class Op : uint8_t { always, never, atom, and_, or_, not_ };
  Op op = Op::always;
  AtomId atom = 0;
  std::vector<Predicate> children;

  static Predicate make_atom(AtomId id) { Predicate p; p.op = Op::atom; p.atom = id; return p; }
  static Predicate make_and(std::vector<Predicate> c);
  static Predicate make_or(std::vector<Predicate> c);
  static Predicate make_not(Predicate c);
  static Predicate always_true() { return {}; }
  static Predicate always_false() { Predicate p; p.op = Op::never; return p; }

  /// Every atom id in the tree (with repeats).
  void collect_atoms(std::vector<AtomId>& out) const;
  /// Every atom id replaced by `to[id]` (a predicate compiled against another atom table, adopted).
  void remap_atoms(const std::vector<AtomId>& to);
  /// Human-readable form, e.g. `(process_name = wmic.exe OR original_file_name = wmic.exe) AND …`.
  std::string to_string(const AtomTable& atoms) const;
};

/// Many predicates laid out in one array, each in prefix order, for evaluating over many events.
/// A tree's children are allocations of their own, and an event visiting a dozen of thousands of
/// rules missed the cache at each level of each tree; a flat predicate is a few adjacent nodes.
struct FlatPredicates {
  struct Node {
    Predicate::Op op = Predicate::Op::always;
    uint32_t arg = 0;  ///< atom: its id; and/or/not: the number of children (which follow)
    uint32_t end = 0;  ///< the index after this node's subtree: its next sibling
  };
  std::vector<Node> nodes;
  /// Appends `p` and returns the index of its root.
  uint32_t add(const Predicate& p);
};

}  // namespace vigil::ir
