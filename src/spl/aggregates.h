// Aggregate functions of stats / eventstats / streamstats / tstats, and the
// grouping they share. One Accumulator per (group, aggregate); feeding is by
// value text so fields read from events (strings) and eval results (numbers)
// aggregate the same way.
//
// Semantics (Splunk "Statistical and charting functions"; docs/spl.md §3.2, §5):
// - count: rows; count(f): values of f (a multivalue contributes each value);
// - min/max: numeric when every value is numeric, else lexicographic;
// - values: distinct, sorted lexicographically (byte order); list: row order, first 100;
// - earliest/latest: the value at the smallest/largest `_time` of its row;
//   first/last: the first/last value in row order (vigil's rows are in event order);
// - perc/pN/exactpercN/upperpercN: nearest rank (Splunk's method below 1000 distinct
//   values); median: the higher middle value for an even count, as Splunk documents;
// - sum/avg/stdev/var/range ignore non-numeric values and are null without any.
#pragma once
#include <map>
#include <unordered_map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/hash_index.h"
#include "core/strings.h"
#include "core/value.h"
#include "ir/plan.h"
#include "spl/ast.h"

namespace vigil::spl {

/// One aggregate compiled from its AST form.
struct AggSpec {
  enum class Kind : uint8_t {
    count, dc, min, max, values, list, sum, avg, stdev, stdevp, var, varp, range,
    earliest, latest, earliest_time, latest_time, first, last, median, perc, upperperc, mode,
  };
  Kind kind = Kind::count;
  std::string field;          ///< empty for bare count / eval form
  const Expr* eval = nullptr; ///< agg(eval(…)); owned by the AST that outlives the operator
  std::string output;         ///< output field name
  double percent = 50;        ///< perc family
};

/// Parse an aggregate's function name (`count`, `dc`, `p95`, `exactperc99.5`, …).
/// Empty string on success, else why it cannot run.
std::string compile_aggregate(const Aggregate& a, AggSpec& out);

/// Running state of one aggregate over the rows of one group.
class Accumulator {
 public:
  explicit Accumulator(const AggSpec* spec) : spec_(spec) {}
  /// Feed one row (reads the spec's field or evaluates its eval expression). With `hint` (rows that
  /// name each field once: ExecContext::rows_named_once), the field is looked up from there (Row::get_from).
  void add(const Row& row, ir::ExecContext& ctx, uint32_t* hint = nullptr);
  /// Feed a summary of rows computed elsewhere (ir::PreGroup::Part): `count` rows or values, and
  /// `values` as representatives. Only for count, dc, values, min and max, whose results do not
  /// depend on row order or on how often a value occurs.
  void add_summary(double count, const std::vector<std::string>& values);
  /// Current result; null when the aggregate has no value (e.g. avg of nothing).
  Value result() const;
  /// Fold in an accumulator of the same spec fed with rows that come after this one's
  /// (first/last/list/earliest ties keep their sequential meaning).
  void merge(Accumulator& later);
  /// values/dc: hold the distinct values as ids of texts interned process-wide from now on (an
  /// accumulator of a merged table, which lives for the run: see GroupTable).
  void intern();

 private:
  /// `canonical`: `t` is format_number's text of a number-typed value (so the number stands for it).
  /// `parsed`: parse_number's value of `t`, when the caller has it (null: parse it here, if needed).
  void add_text(std::string_view t, double time, bool has_time, bool canonical = false,
                const double* parsed = nullptr);
  /// min/max: the lexicographic extreme texts, of the text-typed values and of the number-typed ones.
  std::optional<std::string> extreme_text(bool low) const;
  // One accumulator lives per (group, aggregate), so a high-cardinality BY clause multiplies its
  // size: numbers inline, text state only for the aggregates that keep text.
  struct Texts {
    // One aggregate per accumulator, so two slots serve them all: lo = min / first / earliest,
    // hi = max / last / latest (every ESCU rule keeps min(_time) and max(_time) per group).
    std::optional<std::string> lo, hi;
    std::vector<std::string> texts;  // list/median/perc/mode, in arrival order
    std::set<std::string, std::less<>> distinct;  // values/dc: grows with distinct values, not rows
    // values/dc once interned: the distinct values' text ids, ascending. A command line that many
    // groups and rules collect is then held once, not once per group and rule.
    std::vector<uint32_t> ids;
    std::vector<uint32_t> fresh;  // ids added since the last settle_ids: distinct, none in `ids`
  };
  static constexpr size_t kFreshIds = 32;
  static void settle_ids(Texts& x);
  Texts& tx() {
    if (!t_) t_ = std::make_unique<Texts>();
    return *t_;
  }
  const AggSpec* spec_;
  double count_ = 0;
  // The numeric statistics (sum … range, Welford) and the time extremes are never both used by one
  // aggregate, so they share their storage: a high-cardinality BY clause multiplies this size.
  struct Stat {
    double n = 0, mean = 0, m2 = 0, sum = 0;
  };
  // earliest/latest: the times of the earliest and latest rows (`have_time_`: some row had one).
  // min/max: the number-typed value whose text is the lexicographic extreme among those values
  // (min: early, max: late), kept as a number, so min(_time)/max(_time) (every ESCU tstats) need
  // no text state (`have_time_`: some was fed). Its text is format_number's, which gives back the
  // same text for the number parsed from it (15 significant digits).
  struct Times {
    double early, late;
  };
  union {
    Stat stat_{};  // sum, avg, stdev, stdevp, var, varp, range
    Times time_;   // min, max, earliest, latest, earliest_time, latest_time
  };
  static bool numeric_statistic(AggSpec::Kind k) { return k >= AggSpec::Kind::sum && k <= AggSpec::Kind::range; }
  // The numeric extremes of the values that parse as numbers (min/max, range).
  void note_number(double d) {
    if (!have_num_ || d < lo_num_) lo_num_ = d;
    if (!have_num_ || d > hi_num_) hi_num_ = d;
    have_num_ = true;
  }
  double lo_num_ = 0, hi_num_ = 0;
  bool have_num_ = false;
  bool all_numeric_ = true;
  bool have_time_ = false;
  bool interned_ = false;  // values/dc keep ids (Texts::ids), not texts
  std::unique_ptr<Texts> t_;
};

/// Compiled aggregate list plus BY clause shared by the stats-family operators.
struct GroupSpec {
  std::vector<AggSpec> aggs;
  std::vector<std::string> by;
  std::vector<std::optional<double>> by_span;  ///< `_time span=1h` bucket size per BY field
  /// tstats fillnull_value: missing BY fields take this text instead of dropping the row.
  std::optional<std::string> fillnull;
};

/// Build a GroupSpec; empty string on success else the reason.
std::string compile_group_spec(const std::vector<Aggregate>& aggs, const std::vector<ByField>& by, GroupSpec& out);

/// Fields the aggregation reads: BY fields, aggregate fields, fields of eval(…) arguments, and
/// `_time` (earliest/latest order). False when an expression's inputs cannot be told.
bool group_spec_reads(const GroupSpec& spec, std::vector<std::string>& out);

/// Group-key values of a row (cartesian over multivalue BY fields). Empty when the row is
/// dropped (a BY field is null and no fillnull is set, or a span's value is not a number).
/// With `only`, a key holds just the values of those BY positions, in that order (every BY
/// field still decides whether the row is dropped), one key per distinct combination of them.
std::vector<std::vector<Value>> group_keys(const GroupSpec& spec, const Row& row,
                                           const std::vector<uint32_t>* only = nullptr);

/// Grouped aggregation state of one stats-family operator: rows go in (in order), partial
/// tables from consecutive row ranges merge, and the output is one row per group.
/// Groups are found by hashing their exact key texts ("1" and "1.0" are distinct groups); the
/// numeric-aware order is applied once, in finish().
/// A table that others are merged into (the engine's running state of a rule) keeps its keys as
/// ids of texts interned process-wide: ESCU rules group the same events by the same long fields
/// (command lines, paths), so each distinct text is held once, not once per group and rule. The
/// engine's batch tables are interned too (seal), on their worker, before they are merged.
class GroupTable {
 public:
  explicit GroupTable(const GroupSpec* spec) : spec_(spec) {}
  void add(const Row& row, ir::ExecContext& ctx);
  /// Fold in a table built from rows that come after this one's.
  void merge(GroupTable& later);
  /// Interns this table's keys now (thread-safe), so that merging it into another (on the one
  /// merging thread) only looks its groups up.
  void seal() { intern_keys(); }
  /// Adds a group computed elsewhere (its BY values as text; one part per aggregate).
  void add_group(const ir::PreGroup& g);
  /// One row per group, sorted by the BY values (order_texts: numbers, then texts); BY fields first, then aggregates.
  /// With no BY fields there is always one row (count=0 on no input). With `spend`, each group's
  /// state is freed once its row is made (so rows and groups are not all held) and the table is
  /// left empty; without, the table stays as it was.
  Table finish(bool spend = true);
  /// A group of finish()'s output, before its aggregates are made into values: its BY values (as
  /// finish() sets them) and its accumulators, to be merged further (timechart's buckets and OTHER).
  struct TakenGroup {
    std::vector<Value> by;
    std::vector<Accumulator> accs;
  };
  /// The groups in finish()'s order, handed over; the table is left empty.
  std::vector<TakenGroup> take_groups();
  size_t groups() const { return groups_.size(); }

 private:
  struct Group {
    /// BY positions (ascending) whose value is a number (span buckets, numeric fields), with the
    /// number: the output row keeps it typed. Every other BY value is its text in the key.
    std::vector<std::pair<uint32_t, double>> nums;
    std::vector<Accumulator> accs;
  };
  /// Calls `take` with each group and its BY values, in finish()'s order.
  template <class Take>
  void each_sorted(Take&& take);
  void add_to(const std::string& key, bool typed, const std::vector<Value>* typed_key, const Row& row,
              ir::ExecContext& ctx);
  void add_to_keyed(const std::string& key, bool typed, const std::vector<Value>* typed_key, const Row& row,
                    ir::ExecContext& ctx);
  struct SpanText {
    bool valid = false;
    double bucket = 0;
    std::string text;
    uint32_t id = UINT32_MAX;  ///< the text's pool id, once an interned table has asked for it
  };

  /// Turns this table's text keys into id keys (seal, or the first merge into it).
  void intern_keys();
  /// The key's BY texts: views into the key (text keys) or into the process-wide pool (id keys).
  std::vector<std::string_view> key_texts(std::string_view key) const;

  const GroupSpec* spec_;
  /// Key: each BY text as a 4-byte length then its bytes; once interned_, one 4-byte text id per BY field.
  struct Entry {
    std::string key;
    size_t hash;
    Group group;
  };
  /// The groups, found through an open-addressing index of (hash tag, position): a lookup reads one
  /// slot and, when the tag matches, one key (a node-based map walked a bucket list to get there).
  std::vector<Entry> groups_;
  HashIndex index_;
  Entry* find(std::string_view key, size_t hash);
  Entry& insert(std::string key, size_t hash, Group group);
  void rebuild_index();  ///< after the groups' keys (and hashes) changed
  void clear_groups();
  bool interned_ = false;
  std::string scratch_, id_scratch_;
  std::vector<const Value*> by_values_;  ///< add(): the row's BY values, once it is known to be kept
  std::vector<SpanText> span_cache_;  ///< per BY field: the last span bucket and its text
  /// Per BY field, then per aggregate: where the last row had its field (rows named once).
  std::vector<uint32_t> by_hint_, agg_hint_;
};

/// Full `stats`: one output row per group, sorted by the BY values (numeric-aware),
/// BY fields first then aggregates. With no BY fields there is always one row (count=0 on no input).
Table run_stats(const GroupSpec& spec, const Table& rows, ir::ExecContext& ctx);

}  // namespace vigil::spl
