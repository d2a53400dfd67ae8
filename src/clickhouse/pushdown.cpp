#include "clickhouse/pushdown.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>

#include "clickhouse/row_binary.h"
#include "core/intern.h"
#include "core/strings.h"

namespace vigil::clickhouse {

using Func = ir::AggregateSpec::Func;

std::string plan_push(const SqlTranslator& tr, const Store& store, const Normalizer& norm,
                      const ir::CompiledRule& rule, size_t si, PushedStream& out) {
  const ir::Stream& s = rule.plan.streams.at(si);
  if (s.source.kind != ir::Source::Kind::datamodel) return "not a datamodel (tstats) stream";
  if (s.operators.empty() || s.operators[0]->shape() != ir::OpShape::mergeable || s.operators[0]->name() != "tstats")
    return "no tstats aggregation first";
  auto spec = static_cast<const ir::MergeableOperator&>(*s.operators[0]).describe();
  if (!spec) return "aggregation not described";
  RuleSql rs = tr.translate(rule);
  const StreamSql& ss = rs.streams.at(si);
  if (ss.table.empty()) return ss.why_no_table;
  if (!ss.why_no_table.empty()) return ss.why_no_table;
  if (!store.has(ss.table)) return "table not loaded: " + ss.table;
  if (!ss.exact) return "filter not exact in SQL: " + (ss.local_only.empty() ? std::string("?") : ss.local_only[0]);
  int d = norm.dataset_id(s.source.datamodel + "." + s.source.dataset);
  if (d < 0) return "unknown dataset";
  const std::string& prefix = norm.datasets()[size_t(d)].prefix;
  const auto& columns = store.columns.at(ss.table);

  // A field as the captured row holds it (first value; NULL = missing): its column, or its entry in
  // f_k/f_v (the loader strips the dataset prefix from both; root fields keep their own names).
  // Data model rows inherit host, source and sourcetype from their event (Engine's capture): the
  // tables keep host as a key column, not the other two.
  for (auto& b : spec->by)
    if (b == "source" || b == "sourcetype") return "BY " + b + ", which the data model table lacks: " + b;
  for (auto& a : spec->aggs)
    if (a.field == "source" || a.field == "sourcetype")
      return "aggregate of " + a.field + ", which the data model table lacks: " + a.written;
  auto field_expr = [&](const std::string& f) {
    if (f == "host") return std::string("host");
    std::string key = f;
    if (f.size() > prefix.size() && f.compare(0, prefix.size(), prefix) == 0 && f[prefix.size()] == '.') {
      key = f.substr(prefix.size() + 1);
      if (std::find(columns.begin(), columns.end(), key) != columns.end()) return sql_ident("c_" + key);
    }
    const std::string q = sql_quote(key);
    return "if(has(f_k, " + q + "), f_v[indexOf(f_k, " + q + ")], NULL)";
  };

  PushedStream p;
  p.stream = si;
  p.table = ss.table;
  p.fill = spec->fillnull;
  std::string cond = ss.where;
  for (size_t i = 0; i < spec->by.size(); ++i) {
    const std::string& b = spec->by[i];
    const std::optional<double> span = i < spec->by_span.size() ? spec->by_span[i] : std::nullopt;
    if (b == "_time") {
      // Rows aggregated there all have a time, so the key is never missing.
      if (p.time_by >= 0) return "BY _time twice";
      if (span && !(*span > 0)) return "span= not positive";
      p.time_by = int(i);
      p.span = span.value_or(0);
      continue;
    }
    if (span) return "BY with span= on a field other than _time: " + b;
    p.keys.push_back(field_expr(b));
    // Without fillnull_value, a row missing a BY value is in no group (GroupTable::add).
    if (!p.fill) cond = (cond == "1" ? "" : cond + " AND ") + "isNotNull(" + p.keys.back() + ")";
  }
  p.condition = cond;
  auto index_of = [](std::vector<std::string>& v, const std::string& x) {
    auto it = std::find(v.begin(), v.end(), x);
    if (it != v.end()) return size_t(it - v.begin());
    v.push_back(x);
    return v.size() - 1;
  };
  for (auto& a : spec->aggs) {
    PushedStream::PartSource ps;
    const bool time = a.field == "_time";
    switch (a.func) {
      case Func::count: ps.part = PushedStream::Part::rows; break;
      case Func::count_field:
        // Every row aggregated there has a time, and `_time` is one value.
        if (time) {
          ps.part = PushedStream::Part::rows;
        } else {
          ps.part = PushedStream::Part::count_values;
          ps.index = index_of(p.counts, field_expr(a.field));
        }
        break;
      case Func::min:
      case Func::max:
        if (time) {
          ps.part = a.func == Func::min ? PushedStream::Part::time_min : PushedStream::Part::time_max;
          break;
        }
        [[fallthrough]];
      case Func::dc:
      case Func::values:
        if (time) return "values/dc of _time: " + a.written;
        ps.part = PushedStream::Part::value_set;
        ps.index = index_of(p.values, field_expr(a.field));
        break;
      case Func::other: return "aggregate order-dependent or not exact in SQL: " + a.written;
    }
    p.parts.push_back(ps);
  }
  out = std::move(p);
  return {};
}

namespace {

// The columns one aggregation query reads for its streams: the union of their BY fields, counted
// fields and value fields (each stream picks its own by bit masks and positions).
struct Layout {
  std::vector<std::string> keys, counts, values;
  static size_t add(std::vector<std::string>& v, const std::string& x) {
    auto it = std::find(v.begin(), v.end(), x);
    if (it != v.end()) return size_t(it - v.begin());
    v.push_back(x);
    return v.size() - 1;
  }
  static size_t at(const std::vector<std::string>& v, const std::string& x) {
    return size_t(std::find(v.begin(), v.end(), x) - v.begin());
  }
  explicit Layout(const std::vector<const PushedStream*>& streams) {
    for (auto* p : streams) {
      for (auto& k : p->keys) add(keys, k);
      for (auto& c : p->counts) add(counts, c);
      for (auto& v : p->values) add(values, v);
    }
  }
  /// Whether `p` joins without passing 64 BY or value fields.
  bool fits(const PushedStream& p) const {
    size_t k = keys.size(), v = values.size();
    for (auto& x : p.keys) k += std::find(keys.begin(), keys.end(), x) == keys.end();
    for (auto& x : p.values) v += std::find(values.begin(), values.end(), x) == values.end();
    return k <= 64 && v <= 64;
  }
};

uint64_t mask_of(const std::vector<std::string>& all, const std::vector<std::string>& mine) {
  uint64_t m = 0;
  for (auto& x : mine) m |= uint64_t(1) << Layout::at(all, x);
  return m;
}

}  // namespace

PushPlan plan_pushdown(const SqlTranslator& tr, const Store& store, const Normalizer& norm,
                       const std::vector<const ir::CompiledRule*>& rules) {
  PushPlan plan;
  for (size_t ri = 0; ri < rules.size(); ++ri)
    for (size_t si = 0; si < rules[ri]->plan.streams.size(); ++si) {
      if (rules[ri]->plan.streams[si].source.kind != ir::Source::Kind::datamodel) continue;
      PushedStream p;
      std::string why = plan_push(tr, store, norm, *rules[ri], si, p);
      if (!why.empty()) {
        ++plan.not_pushed[why.substr(0, why.find(": "))];
        continue;
      }
      p.rule = ri;
      plan.streams.push_back(std::move(p));
      plan.pushed.insert({rules[ri], si});
    }
  return plan;
}

std::vector<std::pair<std::string, std::vector<const PushedStream*>>> PushPlan::queries() const {
  std::map<std::string, std::vector<const PushedStream*>> by;
  for (auto& p : streams) by[p.table].push_back(&p);
  std::vector<std::pair<std::string, std::vector<const PushedStream*>>> out;
  for (auto& [t, v] : by) {
    out.emplace_back(t, std::vector<const PushedStream*>{});
    for (auto* p : v) {
      // Only past 64 distinct BY or value fields of one table (the bit masks) does a table need a
      // second query; the ESCU endpoint corpus stays far below (22 BY fields at most).
      if (!out.back().second.empty() && !Layout(out.back().second).fits(*p))
        out.emplace_back(t, std::vector<const PushedStream*>{});
      out.back().second.push_back(p);
    }
  }
  return out;
}

namespace {

// The columns a condition reads: its backquoted identifiers (sql_ident) and the fixed columns
// named bare (f_k, f_v …), outside string literals.
std::vector<std::string> columns_read(std::string_view sql) {
  static constexpr std::string_view kFixed[] = {"seq", "_time", "host", "source_file", "record_id",
                                                "event_id", "f_k", "f_v", "m_k", "m_v"};
  std::vector<std::string> out;
  auto add = [&](std::string_view x) {
    if (std::find(out.begin(), out.end(), x) == out.end()) out.emplace_back(x);
  };
  for (size_t i = 0; i < sql.size();) {
    const char c = sql[i];
    if (c == '\'' || c == '`') {
      size_t e = i + 1;
      while (e < sql.size() && sql[e] != c) e += sql[e] == '\\' ? 2 : 1;
      if (c == '`') add(sql.substr(i, e + 1 - i));
      i = e + 1;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t e = i;
      while (e < sql.size() && (std::isalnum(static_cast<unsigned char>(sql[e])) || sql[e] == '_')) ++e;
      const std::string_view w = sql.substr(i, e - i);
      if (std::find(std::begin(kFixed), std::end(kFixed), w) != std::end(kFixed)) add(w);
      i = e;
    } else {
      ++i;
    }
  }
  return out;
}

template <class F>
std::string const_array(const std::vector<const PushedStream*>& streams, F&& element) {
  std::string a = "[";
  for (size_t i = 0; i < streams.size(); ++i) a += (i ? ", " : "") + element(*streams[i]);
  return a + "]";
}

}  // namespace

std::string push_query(const std::string& table, const std::vector<const PushedStream*>& streams) {
  const Layout l(streams);
  // Per stream: its number where the row passes its condition, else 0. The conditions go kStreamsPerLambda
  // at a time into a lambda of their own (arrayMap over a one-element array, the columns they read
  // passed as its parameters): ClickHouse 18.16 spends, per expression it analyses, time in the number
  // of its actions times the columns in its block (ExpressionActions::finalize erases one column at a
  // time from a name index) — quadratic over one list of all conditions of a table (3,400 functions
  // for the 486 Endpoint.Processes streams), near linear over lambdas of 16 streams each.
  constexpr size_t kStreamsPerLambda = 16;
  std::string hits;
  for (size_t from = 0; from < streams.size(); from += kStreamsPerLambda) {
    const size_t to = std::min(streams.size(), from + kStreamsPerLambda);
    std::vector<std::string> cols;
    std::string body;
    for (size_t i = from; i < to; ++i) {
      for (auto& c : columns_read(streams[i]->condition))
        if (std::find(cols.begin(), cols.end(), c) == cols.end()) cols.push_back(c);
      body += (i > from ? ", " : "") + std::string("if(") + streams[i]->condition + ", " + std::to_string(i + 1) + ", 0)";
    }
    std::string params = "_one", args = "[0]";
    for (auto& c : cols) {
      params += ", " + c;
      args += ", [" + c + "]";
    }
    hits += (from ? ", " : "") + std::string("arrayMap((") + params + ") -> [" + body + "], " + args + ")[1]";
  }
  if (streams.size() <= kStreamsPerLambda) hits += ", emptyArrayUInt8()";  // arrayConcat wants two
  // The streams the row passes: the non-zero numbers (sorted first, order does not matter).
  const std::string joined = "arraySlice(arrayReverseSort(arrayConcat(" + hits +
                             ") AS _hits), 1, length(_hits) - countEqual(_hits, 0))";
  // Per joined row: the stream's BY values at their positions ('' elsewhere), so groups compare
  // by exactly the stream's BY values. Each stream's BY and value fields (bit masks), fillnull text
  // and span come from constant arrays indexed by the stream number.
  const std::string key_mask = "arrayElement(" + const_array(streams, [&](const PushedStream& p) {
    return std::to_string(mask_of(l.keys, p.keys));
  }) + ", s)";
  const std::string fill = "arrayElement(" + const_array(streams, [](const PushedStream& p) {
    return sql_quote(p.fill.value_or(""));
  }) + ", s)";
  const std::string value_mask = "arrayElement(" + const_array(streams, [&](const PushedStream& p) {
    return std::to_string(mask_of(l.values, p.values));
  }) + ", s)";
  const std::string span = "arrayElement(" + const_array(streams, [](const PushedStream& p) {
    return "toFloat64(" + (p.time_by < 0 ? std::string("-1") : sql_number(p.span)) + ")";
  }) + ", s)";
  std::string key;
  for (size_t j = 0; j < l.keys.size(); ++j)
    key += (j ? ", " : "[") + std::string("if(bitTest(") + key_mask + ", " + std::to_string(j) + "), ifNull(" +
           l.keys[j] + ", " + fill + "), '')";
  key = l.keys.empty() ? "emptyArrayString()" : key + "]";
  std::string counts = "[toUInt64(1)";
  for (auto& c : l.counts) counts += ", toUInt64(isNotNull(" + c + "))";
  counts += "]";
  // Value fields tagged `<position>:` so one set per group carries them all.
  std::vector<std::string> parts;
  for (size_t j = 0; j < l.values.size(); ++j)
    parts.push_back("if(bitTest(" + value_mask + ", " + std::to_string(j) + ") AND isNotNull(" + l.values[j] +
                    "), [concat('" + std::to_string(j) + ":', ifNull(" + l.values[j] + ", ''))], emptyArrayString())");
  std::string values = parts.empty() ? "emptyArrayString()" : parts[0];
  if (parts.size() > 1) {
    values = "arrayConcat(" + parts[0];
    for (size_t j = 1; j < parts.size(); ++j) values += ", " + parts[j];
    values += ")";
  }
  // Rows with a later value of some field or without a time are aggregated by the engine; PREWHERE
  // drops them before the conditions run, and spares 18.16 one more analysis of the whole query
  // (MergeTreeWhereOptimizer, which moves a WHERE there itself: 10% of the time).
  // The BY `_time` value as the engine computes it: the time, or floor(time / span) * span.
  const std::string b = "multiIf(" + span + " < 0, toFloat64(0), " + span + " = 0, _time, floor(_time / " + span +
                        ") * " + span + ")";
  return "SELECT toUInt32(s), " + key + " AS k, " + b + " AS b, sumForEach(" + counts +
         ") AS n, min(_time), max(_time), groupUniqArrayArray(" + values + ") AS v FROM " + sql_ident(table) +
         " ARRAY JOIN " + joined + " AS s PREWHERE empty(m_k) AND _time != 0 GROUP BY s, k, b FORMAT RowBinary";
}

std::string push_table(const Store& store, const std::string& table) {
  return store.clustered && !store.shard_urls.empty() ? store.local_name(table) : table;
}

std::string push_destination(const Store& store) {
  if (!store.clustered || store.shard_urls.empty())
    return store.clustered ? "the server (Distributed table; shard URLs not recorded: load with --shard URL)"
                           : "the server";
  std::string d = "each shard";
  for (size_t i = 0; i < store.shard_urls.size(); ++i) d += (i ? ", " : " (") + store.shard_urls[i];
  return d + "; partial groups added up here)";
}

bool read_groups(std::string_view body, const std::vector<const PushedStream*>& streams,
                 std::vector<std::vector<ir::PreGroup>>& out, std::string& error) {
  const Layout l(streams);
  out.assign(streams.size(), {});
  RowReader in(body);
  std::vector<std::string> key, tagged;
  std::vector<uint64_t> counts;
  while (!in.at_end()) {
    uint32_t s = 0;
    for (int i = 0; i < 4; ++i) s |= uint32_t(in.u8()) << (8 * i);
    uint64_t nk = in.varint();
    if (!in.ok() || nk > (1u << 20)) break;
    key.clear();
    for (uint64_t i = 0; i < nk; ++i) key.emplace_back(in.str());
    const double b = in.f64();
    uint64_t nc = in.varint();
    if (!in.ok() || nc > (1u << 20)) break;
    counts.resize(nc);
    for (auto& c : counts) c = in.u64();
    double tmin = in.f64(), tmax = in.f64();
    uint64_t nv = in.varint();
    if (!in.ok() || nv > (1u << 28)) break;
    tagged.clear();
    for (uint64_t i = 0; i < nv; ++i) tagged.emplace_back(in.str());
    if (!in.ok()) break;
    if (s == 0 || s > streams.size() || key.size() != l.keys.size() || counts.size() != l.counts.size() + 1) {
      error = "answer does not fit the query (stream " + std::to_string(s) + ")";
      return false;
    }
    const PushedStream& p = *streams[s - 1];
    ir::PreGroup g;
    for (size_t i = 0, j = 0; i < p.keys.size() + (p.time_by >= 0); ++i)
      g.key.push_back(int(i) == p.time_by ? Value(b) : Value(key[Layout::at(l.keys, p.keys[j++])]));
    // Tagged values `<position>:<value>`.
    std::vector<std::vector<std::string>> by_pos(l.values.size());
    for (auto& t : tagged) {
      size_t colon = t.find(':');
      long long pos = -1;
      if (colon == std::string::npos || !parse_int(std::string_view(t).substr(0, colon), pos) || pos < 0 ||
          size_t(pos) >= by_pos.size()) {
        error = "answer has an untagged value";
        return false;
      }
      by_pos[size_t(pos)].push_back(t.substr(colon + 1));
    }
    NumberText buf;
    for (auto& ps : p.parts) {
      ir::PreGroup::Part part;
      switch (ps.part) {
        case PushedStream::Part::rows: part.count = double(counts[0]); break;
        case PushedStream::Part::count_values:
          part.count = double(counts[1 + Layout::at(l.counts, p.counts[ps.index])]);
          break;
        // The engine aggregates `_time` as the text of the number (Accumulator::add); min/max
        // of those texts are the texts of min/max, formatting being monotonic.
        case PushedStream::Part::time_min: part.values.emplace_back(format_number(tmin, buf)); break;
        case PushedStream::Part::time_max: part.values.emplace_back(format_number(tmax, buf)); break;
        case PushedStream::Part::value_set: part.values = by_pos[Layout::at(l.values, p.values[ps.index])]; break;
      }
      g.parts.push_back(std::move(part));
    }
    out[s - 1].push_back(std::move(g));
  }
  if (!in.ok()) {
    error = "malformed aggregation answer";
    return false;
  }
  return true;
}

namespace {

// The first aggregation of a stream, when the engine would split there (first operator, mergeable).
const ir::Operator* first_aggregation(const ir::Stream& s) {
  if (s.source.kind == ir::Source::Kind::none || s.operators.empty()) return nullptr;
  for (auto& op : s.operators) {
    if (op->shape() == ir::OpShape::per_row) continue;
    return op->shape() == ir::OpShape::mergeable ? op.get() : nullptr;
  }
  return nullptr;
}

}  // namespace

std::string explain_rule(const SqlTranslator& tr, const Store& store, const Normalizer& norm,
                         const ir::CompiledRule& rule) {
  RuleSql rs = tr.translate(rule);
  std::string out;
  std::vector<std::string> local;
  for (auto& ss : rs.streams) {
    out += tr.stream_query(ss);
    const ir::Stream& s = rule.plan.streams[ss.stream];
    size_t from = 0;
    if (const ir::Operator* agg = first_aggregation(s)) {
      PushedStream p;
      std::string why = plan_push(tr, store, norm, rule, ss.stream, p);
      const std::string n = "-- stream " + std::to_string(ss.stream) + ": aggregation `" + agg->name() + "` ";
      if (why.empty()) {
        out += n + "runs on ClickHouse (GROUP BY; rows with a multivalue field or no time are fetched and "
                   "aggregated locally into the same groups), sent to " + push_destination(store) + ":\n" +
               push_query(push_table(store, p.table), {&p}) + ";\n";
        from = 1;
      } else {
        out += n + "runs locally: " + why + "\n";
      }
    }
    for (size_t i = from; i < s.operators.size(); ++i) local.push_back(s.operators[i]->name());
  }
  if (!local.empty()) {
    out += "-- runs locally:";
    for (auto& o : local) out += " " + o;
    out += "\n";
  }
  out += "-- runs locally: the exact filter on fetched events, findings (risk, message, entities)\n";
  return out;
}

std::string placement_summary(const SqlTranslator& tr, const Store& store, const Normalizer& norm,
                              const ir::CompiledRule& rule) {
  RuleSql rs = tr.translate(rule);
  std::string out;
  for (auto& ss : rs.streams) {
    if (!out.empty()) out += "; ";
    if (rs.streams.size() > 1) out += "stream " + std::to_string(ss.stream) + " ";
    if (ss.table.empty()) {
      out += "runs locally (" + ss.why_no_table + ")";
      continue;
    }
    out += ss.exact ? "filter on ClickHouse (exact)" : "filter on ClickHouse (superset, re-checked locally)";
    const ir::Stream& s = rule.plan.streams[ss.stream];
    if (const ir::Operator* agg = first_aggregation(s)) {
      PushedStream p;
      std::string why = plan_push(tr, store, norm, rule, ss.stream, p);
      out += ", " + agg->name() + (why.empty() ? " on ClickHouse" : " locally (" + why + ")");
    }
  }
  return out;
}

bool aggregate_here(const Event& ev, uint16_t view) {
  // Mirrors the loader: a missing time is stored as 0, a repeated field name puts its later values
  // (any field of the view) into m_k/m_v.
  if (!ev.has_time() || ev.time() == 0) return true;
  if (!ev.has_repeats()) return false;
  std::vector<Symbol> seen;
  for (auto& f : ev.fields()) {
    if (f.view != view) continue;
    if (std::find(seen.begin(), seen.end(), f.name) != seen.end()) return true;
    seen.push_back(f.name);
  }
  return false;
}

}  // namespace vigil::clickhouse
