#include "match/event_matcher.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <tuple>

#include "core/strings.h"

namespace vigil::match {

EventMatcher::Options EventMatcher::Options::from_env() {
  Options o;
  const char* off = std::getenv("VIGIL_NO_PREFILTER");
  if (off && *off && std::string_view(off) != "0") o.prefilter = false;
  // For measuring the threshold (bench): VIGIL_PREFILTER_MIN_ATOMS=n, VIGIL_PREFILTER_WARMUP=n.
  long long n = 0;
  if (const char* m = std::getenv("VIGIL_PREFILTER_MIN_ATOMS"); m && parse_int(m, n) && n >= 1)
    o.min_group_atoms = static_cast<size_t>(n);
  if (const char* w = std::getenv("VIGIL_PREFILTER_WARMUP"); w && parse_int(w, n) && n >= 0 && n <= UINT32_MAX)
    o.warmup_events = static_cast<uint32_t>(n);
  return o;
}

EventMatcher::EventMatcher(const ir::AtomTable& atoms, std::vector<std::string>* errors)
    : EventMatcher(atoms, Options::from_env(), errors) {}

EventMatcher::EventMatcher(const ir::AtomTable& atoms, const Options& opts, std::vector<std::string>* errors) {
  compiled_.resize(atoms.size());
  ref_field_.assign(atoms.size(), kNoSymbol);
  for (ir::AtomId id = 0; id < atoms.size(); ++id) {
    std::string err;
    compiled_[id] = CompiledAtom::compile(atoms.get(id), &err);
    if (!compiled_[id] && errors) errors->push_back(atoms.describe(id) + ": " + err);
    if (ir::is_field_ref(atoms.get(id).kind)) ref_field_[id] = field_id(atoms.get(id).value);
  }
  memo_stamp_.assign(atoms.size(), 0);
  memo_value_.assign(atoms.size(), 0);
  atom_group_.assign(atoms.size(), kNoGroup);
  warmup_ = opts.warmup_events;
  if (opts.prefilter && Prefilter::available()) build_prefilter(opts);
}

EventMatcher::~EventMatcher() = default;
EventMatcher::EventMatcher(EventMatcher&&) noexcept = default;

size_t EventMatcher::prefiltered_atoms() const {
  size_t n = 0;
  for (auto& g : groups_) n += g.atoms;
  return n;
}

void EventMatcher::build_prefilter(const Options& opts) {
  // Group the atoms that have a necessary literal by field; keyword atoms search
  // every raw field, so they form one group of their own (kNoSymbol).
  std::map<Symbol, std::vector<std::pair<ir::AtomId, PrefilterPattern>>> by_field;
  for (ir::AtomId id = 0; id < compiled_.size(); ++id) {
    if (!compiled_[id]) continue;
    auto lit = necessary_literal(*compiled_[id]);
    if (!lit) continue;
    const ir::Atom& a = compiled_[id]->atom();
    Symbol key = a.kind == ir::AtomKind::keyword ? kNoSymbol : a.field;
    if (key == kNoSymbol && a.kind != ir::AtomKind::keyword) continue;  // field-less non-keyword: never present
    by_field[key].emplace_back(id, std::move(*lit));
  }
  atom_pattern_.assign(compiled_.size(), 0);
  uint32_t next_pattern = 0;
  for (auto& [field, members] : by_field) {
    if (members.size() < std::max<size_t>(opts.min_group_atoms, 1)) continue;
    // Atoms sharing a literal (e.g. `contains x` and `wildcard *x*`) share one pattern.
    using Key = std::tuple<std::string, bool, bool, bool>;
    std::map<Key, uint32_t> index;
    std::vector<PrefilterPattern> patterns;
    std::vector<std::pair<ir::AtomId, uint32_t>> assign;
    for (auto& [id, p] : members) {
      Key k{p.literal, p.caseless, p.at_start, p.at_end};
      auto [it, fresh] = index.emplace(std::move(k), next_pattern + static_cast<uint32_t>(patterns.size()));
      if (fresh) {
        p.id = it->second;
        patterns.push_back(std::move(p));
      }
      assign.emplace_back(id, it->second);
    }
    uint32_t g = static_cast<uint32_t>(groups_.size());
    for (auto& [id, pat] : assign) {
      atom_group_[id] = g;
      atom_pattern_[id] = pat;
    }
    next_pattern += static_cast<uint32_t>(patterns.size());
    Group grp;
    grp.field = field;
    grp.pending = std::move(patterns);
    grp.atoms = assign.size();
    groups_.push_back(std::move(grp));
  }
  pattern_stamp_.assign(next_pattern, 0);
}

void EventMatcher::begin(const Event& e) {
  event_ = &e;
  if (++epoch_ == 0) {  // wrapped: clear every stamp so stale ones cannot alias the new epoch
    std::fill(memo_stamp_.begin(), memo_stamp_.end(), 0);
    std::fill(pattern_stamp_.begin(), pattern_stamp_.end(), 0);
    for (auto& g : groups_) g.scanned_stamp = 0;
    epoch_ = 1;
  }
}

void EventMatcher::on_hit(void* self, uint32_t pattern) {
  auto* m = static_cast<EventMatcher*>(self);
  if (pattern < m->pattern_stamp_.size()) m->pattern_stamp_[pattern] = m->epoch_;
}

// Scans exactly the values test_atom() would test for this group's atoms, so a
// literal not found in them rules the atom out.
void EventMatcher::scan_group(uint32_t gi) {
  Group& g = groups_[gi];
  g.scanned_stamp = epoch_;
  g.unfiltered = true;
  if (!g.db) {
    if (g.disabled || ++g.demand <= warmup_) return;
    g.db = Prefilter::build(g.pending);
    if (!g.db || !g.db->prepare(scratch_)) {  // cannot filter: test this group's atoms directly
      g.db.reset();
      g.disabled = true;
    }
    g.pending = {};
    if (g.disabled) return;
  }
  g.unfiltered = false;
  auto scan = [&](std::string_view v) {
    ++scans_;
    if (!g.db->scan(v, scratch_, &EventMatcher::on_hit, this)) g.unfiltered = true;
  };
  if (g.field == kNoSymbol) {
    for (auto& f : event_->fields())
      if (f.view == 0) scan(f.value);
    return;
  }
  std::string_view v;
  if (!event_->get(g.field, v)) return;
  scan(v);
  if (event_->has_repeats())
    for (auto& f : event_->fields())
      if (f.name == g.field && f.value.data() != v.data()) scan(f.value);
}

bool EventMatcher::test_atom(ir::AtomId id) {
  if (id >= compiled_.size()) return false;
  if (memo_stamp_[id] == epoch_) return memo_value_[id];
  bool r = false;
  if (uint32_t g = atom_group_[id]; g != kNoGroup) {
    if (groups_[g].scanned_stamp != epoch_) scan_group(g);
    if (!groups_[g].unfiltered && pattern_stamp_[atom_pattern_[id]] != epoch_) {
      ++rejects_;
      memo_stamp_[id] = epoch_;
      memo_value_[id] = 0;
      return false;
    }
  }
  ++tests_;
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
        } else if (ir::is_field_ref(a.kind)) {
          std::string_view o;
          r = event_->get(ref_field_[id], o) && ir::field_ref_matches(a.kind, v, o, a.case_sensitive);
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
