#include "match/event_matcher.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cassert>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>

#include "core/strings.h"

namespace vigil::match {

EventMatcher::Options EventMatcher::Options::from_env() {
  Options o;
  const char* off = std::getenv("VIGIL_NO_PREFILTER");
  if (off && *off && std::string_view(off) != "0") o.prefilter = false;
  if (const char* g = std::getenv("VIGIL_NO_GATES"); g && *g && std::string_view(g) != "0") o.gates = false;
  // For measuring the threshold (bench): VIGIL_PREFILTER_MIN_ATOMS=n, VIGIL_PREFILTER_WARMUP=n.
  long long n = 0;
  if (const char* m = std::getenv("VIGIL_PREFILTER_MIN_ATOMS"); m && parse_int(m, n) && n >= 1)
    o.min_group_atoms = static_cast<size_t>(n);
  if (const char* w = std::getenv("VIGIL_PREFILTER_WARMUP"); w && parse_int(w, n) && n >= 0 && n <= UINT32_MAX)
    o.warmup_events = static_cast<uint32_t>(n);
  return o;
}

struct EventMatcher::Shared {
  struct Group {
    Symbol field = kNoSymbol;  // kNoSymbol: keyword group, scans every raw-view field
    size_t atoms = 0;
    std::mutex mu;             // held while the group is built
    std::atomic<int> state{0};  // 0 not built, 1 built, 2 cannot be filtered (its atoms are tested)
    // Events that needed the group before it was built, counted over every matcher sharing it (a
    // hunt's workers and risk pass): the warm-up is run once, not once per worker.
    std::atomic<uint32_t> demand{0};
    std::vector<PrefilterPattern> pending;  // built after the warm-up
    // Whole-value literals (eq atoms) are found by one hash lookup; the others by `db`.
    std::unordered_map<std::string, std::vector<uint32_t>, TextHash, TextEq> exact_cs, exact_ci;
    std::unique_ptr<Prefilter> db;
  };
  std::vector<std::optional<CompiledAtom>> compiled;
  std::vector<Symbol> ref_field;  // field_eq: the other field's symbol
  uint32_t warmup = 0;
  bool gates_enabled = true;
  std::string cache_dir;  // Options::cache_dir
  std::vector<std::unique_ptr<Group>> groups;
  // AtomId -> its group (or kNoGroup) and pattern index (deduplicated literals): side by side, as
  // an atom's test reads both.
  struct Route {
    uint32_t group = kNoGroup, pattern = 0;
  };
  std::vector<Route> route;
  std::vector<uint32_t> pattern_len;   // pattern index -> literal length (gate choice)
  // The keyword group's patterns (index: pattern - keyword_first), for the matchers' gate databases.
  std::vector<PrefilterPattern> keyword_patterns;
  uint32_t keyword_first = 0;
  // The keyword gate databases, by their (sorted) patterns: the workers of one engine share one; the
  // risk pass's engine, with other gates, has its own. Built once each, under the lock.
  std::mutex keyword_gates_mu;
  std::map<std::vector<uint32_t>, std::shared_ptr<const Prefilter>> keyword_gate_dbs;
  std::shared_ptr<const Prefilter> keyword_gate_db(const std::vector<uint32_t>& patterns);

  void build_prefilter(const Options& opts);
  // Splits a group's literals: whole-value ones (eq atoms) go to hash maps, the rest to a
  // multi-pattern database. Once per group, whichever matcher comes first.
  int build(uint32_t g);
};

std::shared_ptr<EventMatcher::Shared> EventMatcher::share(const ir::AtomTable& atoms, const Options& opts,
                                                          std::vector<std::string>* errors) {
  auto sh = std::make_shared<Shared>();
  sh->compiled.resize(atoms.size());
  sh->ref_field.assign(atoms.size(), kNoSymbol);
  for (ir::AtomId id = 0; id < atoms.size(); ++id) {
    std::string err;
    sh->compiled[id] = CompiledAtom::compile(atoms.get(id), &err);
    if (!sh->compiled[id] && errors) errors->push_back(atoms.describe(id) + ": " + err);
    if (ir::is_field_ref(atoms.get(id).kind)) sh->ref_field[id] = field_id(atoms.get(id).value);
  }
  sh->route.assign(atoms.size(), {});
  sh->warmup = opts.warmup_events;
  sh->gates_enabled = opts.gates;
  sh->cache_dir = opts.cache_dir;
  if (opts.prefilter && Prefilter::available()) sh->build_prefilter(opts);
  return sh;
}

EventMatcher::EventMatcher(std::shared_ptr<Shared> shared) : sh_(std::move(shared)) {
  memo_.assign(sh_->compiled.size(), 0);
  local_.resize(sh_->groups.size());
  pattern_bits_.assign((sh_->pattern_len.size() + 63) / 64, 0);
  pattern_gates_.resize(sh_->pattern_len.size());
  group_gates_.resize(sh_->groups.size());
}

EventMatcher::EventMatcher(const ir::AtomTable& atoms, std::vector<std::string>* errors)
    : EventMatcher(atoms, Options::from_env(), errors) {}

EventMatcher::EventMatcher(const ir::AtomTable& atoms, const Options& opts, std::vector<std::string>* errors)
    : EventMatcher(share(atoms, opts, errors)) {}

EventMatcher::~EventMatcher() = default;
EventMatcher::EventMatcher(EventMatcher&&) noexcept = default;

size_t EventMatcher::prefilter_groups() const { return sh_->groups.size(); }

size_t EventMatcher::prefiltered_atoms() const {
  size_t n = 0;
  for (auto& g : sh_->groups) n += g->atoms;
  return n;
}

void EventMatcher::Shared::build_prefilter(const Options& opts) {
  // Group the atoms that have a necessary literal by field; keyword atoms search
  // every raw field, so they form one group of their own (kNoSymbol).
  std::map<Symbol, std::vector<std::pair<ir::AtomId, PrefilterPattern>>> by_field;
  for (ir::AtomId id = 0; id < compiled.size(); ++id) {
    if (!compiled[id]) continue;
    auto lit = necessary_literal(*compiled[id]);
    if (!lit) continue;
    const ir::Atom& a = compiled[id]->atom();
    Symbol key = a.kind == ir::AtomKind::keyword ? kNoSymbol : a.field;
    if (key == kNoSymbol && a.kind != ir::AtomKind::keyword) continue;  // field-less non-keyword: never present
    // Keyword atoms are prefiltered over all raw values joined in one text (one scan per event,
    // not one per field), so their literals can only be required somewhere, not at an edge.
    // A literal of one or two characters occurs in nearly every event and slows the whole scan:
    // such keyword atoms are tested directly instead.
    if (key == kNoSymbol) {
      if (lit->literal.size() < 3) continue;
      lit->at_start = lit->at_end = false;
    }
    by_field[key].emplace_back(id, std::move(*lit));
  }
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
        pattern_len.push_back(static_cast<uint32_t>(p.literal.size()));
        patterns.push_back(std::move(p));
      }
      assign.emplace_back(id, it->second);
    }
    uint32_t g = static_cast<uint32_t>(groups.size());
    for (auto& [id, pat] : assign) {
      route[id].group = g;
      route[id].pattern = pat;
    }
    if (field == kNoSymbol) {
      keyword_first = next_pattern;
      keyword_patterns = patterns;
    }
    next_pattern += static_cast<uint32_t>(patterns.size());
    auto grp = std::make_unique<Group>();
    grp->field = field;
    grp->pending = std::move(patterns);
    grp->atoms = assign.size();
    groups.push_back(std::move(grp));
  }
}

std::shared_ptr<const Prefilter> EventMatcher::Shared::keyword_gate_db(const std::vector<uint32_t>& patterns) {
  std::lock_guard lock(keyword_gates_mu);
  auto [it, fresh] = keyword_gate_dbs.try_emplace(patterns);
  if (fresh) {
    std::vector<PrefilterPattern> pats;
    for (uint32_t p : patterns) pats.push_back(keyword_patterns[p - keyword_first]);
    if (!pats.empty()) it->second = Prefilter::build(pats, nullptr, cache_dir);
  }
  return it->second;  // null: none could be built
}

int EventMatcher::Shared::build(uint32_t gi) {
  Group& g = *groups[gi];
  if (int st = g.state.load(std::memory_order_acquire)) return st;
  std::lock_guard lock(g.mu);
  if (int st = g.state.load(std::memory_order_relaxed)) return st;
  std::vector<PrefilterPattern> rest;
  for (auto& p : g.pending) {
    if (p.at_start && p.at_end) {
      if (p.caseless) {
        for (auto& c : p.literal) c = ascii_lower(c);  // Hyperscan's caseless is ASCII folding too
        g.exact_ci[p.literal].push_back(p.id);
      }
      else g.exact_cs[p.literal].push_back(p.id);
    } else {
      rest.push_back(std::move(p));
    }
  }
  g.pending = {};
  int st = 1;
  if (!rest.empty()) {
    g.db = Prefilter::build(rest, nullptr, cache_dir);
    if (!g.db) st = 2;
  }
  g.state.store(st, std::memory_order_release);
  return st;
}

// True when the group can filter in this matcher: built (once, shared) and this matcher's
// scratch fits its database. False: its atoms are tested directly.
bool EventMatcher::ready(uint32_t gi) {
  Local& l = local_[gi];
  if (sh_->build(gi) != 1) {
    l.disabled = true;
    return false;
  }
  const Shared::Group& g = *sh_->groups[gi];
  if (g.db && !g.db->prepare(scratch_)) {
    l.disabled = true;
    return false;
  }
  l.ready = true;
  return true;
}

void EventMatcher::begin(const Event& e) {
  event_ = &e;
  // When a counter wraps, its stamps are cleared so that stale ones cannot alias a new event.
  if (++tick_ > kTicks) {
    std::fill(memo_.begin(), memo_.end(), 0);
    std::fill(gate_stamp_.begin(), gate_stamp_.end(), 0);
    tick_ = 1;
  }
  if (++scan_epoch_ == 0) {
    for (auto& l : local_) l.scanned_stamp = l.warm_stamp = 0;
    kw_text_stamp_ = 0;
    scan_epoch_ = 1;
  }
  for (uint32_t p : hits_) pattern_bits_[p >> 6] = 0;  // hits_ lists every pattern found
  hits_.clear();
  if (always_gate_ != kNoGate) gate_stamp_[always_gate_] = uint8_t(tick_);
}

uint32_t EventMatcher::always_open_gate() {
  if (always_gate_ == kNoGate) {
    always_gate_ = uint32_t(gate_stamp_.size());
    gate_stamp_.push_back(event_ ? uint8_t(tick_) : 0);  // open from the current event on
  }
  return always_gate_;
}

// Keywords search the values of the raw view. The XML renderings (EventData_Xml,
// System_Props_Xml) are copies of those values inside markup: they are not searched, so a keyword
// cannot match a tag name, and no event pays for rendering them. Aliases (Field::copy: `dest`,
// `host`, `ComputerName` … of `Computer`) hold a text already searched: about half the raw
// view's bytes, which every event would otherwise scan twice.
// Splunk's default fields (Field::metadata: `index`, `source`, `sourcetype`) say where the event
// is kept, not what it says.
static bool is_keyword_field(const Event::Field& f) {
  return f.view == 0 && !f.rendering && !f.copy && !f.metadata;
}

void EventMatcher::on_hit(void* self, uint32_t pattern) {
  auto* m = static_cast<EventMatcher*>(self);
  if (pattern >= m->sh_->pattern_len.size()) return;
  uint64_t& word = m->pattern_bits_[pattern >> 6];
  const uint64_t bit = uint64_t(1) << (pattern & 63);
  if (!(word & bit)) {
    word |= bit;
    m->hits_.push_back(pattern);
  }
}

void EventMatcher::scan_value(uint32_t gi, std::string_view v) {
  const Shared::Group& g = *sh_->groups[gi];
  ++scans_;
  // The group's exact values (hash lookups) and its database (a scan), reporting through `hit`.
  auto find = [&](Prefilter::OnHit hit) {
    if (!g.exact_cs.empty())
      if (auto it = g.exact_cs.find(v); it != g.exact_cs.end())
        for (uint32_t p : it->second) hit(this, p);
    if (!g.exact_ci.empty()) {
      lower_.assign(v);
      for (auto& c : lower_) c = ascii_lower(c);
      if (auto it = g.exact_ci.find(std::string_view(lower_)); it != g.exact_ci.end())
        for (uint32_t p : it->second) hit(this, p);
    }
    return !g.db || g.db->scan(v, scratch_, hit, this);
  };
  if (v.size() > kSeenValueMax) {
    if (!find(&EventMatcher::on_hit)) local_[gi].unfiltered = true;
    return;
  }
  Local& l = local_[gi];
  // Sized by the database's patterns alone: the exact values are hash lookups, no dearer than this.
  if (l.seen.empty()) l.seen.resize(seen_slots(g.db ? g.db->pattern_count() : 0));
  // Two slots per hash: a value is in either; a new one takes a free one, else the one the hash's
  // low bit picks (the bit the pair's index leaves out): two values meeting in a pair both stay
  // unless that bit is the same for both.
  const size_t h = text_hash(v);
  Local::Seen* pair = &l.seen[h & (l.seen.size() - 2)];
  for (int w = 0; w < 2; ++w)
    if (pair[w].used && pair[w].hash == h && pair[w].value == v) {
      ++recalled_;
      for (uint32_t p : pair[w].hits) on_hit(this, p);
      return;
    }
  collected_.clear();
  const bool ok = find(&EventMatcher::on_collect);
  for (uint32_t p : collected_) on_hit(this, p);
  if (!ok) {
    l.unfiltered = true;
    return;
  }
  Local::Seen& s = !pair[0].used ? pair[0] : !pair[1].used ? pair[1] : pair[h & 1];
  s.used = true;
  s.hash = h;
  s.value.assign(v);
  s.hits.assign(collected_.begin(), collected_.end());
}

size_t EventMatcher::seen_slots(size_t patterns) {
  return std::clamp(std::bit_ceil(patterns), kSeenSlotsMin, kSeenSlotsMax);
}

void EventMatcher::on_collect(void* self, uint32_t pattern) {
  auto& c = static_cast<EventMatcher*>(self)->collected_;
  if (std::find(c.begin(), c.end(), pattern) == c.end()) c.push_back(pattern);
}

// Every raw value, joined: a literal spanning two values is a false hit, which only costs a test.
std::string_view EventMatcher::keyword_text() {
  if (kw_text_stamp_ == scan_epoch_) return {kw_text_.data(), kw_text_len_};
  kw_text_stamp_ = scan_epoch_;
  // One pass, each value copied whole in 16 bytes where it is short (most are): sizing first and
  // memcpy by value were most of this text's cost. The buffer keeps its size from event to event
  // (never filled: only the first kw_text_len_ bytes are the text) and grows when a value would
  // not fit with the copy's slack.
  char* at = kw_text_.data();
  char* end = at + kw_text_.size();
  for (auto& f : event_->fields_unrendered()) {
    if (!is_keyword_field(f)) continue;
    if (size_t(end - at) < f.value.size() + 1 + kCopySlack) [[unlikely]] {
      const size_t used = size_t(at - kw_text_.data());
      kw_text_.resize(std::max(2 * kw_text_.size(), used + f.value.size() + 1 + kCopySlack + 4096));
      at = kw_text_.data() + used;
      end = kw_text_.data() + kw_text_.size();
    }
    assert(size_t(end - at) >= f.value.size() + 1 + kCopySlack);
    at = copy_with_slack(at, f.value);
    *at++ = '\n';
  }
  kw_text_len_ = size_t(at - kw_text_.data());
  return {kw_text_.data(), kw_text_len_};
}

// Opens the keyword gates from a scan for their literals alone. A corpus has hundreds of keyword
// literals (650 in Sigma's and ESCU's) and gates on a few dozen, from the few rules that are keywords
// only; scanning every event's raw values for all of them was most of a keyword scan's cost, and
// most events never test a keyword atom. False: no such database; the whole group is scanned.
bool EventMatcher::scan_keyword_gates() {
  if (!kw_gate_asked_) {
    kw_gate_asked_ = true;
    std::vector<uint32_t> key = kw_gate_patterns_;
    std::sort(key.begin(), key.end());
    if (auto db = sh_->keyword_gate_db(key); db && db->prepare(scratch_)) kw_gate_db_ = std::move(db);
  }
  if (!kw_gate_db_) return false;
  ++scans_;
  return kw_gate_db_->scan(keyword_text(), scratch_, &EventMatcher::on_hit, this);
}

// The event's place in the group's warm-up (the events counted before it, over every matcher),
// counted once an event however often it is asked. Once this matcher has seen the count reach the
// warm-up, counting on changes nothing (the group is built the next time an event needs it), and
// the count is a cache line every worker writes: a group no event needs is never built, and was
// counted in every event.
uint32_t EventMatcher::warm_up_count(uint32_t gi) {
  Local& l = local_[gi];
  if (l.warm_stamp != scan_epoch_ && l.warm_count < sh_->warmup) {
    l.warm_count = sh_->groups[gi]->demand.fetch_add(1, std::memory_order_relaxed);
    ++warm_up_counts_;
    l.warm_stamp = scan_epoch_;
  }
  return l.warm_count;
}

// Scans exactly the values test_atom() would test for this group's atoms, so a
// literal not found in them rules the atom out.
void EventMatcher::scan_group(uint32_t gi) {
  Local& l = local_[gi];
  l.scanned_stamp = scan_epoch_;
  l.unfiltered = true;
  if (l.disabled) return;
  if (!l.ready) {
    // The warm-up spares a short run the database's compile; once another matcher sharing it
    // (another worker) has had it built, this one has nothing to wait for.
    Shared::Group& g = *sh_->groups[gi];
    const bool built = g.state.load(std::memory_order_acquire) != 0;
    if (!built && warm_up_count(gi) < sh_->warmup) return;
    if (!ready(gi)) return;  // cannot filter: test this group's atoms directly
  }
  l.unfiltered = false;
  const Symbol field = sh_->groups[gi]->field;
  if (field == kNoSymbol) {
    ++keyword_scans_;
    scan_value(gi, keyword_text());
    return;
  }
  std::string_view v;
  if (!event_->get(field, v)) return;
  scan_value(gi, v);
  if (event_->has_repeats())
    for (auto& f : event_->fields_with(field))
      if (f.name == field && f.value.data() != v.data()) scan_value(gi, f.value);
}

bool EventMatcher::test_atom(ir::AtomId id) {
  const Shared& sh = *sh_;
  if (id >= sh.compiled.size()) return false;
  if (memo_[id] >> 1 == tick_) return memo_[id] & 1;
  bool r = false;
  if (uint32_t g = sh.route[id].group; g != kNoGroup) {
    if (local_[g].scanned_stamp != scan_epoch_) scan_group(g);
    if (!local_[g].unfiltered && !pattern_found(sh.route[id].pattern)) {
      ++rejects_;
      memo_[id] = uint8_t(tick_ << 1);
      return false;
    }
  }
  ++tests_;
  if (const auto& c = sh.compiled[id]) {
    const ir::Atom& a = c->atom();
    if (a.kind == ir::AtomKind::keyword) {
      for (auto& f : event_->fields_unrendered())
        if (is_keyword_field(f) && c->test(f.value)) {
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
          r = event_->get(sh.ref_field[id], o) && ir::field_ref_matches(a.kind, v, o, a.case_sensitive);
        } else {
          // A field present several times (multivalue) matches when any value does.
          r = c->test(v);
          if (!r && event_->has_repeats())
            for (auto& f : event_->fields_with(a.field))
              if (f.name == a.field && f.value.data() != v.data() && c->test(f.value)) {
                r = true;
                break;
              }
        }
      }
    }
  }
  memo_[id] = uint8_t(tick_ << 1 | uint32_t(r));
  return r;
}

// How rare a trigger set's events are, by its shortest literal (longer: rarer text). A gate on
// keywords makes every event scan its joined raw values (for the gates' keyword literals): 0, the
// last choice.
uint32_t EventMatcher::trigger_len(const std::vector<ir::AtomId>& t) const {
  uint32_t len = UINT32_MAX;
  for (ir::AtomId a : t) {
    const Shared::Route& r = sh_->route[a];
    len = std::min(len, sh_->groups[r.group]->field == kNoSymbol ? 0 : sh_->pattern_len[r.pattern]);
  }
  return len;
}

// A set of gateable atoms at least one of which is true whenever `p` is: an atom is its own set;
// OR needs every branch's set (their union); AND may use any one operand's, and takes the one
// whose shortest literal is longest (rarer text, fewer events open it), then the smaller.
std::optional<std::vector<ir::AtomId>> EventMatcher::triggers(const ir::Predicate& p) const {
  using Op = ir::Predicate::Op;
  switch (p.op) {
    case Op::never: return std::vector<ir::AtomId>{};
    case Op::always: case Op::not_: return std::nullopt;
    case Op::atom: {
      if (p.atom >= sh_->route.size()) return std::nullopt;
      uint32_t g = sh_->route[p.atom].group;
      if (g == kNoGroup) return std::nullopt;
      return std::vector<ir::AtomId>{p.atom};
    }
    case Op::or_: {
      std::vector<ir::AtomId> all;
      for (auto& c : p.children) {
        auto t = triggers(c);
        if (!t) return std::nullopt;
        all.insert(all.end(), t->begin(), t->end());
      }
      return all;
    }
    case Op::and_: {
      std::optional<std::vector<ir::AtomId>> best;
      uint32_t best_len = 0;
      for (auto& c : p.children) {
        auto t = triggers(c);
        if (!t) continue;
        const uint32_t len = trigger_len(*t);
        if (!best || len > best_len || (len == best_len && t->size() < best->size())) {
          best_len = len;
          best = std::move(t);
        }
      }
      return best;
    }
  }
  return std::nullopt;
}

uint32_t EventMatcher::add_gate(const ir::Predicate& p) {
  if (sh_->groups.empty() || !sh_->gates_enabled) return kNoGate;
  auto t = triggers(p);
  if (!t) return kNoGate;
  return make_gate(std::move(*t));
}

std::vector<uint32_t> EventMatcher::add_gates(const ir::Predicate& p, size_t most) {
  std::vector<uint32_t> out;
  if (sh_->groups.empty() || !sh_->gates_enabled || most == 0) return out;
  if (p.op != ir::Predicate::Op::and_ || most == 1) {
    if (uint32_t g = add_gate(p); g != kNoGate) out.push_back(g);
    return out;
  }
  // Each operand of a top-level AND that has a trigger set is a gate of its own: the event must
  // open them all. The operands are ranked as triggers() ranks them (longest shortest literal,
  // then fewest atoms); keyword sets only ever come first (each would make every event scan all
  // its raw values).
  struct Cand {
    std::vector<ir::AtomId> atoms;
    uint32_t len;
  };
  std::vector<Cand> cands;
  for (auto& c : p.children) {
    auto t = triggers(c);
    if (!t) continue;
    const uint32_t len = trigger_len(*t);
    cands.push_back({std::move(*t), len});
  }
  std::stable_sort(cands.begin(), cands.end(), [](const Cand& a, const Cand& b) {
    return a.len != b.len ? a.len > b.len : a.atoms.size() < b.atoms.size();
  });
  for (auto& c : cands) {
    if (out.size() == most || (!out.empty() && c.len == 0)) break;
    out.push_back(make_gate(std::move(c.atoms)));
  }
  return out;
}

uint32_t EventMatcher::make_gate(std::vector<ir::AtomId> atoms) {
  // A gate opens when one of its atoms' patterns is found in its group, or when one of those groups
  // cannot filter; each pattern is of one group (Shared numbers them group after group), so the
  // patterns are all that tells one gate from another.
  std::vector<uint32_t> key;
  key.reserve(atoms.size());
  for (ir::AtomId a : atoms) key.push_back(sh_->route[a].pattern);
  std::sort(key.begin(), key.end());
  key.erase(std::unique(key.begin(), key.end()), key.end());
  const auto [known, added] = gate_by_key_.try_emplace(std::move(key), uint32_t(gate_stamp_.size()));
  const uint32_t gate = known->second;
  if (!added) return gate;
  gate_stamp_.push_back(0);
  std::sort(atoms.begin(), atoms.end());
  atoms.erase(std::unique(atoms.begin(), atoms.end()), atoms.end());
  for (ir::AtomId a : atoms) {
    auto& pg = pattern_gates_[sh_->route[a].pattern];
    if (pg.empty() || pg.back() != gate) pg.push_back(gate);
    uint32_t g = sh_->route[a].group;
    if (sh_->groups[g]->field == kNoSymbol) {
      const uint32_t p = sh_->route[a].pattern;
      if (std::find(kw_gate_patterns_.begin(), kw_gate_patterns_.end(), p) == kw_gate_patterns_.end()) {
        kw_gate_patterns_.push_back(p);
        kw_gate_db_.reset();  // a gate added after the database was built: ask again
        kw_gate_asked_ = false;
      }
    }
    auto& gg = group_gates_[g];
    if (gg.empty()) {
      scan_always_.push_back(uint32_t(gated_groups_.size()));
      gated_groups_.push_back(g);
      gated_field_.push_back(sh_->groups[g]->field);
    }
    if (gg.empty() || gg.back() != gate) gg.push_back(gate);
    // The group's index in gated_groups_ (a few hundred at most; gates are made once per worker).
    const auto at = uint32_t(std::find(gated_groups_.begin(), gated_groups_.end(), g) - gated_groups_.begin());
    if (gate_groups_.size() <= gate) gate_groups_.resize(size_t(gate) + 1);
    auto& groups = gate_groups_[gate];
    if (std::find(groups.begin(), groups.end(), at) == groups.end()) groups.push_back(at);
  }
  return gate;
}

void EventMatcher::add_gate_groups(uint32_t gate, std::vector<uint64_t>& bits) const {
  if (gate >= gate_groups_.size()) return;  // the always-open gate, or one without atoms
  for (uint32_t i : gate_groups_[gate]) {
    if (bits.size() <= i / 64) bits.resize(i / 64 + 1, 0);
    bits[i / 64] |= uint64_t(1) << (i % 64);
  }
}

void EventMatcher::open_gates(const uint64_t* need, size_t words) {
  auto needed = [&](uint32_t i) { return !need || i / 64 >= words || (need[i / 64] >> (i % 64) & 1); };
  // Most gated groups are of a field the event does not have (the command-line groups and a
  // registry event): a group that filters opens none of its gates then. Those groups are reached
  // from the event's fields (~100), not by asking each of hundreds of groups whether the event has
  // its field; with fewer such groups than the event has fields (a few rules), each is asked instead.
  // A skipped group's scan is not marked done: test_atom() still asks scan_group. A name the event
  // repeats comes back to a group already scanned: only its gates are stamped again.
  if (filtering_.size() < event_->fields_unrendered().size()) {
    for (uint32_t i : filtering_)
      if (needed(i) && event_->has(gated_field_[i])) open_group_gates(i);
  } else {
    for (auto& f : event_->fields_unrendered())
      if (f.name < by_field_.size())
        if (const uint32_t i = by_field_[f.name]; i && needed(i - 1)) open_group_gates(i - 1);
  }
  // The others, every event that needs them; one found to filter from now on joins by_field_.
  for (size_t k = 0; k < scan_always_.size();) {
    const uint32_t i = scan_always_[k];
    if (!needed(i)) {
      // Its warm-up still counts this event, as a scan would have: the database is compiled after
      // the same number of events whichever lists they visit (else a group of rare events' rules
      // would let every such event through its gates for that much longer).
      const uint32_t gi = gated_groups_[i];
      const Local& l = local_[gi];
      if (!l.ready && !l.disabled && sh_->groups[gi]->state.load(std::memory_order_acquire) == 0) warm_up_count(gi);
      ++k;
      continue;
    }
    open_group_gates(i);
    const Local& l = local_[gated_groups_[i]];
    if (l.ready && !l.disabled && gated_field_[i] != kNoSymbol) {
      if (by_field_.size() <= gated_field_[i]) by_field_.resize(size_t(gated_field_[i]) + 1, 0);
      by_field_[gated_field_[i]] = i + 1;
      filtering_.push_back(i);
      scan_always_[k] = scan_always_.back();  // the order groups are scanned in changes nothing
      scan_always_.pop_back();
    } else {
      ++k;
    }
  }
  for (uint32_t p : hits_)
    for (uint32_t gate : pattern_gates_[p]) gate_stamp_[gate] = tick_;
}

void EventMatcher::open_group_gates(uint32_t i) {
  const uint32_t g = gated_groups_[i];
  Local& l = local_[g];
  // Keywords, once their group is built: only the gates' literals now (test_atom() scans for the
  // rest if a keyword atom is tested); its gates open from hits_ (open_gates).
  if (gated_field_[i] == kNoSymbol && l.ready && !l.disabled && l.scanned_stamp != scan_epoch_ && scan_keyword_gates())
    return;
  if (l.scanned_stamp != scan_epoch_) scan_group(g);
  if (l.unfiltered)
    for (uint32_t gate : group_gates_[g]) gate_stamp_[gate] = tick_;
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

bool EventMatcher::eval_flat(const ir::FlatPredicates::Node* nodes, uint32_t at) {
  using Op = ir::Predicate::Op;
  const ir::FlatPredicates::Node& n = nodes[at];
  switch (n.op) {
    case Op::always: return true;
    case Op::never: return false;
    case Op::atom: return test_atom(n.arg);
    case Op::not_: return !eval_flat(nodes, at + 1);
    case Op::and_:
      for (uint32_t k = 0, c = at + 1; k < n.arg; ++k, c = nodes[c].end)
        if (!eval_flat(nodes, c)) return false;
      return true;
    case Op::or_:
      for (uint32_t k = 0, c = at + 1; k < n.arg; ++k, c = nodes[c].end)
        if (eval_flat(nodes, c)) return true;
      return false;
  }
  return false;
}

}  // namespace vigil::match
