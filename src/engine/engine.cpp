#include "engine/engine.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cassert>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <set>
#include <system_error>
#include <thread>
#include <unordered_map>

#include "core/hash_index.h"
#include "core/ordered_pipeline.h"
#include "core/regex.h"
#include "core/strings.h"
#include "ingest/record_batch.h"
#include "match/event_matcher.h"

namespace vigil {

// CrowdStrike records carry event_simpleName as their EventID (see ingest/record.h).
std::optional<std::set<std::string>> required_event_ids(const ir::Predicate& p, const ir::AtomTable& atoms,
                                                        const std::vector<Symbol>& id_fields) {
  using Op = ir::Predicate::Op;
  switch (p.op) {
    case Op::atom: {
      const ir::Atom& a = atoms.get(p.atom);
      if (a.kind == ir::AtomKind::eq && std::find(id_fields.begin(), id_fields.end(), a.field) != id_fields.end())
        return std::set<std::string>{to_lower(a.value)};
      return std::nullopt;
    }
    case Op::and_:
      for (auto& c : p.children)
        if (auto r = required_event_ids(c, atoms, id_fields)) return r;
      return std::nullopt;
    case Op::or_: {
      std::set<std::string> all;
      for (auto& c : p.children) {
        auto r = required_event_ids(c, atoms, id_fields);
        if (!r) return std::nullopt;
        all.insert(r->begin(), r->end());
      }
      return all;
    }
    default: return std::nullopt;
  }
}

namespace {

constexpr size_t kMatchedRefsKept = 10000;
// Early-filter verdicts remembered, per stream and worker, for short keys only (names, paths; a
// command line rarely repeats and would cost more memory than it saves).
constexpr size_t kVerdictsKept = 512;
constexpr size_t kVerdictKeyMax = 128;

// The early-filter verdicts of one stream on one worker, by key (their texts in one buffer),
// forgotten all at once when it holds kVerdictsKept keys. Indexed by the key's hash, made once
// per row for the lookup and the entry both; a node-based map walked a bucket list to a node
// holding the key's own heap copy (~2% of a hunt with both corpora).
class VerdictMemo {
 public:
  /// The verdict remembered for `key`, whose text_hash is `h`; null when there is none.
  const bool* find(std::string_view key, size_t h) const {
    const uint32_t k = index_.find(h, [&](uint32_t at) {
      const Entry& e = entries_[at];
      return e.hash == h && std::string_view(keys_.data() + e.at, e.len) == key;
    });
    return k == HashIndex::kNone ? nullptr : &entries_[k].keep;
  }
  /// Remembers `keep` for `key` (hash `h`), which find() did not know.
  void add(std::string_view key, size_t h, bool keep) {
    static_assert(kVerdictKeyMax <= UINT16_MAX);
    if (entries_.size() >= kVerdictsKept) {
      entries_.clear();
      keys_.clear();
      index_.clear();
    }
    entries_.push_back({h, static_cast<uint32_t>(keys_.size()), static_cast<uint16_t>(key.size()), keep});
    keys_.append(key);
    index_.add(h, static_cast<uint32_t>(entries_.size() - 1), entries_.size(),
               [&](size_t k) { return entries_[k].hash; });
  }

 private:
  struct Entry {
    size_t hash;
    uint32_t at;   // into keys_
    uint16_t len;  // <= kVerdictKeyMax
    bool keep;
  };
  std::vector<Entry> entries_;
  std::string keys_;
  HashIndex index_;
};

enum class Blocking : uint8_t { none, mergeable, whole };

// One stream of one rule, analysed once: where it reads from, which fields it captures, where its
// operators split into per-row prefix, blocking operator and tail.
struct StreamPlan {
  const ir::Stream* stream = nullptr;
  uint32_t rule = 0, index = 0;  // rule index, stream index within the rule
  int dataset = -1;              // normalizer dataset id for datamodel sources
  uint16_t view = 0;             // Event::Field::view of that dataset
  bool unknown_source = false;
  size_t prefix_end = 0;         // operators [0, prefix_end) are per-row
  Blocking blocking = Blocking::none;
  const ir::MergeableOperator* merge_op = nullptr;
  // Operators (prefix_end, pre_end) after the aggregation run on each row's groups before the row
  // is fed: a row whose groups they all drop is not fed (plan_prefilter). 0: none.
  size_t pre_end = 0;
  std::vector<uint32_t> pre_by;  // positions of the BY fields those operators read
  std::vector<std::string> pre_by_names;  // their names (before the aggregation), so that the
                                          // per-event key needs no describe()
  bool capture_all = true;
  std::vector<Symbol> capture;   // sorted; when !capture_all
  // Its rows only feed an aggregation (no per-row operator before it), which reads fields by name:
  // the captured fields are looked up one by one, not found among all of the event's (capture).
  bool capture_by_name = false;
  // Streams that capture alike share one row per event (a data model's: every name any of them
  // reads; a raw source's: the same names): the first visited captures it, the others read it
  // (UINT32_MAX: none).
  uint32_t capture_group = UINT32_MAX;
  // Rows that become findings untouched (no operators: Sigma rules) leave out the XML renderings
  // (EventData_Xml, System_Props_Xml): the row has their values as fields already.
  bool skip_renderings = false;
  bool pushed = false;           // EngineOptions::pushed: visited only where aggregate_here says
  // A whole-table stream whose first operator is a `head N` (ir::Operator::row_limit): it keeps its
  // first N rows only, and once it has them it needs no more events.
  std::optional<size_t> row_limit;
  // A whole-table stream that begins with a `sort` whose first N rows are all that is used (`sort N`,
  // or `sort … | head N`): it holds at most about 2N rows, ordering them now and then (merge).
  size_t keep_first = 0;
  // Its aggregates do not depend on row order (count, dc, values, min, max), nor do its groups
  // (is_order_free, by_values_are_texts): with several workers its rows feed the run's state under
  // its lock, with no batch state to build, seal and merge (see visit).
  bool order_free = false;
  // Streams of other rules that read the same events into the same aggregation: this stream's
  // state serves them (ESCU has e.g. one Processes tstats in nine UAC-bypass rules).
  uint32_t shared_from = UINT32_MAX;  // an alias: the slot whose state it uses
  std::vector<std::pair<uint32_t, uint32_t>> aliases;  // on the primary: (rule, stream index) of each alias
};

// The lock of a state the workers feed row by row: held for one row's add (mostly a microsecond or
// two), so a worker that finds it taken spins a little before it yields, rather than sleeping in the
// kernel and being woken (which costs more than the wait).
class SpinLock {
 public:
  void lock() {
    for (unsigned spins = 0; held_.exchange(true, std::memory_order_acquire); ++spins) {
      while (held_.load(std::memory_order_relaxed)) {
        if (++spins > 64) {
          std::this_thread::yield();
          spins = 0;
        }
      }
    }
  }
  void unlock() { held_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> held_{false};
};

// An aggregation whose result does not depend on the order its rows come in: every aggregate is
// one describe() names (count, dc, values, min, max; sums and averages round by order).
bool is_order_free(const ir::MergeableOperator& op) {
  auto d = op.describe();
  if (!d) return false;
  for (auto& a : d->aggs)
    if (a.func == ir::AggregateSpec::Func::other) return false;
  // A group keeps the number of the row that made it: `by _time` (no span) puts times that print
  // alike (15 digits) in one group, so which time it keeps would depend on the order. (Captured
  // fields are texts; a span's bucket is the same number for every row in it.)
  for (size_t i = 0; i < d->by.size(); ++i)
    if (d->by[i] == "_time" && !d->by_span[i]) return false;
  return true;
}

// A group keeps the number of the row that made it, so BY values that are numbers make it depend
// on the order (`eval t=_time | stats count by t`: times that print alike are one group). Fields
// captured from events are texts; `_time` and what the per-row operators before the aggregation
// write (or rename those to) may be numbers. True when no BY field can be one of them.
bool by_values_are_texts(const std::vector<std::unique_ptr<ir::Operator>>& ops, size_t prefix_end, const ir::AggregateSpec& d) {
  std::vector<std::string> maybe_numbers = {"_time"};
  for (size_t i = 0; i < prefix_end; ++i) {
    const ir::Operator& op = *ops[i];
    if (op.filters()) continue;
    if (!op.writes(maybe_numbers)) return false;  // it cannot tell what it writes
    for (size_t k = 0, n = maybe_numbers.size(); k < n; ++k)
      if (auto to = op.renamed(maybe_numbers[k])) maybe_numbers.push_back(std::move(*to));
  }
  for (auto& b : d.by)
    if (b != "_time" && std::find(maybe_numbers.begin(), maybe_numbers.end(), b) != maybe_numbers.end()) return false;
  return true;
}

// A filter's shape with its atom ids (atoms are interned corpus-wide): equal keys, equal filters.
void predicate_key(const ir::Predicate& p, std::string& out) {
  out += char('0' + int(p.op));
  if (p.op == ir::Predicate::Op::atom) out += std::to_string(p.atom);
  if (p.children.empty()) return;
  out += '(';
  for (auto& c : p.children) {
    predicate_key(c, out);
    out += ',';
  }
  out += ')';
}

// The events a stream aggregates and how, as a key: equal keys give equal tables. Empty when the
// stream cannot be shared (not an aggregation straight from a data model, or an operator that
// cannot say what it computes).
std::string sharing_key(const StreamPlan& sp) {
  if (sp.blocking != Blocking::mergeable || sp.prefix_end != 0 || sp.pushed || sp.dataset < 0 || sp.pre_end) return {};
  std::string op = sp.merge_op->signature();
  if (op.empty()) return {};
  std::string key = std::to_string(sp.dataset) + "|";
  predicate_key(sp.stream->filter, key);
  return key + "|" + op;
}

// Filters after an aggregation that read only its BY values (or what per-row operators made of
// them) keep or drop whole groups, and a group's BY values are known from any one of its rows. So
// they can run on the groups a row feeds, before it is fed: groups no result can come from are
// never held (ESCU rules often aggregate every process, then keep a few by name). The filters
// still run after the aggregation as written, so this only leaves out rows, never changes a result.
// "Unclean" fields are those whose value after the aggregation depends on more than the BY values
// (the aggregates, and what is computed from them); a filter that reads one ends the prefix.
void plan_prefilter(StreamPlan& sp) {
  const auto& ops = sp.stream->operators;
  std::vector<std::string> unclean;
  if (!sp.merge_op->aggregate_outputs(unclean)) return;
  auto d = sp.merge_op->describe();
  if (!d || d->by.empty()) return;  // no BY fields: one row whatever happens, nothing to decide early
  auto is_unclean = [&](const std::string& f) {
    return f.find('*') != std::string::npos || std::find(unclean.begin(), unclean.end(), f) != unclean.end();
  };
  for (size_t i = sp.prefix_end + 1; i < ops.size(); ++i) {
    const ir::Operator& op = *ops[i];
    if (op.shape() != ir::OpShape::per_row) return;
    std::vector<std::string> read, written;
    const bool dirty = !op.reads(read) || std::any_of(read.begin(), read.end(), is_unclean);
    if (!op.writes(written)) return;
    if (op.filters()) {
      if (dirty) return;
      sp.pre_end = i + 1;
      continue;
    }
    for (auto& u : unclean)
      if (auto n = op.renamed(u)) u = std::move(*n);
    for (auto& f : written) {
      if (f.find('*') != std::string::npos) return;
      auto at = std::find(unclean.begin(), unclean.end(), f);
      if (dirty && at == unclean.end()) unclean.push_back(f);
      if (!dirty && at != unclean.end()) unclean.erase(at);
    }
  }
}

// Which BY values the operators moved ahead read (through renames): only those are put in the
// rows they run on.
void plan_prefilter_inputs(StreamPlan& sp) {
  if (!sp.pre_end) return;
  const std::vector<std::string> by = sp.merge_op->describe()->by;
  std::vector<std::string> at = by;  // where each BY value is now ("" : overwritten)
  std::vector<bool> needed(at.size(), false);
  for (size_t i = sp.prefix_end + 1; i < sp.pre_end; ++i) {
    const ir::Operator& op = *sp.stream->operators[i];
    std::vector<std::string> read, written;
    op.writes(written);
    // Renames and projections move or drop fields without looking at their values.
    if (op.filters() || !written.empty()) {
      const bool any = !op.reads(read) ||
                       std::any_of(read.begin(), read.end(), [](auto& f) { return f.find('*') != std::string::npos; });
      for (size_t j = 0; j < at.size(); ++j)
        if (!at[j].empty() && (any || std::find(read.begin(), read.end(), at[j]) != read.end())) needed[j] = true;
    }
    for (auto& name : at) {
      if (name.empty()) continue;
      if (auto n = op.renamed(name)) name = std::move(*n);
      else if (std::find(written.begin(), written.end(), name) != written.end()) name.clear();
    }
  }
  for (uint32_t j = 0; j < needed.size(); ++j)
    if (needed[j]) {
      sp.pre_by.push_back(j);
      sp.pre_by_names.push_back(by[j]);
    }
}

// The values a row's early-filter verdict depends on, as one key: its BY values that the filters read.
void prefilter_key(const StreamPlan& sp, const Row& row, std::string& key) {
  key.clear();
  auto put = [&](char tag, std::string_view t) {
    key += tag;
    uint32_t n = uint32_t(t.size());
    key.append(reinterpret_cast<const char*>(&n), sizeof n);
    key.append(t);
  };
  for (auto& name : sp.pre_by_names) {
    const Value* v = row.get(name);
    if (!v || v->is_null()) put('0', {});
    else if (v->is_string()) put('s', v->string());
    else if (v->is_multi())
      for (auto& t : v->values()) put('m', t);
    else if (v->is_number()) {
      double d = v->number();
      put('n', std::string_view(reinterpret_cast<const char*>(&d), sizeof d));
    } else {
      put('t', v->text());
    }
  }
}

struct StreamRef {
  uint32_t rule, stream, slot;  // slot: index into Impl::streams
  uint32_t filter = 0;          // its stream's filter's root in Impl::filters (what visit evaluates)
};

// Which fields a stream captures: every field when its rows can reach a finding as they are (but
// for the renderings, when no operator could read them); else, when some aggregation or `table`
// replaces the rows with what it names, the (exact) names read by the operators up to it.
// Globs and operators that cannot tell what they read fall back to every field.
void plan_projection(StreamPlan& sp) {
  const ir::Stream& s = *sp.stream;
  sp.skip_renderings = s.operators.empty() && s.source.kind == ir::Source::Kind::raw;
  // The first operator whose output holds only what it names: an aggregation, or `table`.
  size_t agg = 0;
  while (agg < s.operators.size() && s.operators[agg]->shape() != ir::OpShape::mergeable &&
         !s.operators[agg]->projects())
    ++agg;
  if (agg == s.operators.size()) return;
  std::vector<std::string> names;
  for (size_t i = 0; i <= agg; ++i)
    if (!s.operators[i]->reads(names)) return;
  for (auto& n : names)
    if (n.find('*') != std::string::npos) return;
  for (auto& n : names) sp.capture.push_back(field_id(n));
  std::sort(sp.capture.begin(), sp.capture.end());
  sp.capture.erase(std::unique(sp.capture.begin(), sp.capture.end()), sp.capture.end());
  sp.capture_all = false;
}

// Per-row operators run in the workers and never ask for another stream's result.
class RowContext final : public ir::ExecContext {
 public:
  Table stream_result(size_t) override { return {}; }
};

// What a worker made of one batch, merged in batch order (by the worker that completes the next one).
struct BatchOut {
  struct Rows {
    uint32_t slot;
    Table rows;
    std::vector<uint32_t> event;   // batch-local event index of each row
    std::vector<EventRef> refs;    // its source, per row
  };
  struct State {
    uint32_t slot;
    std::unique_ptr<ir::PartialState> state;
  };
  std::vector<Rows> rows;
  std::vector<State> states;
  std::vector<std::pair<uint32_t, EventRef>> matched;  // (rule, event) with keep_matched, input order
  // A deferred read: its diagnostics and counts (replayed in order), and the records evaluated.
  UnitReport read;
  uint64_t evaluated = 0;
};

// Records read on the calling thread, or an input a worker reads itself (Engine::process_deferred).
struct Batch {
  RecordBatch records;
  Engine::DeferredRead deferred;
};

}  // namespace

struct Engine::Impl {
  Impl(const Normalizer& n, const ir::AtomTable& a, std::vector<const ir::CompiledRule*> r, EngineOptions o,
       DiagnosticSink& d, FindingSink s)
      : normalizer(n), atoms(a), rules(std::move(r)), opts(std::move(o)), diags(d), sink(std::move(s)) {}

  // ---- shared, immutable after construction
  const Normalizer& normalizer;
  const ir::AtomTable& atoms;
  std::vector<const ir::CompiledRule*> rules;
  EngineOptions opts;
  DiagnosticSink& diags;
  FindingSink sink;
  std::vector<StreamPlan> streams;                 // every stream of every rule
  ir::FlatPredicates filters;                      // the filters of the streams in `lists`, flat
  std::vector<std::vector<uint32_t>> rule_streams; // rule -> slots
  // The streams an event may visit, in lists: kEveryEvent's, one per event ID, one per dataset.
  static constexpr uint32_t kEveryEvent = 0, kNoList = UINT32_MAX;
  std::vector<std::vector<StreamRef>> lists = std::vector<std::vector<StreamRef>>(1);  // [kEveryEvent]
  std::unordered_map<std::string, uint32_t> by_event_id;  // event ID -> list
  std::vector<uint32_t> by_dataset;                       // dataset -> list (kNoList: none)
  uint32_t list_of(uint32_t& at) {
    if (at == kNoList) {
      at = uint32_t(lists.size());
      lists.emplace_back();
    }
    return at;
  }
  std::unordered_map<std::string, uint32_t> shared_keys;  // sharing_key -> primary slot (build only)
  std::unordered_map<std::string, uint32_t> capture_keys;  // capture key -> capture group (build only)
  uint32_t capture_groups = 0;
  Symbol event_id_sym = kNoSymbol, time_sym = kNoSymbol, record_sym = kNoSymbol;
  // Fields every CIM dataset inherits from the event (besides _time): `tstats … from datamodel=X
  // by sourcetype host` reads them from the raw view.
  Symbol host_sym = kNoSymbol, source_sym = kNoSymbol, sourcetype_sym = kNoSymbol;
  // Whether field `f` (named `name`) belongs to stream `sp`'s rows.
  bool in_view(const StreamPlan& sp, bool raw, Symbol name, const Event::Field& f) const {
    if (raw) return f.view == 0;
    return f.view == sp.view || (f.view == 0 && (name == host_sym || name == source_sym || name == sourcetype_sym));
  }

  // ---- per worker
  struct Worker {
    explicit Worker(std::shared_ptr<match::EventMatcher::Shared> shared) : matcher(std::move(shared)) {}
    Event event;
    Record record;
    match::EventMatcher matcher;
    RowContext ctx;
    std::string eid_key;
    std::vector<RuleStats> stats;
    // Per batch: which output slot each stream's rows/state went to (stamp = batch number).
    std::vector<uint32_t> rows_at, state_at, stamp;
    // Per list, per stream of it: its filter's two gates in `matcher`, both open for it to be
    // visited (a stream with fewer has the matcher's always-open gate in their place, so that the
    // test per stream is two reads and no case). Beside the lists rather than per slot: an event
    // reads them in order.
    std::vector<std::vector<std::array<uint32_t, 2>>> list_gates;
    // Per list: the matcher's groups its streams' gates are opened from (EventMatcher::open_gates'
    // `need`, need_words words a list). An event scans only the groups of the lists it visits: a
    // Security event need not scan the Sysmon rules' image paths or the file rules' target names.
    std::vector<uint64_t> list_need;
    size_t need_words = 0;
    std::vector<uint64_t> need;     // process_event: the union of this event's lists'
    std::vector<uint32_t> visiting;  // process_event: the lists this event visits, in order
    uint32_t batch_no = 0;
    BatchOut* out = nullptr;
    size_t rows_out = 0;  // findings' rows in *out (hand_on_rows)
    uint32_t event_index = 0;
    std::vector<Table> scratch;  // per stream: rows of mergeable streams, captured in place (buffers reused)
    // Per capture group: its row of the current event, captured when event_seq is the stamp.
    std::vector<Table> group_rows;
    std::vector<uint64_t> group_stamp;
    std::vector<std::vector<ir::ExecContext::EntryId>> group_entry_ids;  // per capture group (ExecContext)
    uint64_t event_seq = 0;  // events this worker has processed: the current one's stamp
    Table groups;                // the groups of one row, for the filters moved ahead of an aggregation
    // Per stream: the early filters' verdict (keep?) by prefilter_key; bounded (cleared when full).
    std::vector<VerdictMemo> verdicts;
    // What the early filters report: told on as Diagnostic::once, since how often they run (per key
    // and worker, again when the verdicts are cleared) is the engine's business, not the input's.
    HoldingSink early_diags;
    std::string key;
    std::vector<uint32_t> open;  // process_event: the streams of a list whose gates are open
    Engine::Phases phases;       // with EngineOptions::profile (process_event)
    Engine::FieldsSeen seen;     // with EngineOptions::note_fields (process_event)
  };
  std::vector<std::unique_ptr<Worker>> workers;
  // The workers' matchers share compiled atoms and prefilter databases; made with the first worker.
  std::shared_ptr<match::EventMatcher::Shared> matcher_shared;
  std::once_flag matcher_once;

  // ---- merge side (one thread at a time, in batch order; then the rule tails, on several threads:
  // a slot is its rule's, but for a shared state, taken under finish_locks)
  struct Slot {
    std::unique_ptr<ir::PartialState> state;
    Table kept;
    uint32_t users_left = 0;  // a shared state: the streams that have yet to take its table
    bool counted = false;     // `groups` below is known (its first user asked for it)
    std::unique_ptr<SpinLock> lock;  // order-free states fed by several workers at once
    // At the end (take_state), for --profile: its groups, once first asked for, and
    // whether some stream made them into rows.
    uint64_t groups = 0;
    bool made = false;
    bool has_all_rows = false;  // StreamPlan::row_limit: it holds its N rows
  };
  std::vector<Slot> slots;
  // The streams that read events and have not got all the rows they can use (a head's N); SIZE_MAX
  // when some stream reads events and has no row limit: then the run reads every event.
  size_t streams_wanting_rows = 0;
  std::vector<uint32_t> limited;  // the slots of streams with a row limit
  std::atomic<bool> satisfied{false};
  // One thread: rows go straight into the run's states (slots), with no batch state to merge.
  bool direct_states = false;
  unsigned threads = 1;  // rule tails run on this many threads at the end (finish_rules)
  // take_state of a state several rules share, from rule tails on several threads.
  std::array<std::mutex, 64> finish_locks;
  unsigned tail_threads = 0;   // threads that ran the rule tails (finish_rules)
  double tail_seconds = 0;     // wall time of the rule tails
  Engine::Phases phases;       // the workers', summed (finish)
  Engine::FieldsSeen seen;     // the workers', merged (finish)
  std::vector<RuleStats> stats;
  std::vector<std::vector<EventRef>> matched;
  uint64_t evaluated = 0;           // records of process() (the calling thread)
  uint64_t evaluated_deferred = 0;  // records of deferred reads (merge side)
  ReadStats deferred_read;          // (merge side)
  std::unique_ptr<OrderedPipeline<Batch, BatchOut>> pipeline;
  OrderedPipeline<Batch, BatchOut>* pipe = nullptr;  // the same, for the workers: set once, before they run
  std::unique_ptr<Batch> filling;

  void build();
  BatchOut run_batch(Batch& b, unsigned worker);
  /// A unit of input a worker reads whole, whose findings pile up (most of its events match), hands
  /// its rows on in order (OrderedPipeline::consume_early) rather than holding them to its end: from
  /// kRowsHandedOn if it is its turn already, and from kRowsHeldAtMost it waits for its turn.
  static constexpr size_t kRowsHandedOn = 1024, kRowsHeldAtMost = 4096;
  void hand_on_rows(Worker& w, BatchOut& out, bool wait);
  void process_event(Worker& w, const Record& r);
  /// The atoms compiled once for every matcher of the run (EngineOptions::matcher, else made on first use).
  const std::shared_ptr<match::EventMatcher::Shared>& shared_matcher() {
    std::call_once(matcher_once,
                   [this] { matcher_shared = opts.matcher ? opts.matcher : Engine::shared_matcher(atoms, opts); });
    return matcher_shared;
  }
  /// The lists of streams an event visits (kEveryEvent's, its event ID's, its datasets'), in order.
  void visited_lists(const Event& e, std::string& eid_key, std::vector<uint32_t>& out) const;
  // Engine::admits() on the calling thread: an event and a matcher of its own.
  struct Admit {
    Event event;
    match::EventMatcher matcher;
    std::string eid_key;
    std::vector<uint32_t> visiting;
    explicit Admit(std::shared_ptr<match::EventMatcher::Shared> shared) : matcher(std::move(shared)) {}
  };
  std::unique_ptr<Admit> admit;
  void visit(Worker& w, const StreamRef& ref, const Record& r);
  /// The stream's view of the event as a row, written over `row`'s entries (their buffers reused).
  void capture(const Worker& w, const StreamPlan& sp, Row& row) const;
  EventRef event_ref(const Worker& w, const Record& r) const;
  void merge(BatchOut&& out);
  void emit(const ir::CompiledRule* rule, Row&& row, std::vector<EventRef> sources);
  void finish_rules();
  /// Rule `ri`'s tail (its aggregations' merged states, the operators after them, the streams it
  /// reads), telling `d` what its operators report; its result rows, to emit (none for a rule whose
  /// findings went out with their events).
  Table finish_rule(uint32_t ri, DiagnosticSink& d);
  /// With `make`, the finished table of the aggregation state in slot `at`, for one of the streams it
  /// serves; without, only its accounting (the table is not made: an inner join with nothing on its
  /// right, or the right side of a join with no row on its left).
  Table take_state(uint32_t at, ir::ExecContext* make);
  /// True when the state in slot `at` has no group and its aggregation has BY fields (`stats … by`
  /// over nothing is no row, where `stats count` alone is one): its table is empty.
  bool makes_no_rows(uint32_t at);
  /// The lock of state `at` for a rule tail, held when other rules' tails share the state (aliases).
  std::unique_lock<std::mutex> hold_if_shared(uint32_t at) {
    std::unique_lock hold(finish_locks[at % finish_locks.size()], std::defer_lock);
    if (!streams[at].aliases.empty()) hold.lock();
    return hold;
  }
  /// The slot whose state stream `slot` reads (its own, or the one it shares).
  uint32_t state_slot(uint32_t slot) const {
    return streams[slot].shared_from == UINT32_MAX ? slot : streams[slot].shared_from;
  }
};

void Engine::Impl::build() {
  if (opts.now == 0)
    opts.now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  time_sym = field_id("_time");
  host_sym = field_id("host");
  source_sym = field_id("source");
  sourcetype_sym = field_id("sourcetype");
  record_sym = field_id("EventRecordID");
  event_id_sym = field_id("EventID");
  const std::vector<Symbol> id_fields = {event_id_sym, field_id("EventCode"), field_id("event_simpleName")};
  by_dataset.assign(normalizer.datasets().size(), kNoList);
  rule_streams.resize(rules.size());
  for (uint32_t ri = 0; ri < rules.size(); ++ri) {
    const auto& plan = rules[ri]->plan;
    for (uint32_t si = 0; si < plan.streams.size(); ++si) {
      const ir::Stream& s = plan.streams[si];
      StreamPlan sp;
      sp.stream = &s;
      sp.rule = ri;
      sp.index = si;
      if (s.source.kind == ir::Source::Kind::datamodel) {
        sp.dataset = normalizer.dataset_id(s.source.datamodel + "." + s.source.dataset);
        if (sp.dataset < 0) sp.unknown_source = true;
        else sp.view = static_cast<uint16_t>(sp.dataset + 1);
      }
      while (sp.prefix_end < s.operators.size() && s.operators[sp.prefix_end]->shape() == ir::OpShape::per_row)
        ++sp.prefix_end;
      // Generating streams (no events) run all their operators once, at the end.
      if (s.source.kind == ir::Source::Kind::none) sp.prefix_end = 0;
      if (sp.prefix_end < s.operators.size()) {
        const ir::Operator* op = s.operators[sp.prefix_end].get();
        if (op->shape() == ir::OpShape::mergeable && s.source.kind != ir::Source::Kind::none) {
          sp.blocking = Blocking::mergeable;
          sp.merge_op = static_cast<const ir::MergeableOperator*>(op);
        } else {
          sp.blocking = Blocking::whole;
          if (s.source.kind != ir::Source::Kind::none) {
            sp.row_limit = op->row_limit();
            sp.keep_first = op->order_limit();
            if (sp.prefix_end + 1 < s.operators.size())
              if (auto n = s.operators[sp.prefix_end + 1]->row_limit(); n && (!sp.keep_first || *n < sp.keep_first))
                sp.keep_first = std::max<size_t>(*n, 1);
            Table none;
            if (sp.keep_first && !op->keep_first_in_order(none, sp.keep_first)) sp.keep_first = 0;
          }
        }
      }
      plan_projection(sp);
      if (sp.blocking == Blocking::mergeable) {
        plan_prefilter(sp);
        plan_prefilter_inputs(sp);
      }
      sp.pushed = sp.blocking == Blocking::mergeable && sp.prefix_end == 0 && opts.aggregate_here &&
                  std::find(opts.pushed.begin(), opts.pushed.end(), std::pair<uint32_t, uint32_t>{ri, si}) !=
                      opts.pushed.end();
      // Per-row operators before the aggregation (eval, where, rex …) see one row at a time, so
      // they keep it order-free unless they make a BY value a number: a worker runs them on its
      // rows, then feeds the run's state.
      sp.order_free = sp.blocking == Blocking::mergeable && !sp.pushed && is_order_free(*sp.merge_op) &&
                      by_values_are_texts(s.operators, sp.prefix_end, *sp.merge_op->describe());
      sp.capture_by_name = sp.blocking == Blocking::mergeable && sp.prefix_end == 0 && !sp.capture_all;
      if (sp.capture_by_name) {
        // What capture() reads of the plan for such a stream: the row is the same for the same key.
        // A data model's streams all share one row, of every name any of them reads (below): an
        // aggregation reads its fields by name, so the others' fields in its row change nothing,
        // and a process event captured once instead of once per distinct BY list (the Processes
        // tstats of ESCU have ~80 of them, ~20 visited per event) is most of capturing's cost.
        // A raw source's streams (`sysmon EventCode=1 …`) read few of an event's many fields: their
        // rows stay per name list.
        const bool raw_source = s.source.kind == ir::Source::Kind::raw;
        std::string key = std::to_string(sp.view) + (raw_source ? "r" : "d") + (sp.skip_renderings ? "s" : "k");
        if (raw_source)
          for (Symbol f : sp.capture) key += "," + std::to_string(f);
        sp.capture_group = capture_keys.emplace(std::move(key), capture_groups).first->second;
        if (sp.capture_group == capture_groups) ++capture_groups;
      }
      uint32_t slot = uint32_t(streams.size());
      rule_streams[ri].push_back(slot);
      if (std::string key = sharing_key(sp); !key.empty()) {
        auto [at, fresh] = shared_keys.emplace(std::move(key), slot);
        if (!fresh) {
          sp.shared_from = at->second;
          streams[at->second].aliases.emplace_back(ri, si);
        }
      }
      streams.push_back(std::move(sp));
      const StreamPlan& p = streams.back();
      if (s.source.kind == ir::Source::Kind::none || p.unknown_source || p.shared_from != UINT32_MAX) continue;
      StreamRef ref{ri, si, slot, filters.add(s.filter)};
      if (s.source.kind == ir::Source::Kind::datamodel) {
        lists[list_of(by_dataset[p.dataset])].push_back(ref);
      } else if (auto ids = required_event_ids(s.filter, atoms, id_fields)) {
        for (auto& v : *ids) lists[list_of(by_event_id.try_emplace(v, kNoList).first->second)].push_back(ref);
      } else {
        lists[kEveryEvent].push_back(ref);
      }
    }
  }
  // Each capture group's streams capture the union of their names.
  std::vector<std::vector<Symbol>> group_names(capture_groups);
  for (auto& sp : streams)
    if (sp.capture_group != UINT32_MAX)
      group_names[sp.capture_group].insert(group_names[sp.capture_group].end(), sp.capture.begin(), sp.capture.end());
  for (auto& names : group_names) {
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
  }
  for (auto& sp : streams)
    if (sp.capture_group != UINT32_MAX) sp.capture = group_names[sp.capture_group];
  shared_keys.clear();
  capture_keys.clear();
  slots.resize(streams.size());
  for (size_t i = 0; i < streams.size(); ++i)
    if (!streams[i].aliases.empty()) slots[i].users_left = uint32_t(streams[i].aliases.size() + 1);
  for (uint32_t i = 0; i < streams.size(); ++i) {
    const StreamPlan& sp = streams[i];
    if (sp.stream->source.kind == ir::Source::Kind::none || sp.unknown_source || sp.shared_from != UINT32_MAX) continue;
    if (!sp.row_limit) {
      streams_wanting_rows = SIZE_MAX;
      break;
    }
    ++streams_wanting_rows;
    limited.push_back(i);
  }
  if (streams_wanting_rows == SIZE_MAX || streams_wanting_rows == 0) limited.clear();
  stats.resize(rules.size());
  matched.resize(rules.size());

  threads = opts.threads ? opts.threads : std::max(1u, std::thread::hardware_concurrency());
  unsigned nworkers = threads <= 1 ? 0 : threads;
  direct_states = nworkers == 0;
  if (!direct_states)
    for (size_t i = 0; i < streams.size(); ++i)
      if (streams[i].order_free && streams[i].shared_from == UINT32_MAX) {
        slots[i].state = streams[i].merge_op->make_state();
        streams[i].merge_op->seal(*slots[i].state);  // keys are ids from the start, as a merged state's are
        slots[i].lock = std::make_unique<SpinLock>();
      }
  // Workers are set up on their first batch: a small input (a rule test) compiles one matcher only.
  workers.resize(std::max(1u, nworkers));
  // Merging (partial states, kept rows, per-event findings) runs on the worker that completes the
  // next batch in order, so the reading thread only reads.
  pipeline = std::make_unique<OrderedPipeline<Batch, BatchOut>>(
      nworkers, [this](Batch& b, unsigned id) { return run_batch(b, id); },
      [this](BatchOut&& o) { merge(std::move(o)); }, 0, OrderedPipeline<Batch, BatchOut>::ConsumeOn::workers);
  pipe = pipeline.get();
}

BatchOut Engine::Impl::run_batch(Batch& b, unsigned id) {
  if (!workers[id]) {
    auto w = std::make_unique<Worker>(shared_matcher());
    w->stats.resize(rules.size());
    w->rows_at.assign(streams.size(), 0);
    w->state_at.assign(streams.size(), 0);
    w->scratch.resize(streams.size());
    w->group_rows.resize(capture_groups);
    w->group_stamp.assign(capture_groups, 0);
    w->group_entry_ids.resize(capture_groups);
    w->verdicts.resize(streams.size());
    w->stamp.assign(streams.size(), 0);
    const uint32_t open = w->matcher.always_open_gate();
    std::vector<std::array<uint32_t, 2>> gates(streams.size(), {open, open});
    for (size_t i = 0; i < streams.size(); ++i)
      if (streams[i].stream->source.kind != ir::Source::Kind::none && !streams[i].unknown_source &&
          streams[i].shared_from == UINT32_MAX) {
        // Two gates for an AND of two gated conditions (Sigma's `selection_img and selection_cli`):
        // an event that has the image but none of the command lines does not visit the rule.
        auto g = w->matcher.add_gates(streams[i].stream->filter, 2);
        for (size_t k = 0; k < g.size() && k < 2; ++k) gates[i][k] = g[k];
      }
    w->list_gates.resize(lists.size());
    for (size_t l = 0; l < lists.size(); ++l)
      for (auto& ref : lists[l]) w->list_gates[l].push_back(gates[ref.slot]);
    std::vector<std::vector<uint64_t>> need(lists.size());
    for (size_t l = 0; l < lists.size(); ++l)
      for (auto& ref : lists[l])
        for (uint32_t g : gates[ref.slot]) w->matcher.add_gate_groups(g, need[l]);
    for (auto& n : need) w->need_words = std::max(w->need_words, n.size());
    w->list_need.assign(lists.size() * w->need_words, 0);
    for (size_t l = 0; l < lists.size(); ++l)
      std::copy(need[l].begin(), need[l].end(), w->list_need.begin() + long(l * w->need_words));
    w->need.assign(w->need_words, 0);
    w->ctx.now = opts.now;
    w->ctx.diags = &diags;
    w->ctx.allow_writes = opts.allow_writes;
    w->ctx.writes_dir = opts.writes_dir;
    workers[id] = std::move(w);
  }
  Worker& w = *workers[id];
  BatchOut out;
  w.out = &out;
  w.rows_out = 0;
  // What evaluating the batch reports (a regex limit hit, a warning of an operator before the
  // aggregation) is held with the batch and replayed when it merges, batch by batch in input order,
  // for any number of workers; a warning told once per row is held once, with its count.
  HoldingSink held;
  held.set_fold_repeats(true);
  struct HoldDiags {
    ir::ExecContext& ctx;
    DiagnosticSink& after;
    ~HoldDiags() { ctx.diags = &after; }  // also when the batch throws: never a dangling sink
  } hold{w.ctx, diags};
  w.ctx.diags = &held;
  if (++w.batch_no == 0) {  // stamps wrapped: forget them
    std::fill(w.stamp.begin(), w.stamp.end(), 0);
    w.batch_no = 1;
  }
  if (b.deferred) {
    uint32_t n = 0;
    out.read = b.deferred([&](const Record& r) {
      w.event_index = n++;
      process_event(w, r);
      if (w.rows_out >= kRowsHandedOn) hand_on_rows(w, out, w.rows_out >= kRowsHeldAtMost);
    }, held);
    out.evaluated = n;
  }
  for (size_t i = 0; i < b.records.size(); ++i) {
    b.records.get(i, w.record);
    w.event_index = uint32_t(i);
    process_event(w, w.record);  // a batch of records is small (batch_records): its rows wait
  }
  for (auto& d : held.take_kept()) out.read.diags.push_back(std::move(d));
  // Merging runs on one thread at a time: what of it can be done here is done here.
  for (auto& s : out.states) streams[s.slot].merge_op->seal(*s.state);
  w.out = nullptr;
  return out;
}

void Engine::Impl::hand_on_rows(Worker& w, BatchOut& out, bool wait) {
  // Between two events, so each event's rows stay in one part (merge orders a part's rows by
  // event); the batch's later rows, states and read report follow in its own output, after.
  BatchOut part;
  part.rows = std::move(out.rows);
  part.matched = std::move(out.matched);
  if (!pipe->consume_early(part, wait)) {  // not its turn yet: the rows stay where they were
    out.rows = std::move(part.rows);
    out.matched = std::move(part.matched);
    return;
  }
  out.rows.clear();
  out.matched.clear();
  for (auto& item : part.rows) w.stamp[item.slot] = 0;  // the slot's next rows start a new entry
  w.rows_out = 0;
}

namespace {
constexpr size_t kIndexesNoted = 16;
const Symbol index_sym = field_id("index");

// Names by flag (renderings unmade: only their names are read), and the first few indexes.
void note_fields(Engine::FieldsSeen& seen, const Event& ev) {
  for (auto& f : ev.fields_unrendered()) {
    if (f.name >= seen.names.size()) seen.names.resize(std::max<size_t>(f.name + 1, seen.names.size() * 2), 0);
    seen.names[f.name] = 1;
    if (f.name == index_sym && seen.indexes.size() < kIndexesNoted &&
        std::find(seen.indexes.begin(), seen.indexes.end(), f.value) == seen.indexes.end())
      seen.indexes.emplace_back(f.value);
  }
}
}  // namespace

void Engine::Impl::process_event(Worker& w, const Record& r) {
  ++w.event_seq;
  // --profile: normalizing and the gates timed here, the rules per rule (visit).
  using Clock = std::chrono::steady_clock;
  Clock::time_point t0;
  if (opts.profile) t0 = Clock::now();
  normalizer.normalize(r, w.event);
  if (opts.note_fields) note_fields(w.seen, w.event);
  if (opts.profile) {
    const Clock::time_point t1 = Clock::now();
    w.phases.normalize_seconds += std::chrono::duration<double>(t1 - t0).count();
    t0 = t1;
  }
  w.matcher.begin(w.event);
  visited_lists(w.event, w.eid_key, w.visiting);
  if (w.matcher.gates()) {
    // Only the groups the visited streams' gates need are scanned.
    std::fill(w.need.begin(), w.need.end(), 0);
    for (uint32_t l : w.visiting) {
      const uint64_t* n = w.list_need.data() + size_t(l) * w.need_words;
      for (size_t k = 0; k < w.need_words; ++k) w.need[k] |= n[k];
    }
    w.matcher.open_gates(w.need.data(), w.need_words);
  }
  if (opts.profile) w.phases.gate_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
  // Thousands of streams per event, most behind a closed gate (none of the literals one of which
  // their filter needs is in the event): that test is made here, before any call.
  // The few streams let through are found first and what visit() reads of each is fetched at once:
  // visited one after another, each stream's plan, filter and stats were a wait on memory each.
  auto visit_all = [&](uint32_t list) {
    const auto& gates = w.list_gates[list];
    const auto& refs = lists[list];
    w.open.clear();
    for (uint32_t i = 0; i < gates.size(); ++i)
      if (w.matcher.gate_open(gates[i][0]) & w.matcher.gate_open(gates[i][1])) {  // both read: one branch
        w.open.push_back(i);
        __builtin_prefetch(&filters.nodes[refs[i].filter]);
        __builtin_prefetch(&streams[refs[i].slot]);
        __builtin_prefetch(&w.stats[refs[i].rule], 1);
      }
    for (uint32_t i : w.open) visit(w, refs[i], r);
  };
  for (uint32_t l : w.visiting) visit_all(l);
  // A regex that hit its backtracking limit decided nothing for this event: say which event, so a
  // padded field cannot blind a rule unseen (the rules are named once at the end of the run).
  if (auto undecided = Regex::take_undecided(); !undecided.empty()) {
    SourceLocation loc{std::string(r.file)};
    loc.line = uint32_t(r.line);
    if (!r.line) loc.offset = r.offset;
    std::string_view rid;
    std::string what = w.event.get(record_sym, rid) ? " (EventRecordID " + std::string(rid) + ")" : "";
    w.ctx.diags->warning(std::move(loc),
                         "event" + what + " is undecided for the rules using pattern '" + undecided.front() +
                             "': the regex match limit was hit",
                         "regex-undecided-event");
  }
}

void Engine::Impl::visited_lists(const Event& e, std::string& eid_key, std::vector<uint32_t>& out) const {
  out.assign(1, kEveryEvent);
  std::string_view eid;
  if (!by_event_id.empty() && e.get(event_id_sym, eid)) {
    eid_key.assign(eid);
    for (auto& ch : eid_key) ch = ascii_lower(ch);
    auto it = by_event_id.find(eid_key);
    if (it != by_event_id.end()) out.push_back(it->second);
  }
  for (DatasetId d : e.datasets())
    if (d < by_dataset.size() && by_dataset[d] != kNoList) out.push_back(by_dataset[d]);
}

EventRef Engine::Impl::event_ref(const Worker& w, const Record& r) const {
  std::string_view rid;
  EventRef ref{std::string(r.file), {}};
  if (w.event.get(record_sym, rid) && !rid.empty()) ref.record_id.assign(rid);
  else if (r.line) ref.record_id = "line " + std::to_string(r.line);
  ref.line = r.line;
  if (r.recovered) {
    ref.recovered = true;
    ref.offset = r.offset;
  }
  return ref;
}

void Engine::Impl::capture(const Worker& w, const StreamPlan& sp, Row& row) const {
  // A repeated field becomes a multivalue; only the stream's view, and only projected names.
  auto& es = row.entries();
  size_t n = 0;
  auto next = [&](std::string_view name) -> Value& {  // the n-th entry, renamed; its buffers kept
    // A stream's rows are reused event after event: the n-th name is mostly the one it had.
    if (n < es.size()) {
      if (es[n].first != name) es[n].first.assign(name);
    } else {
      es.emplace_back(std::string(name), Value());
    }
    return es[n++].second;
  };
  const bool raw = sp.stream->source.kind == ir::Source::Kind::raw;
  const bool repeats = w.event.has_repeats();
  // A few names out of the event's hundreds of fields (every view's): each is looked up, when no
  // name repeats (no multivalue); else the walk below. The row's entries then come in capture
  // order, which an aggregation never sees.
  if (sp.capture_by_name && !repeats) {
    // `_time` first: a number, it keeps its entry, and the text entries after it keep their
    // buffers from event to event (a text landing where a number was would allocate).
    if (w.event.has_time()) next("_time") = Value(w.event.time());
    // No name repeats, so a name whose one field is outside the stream's view is one the walk
    // below would leave out too.
    for (Symbol name : sp.capture) {
      if (name == time_sym) continue;
      const Event::Field* f = w.event.first(name);
      if (!f || !in_view(sp, raw, name, *f)) continue;
      if (f->rendering && sp.skip_renderings) continue;
      next(field_name(name)).set_text(f->value);
    }
    es.erase(es.begin() + long(n), es.end());
    return;
  }
  // Every field of a view, for a row that becomes a finding as it is (Sigma findings have ~60–90):
  // room for them at once, not by doubling.
  if (sp.capture_all) es.reserve(96);
  for (auto& f : w.event.fields_unrendered()) {
    if (f.name == time_sym) continue;
    if (!in_view(sp, raw, f.name, f)) continue;
    if (!sp.capture_all && !std::binary_search(sp.capture.begin(), sp.capture.end(), f.name)) continue;
    if (f.rendering && sp.skip_renderings) continue;
    if (f.deferred) w.event.fields();  // renders it in place: only for a stream that captures it
    std::string_view name = field_name(f.name);
    if (repeats) {
      auto cur = std::find_if(es.begin(), es.begin() + long(n), [&](const Row::Entry& e) { return e.first == name; });
      if (cur != es.begin() + long(n)) {
        auto vals = cur->second.all_texts();
        vals.emplace_back(f.value);
        cur->second = Value::multi(std::move(vals));
        continue;
      }
    }
    next(name).set_text(f.value);
  }
  if (w.event.has_time()) next("_time") = Value(w.event.time());
  es.erase(es.begin() + long(n), es.end());
}

void Engine::Impl::visit(Worker& w, const StreamRef& ref, const Record& r) {
  // The stream's gate is open (process_event).
  RuleStats& st = w.stats[ref.rule];
  ++st.candidates;
  std::chrono::steady_clock::time_point t0;
  if (opts.profile) t0 = std::chrono::steady_clock::now();
  struct Timer {
    const Impl& e;
    RuleStats& st;
    std::chrono::steady_clock::time_point t0;
    ~Timer() {
      if (e.opts.profile) st.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
  } timer{*this, st, t0};

  const StreamPlan& sp = streams[ref.slot];
  // Aggregated where the data lives, except for the events the back end leaves to the engine.
  if (sp.pushed && !opts.aggregate_here(w.event, sp.view)) return;
  for (auto& [rule, index] : sp.aliases) ++w.stats[rule].candidates;
  if (!w.matcher.eval(filters, ref.filter)) return;
  if (ref.stream == 0) {
    ++st.events_matched;
    if (opts.keep_matched) w.out->matched.emplace_back(ref.rule, event_ref(w, r));
  }
  for (auto& [rule, index] : sp.aliases)
    if (index == 0) {
      ++w.stats[rule].events_matched;
      if (opts.keep_matched) w.out->matched.emplace_back(rule, event_ref(w, r));
    }
  // Rows of a mergeable stream only feed its state: the worker's scratch rows are reused. Those of
  // a capture group are only read from here on (no per-row operator; the state takes them as const).
  Table local;
  Table& rows = sp.capture_group != UINT32_MAX ? w.group_rows[sp.capture_group]
                : sp.blocking == Blocking::mergeable ? w.scratch[ref.slot] : local;
  if (sp.capture_group == UINT32_MAX || w.group_stamp[sp.capture_group] != w.event_seq) {
    if (sp.capture_group != UINT32_MAX) w.group_stamp[sp.capture_group] = w.event_seq;
    rows.resize(1);
    capture(w, sp, rows[0]);
  }
  if (sp.prefix_end) {
    w.ctx.where.file = rules[ref.rule]->info.file;
    for (size_t i = 0; i < sp.prefix_end && !rows.empty(); ++i) sp.stream->operators[i]->run(rows, w.ctx);
    if (rows.empty()) return;
  }
  if (sp.pre_end) {
    w.ctx.where.file = rules[ref.rule]->info.file;
    size_t kept = 0;
    auto& verdicts = w.verdicts[ref.slot];
    for (size_t i = 0; i < rows.size(); ++i) {
      // The verdict depends only on the BY values the filters read: most rows repeat one seen before.
      prefilter_key(sp, rows[i], w.key);
      const size_t key_hash = text_hash(w.key);
      bool keep;
      if (const bool* seen = verdicts.find(w.key, key_hash)) {
        keep = *seen;
      } else {
        w.groups.clear();
        sp.merge_op->group_rows(rows[i], sp.pre_by, w.groups);
        // A row in no group (a null BY value, maybe one the key leaves out) says nothing of its key.
        const bool in_a_group = !w.groups.empty();
        DiagnosticSink* told = w.ctx.diags;
        w.ctx.diags = &w.early_diags;
        for (size_t k = sp.prefix_end + 1; k < sp.pre_end && !w.groups.empty(); ++k)
          sp.stream->operators[k]->run(w.groups, w.ctx);
        w.ctx.diags = told;
        for (auto& d : w.early_diags.take_kept()) {
          d.once = true;
          told->report(std::move(d));
        }
        keep = !w.groups.empty();
        if (in_a_group && w.key.size() <= kVerdictKeyMax) verdicts.add(w.key, key_hash, keep);
      }
      if (!keep) continue;
      if (kept != i) std::swap(rows[kept], rows[i]);
      ++kept;
    }
    if (kept == 0) return;
    rows.resize(kept);
  }
  BatchOut& out = *w.out;
  const uint32_t slot = ref.slot;
  // Captured rows name each field once, in one layout per capture group (capture); a capture
  // group's row is read by many aggregations, which intern each of its texts once.
  // (Every stream captured by name is in a capture group: build().)
  struct NamedOnce {
    ir::ExecContext& ctx;
    NamedOnce(ir::ExecContext& c, std::vector<ir::ExecContext::EntryId>* ids, uint64_t seq) : ctx(c) {
      ctx.rows_named_once = ids != nullptr;
      ctx.entry_ids = ids;
      ctx.entry_seq = seq;
    }
    ~NamedOnce() {
      ctx.rows_named_once = false;
      ctx.entry_ids = nullptr;
    }
  } named_once{w.ctx, sp.capture_by_name ? &w.group_entry_ids[sp.capture_group] : nullptr, w.event_seq};
  assert(sp.capture_group == UINT32_MAX || rows.size() == 1);  // entry ids are of one row an event
  if (direct_states && sp.blocking == Blocking::mergeable) {
    // The batches run in order on this thread: feeding the run's state is what merging a batch
    // state into it gives, without building, sealing and folding one per batch.
    auto& state = slots[slot].state;
    if (!state) {
      state = sp.merge_op->make_state();
      sp.merge_op->seal(*state);  // its keys are ids from the start, as a merged state's are
    }
    w.ctx.where.file = rules[ref.rule]->info.file;
    sp.merge_op->add(*state, rows, w.ctx);
    return;
  }
  if (slots[slot].lock) {
    // Order-free: feeding the run's state in any order gives what merging batch states in order
    // gives. Workers rarely meet on one of hundreds of states, so the lock is seldom waited for.
    w.ctx.where.file = rules[ref.rule]->info.file;
    std::lock_guard hold(*slots[slot].lock);
    sp.merge_op->add(*slots[slot].state, rows, w.ctx);
    return;
  }
  if (w.stamp[slot] != w.batch_no) {
    w.stamp[slot] = w.batch_no;
    if (sp.blocking == Blocking::mergeable) {
      w.state_at[slot] = uint32_t(out.states.size());
      out.states.push_back({slot, sp.merge_op->make_state()});
    } else {
      w.rows_at[slot] = uint32_t(out.rows.size());
      out.rows.push_back({slot, {}, {}, {}});
    }
  }
  if (sp.blocking == Blocking::mergeable) {
    w.ctx.where.file = rules[ref.rule]->info.file;
    sp.merge_op->add(*out.states[w.state_at[slot]].state, rows, w.ctx);
    return;
  }
  auto& item = out.rows[w.rows_at[slot]];
  EventRef src = sp.blocking == Blocking::none ? event_ref(w, r) : EventRef{};
  // Findings leave memory once merged, and so do the rows a head, a sort's first N or a table's
  // projection keep few of: a unit's rows are handed on as they grow, not held to its end.
  w.rows_out += rows.size();
  for (auto& row : rows) {
    item.rows.push_back(std::move(row));
    item.event.push_back(w.event_index);
    item.refs.push_back(src);
  }
}

void Engine::Impl::emit(const ir::CompiledRule* rule, Row&& row, std::vector<EventRef> sources) {
  // `stats count` over no events yields one row with count 0 (Splunk does this); it is not a finding.
  if (!opts.keep_zero_counts && is_zero_count(row)) return;
  Finding f;
  f.rule = rule;
  f.row = std::move(row);
  f.sources = std::move(sources);
  if (sink) sink(std::move(f));
}

void Engine::Impl::merge(BatchOut&& out) {
  out.read.replay(diags, deferred_read);
  evaluated_deferred += out.evaluated;
  for (auto& [rule, ref] : out.matched)
    if (matched[rule].size() < kMatchedRefsKept) matched[rule].push_back(std::move(ref));
  for (auto& s : out.states) {
    Slot& slot = slots[s.slot];
    if (!slot.state) slot.state = std::move(s.state);
    else streams[s.slot].merge_op->merge(*slot.state, *s.state);
  }
  // Per-event findings in input order: by event within the batch, then rule order.
  struct Pending {
    uint32_t event, rule;
    Row* row;
    EventRef* ref;
  };
  std::vector<Pending> pending;
  for (auto& item : out.rows) {
    const StreamPlan& sp = streams[item.slot];
    if (sp.blocking == Blocking::none && sp.index == 0) {
      for (size_t i = 0; i < item.rows.size(); ++i)
        pending.push_back({item.event[i], sp.rule, &item.rows[i], &item.refs[i]});
      continue;
    }
    Slot& slot = slots[item.slot];
    for (auto& row : item.rows) {
      if (sp.row_limit && slot.kept.size() >= *sp.row_limit) break;  // a head has its rows
      if (slot.kept.size() >= opts.max_kept_rows) {
        RuleStats& st = stats[sp.rule];
        if (st.rows_dropped++ == 0)
          diags.warning({rules[sp.rule]->info.file},
                        "rule '" + rules[sp.rule]->info.name + "' holds more than " +
                            std::to_string(opts.max_kept_rows) + " rows for '" +
                            sp.stream->operators[sp.prefix_end]->name() +
                            "'; further rows are dropped and its results are incomplete",
                        "row-limit");
        continue;
      }
      slot.kept.push_back(std::move(row));
      ++stats[sp.rule].rows_held;
      // Rows come in input order, after those kept: ordering them all again keeps the first N of
      // the whole input's order (a stable sort), so twice N rows at most are held, not every row.
      if (sp.keep_first && slot.kept.size() >= 2 * std::max<size_t>(sp.keep_first, 512))
        sp.stream->operators[sp.prefix_end]->keep_first_in_order(slot.kept, sp.keep_first);
    }
  }
  std::stable_sort(pending.begin(), pending.end(),
                   [](const Pending& a, const Pending& b) { return std::tie(a.event, a.rule) < std::tie(b.event, b.rule); });
  for (auto& p : pending) emit(rules[p.rule], std::move(*p.row), {std::move(*p.ref)});
  // Batches merge in input order, so a head's first N rows here are its first N of the run.
  for (uint32_t i : limited) {
    Slot& slot = slots[i];
    if (slot.has_all_rows || slot.kept.size() < *streams[i].row_limit) continue;
    slot.has_all_rows = true;
    if (--streams_wanting_rows == 0) satisfied.store(true, std::memory_order_relaxed);
  }
}

namespace {

// Runs the end of every stream of one rule, on the merged state; other streams on demand (join, append).
class TailContext final : public ir::ExecContext {
 public:
  using Compute = std::function<Table(size_t)>;
  using Skip = std::function<void(size_t)>;
  TailContext(Compute c, Skip s) : compute_(std::move(c)), skip_(std::move(s)) {}
  Table stream_result(size_t k) override { return compute_(k); }
  void skip_stream(size_t k) override { skip_(k); }

 private:
  Compute compute_;
  Skip skip_;
};

}  // namespace

// A state several rules share (StreamPlan::aliases) may be asked for by two rule tails at once: its
// lock is held while it is counted and its table made (the last user spends it). Its groups count
// for the rule that owns it (finish_rules), whichever rule asks first.
Table Engine::Impl::take_state(uint32_t at, ir::ExecContext* make) {
  const StreamPlan& sp = streams[at];
  Slot& slot = slots[at];
  auto hold = hold_if_shared(at);  // (MergeableOperator::finish never asks for another stream)
  if (!slot.state && make) slot.state = sp.merge_op->make_state();
  // A shared state is kept (compact, unlike its table) until its last user spends it.
  const bool last = slot.users_left <= 1;
  if (!last) --slot.users_left;
  if (!slot.counted) slot.groups = slot.state ? sp.merge_op->groups(*slot.state) : 0;
  slot.counted = true;
  Table t;
  if (make) {
    slot.made = true;
    t = sp.merge_op->finish(*slot.state, *make, last);
  }
  if (last) slot.state.reset();
  return t;
}

bool Engine::Impl::makes_no_rows(uint32_t at) {
  const StreamPlan& sp = streams[at];
  auto d = sp.merge_op->describe();
  if (!d || d->by.empty()) return false;
  auto hold = hold_if_shared(at);  // another rule's tail may be taking it
  const Slot& slot = slots[at];
  return !slot.state || sp.merge_op->groups(*slot.state) == 0;
}

Table Engine::Impl::finish_rule(uint32_t ri, DiagnosticSink& d) {
  const auto& rs = rule_streams[ri];
  if (rs.empty()) return {};
  std::vector<std::optional<Table>> done(rs.size());
  std::function<Table(size_t)> compute;
  // Another stream's table, made for the operator asking (it leaves ctx as it was).
  std::function<const Table&(size_t)> made;
  TailContext ctx(
      [&](size_t k) -> Table {
        if (k >= rs.size()) return {};
        return made(k);
      },
      [&](size_t k) {
        // Its state is counted and let go (the last user of a shared one spends it), as for the
        // left side of an inner join whose right came out empty; its table is not made, and its
        // per-row operators' warnings on those rows are not given. A stream with an operator that
        // needs its rows whole (a join or append of its own streams, an outputlookup's write, a
        // sort) is still run, so that those streams are counted and let go and those writes made.
        if (k >= rs.size() || done[k]) return;
        const StreamPlan& sp = streams[rs[k]];
        for (auto& op : sp.stream->operators)
          if (op->shape() == ir::OpShape::whole) {
            made(k);
            return;
          }
        if (sp.blocking == Blocking::mergeable) take_state(state_slot(rs[k]), nullptr);
        else slots[rs[k]].kept = Table{};
        done[k] = Table{};
      });
  ctx.now = opts.now;
  ctx.diags = &d;
  ctx.where = {rules[ri]->info.file};
  ctx.allow_writes = opts.allow_writes;
  ctx.writes_dir = opts.writes_dir;
  made = [&](size_t k) -> const Table& {
    if (!done[k]) {
      const bool own = ctx.rows_from_nothing;
      done[k] = compute(k);
      ctx.rows_from_nothing = own;
    }
    return *done[k];
  };
  compute = [&](size_t k) -> Table {
    // In a hunt, the rule's result (stream 0) makes no row of no events; a subsearch's `stats
    // count` keeps its row with 0, which the rule may join or compare.
    ctx.rows_from_nothing = opts.keep_zero_counts || k != 0;
    const StreamPlan& sp = streams[rs[k]];
    Slot& slot = slots[rs[k]];
    const auto& ops = sp.stream->operators;
    Table t;
    size_t from = sp.prefix_end;
    if (sp.blocking == Blocking::mergeable) {
      const uint32_t at = state_slot(rs[k]);
      // Per-row operators, then an inner join whose right side came out empty: no row of this
      // table would be left, so it is not made (ESCU's `tstats … Processes … | rename … | join
      // process_guid [tstats … Registry …]` makes a row per process to drop them all when no
      // registry event matched). The join and what follows it still run, on no rows; warnings
      // the skipped per-row operators would have given on those rows are not given.
      size_t join = from + 1;
      while (join < ops.size() && !ops[join]->empty_with_stream() && ops[join]->shape() == ir::OpShape::per_row) ++join;
      std::optional<size_t> right = join < ops.size() ? ops[join]->empty_with_stream() : std::nullopt;
      // A left side with no group makes no row: then the join lets its right side go unmade
      // (TailContext's skip), where asking for the right first would make it.
      if (right && *right != k && *right < rs.size() && !makes_no_rows(at)) {
        if (made(*right).empty()) {
          take_state(at, nullptr);
          for (size_t i = join; i < ops.size(); ++i) ops[i]->run(t, ctx);
          return t;
        }
      }
      t = take_state(at, &ctx);
      ++from;
    } else {
      t = std::move(slot.kept);
    }
    for (size_t i = from; i < ops.size(); ++i) ops[i]->run(t, ctx);
    return t;
  };
  if (streams[rs[0]].blocking == Blocking::none) return {};  // its findings went out with their events
  return compute(0);
}

void Engine::Impl::finish_rules() {
  const uint32_t n = uint32_t(rules.size());
  // Rule tails are independent but for the states rules share (take_state): with threads, they
  // run side by side, and their rows and diagnostics are handed on by the calling thread in rule
  // order, as one thread would (OTRF with both corpora: ~0.5 s of tails, after the last batch).
  // Not when rules may write files (outputlookup): two rules writing one file write it in turn.
  // A tail's diagnostics are held and told with its rows (a warning told per row: once, with its
  // count), on one thread as on several, so that the sink sees the same.
  const auto started = std::chrono::steady_clock::now();
  const unsigned helpers = n < 64 || opts.allow_writes ? 0 : std::min(threads, 8u) - 1;
  auto tail = [&](uint32_t ri, std::vector<Diagnostic>& told) {
    HoldingSink held;
    held.set_fold_repeats(true);
    Table rows = finish_rule(ri, held);
    told = held.take_kept();
    Regex::take_undecided();  // a regex limit hit in a tail is no event's: not left for this thread's next engine
    return rows;
  };
  tail_threads = 1;
  if (helpers == 0) {
    for (uint32_t ri = 0; ri < n; ++ri) {
      std::vector<Diagnostic> told;
      Table rows = tail(ri, told);
      for (auto& d : told) diags.report(std::move(d));
      for (auto& row : rows) emit(rules[ri], std::move(row), {});
    }
  } else {
    struct Tail {
      Table rows;
      std::vector<Diagnostic> told;
      std::exception_ptr failed;
      bool ready = false;
    };
    std::vector<Tail> tails(n);
    std::atomic<uint32_t> next{0};
    std::mutex mu;
    std::condition_variable readied;
    auto run_one = [&](uint32_t ri) {
      Tail t;
      try {
        t.rows = tail(ri, t.told);
      } catch (...) {
        t.failed = std::current_exception();
      }
      std::lock_guard lock(mu);
      t.ready = true;
      tails[ri] = std::move(t);
      readied.notify_all();
    };
    std::vector<std::thread> pool;
    pool.reserve(helpers);  // no allocation between a thread's start and its join
    for (unsigned h = 0; h < helpers; ++h) {
      try {
        pool.emplace_back([&] {
          for (uint32_t ri; (ri = next.fetch_add(1)) < n;) run_one(ri);
        });
      } catch (const std::system_error&) {
        break;  // no thread to be had: this one runs the rest
      }
    }
    // This thread hands on the tails in order, and runs one itself while the next is not ready.
    std::exception_ptr failed;
    for (uint32_t at = 0; at < n; ++at) {
      std::unique_lock lock(mu);
      while (!tails[at].ready) {
        lock.unlock();
        if (const uint32_t ri = next.fetch_add(1); ri < n) run_one(ri);
        lock.lock();
        if (!tails[at].ready && next.load() >= n) readied.wait(lock, [&] { return tails[at].ready; });
      }
      Tail t = std::move(tails[at]);
      lock.unlock();
      if (failed) continue;  // the first failure is rethrown once every helper is done
      try {
        if (t.failed) std::rethrow_exception(t.failed);
        for (auto& d : t.told) diags.report(std::move(d));
        for (auto& row : t.rows) emit(rules[at], std::move(row), {});
      } catch (...) {
        failed = std::current_exception();
      }
    }
    for (auto& th : pool) th.join();
    tail_threads = unsigned(pool.size() + 1);
    if (failed) std::rethrow_exception(failed);
  }
  tail_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // A state's groups count for the rule that owns it, joined away when no stream made them into rows.
  for (size_t i = 0; i < slots.size(); ++i)
    if (slots[i].counted) {
      RuleStats& st = stats[streams[i].rule];
      st.groups_held += slots[i].groups;
      if (!slots[i].made) st.groups_joined_away += slots[i].groups;
    }
  for (auto& s : slots) s.state.reset();  // shared states of streams nobody asked for
}

Engine::Engine(const Normalizer& normalizer, const ir::AtomTable& atoms, std::vector<const ir::CompiledRule*> rules,
               EngineOptions opts, DiagnosticSink& diags, FindingSink sink)
    : impl_(std::make_unique<Impl>(normalizer, atoms, std::move(rules), std::move(opts), diags, std::move(sink))) {
  impl_->build();
}

Engine::~Engine() = default;

bool is_zero_count(const Row& row) {
  const Value* c = row.get("count");
  auto n = c ? c->to_number() : std::nullopt;
  return n && *n == 0;
}

std::shared_ptr<match::EventMatcher::Shared> Engine::shared_matcher(const ir::AtomTable& atoms,
                                                                    const EngineOptions& opts) {
  auto mo = match::EventMatcher::Options::from_env();
  mo.cache_dir = opts.cache_dir;
  return match::EventMatcher::share(atoms, mo);
}

bool Engine::add_groups(size_t rule, size_t stream, const std::vector<ir::PreGroup>& groups) {
  Impl& e = *impl_;
  if (rule >= e.rule_streams.size() || stream >= e.rule_streams[rule].size()) return false;
  const uint32_t slot = e.rule_streams[rule][stream];
  const StreamPlan& sp = e.streams[slot];
  if (!sp.pushed) return false;
  // The groups' functions are order-free, so where they enter the merge order does not matter.
  auto state = sp.merge_op->make_state();
  for (auto& g : groups)
    if (!sp.merge_op->add_group(*state, g)) return false;
  Impl::Slot& s = e.slots[slot];
  if (!s.state) s.state = std::move(state);
  else sp.merge_op->merge(*s.state, *state);
  return true;
}

void Engine::process(const Record& r) {
  Impl& e = *impl_;
  assert(e.pipeline && "no records after finish()");
  ++e.evaluated;
  if (!e.filling) {
    e.filling = e.pipeline->take_empty();
    e.filling->records.clear();
    e.filling->deferred = nullptr;
  }
  e.filling->records.add(r);
  if (e.filling->records.size() >= e.opts.batch_records || e.filling->records.bytes() >= e.opts.batch_bytes)
    e.pipeline->submit(std::move(e.filling));
}

bool Engine::admits(const Record& r) {
  Impl& e = *impl_;
  if (!e.admit) e.admit = std::make_unique<Impl::Admit>(e.shared_matcher());
  Impl::Admit& a = *e.admit;
  e.normalizer.normalize(r, a.event);
  a.matcher.begin(a.event);
  e.visited_lists(a.event, a.eid_key, a.visiting);
  // The streams process_event() would visit, their gates left out: a closed gate only ever means
  // a false filter. (A stream aggregated by a back end, EngineOptions::pushed, counts as visited.)
  for (uint32_t l : a.visiting)
    for (const auto& ref : e.lists[l])
      if (a.matcher.eval(e.filters, ref.filter)) return true;
  return false;
}

void Engine::process_deferred(DeferredRead read) {
  Impl& e = *impl_;
  assert(e.pipeline && "no records after finish()");
  if (e.filling && e.filling->records.size()) e.pipeline->submit(std::move(e.filling));
  auto b = e.pipeline->take_empty();
  b->records.clear();
  b->deferred = std::move(read);
  e.pipeline->submit(std::move(b));
}

void Engine::flush() {
  Impl& e = *impl_;
  assert(e.pipeline && "no records after finish()");
  if (e.filling && e.filling->records.size()) e.pipeline->submit(std::move(e.filling));
  e.pipeline->finish_pending();
}

void Engine::finish() {
  Impl& e = *impl_;
  assert(e.pipeline && "finish() is called once");
  if (e.filling && e.filling->records.size()) e.pipeline->submit(std::move(e.filling));
  e.pipeline->finish();
  for (auto& w : e.workers) {
    if (!w) continue;
    for (size_t i = 0; i < e.stats.size(); ++i) {
      e.stats[i].candidates += w->stats[i].candidates;
      e.stats[i].events_matched += w->stats[i].events_matched;
      e.stats[i].seconds += w->stats[i].seconds;
    }
    e.phases.normalize_seconds += w->phases.normalize_seconds;
    e.phases.gate_seconds += w->phases.gate_seconds;
    auto& names = e.seen.names;
    if (names.size() < w->seen.names.size()) names.resize(w->seen.names.size(), 0);
    for (size_t s = 0; s < w->seen.names.size(); ++s) names[s] |= w->seen.names[s];
    for (auto& i : w->seen.indexes)
      if (e.seen.indexes.size() < kIndexesNoted && std::find(e.seen.indexes.begin(), e.seen.indexes.end(), i) == e.seen.indexes.end())
        e.seen.indexes.push_back(i);
  }
  // The workers' scratch, memos and caches, and the batches, are not needed by the rule tails:
  // they go first, so that the tables the tails make take their room (OTRF, two threads: peak
  // 242 -> 220 MB).
  e.workers.clear();
  e.filling.reset();
  e.pipeline.reset();
  e.pipe = nullptr;
  e.finish_rules();
}

uint64_t Engine::evaluated() const { return impl_->evaluated + impl_->evaluated_deferred; }
const ReadStats& Engine::deferred_read_stats() const { return impl_->deferred_read; }
const std::vector<RuleStats>& Engine::rule_stats() const { return impl_->stats; }
unsigned Engine::tail_threads() const { return impl_->tail_threads; }
const Engine::Phases& Engine::phases() const { return impl_->phases; }
const Engine::FieldsSeen& Engine::fields_seen() const { return impl_->seen; }
const std::atomic<bool>& Engine::satisfied() const { return impl_->satisfied; }
double Engine::tail_seconds() const { return impl_->tail_seconds; }
bool Engine::aggregates_order_free(size_t rule, size_t stream) const {
  const Impl& e = *impl_;
  if (rule >= e.rule_streams.size() || stream >= e.rule_streams[rule].size()) return false;
  return e.streams[e.rule_streams[rule][stream]].order_free;
}
const std::vector<const ir::CompiledRule*>& Engine::rules() const { return impl_->rules; }
const std::vector<EventRef>& Engine::matched_events(size_t i) const { return impl_->matched[i]; }

}  // namespace vigil
