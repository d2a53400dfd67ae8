#include "match/event_matcher.h"

#include <algorithm>

#include "core/strings.h"

namespace vigil::match {

EventMatcher::EventMatcher(const ir::AtomTable& atoms, std::vector<std::string>* errors) {
  compiled_.resize(atoms.size());
  ref_field_.assign(atoms.size(), kNoSymbol);
  for (ir::AtomId id = 0; id < atoms.size(); ++id) {
    std::string err;
    compiled_[id] = CompiledAtom::compile(atoms.get(id), &err);
    if (!compiled_[id] && errors) errors->push_back(atoms.describe(id) + ": " + err);
    if (atoms.get(id).kind == ir::AtomKind::field_eq) ref_field_[id] = field_id(atoms.get(id).value);
  }
  memo_stamp_.assign(atoms.size(), 0);
  memo_value_.assign(atoms.size(), 0);
}

void EventMatcher::begin(const Event& e) {
  event_ = &e;
  if (++epoch_ == 0) {
    std::fill(memo_stamp_.begin(), memo_stamp_.end(), 0);
    epoch_ = 1;
  }
}

bool EventMatcher::test_atom(ir::AtomId id) {
  if (id >= compiled_.size()) return false;
  if (memo_stamp_[id] == epoch_) return memo_value_[id];
  ++tests_;
  bool r = false;
  if (const auto& c = compiled_[id]) {
    const ir::Atom& a = c->atom();
    if (a.kind == ir::AtomKind::keyword) {
      for (auto& f : event_->fields())
        if (f.view == 0 && c->test(f.value)) {
          r = true;
          break;
        }
    } else {
      std::string_view v;
      if (event_->get(a.field, v)) {
        if (a.kind == ir::AtomKind::exists) {
          r = true;
        } else if (a.kind == ir::AtomKind::field_eq) {
          std::string_view o;
          r = event_->get(ref_field_[id], o) && (a.case_sensitive ? v == o : iequals(v, o));
        } else {
          // A field present several times (multivalue) matches when any value does.
          r = c->test(v);
          if (!r && event_->has_repeats())
            for (auto& f : event_->fields())
              if (f.name == a.field && f.value.data() != v.data() && c->test(f.value)) {
                r = true;
                break;
              }
        }
      }
    }
  }
  memo_stamp_[id] = epoch_;
  memo_value_[id] = r;
  return r;
}

bool EventMatcher::eval(const ir::Predicate& p) {
  using Op = ir::Predicate::Op;
  switch (p.op) {
    case Op::always: return true;
    case Op::never: return false;
    case Op::atom: return test_atom(p.atom);
    case Op::not_: return !eval(p.children[0]);
    case Op::and_:
      for (auto& c : p.children)
        if (!eval(c)) return false;
      return true;
    case Op::or_:
      for (auto& c : p.children)
        if (eval(c)) return true;
      return false;
  }
  return false;
}

}  // namespace vigil::match
