// A plan is what the engine runs for one rule: one or more streams. Each
// stream is a source (raw events, a CIM dataset, or nothing for generating
// commands), a streaming filter predicate evaluated per event, the fields
// captured from each matching event into a row, and the operators that run
// over the captured rows afterwards (stats, eval, rename, join, …).
// Stream 0 is the rule's result; other streams feed operators such as `join`
// and `append` through ExecContext::stream_result().
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"
#include "core/value.h"
#include "ir/predicate.h"

namespace vigil::ir {

struct Source {
  enum class Kind : uint8_t {
    raw,        ///< Splunk's raw view of every event (sourcetype, EventCode, Image, …)
    datamodel,  ///< a CIM dataset view, e.g. Endpoint.Processes (fields `Processes.*`)
    none,       ///< no events (generating commands such as inputlookup)
  };
  Kind kind = Kind::raw;
  std::string datamodel;  ///< "Endpoint"
  std::string dataset;    ///< "Processes" (for a root-only `datamodel=Web`, the root dataset name)
};

class ExecContext {
 public:
  virtual ~ExecContext() = default;
  /// The finished table of stream `k` of the same plan (runs its operators on first use).
  virtual Table stream_result(size_t k) = 0;
  /// Stream `k`'s result will not be asked for (a join with no rows to join it to): its state may be
  /// let go without making its table (the engine still runs a stream with operators that need whole
  /// tables: its own subsearches, writes).
  virtual void skip_stream(size_t k) { (void)k; }
  double now = 0;                     ///< epoch seconds for now()/relative_time()
  DiagnosticSink* diags = nullptr;    ///< runtime problems (bad regex at run time, limits hit)
  SourceLocation where;               ///< the rule, for diagnostics
  bool allow_writes = false;          ///< outputlookup & co. are refused unless the user enabled them
  /// An aggregation without BY fields over no rows gives one row (`stats count` says 0), as Splunk
  /// does; false (a hunt): none, so no finding is made of no events.
  bool rows_from_nothing = true;
  std::string writes_dir;
  /// The rows given to an aggregation now name each field once, laid out alike row after row (the
  /// engine's captures): it may look a name up where it found it in the last row (Row::get_from).
  bool rows_named_once = false;
  /// With rows_named_once, for a row many aggregations read in turn (the engine's capture groups):
  /// the text pool ids of its entries found so far, by entry index, valid where `seq` is
  /// entry_seq. Only for one row per entry_seq (the row of one event), and entry_seq is never 0.
  /// Null: none kept.
  struct EntryId {
    uint64_t seq = 0;
    uint32_t id = 0;
  };
  std::vector<EntryId>* entry_ids = nullptr;
  uint64_t entry_seq = 0;
};

/// How an operator consumes rows; decides where the engine's streaming plan splits a stream.
enum class OpShape : uint8_t {
  per_row,    ///< each output row depends on one input row only (eval, rename, where, rex, lookup …):
              ///< runs per event batch, in the workers
  mergeable,  ///< an aggregation whose partial states merge (stats, tstats): see MergeableOperator
  whole,      ///< needs every row at once, in order (sort, dedup, head, join, eventstats …)
};

class Operator {
 public:
  virtual ~Operator() = default;
  virtual std::string name() const = 0;
  /// Transform the rows in place.
  virtual void run(Table& rows, ExecContext& ctx) = 0;
  virtual OpShape shape() const { return OpShape::whole; }
  /// Appends the input fields this operator reads (`*` globs allowed) and returns true; false when
  /// it cannot tell (it may read any field). Used for projection and for field-aware lint.
  virtual bool reads(std::vector<std::string>& fields) const { return false; }
  // What a per-row operator does to a row, so the engine can run filters that depend only on an
  // aggregation's BY values before the aggregation (see the engine's plan_prefilter).
  /// Appends the fields it may set, change or clear (exact names) and returns true; false when it
  /// cannot tell. Filters, projections and renames write none here.
  virtual bool writes(std::vector<std::string>& fields) const { return false; }
  /// It only drops rows (search, where, regex).
  virtual bool filters() const { return false; }
  /// Its output rows hold only the fields it names (reads()) and those it makes (`table a b`, as an
  /// aggregation's hold its BY values and aggregates): no other field of its input passes through,
  /// so a stream needs to capture only what it and the operators before it read.
  virtual bool projects() const { return false; }
  /// A rename: the name a field called `field` has after it (nullopt: not renamed).
  virtual std::optional<std::string> renamed(std::string_view field) const { return std::nullopt; }
  /// A stream (ExecContext::stream_result) whose empty result leaves this operator's output empty
  /// whatever rows it is given (an inner join's right side): then those rows need not be made.
  virtual std::optional<size_t> empty_with_stream() const { return std::nullopt; }
  /// `head N`: its output is the first N rows it is given, so rows after those change nothing (a
  /// search whose every stream has its N stops reading: Engine::satisfied).
  virtual std::optional<size_t> row_limit() const { return std::nullopt; }
  /// `sort`: orders `rows` as run() does and keeps the first `n`. Rows that come later in the input
  /// (appended after these) can then be ordered with them again: a stable order of all of them
  /// begins with the same n rows. False: not an ordering operator.
  virtual bool keep_first_in_order(Table& rows, size_t n) const { return false; }
  /// `sort N`: the N it keeps (0: all).
  virtual size_t order_limit() const { return 0; }
};

/// Partial result of a mergeable operator over some of its input rows.
class PartialState {
 public:
  virtual ~PartialState() = default;
};

/// What a grouped aggregation computes, for a back end that may compute it where the data lives
/// (ClickHouse push-down). Only the order-free functions are named; the rest are `other`.
struct AggregateSpec {
  enum class Func : uint8_t {
    count,        ///< rows
    count_field,  ///< values of `field` (a multivalue field contributes each value)
    dc, values,   ///< distinct values of `field`
    min, max,     ///< numeric when every value of the group is numeric, else lexicographic
    other,        ///< anything else (order-dependent, numeric sums, percentiles, eval(…))
  };
  struct Agg {
    Func func = Func::other;
    std::string field;
    std::string written;  ///< the function as written (for messages)
  };
  std::vector<std::string> by;
  std::vector<std::optional<double>> by_span;  ///< per BY field: its span= bucket size (seconds)
  std::optional<std::string> fillnull;  ///< missing BY values take this text instead of dropping the row
  std::vector<Agg> aggs;
};

/// One group computed elsewhere over some of the operator's input rows.
struct PreGroup {
  /// BY values in BY order: text, or a number where the operator's own key is a number (a `_time`
  /// value or span bucket), exactly as it would have computed it.
  std::vector<Value> key;
  struct Part {
    double count = 0;  ///< count: rows; count_field: values; else unused
    /// dc/values: the group's distinct values. min/max: any of the group's values that include its
    /// smallest and largest (numerically and as text) and a non-numeric one if there is one.
    std::vector<std::string> values;
  };
  std::vector<Part> parts;  ///< per aggregate, in AggregateSpec::aggs order
};

/// An aggregation whose state is built per event batch (in the workers) and merged in input
/// order, so results do not depend on how batches were spread over threads.
class MergeableOperator : public Operator {
 public:
  OpShape shape() const override { return OpShape::mergeable; }
  virtual std::unique_ptr<PartialState> make_state() const = 0;
  /// Feed rows (in event order) into a state.
  virtual void add(PartialState& state, const Table& rows, ExecContext& ctx) const = 0;
  /// Fold `later` (built from rows that come after those of `into`) into `into`.
  virtual void merge(PartialState& into, PartialState& later) const = 0;
  /// Readies a state fed on a worker for merge(), on that worker: the work merge() would do on
  /// the one merging thread, done where it runs in parallel. Optional; results are the same.
  virtual void seal(PartialState& state) const {}
  /// The operator's output over every row fed. With `spend`, the state is used up (it may be
  /// emptied as the output is made); without, it is left as it was (a state serving several streams).
  virtual Table finish(PartialState& state, ExecContext& ctx, bool spend = true) const = 0;
  /// Appends the names of the fields its aggregates output (not the BY fields) and returns true;
  /// false when it cannot tell.
  virtual bool aggregate_outputs(std::vector<std::string>& names) const { return false; }
  /// Appends one row per group that `row` feeds (none: it feeds no group), holding the group's BY
  /// values as finish() outputs them, only those of the BY fields at positions `by` (ascending; the
  /// rows then stand for the distinct groups over those fields). False when it cannot tell.
  virtual bool group_rows(const Row& row, const std::vector<uint32_t>& by, Table& out) const { return false; }
  /// Groups the state holds (what its memory grows with), for --profile.
  virtual size_t groups(const PartialState& state) const { return 0; }
  /// What it computes, when it can say (see AggregateSpec).
  virtual std::optional<AggregateSpec> describe() const { return std::nullopt; }
  /// Equal for two operators that compute the same output from the same rows (so one state can
  /// serve both); empty when it cannot tell.
  virtual std::string signature() const { return {}; }
  /// Adds a group computed elsewhere; only for the order-free functions of describe(). Groups
  /// with the same key as rows fed (or other groups) combine as if their rows had been fed.
  virtual bool add_group(PartialState& state, const PreGroup& group) const { return false; }
  void run(Table& rows, ExecContext& ctx) override {
    auto s = make_state();
    add(*s, rows, ctx);
    rows = finish(*s, ctx);
  }
};

struct Stream {
  Source source;
  Predicate filter;                     ///< per-event filter; always-true when the search has no terms
  bool capture_all = true;              ///< capture every field of the source view
  std::vector<std::string> capture;     ///< else only these (plus _time)
  std::vector<std::unique_ptr<Operator>> operators;
};

struct Plan {
  std::vector<Stream> streams;
  /// Front-end structures the operators point into (e.g. the SPL syntax tree), kept alive with the plan.
  std::vector<std::shared_ptr<const void>> owned;
};

}  // namespace vigil::ir
