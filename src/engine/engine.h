// The engine runs compiled rules over a stream of Records as streaming plans
// (ARCHITECTURE.md "Streaming plans"):
//
//   records ─► batches ─► workers (own Event, matcher memo, partial states) ─► in-order merge ─► tails
//
// Each stream of a rule's plan is split at its first operator that is not
// per-row:
//   filter (atoms, shared memo) ─► capture (only the fields the plan reads) ─►
//   per-row prefix (eval, rename, where, rex, lookup …) ─► first blocking operator ─► tail
// - no blocking operator: every surviving row is a finding, emitted as its
//   batch is merged (input order); nothing is held;
// - a mergeable one (stats, tstats): a partial state per batch, merged in
//   batch order; memory grows with groups, not events;
// - a whole-table one (sort, dedup, join, eventstats …): projected rows are
//   kept in event order, up to EngineOptions::max_kept_rows per stream; past
//   that a located warning is given and the drop is counted (RuleStats).
// The tail (operators after the blocking one) runs once on the merged table.
//
// Batches have a fixed number of records and are merged in input order, so
// findings are identical for any thread count. Order of findings: rules
// without a blocking operator in input order (file, then record), then the
// aggregated rules' findings in rule load order, each in its result order.
//
// Accounting: every record passed to process() is evaluated (the readers
// count what they skipped), so read = evaluated + skipped holds end to end.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/diagnostic.h"
#include "core/value.h"
#include "ingest/record.h"
#include "ingest/reader.h"
#include "ingest/record_batch.h"
#include "ir/rule.h"
#include "match/event_matcher.h"
#include "normalize/normalizer.h"

namespace vigil {

/// The EventID values (lower-cased) an event must have for `p` to hold, when the predicate says so
/// (an `EventCode=N` / `EventID=N` / `event_simpleName=X` conjunct, or an OR of them); nullopt = any.
/// The engine buckets raw streams by them; the ClickHouse back end sends them as its scan condition.
std::optional<std::set<std::string>> required_event_ids(const ir::Predicate& p, const ir::AtomTable& atoms,
                                                        const std::vector<Symbol>& id_fields);

struct EngineOptions {
  double now = 0;                    ///< epoch seconds; 0 = wall clock at construction
  bool allow_writes = false;
  std::string writes_dir;
  unsigned threads = 0;              ///< evaluation workers; 0 = all cores; 1 = on the calling thread
  size_t batch_records = 512;        ///< records per batch (fixed: results must not depend on threads)
  size_t batch_bytes = RecordBatch::kBytesCut;  ///< or fewer, once their text reaches this (large records)
  size_t max_kept_rows = 2'000'000;  ///< rows one stream may hold for a whole-table operator
  bool profile = false;              ///< per-rule evaluation time (RuleStats::seconds), and phases()
  bool keep_matched = false;         ///< keep the first 10,000 matched events per rule (matched_events)
  bool note_fields = false;          ///< note the field names and indexes the events carry (fields_seen)
  /// A row whose `count` is 0 (`stats count` over no events gives one, as in Splunk) is no finding
  /// and is dropped, and an aggregation without BY over no events makes no row at all
  /// (ExecContext::rows_from_nothing); an ad-hoc query's results keep both.
  bool keep_zero_counts = false;
  std::string cache_dir;             ///< compiled prefilter databases kept here between runs; empty = none
  /// The compiled atoms and prefilter of the atom table (Engine::shared_matcher), when the caller runs
  /// many engines over one table (rule tests: one small engine per case); null = built here.
  std::shared_ptr<match::EventMatcher::Shared> matcher;
  /// Streams (rule index, stream index) whose first aggregation a back end computes itself over
  /// part of their events (ClickHouse push-down): the engine feeds such a stream only the events
  /// `aggregate_here` accepts (given the stream's view), and Engine::add_groups() the rest.
  std::vector<std::pair<uint32_t, uint32_t>> pushed;
  std::function<bool(const Event&, uint16_t view)> aggregate_here;
};

/// Where one matched event came from: the input and the record (EventRecordID, else line).
struct EventRef {
  std::string file;
  std::string record_id;
  bool recovered = false;  ///< an EVTX record read with --recover (deleted, not live)
  uint64_t offset = 0;     ///< its byte offset in the file, when recovered
  uint64_t line = 0;       ///< 1-based line of the record in a text input (JSON lines, XML, text); 0 for EVTX
};

struct Finding {
  const ir::CompiledRule* rule = nullptr;
  Row row;
  std::vector<EventRef> sources;  ///< the events behind the row, when the rule maps rows to events 1:1
};

struct RuleStats {
  uint64_t candidates = 0;      ///< events that reached the rule's filter (after bucketing and its gate)
  uint64_t events_matched = 0;  ///< events that passed stream 0's filter
  uint64_t rows_held = 0;       ///< rows kept for whole-table operators (all streams)
  uint64_t rows_dropped = 0;    ///< rows not kept past EngineOptions::max_kept_rows
  uint64_t groups_held = 0;     ///< groups of its aggregations' merged states (all streams), at the end
  /// Of those, groups never made into rows: an inner join after the aggregation had nothing on its right,
  /// or the aggregation is the right side of a join that had no row on its left.
  uint64_t groups_joined_away = 0;
  double seconds = 0;           ///< with EngineOptions::profile: filter, capture and operators
};

using FindingSink = std::function<void(Finding&&)>;

/// A row whose `count` is 0: what `stats count` (no BY) gives over no events (EngineOptions::keep_zero_counts).
bool is_zero_count(const Row& row);

class Engine {
 public:
  /// Findings go to `sink` as soon as they are final, in order and from one thread at a time: a
  /// worker's while process() runs (with threads), the caller's in finish(). The sink must not
  /// share unguarded state with the caller's thread until finish() returns.
  Engine(const Normalizer& normalizer, const ir::AtomTable& atoms, std::vector<const ir::CompiledRule*> rules,
         EngineOptions opts, DiagnosticSink& diags, FindingSink sink);
  ~Engine();

  /// What an engine over `atoms` compiles first (EngineOptions::matcher): every atom, and the prefilter
  /// groups, whose databases are built as events need them.
  static std::shared_ptr<match::EventMatcher::Shared> shared_matcher(const ir::AtomTable& atoms,
                                                                     const EngineOptions& opts);

  /// Groups computed elsewhere for a stream listed in EngineOptions::pushed (before finish()).
  /// False when the stream is not pushed or its operator does not take groups.
  bool add_groups(size_t rule, size_t stream, const std::vector<ir::PreGroup>& groups);

  void process(const Record& r);
  /// Whether a record would reach any rule's stream: some stream's filter holds for it, among those
  /// its event ID and data model datasets lead to (as process() would evaluate it; nothing is
  /// counted or kept). On the calling thread, between process() calls.
  bool admits(const Record& r);
  /// An input read by a worker (ReadOptions::defer): `read` hands its records to the visitor it is
  /// given and returns what read_unit reported, reading with `held` as read_unit's `held` (the
  /// engine's warnings about the unit's events go there too, in place). Its records are evaluated in
  /// input order after those of earlier process() calls; its diagnostics are replayed into the
  /// engine's sink in order, and its counts add up in deferred_read_stats().
  using DeferredRead = std::function<UnitReport(const RecordVisitor&, HoldingSink& held)>;
  void process_deferred(DeferredRead read);
  /// Evaluates the records buffered so far and hands on their findings (those of rules without an
  /// aggregation) before returning; more records may follow. For a live input that paused.
  void flush();
  /// Evaluates what is still buffered, merges, runs every rule's tail; call once after the last record
  /// (no process(), process_deferred() or flush() after it). With threads, the tails run side by
  /// side; their findings and diagnostics are still handed on by the caller, in rule order.
  void finish();

  uint64_t evaluated() const;
  /// What the deferred reads counted (after finish()).
  const ReadStats& deferred_read_stats() const;
  const std::vector<RuleStats>& rule_stats() const;
  /// With EngineOptions::profile, after finish(): the time spent on the events (evaluated()) before
  /// the rules (RuleStats::seconds), summed over the workers: normalizing them (the data model views
  /// and raw field names the rules read) and opening the rules' gates (the rule lists each visits,
  /// the literal prefilters' scans of its values).
  struct Phases {
    double normalize_seconds = 0;
    double gate_seconds = 0;
  };
  const Phases& phases() const;
  /// With EngineOptions::note_fields, after finish(): what the evaluated events carry, for a search
  /// that found nothing to say which of its fields no event has (cli/field_hints.h) without reading
  /// the input again.
  struct FieldsSeen {
    std::vector<uint8_t> names;        ///< by Symbol: 1 when some event has a field of that name
    std::vector<std::string> indexes;  ///< the distinct `index` values, the first 16
  };
  const FieldsSeen& fields_seen() const;
  /// Set once every stream that reads events has all the rows it can use (each one's first operator
  /// is a `head N` and it holds N rows): events read after that change no result, so the reading may
  /// stop (ReadOptions::stop). Never set for a stream without such a limit (a hunt's rules).
  const std::atomic<bool>& satisfied() const;
  /// The rule tails of finish(): how many threads ran them (1: the caller alone; at most 8), and
  /// their wall time.
  unsigned tail_threads() const;
  double tail_seconds() const;
  /// Whether stream `stream` of rule `rule` aggregates order-free: with several workers its rows
  /// feed one state for the run, instead of a state per batch merged in input order.
  bool aggregates_order_free(size_t rule, size_t stream) const;
  const std::vector<const ir::CompiledRule*>& rules() const;
  /// Matched events of rule i's stream 0, in input order (the first 10,000).
  const std::vector<EventRef>& matched_events(size_t i) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil
