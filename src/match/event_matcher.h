// Evaluates predicates over normalized Events with a per-event atom memo:
// every distinct atom of the loaded corpus is tested at most once per event,
// however many rules share it (bitset + epoch, no clearing per event).
// One EventMatcher per thread; the AtomTable it compiles from is immutable
// once rules are loaded.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "ir/atom_table.h"
#include "ir/predicate.h"
#include "match/compiled_atom.h"
#include "normalize/event.h"

namespace vigil::match {

class EventMatcher {
 public:
  /// Compiles every atom of the table; atoms that fail to compile test false and are listed in `errors`.
  explicit EventMatcher(const ir::AtomTable& atoms, std::vector<std::string>* errors = nullptr);
  /// Start a new event (invalidates the memo in O(1)).
  void begin(const Event& e);
  bool eval(const ir::Predicate& p);
  /// Number of atom tests actually run since construction (for profiling/bench).
  uint64_t atom_tests() const { return tests_; }

 private:
  bool test_atom(ir::AtomId id);
  const Event* event_ = nullptr;
  std::vector<std::optional<CompiledAtom>> compiled_;
  std::vector<Symbol> ref_field_;  // field_eq: the other field's symbol
  std::vector<uint32_t> memo_stamp_;
  std::vector<uint8_t> memo_value_;
  uint32_t epoch_ = 0;
  uint64_t tests_ = 0;
};

}  // namespace vigil::match
