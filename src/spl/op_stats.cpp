// Aggregating commands: stats, eventstats, streamstats, top, rare, tstats, bin/bucket, addtotals.
#include <algorithm>
#include <cmath>
#include <deque>
#include <map>

#include "core/strings.h"
#include "spl/aggregates.h"
#include "spl/eval.h"
#include "spl/operators.h"

namespace vigil::spl::ops {

namespace {

std::string key_of(const std::vector<Value>& k) {
  std::string s;
  for (auto& v : k) {
    s += v.to_string();
    s += '\x1f';
  }
  return s;
}

// An aggregation over one GroupTable (stats, tstats, top, rare): the engine builds a table per
// event batch and merges them in input order.
class GroupTableOp : public ir::MergeableOperator {
 public:
  explicit GroupTableOp(GroupSpec spec) : spec_(std::move(spec)) {}
  bool reads(std::vector<std::string>& f) const override { return group_spec_reads(spec_, f); }

  struct State final : ir::PartialState {
    explicit State(const GroupSpec* s) : table(s) {}
    GroupTable table;
  };
  std::unique_ptr<ir::PartialState> make_state() const override { return std::make_unique<State>(&spec_); }
  void add(ir::PartialState& s, const Table& rows, ir::ExecContext& ctx) const override {
    auto& t = static_cast<State&>(s).table;
    for (const Row& r : rows) t.add(r, ctx);
  }
  void merge(ir::PartialState& into, ir::PartialState& later) const override {
    static_cast<State&>(into).table.merge(static_cast<State&>(later).table);
  }
  void seal(ir::PartialState& s) const override { static_cast<State&>(s).table.seal(); }
  size_t groups(const ir::PartialState& s) const override { return static_cast<const State&>(s).table.groups(); }

 protected:
  static GroupTable& table(ir::PartialState& s) { return static_cast<State&>(s).table; }
  // Without BY fields, no rows still make one row (`stats count` says 0), but not in a hunt
  // (ExecContext::rows_from_nothing): there it would be a finding of no events.
  bool no_row_of_nothing(ir::PartialState& s, const ir::ExecContext& ctx) const {
    return !ctx.rows_from_nothing && spec_.by.empty() && table(s).groups() == 0;
  }
  GroupSpec spec_;
};

class StatsOp final : public GroupTableOp {
 public:
  StatsOp(GroupSpec spec, std::string name) : GroupTableOp(std::move(spec)), name_(std::move(name)) {}
  std::string name() const override { return name_; }
  Table finish(ir::PartialState& s, ir::ExecContext& ctx, bool spend) const override {
    if (no_row_of_nothing(s, ctx)) return {};
    return table(s).finish(spend);
  }
  bool aggregate_outputs(std::vector<std::string>& f) const override {
    for (auto& a : spec_.aggs) f.push_back(a.output);
    return true;
  }
  bool group_rows(const Row& row, const std::vector<uint32_t>& by, Table& out) const override {
    std::vector<uint32_t> asked;
    for (uint32_t i : by)
      if (i < spec_.by.size()) asked.push_back(i);
    for (auto& key : group_keys(spec_, row, &asked)) {
      Row& g = out.emplace_back();
      for (size_t k = 0; k < asked.size(); ++k) g.set(spec_.by[asked[k]], std::move(key[k]));
    }
    return true;
  }
  std::optional<ir::AggregateSpec> describe() const override {
    using F = ir::AggregateSpec::Func;
    using K = AggSpec::Kind;
    ir::AggregateSpec d;
    d.by = spec_.by;
    d.by_span = spec_.by_span;
    d.fillnull = spec_.fillnull;
    for (auto& a : spec_.aggs) {
      ir::AggregateSpec::Agg g;
      g.field = a.field;
      static const char* const kNames[] = {"count", "dc", "min", "max", "values", "list", "sum", "avg", "stdev",
                                           "stdevp", "var", "varp", "range", "earliest", "latest",
                                           "earliest_time", "latest_time", "first", "last", "median",
                                           "perc", "upperperc", "mode"};
      g.written = std::string(kNames[size_t(a.kind)]) + "(" + (a.eval ? "eval(…)" : a.field) + ") as " + a.output;
      if (a.eval) g.func = F::other;
      else if (a.kind == K::count) g.func = a.field.empty() ? F::count : F::count_field;
      else if (a.kind == K::dc) g.func = F::dc;
      else if (a.kind == K::values) g.func = F::values;
      else if (a.kind == K::min) g.func = F::min;
      else if (a.kind == K::max) g.func = F::max;
      d.aggs.push_back(std::move(g));
    }
    return d;
  }
  std::string signature() const override {
    // Every part of the spec, each length-prefixed; eval(…) arguments are not compared.
    std::string sig = name_;
    auto put = [&](std::string_view t) { sig += std::to_string(t.size()) + ":" + std::string(t); };
    for (auto& a : spec_.aggs) {
      if (a.eval) return {};
      put(std::to_string(int(a.kind)) + "/" + std::to_string(a.percent));
      put(a.field);
      put(a.output);
    }
    sig += "|by";
    for (size_t i = 0; i < spec_.by.size(); ++i) {
      put(spec_.by[i]);
      put(spec_.by_span[i] ? std::to_string(*spec_.by_span[i]) : "-");
    }
    sig += spec_.fillnull ? "|fill" : "|nofill";
    if (spec_.fillnull) put(*spec_.fillnull);
    return sig;
  }
  bool add_group(ir::PartialState& s, const ir::PreGroup& g) const override {
    if (g.key.size() != spec_.by.size() || g.parts.size() != spec_.aggs.size()) return false;
    table(s).add_group(g);
    return true;
  }

 private:
  std::string name_;
};

class EventstatsOp final : public ir::Operator {
 public:
  explicit EventstatsOp(GroupSpec spec) : spec_(std::move(spec)) {}
  std::string name() const override { return "eventstats"; }
  bool reads(std::vector<std::string>& f) const override { return group_spec_reads(spec_, f); }
  void run(Table& rows, ir::ExecContext& ctx) override {
    std::map<std::string, std::vector<Accumulator>> groups;
    std::vector<std::vector<std::string>> row_keys(rows.size());
    for (size_t i = 0; i < rows.size(); ++i)
      for (auto& k : group_keys(spec_, rows[i])) {
        std::string ks = key_of(k);
        auto it = groups.find(ks);
        if (it == groups.end()) {
          std::vector<Accumulator> accs;
          for (auto& a : spec_.aggs) accs.emplace_back(&a);
          it = groups.emplace(ks, std::move(accs)).first;
        }
        for (auto& acc : it->second) acc.add(rows[i], ctx);
        row_keys[i].push_back(std::move(ks));
      }
    // Results are attached to every row of the group; rows outside any group get nothing.
    for (size_t i = 0; i < rows.size(); ++i) {
      if (row_keys[i].empty()) continue;
      auto& accs = groups.at(row_keys[i].front());
      for (size_t a = 0; a < spec_.aggs.size(); ++a) rows[i].set(spec_.aggs[a].output, accs[a].result());
    }
  }

 private:
  GroupSpec spec_;
};

class StreamstatsOp final : public ir::Operator {
 public:
  StreamstatsOp(GroupSpec spec, bool current, size_t window) : spec_(std::move(spec)), current_(current), window_(window) {}
  std::string name() const override { return "streamstats"; }
  bool reads(std::vector<std::string>& f) const override { return group_spec_reads(spec_, f); }
  void run(Table& rows, ir::ExecContext& ctx) override {
    // Per group, the indexes of the rows seen so far (the last `window` when windowed).
    std::map<std::string, std::deque<size_t>> seen;
    std::vector<std::vector<Value>> results(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      auto keys = group_keys(spec_, rows[i]);
      if (keys.empty()) continue;
      auto& q = seen[key_of(keys.front())];
      if (current_) push(q, i);
      std::vector<Accumulator> accs;
      for (auto& a : spec_.aggs) accs.emplace_back(&a);
      for (size_t j : q)
        for (auto& acc : accs) acc.add(rows[j], ctx);
      for (auto& acc : accs) results[i].push_back(acc.result());
      if (!current_) push(q, i);
    }
    for (size_t i = 0; i < rows.size(); ++i)
      for (size_t a = 0; a < results[i].size(); ++a) rows[i].set(spec_.aggs[a].output, results[i][a]);
  }

 private:
  void push(std::deque<size_t>& q, size_t i) const {
    q.push_back(i);
    if (window_ && q.size() > window_) q.pop_front();
  }
  GroupSpec spec_;
  bool current_;
  size_t window_;
};

class BinOp final : public ir::Operator {
 public:
  BinOp(std::string field, std::string out, double span, bool is_time)
      : field_(std::move(field)), out_(std::move(out)), span_(span), is_time_(is_time) {}
  std::string name() const override { return "bin"; }
  ir::OpShape shape() const override { return ir::OpShape::per_row; }
  bool reads(std::vector<std::string>& f) const override {
    f.push_back(field_);
    return true;
  }
  bool writes(std::vector<std::string>& f) const override {
    f.push_back(out_);
    return true;
  }
  void run(Table& rows, ir::ExecContext&) override {
    for (Row& r : rows) {
      const Value* v = r.get(field_);
      if (!v || v->is_multi()) continue;
      auto n = v->to_number();
      if (!n) continue;
      double lo = std::floor(*n / span_) * span_;
      // _time stays an epoch (the bucket start); other fields become "lo-hi" ranges, as Splunk's bin prints them.
      if (is_time_) r.set(out_, Value(lo));
      else r.set(out_, Value(format_number(lo) + "-" + format_number(lo + span_)));
    }
  }

 private:
  std::string field_, out_;
  double span_;
  bool is_time_;
};

class AddtotalsOp final : public ir::Operator {
 public:
  AddtotalsOp(std::vector<std::string> fields, std::string fieldname, bool row, bool col, std::string labelfield,
              std::string label)
      : fields_(std::move(fields)), fieldname_(std::move(fieldname)), row_(row), col_(col),
        labelfield_(std::move(labelfield)), label_(std::move(label)) {}
  std::string name() const override { return "addtotals"; }
  // Row totals only (col=false, the default) touch each row alone.
  ir::OpShape shape() const override { return col_ ? ir::OpShape::whole : ir::OpShape::per_row; }
  // The named fields (a glob among them makes the engine capture every field). With none named it
  // sums every non-internal field, so it cannot tell.
  bool reads(std::vector<std::string>& f) const override {
    if (fields_.empty()) return false;
    f.insert(f.end(), fields_.begin(), fields_.end());
    return true;
  }
  void run(Table& rows, ir::ExecContext&) override {
    std::vector<std::string> col_order;
    std::map<std::string, double> col_sums;
    for (Row& r : rows) {
      double total = 0;
      bool any = false;
      for (auto& [k, v] : r.entries()) {
        if (k == fieldname_ || !selected(k) || v.is_multi()) continue;
        auto n = v.to_number();
        if (!n) continue;
        total += *n;
        any = true;
        if (col_) {
          if (!col_sums.count(k)) col_order.push_back(k);
          col_sums[k] += *n;
        }
      }
      if (row_ && any) r.set(fieldname_, Value(total));
    }
    if (col_) {
      Row summary;
      if (!labelfield_.empty()) summary.set(labelfield_, Value(label_));
      for (auto& k : col_order) summary.set(k, Value(col_sums[k]));
      rows.push_back(std::move(summary));
    }
  }

 private:
  bool selected(const std::string& k) const {
    if (fields_.empty()) return k.empty() || k[0] != '_';
    for (auto& f : fields_)
      if (field_glob(f, k)) return true;
    return false;
  }
  std::vector<std::string> fields_;
  std::string fieldname_;
  bool row_, col_;
  std::string labelfield_, label_;
};

bool opt_bool(const std::map<std::string, std::string>& m, std::string_view k, bool def) {
  std::string v = opt(m, k);
  if (v.empty()) return def;
  return iequals(v, "true") || iequals(v, "t") || v == "1";
}

// top / rare: a count by the BY fields and the listed fields (merged across workers as stats is),
// then per BY group its `limit` most (least) common value combinations, most (least) first, with
// `percent` of the group's count. Ties keep the count table's order (by value).
class TopOp final : public GroupTableOp {
 public:
  struct Settings {
    bool rare = false;
    size_t limit = 10;  // 0: all
    size_t by_fields = 0;  // the first BY fields of the spec group; the rest are the listed fields
    std::string countfield = "count", percentfield = "percent";
    bool showcount = true, showperc = true;
  };
  TopOp(GroupSpec spec, Settings st) : GroupTableOp(std::move(spec)), st_(std::move(st)) {}
  std::string name() const override { return st_.rare ? "rare" : "top"; }
  bool aggregate_outputs(std::vector<std::string>& f) const override {
    if (st_.showcount) f.push_back(st_.countfield);
    if (st_.showperc) f.push_back(st_.percentfield);
    return true;
  }
  Table finish(ir::PartialState& s, ir::ExecContext&, bool spend) const override {
    Table counted = table(s).finish(spend);  // sorted by the BY values
    // Rows of one BY group are adjacent (the table is sorted by the BY values, the group's first).
    auto same_group = [&](const Row& x, const Row& y) {
      for (size_t i = 0; i < st_.by_fields; ++i) {
        const Value *a = x.get(spec_.by[i]), *b = y.get(spec_.by[i]);
        if (!(a && b ? *a == *b : a == b)) return false;
      }
      return true;
    };
    auto count_of = [&](const Row& r) {
      const Value* v = r.get(st_.countfield);
      return v && v->is_number() ? v->number() : 0.0;
    };
    Table out;
    for (size_t b = 0; b < counted.size();) {
      size_t e = b + 1;
      while (e < counted.size() && same_group(counted[b], counted[e])) ++e;
      double total = 0;
      for (size_t i = b; i < e; ++i) total += count_of(counted[i]);
      std::stable_sort(counted.begin() + long(b), counted.begin() + long(e), [&](const Row& x, const Row& y) {
        return st_.rare ? count_of(x) < count_of(y) : count_of(x) > count_of(y);
      });
      const size_t keep = st_.limit == 0 ? e - b : std::min(st_.limit, e - b);
      for (size_t i = b; i < b + keep; ++i) {
        Row& r = counted[i];
        const double n = count_of(r);
        if (st_.showperc) r.set(st_.percentfield, Value(std::round(n * 100 / total * 1e6) / 1e6));
        if (!st_.showcount) r.erase(st_.countfield);
        out.push_back(std::move(r));
      }
      b = e;
    }
    return out;
  }

 private:
  Settings st_;
};

OperatorResult make_top(const StatsCmd& s, bool rare) {
  const char* n = rare ? "rare" : "top";
  TopOp::Settings st;
  st.rare = rare;
  if (auto l = opt(s.options, "limit"); !l.empty()) {
    long long v = 0;
    if (!parse_int(l, v) || v < 0) return error(std::string(n) + ": bad limit '" + l + "'");
    st.limit = size_t(v);
  }
  if (opt_bool(s.options, "useother", false)) return error(std::string(n) + ": useother=true is not supported");
  st.countfield = unquote_field(opt(s.options, "countfield", "count"));
  st.percentfield = unquote_field(opt(s.options, "percentfield", "percent"));
  st.showcount = opt_bool(s.options, "showcount", true);
  st.showperc = opt_bool(s.options, "showperc", true);
  // Counted by the BY fields, then the listed ones.
  std::vector<ByField> by = s.by;
  for (auto& a : s.aggregates) by.push_back(ByField{a.field, {}});
  st.by_fields = s.by.size();
  std::vector<Aggregate> aggs(1);
  aggs[0].func = "count";
  aggs[0].alias = st.countfield;
  GroupSpec spec;
  std::string why = compile_group_spec(aggs, by, spec);
  if (!why.empty()) return error(why);
  for (auto& b : spec.by) b = unquote_field(b);
  return ok<TopOp>(std::move(spec), std::move(st));
}

// timechart / chart: an aggregation by a row field (timechart: `_time` in span buckets) and an
// optional column field, pivoted into one row per row value and one column per column value (a
// series). The counting is a GroupTable, merged across workers as stats is; the pivot runs once on
// the merged groups:
// - series beyond `limit` (ranked by the sum of the first aggregate's values over all rows, as
//   Splunk's default agg=sum does) go into one OTHER series, whose cells merge their states
//   (useother=t), or are dropped; rows whose column value is null form the NULL series (usenull=t);
// - columns: the row field, then the series in text order, NULL and OTHER last. One aggregate: a
//   column per series, named by it; several: "<aggregate>: <series>". No column field: a column per
//   aggregate;
// - timechart: every bucket from the first to the last (cont=t), `_span` on each row; cells with no
//   rows hold 0 for count and dc, nothing for the others. Without span=, the span is the smallest of
//   Splunk's thresholds (1s, 5s, 10s, 30s, 1m, 5m, 10m, 30m, 1h, 1d, 30d) giving at most 100
//   buckets over the rows' times: the state keeps 1-second buckets, merged into the span's at the end.
class ChartOp final : public GroupTableOp {
 public:
  struct Settings {
    bool timechart = false;
    std::optional<double> span;  // timechart: bucket seconds; none: chosen from the rows' times
    bool has_row = false;        // the spec's first BY field is the row field
    bool has_column = false;     // the spec's last BY field is the column field
    size_t limit = 10;           // 0: every series
    bool bottom = false;         // limit=bottomN: the N smallest
    bool useother = true, usenull = true, cont = true;
    std::string otherstr = "OTHER", nullstr = "NULL";
  };
  // BY values the spec gives missing fields (fillnull), so that null column values form a series.
  static constexpr std::string_view kMissing = "\x1evigil:null\x1e";

  ChartOp(GroupSpec spec, Settings st) : GroupTableOp(std::move(spec)), st_(std::move(st)) {}
  std::string name() const override { return st_.timechart ? "timechart" : "chart"; }

  // Always spends the state: with no signature() it serves one stream only, never a shared one.
  Table finish(ir::PartialState& s, ir::ExecContext& ctx, bool) const override {
    if (spec_.by.empty()) return no_row_of_nothing(s, ctx) ? Table{} : table(s).finish(true);  // `chart count`: as stats
    std::vector<Cell> cells = take_cells(table(s));
    double span = st_.span.value_or(1);
    if (st_.timechart && !st_.span && !cells.empty()) span = rebucket(cells);
    Series series = choose_series(cells);
    std::vector<OutRow> rows = pivot(cells, series);
    if (st_.timechart && st_.cont) fill_buckets(rows, span, series.count(), ctx);
    return output(rows, series, span);
  }

 private:
  // One group of the table: its row value (timechart: the bucket's time), series and states.
  struct Cell {
    Value row;
    std::string series;  // empty without a column field
    bool null_series = false;
    std::vector<Accumulator> accs;
  };
  // The series kept, in column order (the kept texts, NULL last, then OTHER).
  struct Series {
    std::vector<std::string> names;  // the kept series, then OTHER's name when `other`
    std::map<std::string, size_t> column_of;
    bool other = false;
    bool split = false;  // there is a column field
    size_t count() const { return split ? names.size() : 1; }  // the columns per aggregate
  };
  // An output row: each series' states (merged for OTHER); none where no row fed the cell.
  struct OutRow {
    Value row;
    std::vector<std::optional<std::vector<Accumulator>>> series;
  };

  // The table's groups in its order (row values, then series), without those no row or column
  // takes: no row value (chart), no finite time (timechart), no column value with usenull=f.
  std::vector<Cell> take_cells(GroupTable& t) const {
    std::vector<Cell> cells;
    for (auto& g : t.take_groups()) {
      Cell c;
      size_t k = 0;
      if (st_.has_row) {
        Value& r = g.by[k++];
        if (st_.timechart ? !r.is_number() || !std::isfinite(r.number()) : r.to_string() == kMissing) continue;
        c.row = std::move(r);
      }
      if (st_.has_column) {
        std::string v = g.by[k].to_string();
        if (v == kMissing) {
          if (!st_.usenull) continue;
          c.null_series = true;
          v = st_.nullstr;
        }
        c.series = std::move(v);
      }
      c.accs = std::move(g.accs);
      cells.push_back(std::move(c));
    }
    return cells;
  }

  // timechart without span=: the smallest of Splunk's spans giving at most 100 buckets over the
  // cells' times; the 1-second cells merge into its buckets. Cells come in time order (then series),
  // so each merges into one made of earlier rows, as merge() wants. Returns the span.
  static double rebucket(std::vector<Cell>& cells) {
    static constexpr double kSpans[] = {1, 5, 10, 30, 60, 300, 600, 1800, 3600, 86400, 2592000};
    const double lo = cells.front().row.number(), hi = cells.back().row.number();
    double span = kSpans[std::size(kSpans) - 1];
    for (double sp : kSpans)
      if (std::floor(hi / sp) - std::floor(lo / sp) + 1 <= 100) {
        span = sp;
        break;
      }
    std::map<std::pair<double, std::string>, size_t> at;
    std::vector<Cell> merged;
    for (auto& c : cells) {
      const double b = std::floor(c.row.number() / span) * span;
      auto [it, fresh] = at.emplace(std::make_pair(b, c.series), merged.size());
      if (fresh) {
        c.row = Value(b);
        merged.push_back(std::move(c));
      } else {
        auto& into = merged[it->second].accs;
        for (size_t i = 0; i < into.size(); ++i) into[i].merge(c.accs[i]);
      }
    }
    std::stable_sort(merged.begin(), merged.end(),
                     [](const Cell& x, const Cell& y) { return x.row.number() < y.row.number(); });
    cells = std::move(merged);
    return span;
  }

  // The `limit` series with the largest (bottomN: smallest) sum of the first aggregate's values,
  // ties in text order; the others are OTHER with useother=t.
  Series choose_series(const std::vector<Cell>& cells) const {
    Series out;
    if (!st_.has_column) return out;
    out.split = true;
    std::map<std::string, double> score;
    bool any_null = false;
    for (auto& c : cells) {
      auto n = c.accs.empty() ? std::nullopt : c.accs[0].result().to_number();
      score[c.series] += n ? *n : 0;
      any_null |= c.null_series;
    }
    std::vector<std::pair<std::string, double>> ranked(score.begin(), score.end());
    std::stable_sort(ranked.begin(), ranked.end(),
                     [&](auto& x, auto& y) { return st_.bottom ? x.second < y.second : x.second > y.second; });
    if (st_.limit && ranked.size() > st_.limit) {
      out.other = st_.useother;
      ranked.resize(st_.limit);
    }
    for (auto& [n, sc] : ranked) out.names.push_back(n);
    std::sort(out.names.begin(), out.names.end(), [&](const std::string& x, const std::string& y) {
      const bool xn = any_null && x == st_.nullstr, yn = any_null && y == st_.nullstr;
      return xn != yn ? yn : x < y;
    });
    for (size_t i = 0; i < out.names.size(); ++i) out.column_of[out.names[i]] = i;
    if (out.other) out.names.push_back(st_.otherstr);
    return out;
  }

  // One output row per row value (equal values are adjacent), each cell's states in its column.
  std::vector<OutRow> pivot(std::vector<Cell>& cells, const Series& series) const {
    std::vector<OutRow> rows;
    for (auto& c : cells) {
      if (rows.empty() || !st_.has_row || !(rows.back().row == c.row))
        rows.push_back(OutRow{c.row, std::vector<std::optional<std::vector<Accumulator>>>(series.count())});
      size_t col = 0;
      if (st_.has_column) {
        auto it = series.column_of.find(c.series);
        if (it != series.column_of.end()) col = it->second;
        else if (series.other) col = series.names.size() - 1;
        else continue;
      }
      auto& slot = rows.back().series[col];
      if (!slot) slot = std::move(c.accs);
      else
        for (size_t i = 0; i < slot->size(); ++i) (*slot)[i].merge(c.accs[i]);
    }
    return rows;
  }

  // timechart (cont=t): every bucket from the first to the last, as an empty row where none fed it.
  // Past kMaxBuckets, only the buckets with rows, with a warning.
  static void fill_buckets(std::vector<OutRow>& rows, double span, size_t columns, ir::ExecContext& ctx) {
    if (rows.size() < 2) return;
    const double first = rows.front().row.number(), last = rows.back().row.number();
    const double n = std::round((last - first) / span) + 1;
    if (!(n >= 1 && n <= kMaxBuckets)) {
      if (ctx.diags)
        ctx.diags->warning(ctx.where,
                           "timechart: " + format_number(n) + " buckets of " + format_number(span) +
                               " s between the first and last time; only the " + std::to_string(rows.size()) +
                               " with rows are output (as cont=f), since more than " + format_number(kMaxBuckets) +
                               " would be",
                           "timechart buckets");
      return;
    }
    std::vector<OutRow> filled;
    filled.reserve(size_t(n));
    size_t next = 0;
    for (double i = 0; i < n; ++i) {
      const double t = first + i * span;
      if (next < rows.size() && rows[next].row.number() <= t + span / 2) filled.push_back(std::move(rows[next++]));
      else filled.push_back(OutRow{Value(t), std::vector<std::optional<std::vector<Accumulator>>>(columns)});
    }
    rows = std::move(filled);
  }

  // The rows: the row field, then per aggregate its series' columns ("<series>" for one aggregate,
  // "<aggregate>: <series>" for several, the aggregate's name without a column field); empty cells
  // hold 0 for count and dc and nothing for the others. timechart adds `_span`.
  Table output(std::vector<OutRow>& rows, const Series& series, double span) const {
    const std::string& row_field = spec_.by.front();
    Table out;
    out.reserve(rows.size());
    for (auto& r : rows) {
      Row o;
      if (st_.has_row) o.set(row_field, std::move(r.row));
      for (size_t a = 0; a < spec_.aggs.size(); ++a) {
        const AggSpec& agg = spec_.aggs[a];
        for (size_t k = 0; k < r.series.size(); ++k) {
          std::string col = !st_.has_column          ? agg.output
                            : spec_.aggs.size() == 1 ? series.names[k]
                                                     : agg.output + ": " + series.names[k];
          if (r.series[k]) {
            Value v = (*r.series[k])[a].result();
            if (!v.is_null()) o.set(col, std::move(v));
          } else if (agg.kind == AggSpec::Kind::count || agg.kind == AggSpec::Kind::dc) {
            o.set(col, Value(0.0));
          }
        }
      }
      if (st_.timechart) o.set("_span", Value(span));
      out.push_back(std::move(o));
    }
    return out;
  }

  static constexpr double kMaxBuckets = 1e6;
  Settings st_;
};

OperatorResult make_chart(const StatsCmd& s, bool timechart) {
  const std::string n = timechart ? "timechart" : "chart";
  for (auto& option : s.options) {
    const std::string& k = option.first;  // (a structured binding cannot be captured by clang 14)
    static const char* const kKnown[] = {"span", "limit", "useother", "usenull", "otherstr", "nullstr", "cont"};
    if (std::none_of(std::begin(kKnown), std::end(kKnown), [&](const char* o) { return iequals(k, o); }) ||
        (!timechart && (iequals(k, "span") || iequals(k, "cont"))))
      return error(n + ": option '" + k + "' is not supported (" +
                   (timechart ? "span, limit, useother, usenull, otherstr, nullstr and cont are"
                              : "limit, useother, usenull, otherstr and nullstr are") +
                   ")");
  }
  if (s.aggregates.empty()) return error(n + " needs an aggregate, e.g. '" + n + " count" + (timechart ? "" : " by host") + "'");
  ChartOp::Settings st;
  st.timechart = timechart;
  if (auto l = opt(s.options, "limit"); !l.empty()) {
    std::string digits = l;
    if (istarts_with(digits, "top")) digits = digits.substr(3);
    else if (istarts_with(digits, "bottom")) {
      digits = digits.substr(6);
      st.bottom = true;
    }
    long long v = 0;
    if (!parse_int(digits, v) || v < 0) return error(n + ": bad limit '" + l + "' (a number, topN or bottomN)");
    st.limit = size_t(v);
  }
  st.useother = opt_bool(s.options, "useother", st.limit != 0);
  st.usenull = opt_bool(s.options, "usenull", true);
  st.cont = opt_bool(s.options, "cont", true);
  st.otherstr = opt(s.options, "otherstr", "OTHER");
  st.nullstr = opt(s.options, "nullstr", "NULL");
  std::vector<ByField> by = s.by;
  std::string span_text = opt(s.options, "span");
  if (timechart) {
    // `by host span=1h`: the parser gives a trailing span to the last BY field.
    for (auto& b : by)
      if (!b.span.empty()) {
        span_text = b.span;
        b.span.clear();
      }
    if (by.size() > 1) return error("timechart: one split-by field at most (got " + std::to_string(by.size()) + ")");
    if (!span_text.empty()) {
      st.span = parse_span_seconds(span_text);
      if (!st.span) return error("timechart: " + span_error(span_text));
    }
    st.has_column = !by.empty();
    by.insert(by.begin(), ByField{"_time", span_text.empty() ? "1s" : span_text});
    st.has_row = true;
  } else {
    if (by.size() > 2) return error("chart: a row field and a column field at most (got " + std::to_string(by.size()) + ")");
    st.has_row = !by.empty();
    st.has_column = by.size() == 2;
  }
  GroupSpec spec;
  std::string why = compile_group_spec(s.aggregates, by, spec);
  if (!why.empty()) return error(n + ": " + why);
  for (auto& b : spec.by) b = unquote_field(b);
  if (!spec.by.empty()) spec.fillnull = std::string(ChartOp::kMissing);
  return ok<ChartOp>(std::move(spec), std::move(st));
}

}  // namespace

OperatorResult make_stats(const Command& c, const StatsCmd& s) {
  const std::string& n = c.name;
  if (n == "top" || n == "rare") return make_top(s, n == "rare");
  if (n == "timechart" || n == "chart") return make_chart(s, n == "timechart");
  if (n != "stats" && n != "eventstats" && n != "streamstats")
    return error("'" + n + "' is not supported (stats, eventstats, streamstats, top, rare, chart and timechart are)");
  GroupSpec spec;
  std::string why = compile_group_spec(s.aggregates, s.by, spec);
  if (!why.empty()) return error(why);
  for (auto& b : spec.by) b = unquote_field(b);
  if (n == "stats") return ok<StatsOp>(std::move(spec), "stats");
  if (n == "eventstats") return ok<EventstatsOp>(std::move(spec));
  if (!opt(s.options, "reset_on_change").empty() || !opt(s.options, "reset_before").empty() ||
      !opt(s.options, "reset_after").empty() || !opt(s.options, "time_window").empty())
    return error("streamstats reset_*/time_window options are not supported");
  long long window = 0;
  if (auto w = opt(s.options, "window"); !w.empty() && (!parse_int(w, window) || window < 0))
    return error("streamstats: bad window '" + w + "'");
  return ok<StreamstatsOp>(std::move(spec), opt_bool(s.options, "current", true), static_cast<size_t>(window));
}

OperatorResult make_bin(const Command&, const BinCmd& b) {
  if (b.span.empty()) return error("bin/bucket without span= is not supported");
  std::string field = unquote_field(b.field);
  // A span with a time unit (`1h`) buckets epoch values like _time; a bare number on
  // another field makes `lo-hi` ranges.
  double d;
  bool plain_number = parse_number(b.span, d);
  bool is_time = field == "_time" || !plain_number;
  std::optional<double> span;
  if (is_time) span = parse_span_seconds(b.span);
  else if (d > 0) span = d;
  if (!span) return error("bin: " + span_error(b.span));
  std::string out = b.alias.empty() ? field : unquote_field(b.alias);
  return ok<BinOp>(std::move(field), std::move(out), *span, is_time);
}

OperatorResult make_addtotals(const Command&, const GenericCmd& g) {
  std::vector<std::string> fields;
  for (auto& w : g.words)
    if (w != ",") fields.push_back(unquote_field(w));
  return ok<AddtotalsOp>(std::move(fields), opt(g.options, "fieldname", "Total"), opt_bool(g.options, "row", true),
                         opt_bool(g.options, "col", false), opt(g.options, "labelfield"), opt(g.options, "label", "Total"));
}

}  // namespace vigil::spl::ops

namespace vigil::spl {

OperatorResult make_tstats_operator(const TstatsCmd& cmd) {
  if (ops::opt_bool(cmd.options, "prestats", false)) return ops::error("tstats prestats=true is not supported");
  if (ops::opt_bool(cmd.options, "append", false)) return ops::error("tstats append=true is not supported");
  GroupSpec spec;
  std::string why = compile_group_spec(cmd.aggregates, cmd.by, spec);
  if (!why.empty()) return ops::error(why);
  for (auto& b : spec.by) b = ops::unquote_field(b);
  // fillnull_value=X: rows missing a BY field group under X instead of being dropped.
  for (auto& [k, v] : cmd.options)
    if (iequals(k, "fillnull_value")) spec.fillnull = v;
  return ops::ok<ops::StatsOp>(std::move(spec), "tstats");
}

}  // namespace vigil::spl
