#include "spl/aggregates.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "core/strings.h"
#include "spl/eval.h"
#include "spl/field_refs.h"

namespace vigil::spl {

namespace {

constexpr size_t kListMax = 100;  // list(): Splunk keeps the first 100 values

// The process-wide text pool of merged tables (KeyPool, below).
uint32_t pool_intern(std::string_view t);
std::string pool_text(uint32_t id);

// Adds ids (ascending, distinct) to a sorted set of ids.
void union_ids(std::vector<uint32_t>& into, const std::vector<uint32_t>& more) {
  if (more.empty()) return;
  if (into.empty()) {
    into = more;
    return;
  }
  std::vector<uint32_t> out;
  out.reserve(into.size() + more.size());
  std::set_union(into.begin(), into.end(), more.begin(), more.end(), std::back_inserter(out));
  into.swap(out);
}

bool parse_percent(std::string_view s, double& out) {
  if (s.empty()) return false;
  return parse_number(s, out) && out >= 0 && out <= 100;
}

// The decade k of x in [1, 1e15) (10^k <= x < 10^(k+1)), when format_number writes x without an
// exponent and 15 significant digits cannot round it up into the next decade; else -1. (Accumulators
// are fed numbers read back from their texts, which never round so; the margin keeps this true
// for any number.)
int plain_decade(double x) {
  static constexpr double kPow[16] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                      1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
  if (!(x >= 1 && x < 1e15)) return -1;
  int k = 0;
  while (x >= kPow[k + 1]) ++k;
  return x < kPow[k + 1] * (1 - 1e-14) ? k : -1;
}

// Whether format_number(a)'s text sorts before format_number(b)'s. Two numbers of one plain decade
// have texts with as many integer digits and no exponent, which sort as the numbers do (texts equal
// when the numbers differ past 15 digits: either one then stands for that text). min(_time) and
// max(_time) of every ESCU tstats compare so, without formatting a number per row.
bool number_text_less(double a, double b) {
  const int k = plain_decade(a);
  if (k >= 0 && k == plain_decade(b)) return a < b;
  NumberText x, y;
  return format_number(a, x) < format_number(b, y);
}

}  // namespace

std::string compile_aggregate(const Aggregate& a, AggSpec& out) {
  using K = AggSpec::Kind;
  std::string f = to_lower(a.func);
  static const std::unordered_map<std::string, K> simple = {
      {"count", K::count},   {"c", K::count},          {"dc", K::dc},         {"distinct_count", K::dc},
      {"min", K::min},       {"max", K::max},          {"values", K::values}, {"list", K::list},
      {"sum", K::sum},       {"avg", K::avg},          {"mean", K::avg},      {"stdev", K::stdev},
      {"stdevp", K::stdevp}, {"var", K::var},          {"varp", K::varp},     {"range", K::range},
      {"earliest", K::earliest}, {"latest", K::latest}, {"earliest_time", K::earliest_time},
      {"latest_time", K::latest_time}, {"first", K::first}, {"last", K::last}, {"median", K::median},
      {"mode", K::mode},
  };
  out = AggSpec{};
  if (auto it = simple.find(f); it != simple.end()) {
    out.kind = it->second;
  } else if (f.rfind("exactperc", 0) == 0 && parse_percent(f.substr(9), out.percent)) {
    out.kind = K::perc;
  } else if (f.rfind("upperperc", 0) == 0 && parse_percent(f.substr(9), out.percent)) {
    out.kind = K::upperperc;
  } else if (f.rfind("perc", 0) == 0 && parse_percent(f.substr(4), out.percent)) {
    out.kind = K::perc;
  } else if (f.size() > 1 && f[0] == 'p' && parse_percent(f.substr(1), out.percent)) {
    out.kind = K::perc;
  } else {
    return "unsupported aggregate function '" + a.func + "'";
  }
  out.field = a.field;
  out.eval = a.eval.get();
  if (out.eval) {
    std::string why = validate_expression(*out.eval);
    if (!why.empty()) return why;
  }
  if (out.kind != K::count && out.field.empty() && !out.eval)
    return "aggregate '" + a.func + "' needs a field";
  out.output = a.output_name();
  return {};
}

void Accumulator::add_text(std::string_view t, double time, bool has_time, bool canonical, const double* parsed) {
  using K = AggSpec::Kind;
  ++count_;
  switch (spec_->kind) {
    case K::count: return;
    case K::min: case K::max: {
      double d;
      if (parsed ? (d = *parsed, true) : parse_number(t, d)) {
        note_number(d);
        if (canonical) {
          if (!have_time_) {
            time_.early = time_.late = d;
            have_time_ = true;
            return;
          }
          // min keeps the lowest text (early), max the highest (late).
          if (spec_->kind == K::min) {
            if (number_text_less(d, time_.early)) time_.early = d;
          } else if (number_text_less(time_.late, d)) {
            time_.late = d;
          }
          return;
        }
      } else {
        all_numeric_ = false;
      }
      auto& x = tx();
      if (!x.lo || t < *x.lo) x.lo = std::string(t);
      if (!x.hi || t > *x.hi) x.hi = std::string(t);
      return;
    }
    case K::sum: case K::avg: case K::stdev: case K::stdevp: case K::var: case K::varp: case K::range: {
      double d;
      if (!(parsed ? (d = *parsed, true) : parse_number(t, d))) return;
      stat_.n += 1;
      stat_.sum += d;
      double delta = d - stat_.mean;
      stat_.mean += delta / stat_.n;
      stat_.m2 += delta * (d - stat_.mean);
      note_number(d);
      return;
    }
    case K::list:
      if (tx().texts.size() < kListMax) tx().texts.emplace_back(t);
      return;
    case K::values: case K::dc:
      if (interned_) {
        // New ids wait in a short unsorted list (distinct, none in `ids`) and join `ids` in
        // bulk: inserting each into the sorted vector would cost its length per value.
        auto& x = tx();
        uint32_t id = pool_intern(t);
        if (std::find(x.fresh.begin(), x.fresh.end(), id) != x.fresh.end() ||
            std::binary_search(x.ids.begin(), x.ids.end(), id))
          return;
        x.fresh.push_back(id);
        if (x.fresh.size() >= kFreshIds) settle_ids(x);
      } else if (tx().distinct.find(t) == tx().distinct.end()) {
        tx().distinct.emplace(t);
      }
      return;
    case K::median: case K::perc: case K::upperperc: case K::mode:
      tx().texts.emplace_back(t);
      return;
    case K::first:
      if (!tx().lo) tx().lo = std::string(t);
      return;
    case K::last: tx().hi = std::string(t); return;
    case K::earliest: case K::latest: case K::earliest_time: case K::latest_time:
      if (!has_time) return;
      // Ties keep the first row seen for earliest and the last for latest.
      if (!have_time_ || time < time_.early) {
        time_.early = time;
        if (spec_->kind == K::earliest) tx().lo = std::string(t);
      }
      if (!have_time_ || time >= time_.late) {
        time_.late = time;
        if (spec_->kind == K::latest) tx().hi = std::string(t);
      }
      have_time_ = true;
      return;
  }
}

void Accumulator::add_summary(double count, const std::vector<std::string>& values) {
  // The representatives go through the per-value path (distinct sets, numeric and text extremes,
  // the all-numeric flag); the count is the summary's, not the number of representatives.
  const double before = count_;
  for (auto& v : values) add_text(v, 0, false);
  count_ = before + count;
}

void Accumulator::add(const Row& row, ir::ExecContext& ctx, uint32_t* hint) {
  using K = AggSpec::Kind;
  double time = 0;
  bool has_time = false;
  // Only the time-ordered functions read the row's time (a lookup per row and aggregate).
  if (spec_->kind == K::earliest || spec_->kind == K::latest || spec_->kind == K::earliest_time ||
      spec_->kind == K::latest_time)
    if (const Value* t = row.get("_time"))
      if (auto n = t->to_number()) {
        time = *n;
        has_time = true;
      }
  if (spec_->eval) {
    detail::Evaluator ev(row, ctx);
    detail::EvalResult r = ev.eval(*spec_->eval);
    if (r.is_bool()) {
      if (r.boolean == 1) add_text("1", time, has_time);  // count(eval(cond)) counts true rows
      return;
    }
    for (size_t i = 0; i < r.value.count(); ++i) add_text(r.value.text(i), time, has_time);
    return;
  }
  if (spec_->field.empty()) {
    ++count_;
    return;
  }
  const Value* v = hint ? row.get_from(spec_->field, *hint) : row.get(spec_->field);
  if (!v) return;
  if (spec_->kind == AggSpec::Kind::earliest_time || spec_->kind == AggSpec::Kind::latest_time) {
    if (has_time) add_text({}, time, true);  // only the time is kept
    return;
  }
  if (v->is_number()) {
    // A number's text, and the number read back from it, are what aggregates keep. Every ESCU
    // tstats keeps min(_time) and max(_time), so one event's time comes by many times in a row:
    // each thread formats (and reads back) the last number once.
    struct Last {
      uint64_t bits = 0;
      bool valid = false, numeric = false;
      NumberText buf;
      std::string_view text;
      double parsed = 0;
    };
    thread_local Last last;
    const double d = v->number();
    uint64_t bits;
    std::memcpy(&bits, &d, sizeof bits);  // bitwise: -0 and 0 have different texts
    if (!last.valid || last.bits != bits) {
      last.bits = bits;
      last.valid = true;
      last.text = format_number(d, last.buf);
      last.numeric = parse_number(last.text, last.parsed);
    }
    add_text(last.text, time, has_time, true, last.numeric ? &last.parsed : nullptr);
    return;
  }
  for (size_t i = 0; i < v->count(); ++i) add_text(v->is_multi() ? std::string_view(v->values()[i]) : std::string_view(v->string()), time, has_time);
}

namespace {

std::vector<double> sorted_numbers(const std::vector<std::string>& texts) {
  std::vector<double> xs;
  xs.reserve(texts.size());
  for (auto& t : texts) {
    double d;
    if (parse_number(t, d)) xs.push_back(d);
  }
  std::sort(xs.begin(), xs.end());
  return xs;
}

}  // namespace

Value Accumulator::result() const {
  using K = AggSpec::Kind;
  switch (spec_->kind) {
    case K::count: return Value(count_);
    case K::dc:
      return Value(t_ ? (interned_ ? t_->ids.size() + t_->fresh.size() : t_->distinct.size()) : size_t(0));
    case K::min:
      if (all_numeric_ && have_num_) return Value(lo_num_);
      if (auto t = extreme_text(true)) return Value(std::move(*t));
      return Value();
    case K::max:
      if (all_numeric_ && have_num_) return Value(hi_num_);
      if (auto t = extreme_text(false)) return Value(std::move(*t));
      return Value();
    case K::values: {
      if (!t_) return Value::multi({});
      if (!interned_) return Value::multi(std::vector<std::string>(t_->distinct.begin(), t_->distinct.end()));
      std::vector<std::string> texts;
      texts.reserve(t_->ids.size() + t_->fresh.size());
      for (uint32_t id : t_->ids) texts.push_back(pool_text(id));
      for (uint32_t id : t_->fresh) texts.push_back(pool_text(id));
      std::sort(texts.begin(), texts.end());  // byte order, as the set keeps them
      return Value::multi(std::move(texts));
    }
    case K::list: return Value::multi(t_ ? t_->texts : std::vector<std::string>{});
    case K::sum: return stat_.n ? Value(stat_.sum) : Value();
    case K::avg: return stat_.n ? Value(stat_.mean) : Value();
    case K::stdev: return stat_.n > 1 ? Value(std::sqrt(stat_.m2 / (stat_.n - 1))) : (stat_.n ? Value(0) : Value());
    case K::stdevp: return stat_.n ? Value(std::sqrt(stat_.m2 / stat_.n)) : Value();
    case K::var: return stat_.n > 1 ? Value(stat_.m2 / (stat_.n - 1)) : (stat_.n ? Value(0) : Value());
    case K::varp: return stat_.n ? Value(stat_.m2 / stat_.n) : Value();
    case K::range: return stat_.n ? Value(hi_num_ - lo_num_) : Value();
    case K::first: return t_ && t_->lo ? Value(*t_->lo) : Value();
    case K::last: return t_ && t_->hi ? Value(*t_->hi) : Value();
    case K::earliest: return t_ && t_->lo ? Value(*t_->lo) : Value();
    case K::latest: return t_ && t_->hi ? Value(*t_->hi) : Value();
    case K::earliest_time: return have_time_ ? Value(time_.early) : Value();
    case K::latest_time: return have_time_ ? Value(time_.late) : Value();
    case K::median: {
      if (!t_) return {};
      auto xs = sorted_numbers(t_->texts);
      if (xs.empty()) return {};
      return Value(xs[xs.size() / 2]);  // even count: the higher middle value
    }
    case K::perc: case K::upperperc: {
      if (!t_) return {};
      auto xs = sorted_numbers(t_->texts);
      if (xs.empty()) return {};
      // Nearest rank: the ceil(p/100 * n)-th smallest value (1-based), at least the first.
      size_t rank = static_cast<size_t>(std::ceil(spec_->percent / 100.0 * static_cast<double>(xs.size())));
      if (rank < 1) rank = 1;
      if (rank > xs.size()) rank = xs.size();
      return Value(xs[rank - 1]);
    }
    case K::mode: {
      if (!t_ || t_->texts.empty()) return {};
      std::unordered_map<std::string_view, size_t> counts;
      std::string_view best;
      size_t best_n = 0;
      for (auto& t : t_->texts) {
        size_t n = ++counts[t];
        if (n > best_n) {  // ties: the value that reached the count first
          best_n = n;
          best = t;
        }
      }
      return Value(std::string(best));
    }
  }
  return {};
}

std::string compile_group_spec(const std::vector<Aggregate>& aggs, const std::vector<ByField>& by, GroupSpec& out) {
  out.aggs.clear();
  out.by.clear();
  out.by_span.clear();
  for (auto& a : aggs) {
    AggSpec s;
    std::string why = compile_aggregate(a, s);
    if (!why.empty()) return why;
    out.aggs.push_back(std::move(s));
  }
  if (out.aggs.empty()) return "no aggregate functions";
  for (auto& b : by) {
    out.by.push_back(b.field);
    if (b.span.empty()) {
      out.by_span.push_back(std::nullopt);
    } else {
      auto s = parse_span_seconds(b.span);
      if (!s) return span_error(b.span);
      out.by_span.push_back(s);
    }
  }
  return {};
}

bool group_spec_reads(const GroupSpec& spec, std::vector<std::string>& out) {
  out.insert(out.end(), spec.by.begin(), spec.by.end());
  for (auto& a : spec.aggs) {
    if (!a.field.empty()) out.push_back(a.field);
    if (a.eval && !expression_fields(*a.eval, out)) return false;
  }
  out.push_back("_time");
  return true;
}

std::vector<std::vector<Value>> group_keys(const GroupSpec& spec, const Row& row, const std::vector<uint32_t>* only) {
  if (only) {  // a row no group takes gives no key, whichever BY field decides it
    for (size_t i = 0; i < spec.by.size(); ++i) {
      const Value* v = row.get(spec.by[i]);
      const bool null = !v || v->is_null();
      if (null ? !spec.fillnull : spec.by_span[i] && !v->to_number()) return {};
    }
  }
  std::vector<std::vector<Value>> keys(1);
  const size_t n_pos = only ? only->size() : spec.by.size();
  for (size_t p = 0; p < n_pos; ++p) {
    const size_t i = only ? (*only)[p] : p;
    const Value* v = row.get(spec.by[i]);
    std::vector<Value> choices;
    if (!v || v->is_null()) {
      if (!spec.fillnull) return {};
      choices.emplace_back(*spec.fillnull);
    } else if (spec.by_span[i]) {
      auto n = v->to_number();
      if (!n) return {};
      double s = *spec.by_span[i];
      choices.emplace_back(std::floor(*n / s) * s);
    } else if (v->is_multi()) {
      // A multivalue BY field puts the row in one group per value.
      std::unordered_set<std::string> seen;
      for (auto& t : v->values())
        if (seen.insert(t).second) choices.emplace_back(t);
    } else {
      choices.push_back(*v);
    }
    std::vector<std::vector<Value>> next;
    next.reserve(keys.size() * choices.size());
    for (auto& k : keys)
      for (auto& c : choices) {
        auto nk = k;
        nk.push_back(c);
        next.push_back(std::move(nk));
      }
    keys = std::move(next);
  }
  return keys;
}

std::optional<std::string> Accumulator::extreme_text(bool low) const {
  std::optional<std::string> out;
  if (t_ && (low ? t_->lo : t_->hi)) out = low ? *t_->lo : *t_->hi;
  if (have_time_) {
    NumberText buf;
    std::string_view n = format_number(low ? time_.early : time_.late, buf);
    if (!out || (low ? n < *out : n > *out)) out = std::string(n);
  }
  return out;
}

void Accumulator::intern() {
  using K = AggSpec::Kind;
  if (interned_) return;
  interned_ = true;
  if (!t_ || (spec_->kind != K::values && spec_->kind != K::dc)) return;
  auto& ids = t_->ids;
  ids.reserve(t_->distinct.size());
  for (auto& t : t_->distinct) ids.push_back(pool_intern(t));
  std::sort(ids.begin(), ids.end());
  std::set<std::string, std::less<>>().swap(t_->distinct);
}

void Accumulator::settle_ids(Texts& x) {
  if (x.fresh.empty()) return;
  std::sort(x.fresh.begin(), x.fresh.end());
  union_ids(x.ids, x.fresh);
  std::vector<uint32_t>().swap(x.fresh);
}

void Accumulator::merge(Accumulator& b) {
  using K = AggSpec::Kind;
  if (spec_->kind == K::values || spec_->kind == K::dc) {
    // Either side interned: both are, and the sets of ids unite.
    if (interned_ || b.interned_) {
      intern();
      b.intern();
      count_ += b.count_;
      if (b.t_) {
        settle_ids(tx());
        settle_ids(*b.t_);
        union_ids(tx().ids, b.t_->ids);
      }
      return;
    }
  }
  if ((spec_->kind == K::min || spec_->kind == K::max) && b.have_time_) {
    // The number-typed extremes (see time_.early), compared by their texts.
    if (!have_time_ || number_text_less(b.time_.early, time_.early)) time_.early = b.time_.early;
    if (!have_time_ || number_text_less(time_.late, b.time_.late)) time_.late = b.time_.late;
    have_time_ = true;
    b.have_time_ = false;  // handled: the time merge below is for earliest/latest
  }
  count_ += b.count_;
  if (b.have_num_) {
    note_number(b.lo_num_);
    note_number(b.hi_num_);
  }
  all_numeric_ = all_numeric_ && b.all_numeric_;
  if (numeric_statistic(spec_->kind) && b.stat_.n > 0) {
    // Chan et al.: combine two Welford states.
    double n = stat_.n + b.stat_.n, delta = b.stat_.mean - stat_.mean;
    stat_.mean += delta * b.stat_.n / n;
    stat_.m2 += b.stat_.m2 + delta * delta * stat_.n * b.stat_.n / n;
    stat_.sum += b.stat_.sum;
    stat_.n = n;
  }
  if (b.have_time_) {
    // Same tie rules as add_text: earliest keeps the first row, latest the last.
    if (!have_time_ || b.time_.early < time_.early) {
      time_.early = b.time_.early;
      if (b.t_ && spec_->kind == K::earliest) tx().lo = std::move(b.t_->lo);
    }
    if (!have_time_ || b.time_.late >= time_.late) {
      time_.late = b.time_.late;
      if (b.t_ && spec_->kind == K::latest) tx().hi = std::move(b.t_->hi);
    }
    have_time_ = true;
  }
  if (!b.t_) return;
  if (!t_) {
    t_ = std::move(b.t_);
    return;
  }
  Texts& a = *t_;
  Texts& o = *b.t_;
  switch (spec_->kind) {
    case K::min: case K::max:
      if (o.lo && (!a.lo || *o.lo < *a.lo)) a.lo = std::move(o.lo);
      if (o.hi && (!a.hi || *o.hi > *a.hi)) a.hi = std::move(o.hi);
      break;
    case K::first:
      if (!a.lo) a.lo = std::move(o.lo);
      break;
    case K::last:
      if (o.hi) a.hi = std::move(o.hi);
      break;
    case K::list:
      for (auto& t : o.texts)
        if (a.texts.size() < kListMax) a.texts.push_back(std::move(t));
      break;
    case K::values: case K::dc:
      a.distinct.merge(o.distinct);
      break;
    default:  // median/perc/mode: every text; earliest/latest: merged with their times above
      a.texts.insert(a.texts.end(), std::make_move_iterator(o.texts.begin()), std::make_move_iterator(o.texts.end()));
  }
}

namespace {

void append_key(std::string& k, std::string_view t) {
  uint32_t n = static_cast<uint32_t>(t.size());
  k.append(reinterpret_cast<const char*>(&n), sizeof n);
  k.append(t);
}

// Texts of merged group keys, shared by every GroupTable of the process (see GroupTable). Ids are
// dense; texts live in fixed chunks, so views stay valid while the pool grows. Used by the engine's
// workers, its merging and its rule tails on several threads, and by concurrent engines (tests,
// vigil test). A text already in the pool is found without a lock and without writing anything
// the threads share (a two-thread hunt over EVTX x41 missed the threads' memos ~160k times, mostly
// for texts the pool held, and each miss took a mutex both vCPUs wrote); only a new text takes the
// lock. Readers and the adding thread meet through
// release stores and acquire loads: a text's bytes and view are written before its id is indexed,
// and an index grown larger is filled before it is published (the old one stays, read by whoever
// still probes it, until the pool's end: at most as large as the last one in all).
class KeyPool {
 public:
  uint32_t intern(std::string_view t) {
    // Each thread remembers the ids it was given last, by hash: the rules group the same events by
    // the same fields (dest, user, image, command line), so most texts were interned a moment ago.
    struct Memo {
      size_t hash;
      std::string_view text;  // the pool's copy
      uint32_t id_plus_1;     // 0: empty
    };
    static constexpr size_t kMemo = 4096;
    thread_local Memo memo[kMemo];
    const size_t h = text_hash(t);
    Memo& m = memo[h & (kMemo - 1)];
    if (m.id_plus_1 && m.hash == h && m.text == t) return m.id_plus_1 - 1;
    uint32_t id = find(t, h);
    if (id == kNone) {
      std::lock_guard lock(mu_);
      id = find(t, h);  // added since, or not yet in the index this thread probed
      if (id == kNone) id = add(t, h);
    }
    m = {h, view(id), id + 1};
    return id;
  }
  std::string text(uint32_t id) const { return std::string(view(id)); }
  /// The bytes live in chunks that are never freed or moved, so the view outlives the pool's growth.
  std::string_view view(uint32_t id) const {
    return pages_[id >> kPageBits].load(std::memory_order_acquire)[id & (kPageSize - 1)];
  }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  // Views by id, in pages that never move: 2^14 pages of 2^16 ids.
  static constexpr unsigned kPageBits = 16;
  static constexpr size_t kPageSize = size_t(1) << kPageBits, kPages = size_t(1) << 14;
  // Slots as HashIndex's (the hash's high 32 bits, then id + 1; 0: empty), each read and written whole.
  struct Index {
    explicit Index(size_t n) : mask(n - 1), slots(new std::atomic<uint64_t>[n]) {
      for (size_t i = 0; i < n; ++i) slots[i].store(0, std::memory_order_relaxed);
    }
    size_t mask;
    std::unique_ptr<std::atomic<uint64_t>[]> slots;
  };

  uint32_t find(std::string_view t, size_t h) const {
    const Index* ix = index_.load(std::memory_order_acquire);
    if (!ix) return kNone;
    const uint64_t tag = h >> 32;
    for (size_t i = h & ix->mask;; i = (i + 1) & ix->mask) {
      const uint64_t s = ix->slots[i].load(std::memory_order_acquire);
      if (!s) return kNone;
      if (s >> 32 == tag) {
        const uint32_t id = static_cast<uint32_t>(s) - 1;
        if (view(id) == t) return id;
      }
    }
  }
  static void place(Index& ix, size_t h, uint32_t id) {
    size_t i = h & ix.mask;
    while (ix.slots[i].load(std::memory_order_relaxed)) i = (i + 1) & ix.mask;
    ix.slots[i].store((uint64_t(h >> 32) << 32) | (uint64_t(id) + 1), std::memory_order_release);
  }
  // Under mu_.
  uint32_t add(std::string_view t, size_t h) {
    if (hashes_.size() >= kPages * kPageSize - 1) throw std::length_error("too many distinct group-key texts");
    const auto id = static_cast<uint32_t>(hashes_.size());
    std::string_view* page = pages_[id >> kPageBits].load(std::memory_order_relaxed);
    if (!page) {
      owned_pages_.push_back(std::make_unique<std::string_view[]>(kPageSize));
      page = owned_pages_.back().get();
      pages_[id >> kPageBits].store(page, std::memory_order_release);
    }
    page[id & (kPageSize - 1)] = store(t);
    hashes_.push_back(h);
    Index* ix = index_.load(std::memory_order_relaxed);
    if (!ix || hashes_.size() * 2 > ix->mask + 1) {  // at most half full: grow, fill, then publish
      size_t n = 1024;
      while (n < hashes_.size() * 4) n *= 2;
      indexes_.push_back(std::make_unique<Index>(n));
      for (uint32_t k = 0; k < hashes_.size(); ++k) place(*indexes_.back(), hashes_[k], k);
      index_.store(indexes_.back().get(), std::memory_order_release);
    } else {
      place(*ix, h, id);
    }
    return id;
  }
  std::string_view store(std::string_view t) {
    constexpr size_t kChunk = 1 << 20;
    if (t.size() > kChunk / 4) {  // large texts get their own block
      big_.push_back(std::make_unique<char[]>(t.size()));
      std::memcpy(big_.back().get(), t.data(), t.size());
      return {big_.back().get(), t.size()};
    }
    if (chunks_.empty() || used_ + t.size() > kChunk) {
      chunks_.push_back(std::make_unique<char[]>(kChunk));
      used_ = 0;
    }
    char* at = chunks_.back().get() + used_;
    if (!t.empty()) std::memcpy(at, t.data(), t.size());
    used_ += t.size();
    return {at, t.size()};
  }
  std::mutex mu_;                        // held to add
  std::atomic<Index*> index_{nullptr};   // the current index (readers probe it without the lock)
  std::unique_ptr<std::atomic<std::string_view*>[]> pages_{new std::atomic<std::string_view*>[kPages]()};
  // Under mu_:
  std::vector<size_t> hashes_;  // by id: each text's text_hash
  std::vector<std::unique_ptr<Index>> indexes_;
  std::vector<std::unique_ptr<std::string_view[]>> owned_pages_;
  std::vector<std::unique_ptr<char[]>> chunks_, big_;
  size_t used_ = 0;
};

KeyPool& key_pool() {
  static KeyPool* pool = new KeyPool;  // never destroyed: tables may outlive static destruction order
  return *pool;
}

uint32_t pool_intern(std::string_view t) { return key_pool().intern(t); }
std::string pool_text(uint32_t id) { return key_pool().text(id); }

// A text key (4-byte length + bytes per field) as an id key (4-byte id per field).
void to_id_key(std::string_view k, std::string& out) {
  out.clear();
  KeyPool& pool = key_pool();
  while (k.size() >= sizeof(uint32_t)) {
    uint32_t n;
    std::memcpy(&n, k.data(), sizeof n);
    k.remove_prefix(sizeof n);
    uint32_t id = pool.intern(k.substr(0, n));
    out.append(reinterpret_cast<const char*>(&id), sizeof id);
    k.remove_prefix(std::min<size_t>(n, k.size()));
  }
}

std::vector<std::string_view> decode_key(std::string_view k) {
  std::vector<std::string_view> out;
  while (k.size() >= sizeof(uint32_t)) {
    uint32_t n;
    std::memcpy(&n, k.data(), sizeof n);
    k.remove_prefix(sizeof n);
    out.emplace_back(k.substr(0, n));
    k.remove_prefix(std::min<size_t>(n, k.size()));
  }
  return out;
}

}  // namespace

void GroupTable::add_to(const std::string& key, bool typed, const std::vector<Value>* typed_key, const Row& r,
                        ir::ExecContext& ctx) {
  if (interned_) {  // a table that lives for the run (the engine's, with one thread)
    to_id_key(key, id_scratch_);
    return add_to_keyed(id_scratch_, typed, typed_key, r, ctx);
  }
  add_to_keyed(key, typed, typed_key, r, ctx);
}

GroupTable::Entry* GroupTable::find(std::string_view key, size_t hash) {
  const uint32_t k = index_.find(hash, [&](uint32_t at) { return groups_[at].hash == hash && groups_[at].key == key; });
  return k == HashIndex::kNone ? nullptr : &groups_[k];
}

GroupTable::Entry& GroupTable::insert(std::string key, size_t hash, Group group) {
  groups_.push_back({std::move(key), hash, std::move(group)});
  index_.add(hash, static_cast<uint32_t>(groups_.size() - 1), groups_.size(), [&](size_t k) { return groups_[k].hash; });
  return groups_.back();
}

void GroupTable::rebuild_index() {
  index_.rebuild(groups_.size(), [&](size_t k) { return groups_[k].hash; });
}

void GroupTable::clear_groups() {
  std::vector<Entry>().swap(groups_);
  index_.release();
}

void GroupTable::add_to_keyed(const std::string& key, bool typed, const std::vector<Value>* typed_key, const Row& r,
                              ir::ExecContext& ctx) {
  const size_t hash = text_hash(key);
  Entry* e = find(key, hash);
  if (!e) {
    Group g;
    // Typed BY values (span buckets, numbers) are kept for the output row; texts are the key, so
    // text positions stay null here (finish() takes them from the key).
    if (typed_key) {
      for (uint32_t i = 0; i < typed_key->size(); ++i)
        if ((*typed_key)[i].is_number()) g.nums.emplace_back(i, (*typed_key)[i].number());
    } else if (typed) {
      // Single values only here (add() sent multivalue rows through group_keys).
      for (uint32_t i = 0; i < spec_->by.size(); ++i) {
        const Value* v = r.get(spec_->by[i]);
        if (spec_->by_span[i] && v && !v->is_null()) g.nums.emplace_back(i, span_cache_[i].bucket);
        else if (v && v->is_number()) g.nums.emplace_back(i, v->number());
      }
    }
    g.nums.shrink_to_fit();
    g.accs.reserve(spec_->aggs.size());
    for (auto& a : spec_->aggs) g.accs.emplace_back(&a);
    if (interned_)  // a group of a table that lives for the run holds its values as ids too
      for (auto& acc : g.accs) acc.intern();
    e = &insert(key, hash, std::move(g));
  }
  if (agg_hint_.size() < e->group.accs.size()) agg_hint_.resize(e->group.accs.size());
  for (size_t a = 0; a < e->group.accs.size(); ++a)
    e->group.accs[a].add(r, ctx, ctx.rows_named_once ? &agg_hint_[a] : nullptr);
}

void GroupTable::add(const Row& r, ir::ExecContext& ctx) {
  // Common case first: every BY value single (no multivalue). The row is checked first (a null BY
  // value drops it), then its key is built in place: as text ids straight away in a table that
  // lives for the run, so no text of a dropped row is interned.
  if (span_cache_.size() < spec_->by.size()) span_cache_.resize(spec_->by.size());
  if (by_hint_.size() < spec_->by.size()) by_hint_.resize(spec_->by.size());
  by_values_.clear();
  for (size_t i = 0; i < spec_->by.size(); ++i) {
    const Value* v = ctx.rows_named_once ? r.get_from(spec_->by[i], by_hint_[i]) : r.get(spec_->by[i]);
    if (!v || v->is_null()) {
      if (!spec_->fillnull) return;
      v = nullptr;
    } else if (v->is_multi()) {
      // A multivalue BY field puts the row in one group per value (group_keys).
      for (auto& key : group_keys(*spec_, r)) {
        scratch_.clear();
        for (auto& kv : key) append_key(scratch_, kv.text());
        add_to(scratch_, true, &key, r, ctx);
      }
      return;
    } else if (spec_->by_span[i]) {
      auto n = v->to_number();
      if (!n) return;
      double s = *spec_->by_span[i];
      double b = std::floor(*n / s) * s;
      // Rows of a batch mostly share a bucket: format its text once.
      auto& c = span_cache_[i];
      if (!c.valid || c.bucket != b) {
        NumberText nb;
        c.valid = true;
        c.bucket = b;
        c.text.assign(format_number(b, nb));  // its buffer kept: a new bucket allocates nothing
        c.id = UINT32_MAX;
      }
    }
    by_values_.push_back(v);
  }
  std::string& k = interned_ ? id_scratch_ : scratch_;
  k.clear();
  auto append_id = [&](uint32_t id) { k.append(reinterpret_cast<const char*>(&id), sizeof id); };
  auto append = [&](std::string_view t) {
    if (!interned_) return append_key(k, t);
    append_id(key_pool().intern(t));
  };
  // A row that aggregation after aggregation reads (the engine's capture group: one row per event)
  // has each of its texts interned once, by whichever reads it first.
  auto entry_id = [&](uint32_t entry, std::string_view t) {
    auto& ids = *ctx.entry_ids;
    if (entry >= ids.size()) ids.resize(entry + 1);
    auto& e = ids[entry];
    if (e.seq != ctx.entry_seq) e = {ctx.entry_seq, key_pool().intern(t)};
    return e.id;
  };
  bool typed = false;
  for (size_t i = 0; i < by_values_.size(); ++i) {
    const Value* v = by_values_[i];
    if (!v) {
      append(*spec_->fillnull);
    } else if (spec_->by_span[i]) {
      // Its bucket's text is interned once, not once per row (`_time span=1h`: most ESCU tstats).
      auto& c = span_cache_[i];
      if (!interned_) append(c.text);
      else append_id(c.id != UINT32_MAX ? c.id : (c.id = key_pool().intern(c.text)));
      typed = true;
    } else if (!v->is_string()) {
      NumberText nb;  // a number (multivalues went above): its text made here, not in a string
      append(format_number(v->number(), nb));
      typed = true;
    } else if (interned_ && ctx.entry_ids) {
      append_id(entry_id(by_hint_[i], v->string()));  // get_from left the hint at v's entry
    } else {
      append(v->string());
    }
  }
  if (interned_) add_to_keyed(k, typed, nullptr, r, ctx);
  else add_to(k, typed, nullptr, r, ctx);
}

void GroupTable::add_group(const ir::PreGroup& pre) {
  // Same key as GroupTable::add builds for rows with these BY values (texts of the values; typed
  // when some are numbers), so pre-computed groups and locally fed rows meet in one group.
  std::string& k = scratch_;
  k.clear();
  bool typed = false;
  for (auto& v : pre.key) {
    append_key(k, v.text());
    typed |= !v.is_string();
  }
  std::string ik;
  if (interned_) to_id_key(k, ik);
  const std::string& key = interned_ ? ik : k;
  const size_t hash = text_hash(key);
  Entry* e = find(key, hash);
  if (!e) {
    Group g;
    if (typed)  // numbers (spans, _time) stay numbers in the output row; texts come from the key
      for (uint32_t i = 0; i < pre.key.size(); ++i)
        if (pre.key[i].is_number()) g.nums.emplace_back(i, pre.key[i].number());
    g.accs.reserve(spec_->aggs.size());
    for (auto& a : spec_->aggs) g.accs.emplace_back(&a);
    e = &insert(key, hash, std::move(g));
  }
  for (size_t i = 0; i < e->group.accs.size() && i < pre.parts.size(); ++i)
    e->group.accs[i].add_summary(pre.parts[i].count, pre.parts[i].values);
}

void GroupTable::intern_keys() {
  if (interned_) return;
  std::string ik;
  for (auto& e : groups_) {
    to_id_key(e.key, ik);
    e.key = std::string(ik);  // a fresh string: assigning would keep the text key's buffer
    e.hash = text_hash(e.key);
    for (auto& acc : e.group.accs) acc.intern();
  }
  rebuild_index();
  interned_ = true;
}

void GroupTable::merge(GroupTable& later) {
  intern_keys();
  std::string ik;
  for (auto& l : later.groups_) {
    if (!later.interned_) to_id_key(l.key, ik);
    const std::string& key = later.interned_ ? l.key : ik;
    const size_t hash = later.interned_ ? l.hash : text_hash(key);
    if (Entry* mine = find(key, hash)) {
      for (size_t i = 0; i < l.group.accs.size(); ++i) mine->group.accs[i].merge(l.group.accs[i]);
      continue;
    }
    if (!later.interned_)
      for (auto& acc : l.group.accs) acc.intern();
    insert(std::string(key), hash, std::move(l.group));  // moves the accumulators and all
  }
  later.clear_groups();
}

std::vector<std::string_view> GroupTable::key_texts(std::string_view k) const {
  if (!interned_) return decode_key(k);
  std::vector<std::string_view> out;
  KeyPool& pool = key_pool();
  for (; k.size() >= sizeof(uint32_t); k.remove_prefix(sizeof(uint32_t))) {
    uint32_t id;
    std::memcpy(&id, k.data(), sizeof id);
    out.push_back(pool.view(id));
  }
  return out;
}

template <class Take>
void GroupTable::each_sorted(Take&& take) {
  // Rows by BY values, left to right, in order_texts' order (numbers by value, then texts); values
  // that order alike (1 and 1.0) by text, so they stay distinct groups in a stable order. Each text
  // is parsed as a number once, not in every comparison (strtod in each comparison took 7% of the
  // instructions of a both-corpora hunt over two copies of the EVTX samples).
  struct Keyed {
    Group* group;
    size_t first, n;  // its BY texts: parts[first, first + n)
  };
  std::vector<Keyed> sorted;
  std::vector<SortKey> parts;
  sorted.reserve(groups_.size());
  for (auto& e : groups_) {
    const size_t first = parts.size();
    for (std::string_view t : key_texts(e.key)) parts.push_back(SortKey::of(t));
    sorted.push_back({&e.group, first, parts.size() - first});
  }
  std::sort(sorted.begin(), sorted.end(), [&parts](const Keyed& x, const Keyed& y) {
    for (size_t i = 0; i < x.n && i < y.n; ++i) {
      const SortKey& a = parts[x.first + i];
      const SortKey& b = parts[y.first + i];
      if (int c = order_texts(a, b)) return c < 0;
      if (int d = a.text.compare(b.text)) return d < 0;
    }
    return x.n < y.n;
  });
  std::vector<Value> by;
  for (auto& keyed : sorted) {
    Group* g = keyed.group;
    by.clear();
    auto num = g->nums.begin();
    for (size_t i = 0; i < spec_->by.size() && i < keyed.n; ++i) {
      if (num != g->nums.end() && num->first == i) by.emplace_back((num++)->second);
      else by.emplace_back(parts[keyed.first + i].text);
    }
    take(by, *g);
  }
}

Table GroupTable::finish(bool spend) {
  Table out;
  if (spec_->by.empty() && groups_.empty()) {
    Row row;
    for (auto& a : spec_->aggs) row.set(a.output, Accumulator(&a).result());
    out.push_back(std::move(row));
    return out;
  }
  out.reserve(groups_.size());
  each_sorted([&](std::vector<Value>& by, Group& g) {
    Row row;
    for (size_t i = 0; i < by.size(); ++i) row.set(spec_->by[i], std::move(by[i]));
    for (size_t i = 0; i < spec_->aggs.size(); ++i) row.set(spec_->aggs[i].output, g.accs[i].result());
    out.push_back(std::move(row));
    if (spend) std::vector<Accumulator>().swap(g.accs);  // done with: the output rows reuse its memory
  });
  if (spend) clear_groups();
  return out;
}

std::vector<GroupTable::TakenGroup> GroupTable::take_groups() {
  std::vector<TakenGroup> out;
  out.reserve(groups_.size());
  each_sorted([&](std::vector<Value>& by, Group& g) { out.push_back({by, std::move(g.accs)}); });
  clear_groups();
  return out;
}

Table run_stats(const GroupSpec& spec, const Table& rows, ir::ExecContext& ctx) {
  GroupTable t(&spec);
  for (const Row& r : rows) t.add(r, ctx);
  return t.finish();
}

}  // namespace vigil::spl
