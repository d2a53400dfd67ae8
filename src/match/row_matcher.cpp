#include "match/row_matcher.h"

#include <algorithm>

namespace vigil::match {

RowMatcher::RowMatcher(ir::Predicate pred, const ir::AtomTable& atoms, std::vector<std::string>* errors)
    : pred_(std::move(pred)), atoms_(&atoms) {
  pred_.collect_atoms(ids_);
  std::sort(ids_.begin(), ids_.end());
  ids_.erase(std::unique(ids_.begin(), ids_.end()), ids_.end());
  compiled_.reserve(ids_.size());
  for (auto id : ids_) {
    std::string err;
    compiled_.push_back(CompiledAtom::compile(atoms.get(id), &err));
    if (!compiled_.back() && errors) errors->push_back(err);
  }
}

bool RowMatcher::matches(const Row& row) const { return eval(pred_, row); }

bool RowMatcher::fields(std::vector<std::string>& out) const {
  for (auto& c : compiled_) {
    if (!c) continue;  // a bad atom tests false whatever the row holds
    const ir::Atom& a = c->atom();
    if (a.kind == ir::AtomKind::keyword) return false;
    out.emplace_back(field_name(a.field));
    // A comparison with another field reads that one too.
    if (a.kind == ir::AtomKind::field_eq || ir::is_field_ref(a.kind)) out.push_back(a.value);
  }
  return true;
}

bool RowMatcher::eval(const ir::Predicate& p, const Row& row) const {
  using Op = ir::Predicate::Op;
  switch (p.op) {
    case Op::always: return true;
    case Op::never: return false;
    case Op::atom: return test_atom(p.atom, row);
    case Op::not_: return !eval(p.children[0], row);
    case Op::and_:
      for (auto& c : p.children)
        if (!eval(c, row)) return false;
      return true;
    case Op::or_:
      for (auto& c : p.children)
        if (eval(c, row)) return true;
      return false;
  }
  return false;
}

bool RowMatcher::test_atom(ir::AtomId id, const Row& row) const {
  auto it = std::lower_bound(ids_.begin(), ids_.end(), id);
  if (it == ids_.end() || *it != id) return false;
  const auto& c = compiled_[size_t(it - ids_.begin())];
  if (!c) return false;
  const ir::Atom& a = c->atom();
  if (a.kind == ir::AtomKind::keyword) {
    for (auto& [name, v] : row.entries()) {
      if (keyword_skip_ && keyword_skip_(name)) continue;
      for (auto& t : v.all_texts())
        if (c->test(t)) return true;
    }
    return false;
  }
  const Value* v = row.get(field_name(a.field));
  if (!v || v->is_null()) return false;
  if (a.kind == ir::AtomKind::exists) return true;
  if (a.kind == ir::AtomKind::field_eq) {
    const Value* o = row.get(a.value);
    return o && v->to_string() == o->to_string();
  }
  if (ir::is_field_ref(a.kind)) {
    const Value* o = row.get(a.value);
    return o && ir::field_ref_matches(a.kind, v->to_string(), o->to_string(), a.case_sensitive);
  }
  for (auto& t : v->all_texts())
    if (c->test(t)) return true;
  return false;
}

}  // namespace vigil::match
