// Evaluates a predicate over a result Row (mid-pipeline `search`, and any
// other place where rows rather than events are filtered). A multivalue field
// matches when any of its values matches.
#pragma once
#include <vector>

#include "core/value.h"
#include "ir/atom_table.h"
#include "ir/predicate.h"
#include "match/compiled_atom.h"

namespace vigil::match {

class RowMatcher {
 public:
  /// Compiles the atoms the predicate uses; bad atoms are reported in `errors` and test false.
  RowMatcher(ir::Predicate pred, const ir::AtomTable& atoms, std::vector<std::string>* errors = nullptr);
  bool matches(const Row& row) const;
  /// Every row matches (`search *`).
  bool always() const { return pred_.op == ir::Predicate::Op::always; }
  /// Appends the fields the predicate reads and returns true; false when a term reads no one field
  /// (a bare keyword searches every field).
  bool fields(std::vector<std::string>& out) const;
  /// Bare keywords do not search the values of the fields `skip` names (null: they search all).
  using NameTest = bool (*)(std::string_view name);
  void skip_for_keywords(NameTest skip) { keyword_skip_ = skip; }

 private:
  bool eval(const ir::Predicate& p, const Row& row) const;
  bool test_atom(ir::AtomId id, const Row& row) const;
  ir::Predicate pred_;
  const ir::AtomTable* atoms_;
  // The predicate's own atoms, sorted by id (a dense table indexed by AtomId would cost the size of
  // the whole corpus' atom table per operator).
  std::vector<ir::AtomId> ids_;
  std::vector<std::optional<CompiledAtom>> compiled_;  // parallel to ids_
  NameTest keyword_skip_ = nullptr;
};

}  // namespace vigil::match
