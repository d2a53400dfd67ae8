#include "clickhouse/sql.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>

#include "core/intern.h"
#include "core/strings.h"
#include "core/wildcard.h"
#include "engine/engine.h"
#include "match/compiled_atom.h"

namespace vigil::clickhouse {

using ir::AtomKind;
using Op = ir::Predicate::Op;

const char* record_columns() {
  return "rec_format, source_file, rec_offset, rec_line, rec_recovered, sys_k, sys_v, data_k, data_v";
}

std::string sql_number(double d) {
  char b[64];
  std::snprintf(b, sizeof b, "%.17g", d);
  return b;
}

std::string like_escape(std::string_view text) {
  std::string out;
  for (char ch : text) {
    if (ch == '%' || ch == '_' || ch == '\\') out += '\\';
    out += ch;
  }
  return out;
}

// Regular expressions whose meaning under RE2 (ClickHouse's match(): UTF-8, `.` also matching a
// newline, which only widens the SQL) contains their meaning under PCRE2 (UTF mode, vigil's flags):
// literals, `. * + ? | ( ) [ ] ^ $`, lazy quantifiers and the escapes below. PCRE's `$` also
// matches before a final newline, so an unescaped `$` outside a class becomes `(?:\n?$)`; `\ `
// becomes a plain space (RE2 rejects the escape). Anything else (lookaround, backreferences,
// inline flags, possessive or counted repetition, \s with its \v difference, \p, \Q …) is
// decided locally. nullopt + `why` when the pattern is not in that subset.
std::optional<std::string> to_re2(std::string_view re, std::string& why) {
  std::string out;
  bool in_class = false, after_quant = false;
  bool repeatable = false;  // the last item can take a quantifier (not after `(`, `|`, `^`, `$`, start)
  for (size_t i = 0; i < re.size(); ++i) {
    char ch = re[i];
    if (ch == '\\') {
      if (i + 1 >= re.size()) {
        why = "trailing backslash";
        return std::nullopt;
      }
      char n = re[++i];
      if (std::string_view(".\\/-()[]{}$^|?*+dDwWb:'\"=<>!@#%&,;~` _tnr").find(n) == std::string_view::npos ||
          (in_class && (n == 'b'))) {
        why = std::string("escape \\") + n;
        return std::nullopt;
      }
      if (n == ' ') out += ' ';
      else out += {'\\', n};
      after_quant = false;
      repeatable = n != 'b';
      continue;
    }
    if (in_class) {
      if (ch == '[' && i + 1 < re.size() && (re[i + 1] == ':' || re[i + 1] == '=' || re[i + 1] == '.')) {
        why = "POSIX class";
        return std::nullopt;
      }
      if (ch == ']') in_class = false;
      out += ch;
      continue;
    }
    if (ch == '[') {
      in_class = true;
      out += ch;
      // A `]` right after `[` or `[^` is a literal.
      if (i + 1 < re.size() && re[i + 1] == '^') out += re[++i];
      if (i + 1 < re.size() && re[i + 1] == ']') out += re[++i];
      after_quant = false;
      repeatable = true;
      continue;
    }
    if (ch == '{' || ch == '}') {
      why = "counted repetition";
      return std::nullopt;
    }
    if (ch == '(' && i + 1 < re.size() && (re[i + 1] == '?' || re[i + 1] == '*')) {
      why = "group flags, lookaround or a verb";
      return std::nullopt;
    }
    if (ch == '*' || ch == '+' || ch == '?') {
      if (after_quant) {
        // `x*?` is lazy in both; `x*+` (possessive) and `x**` are not RE2.
        if (ch != '?') {
          why = "possessive or repeated quantifier";
          return std::nullopt;
        }
        after_quant = false;
        out += ch;
        continue;
      }
      if (!repeatable) {
        why = "quantifier without an operand";
        return std::nullopt;
      }
      after_quant = true;
      out += ch;
      continue;
    }
    after_quant = false;
    repeatable = !(ch == '(' || ch == '|' || ch == '^' || ch == '$');
    if (ch == '$') out += "(?:\\n?$)";
    else out += ch;
  }
  if (in_class) {
    why = "unterminated class";
    return std::nullopt;
  }
  return out;
}

namespace {

// Conditions read each field's first value; an event holding a later value of some field (a
// multivalue field) is fetched whatever they say and decided by the local engine.
constexpr const char* kMultivalueRow = "notEmpty(m_k)";


}  // namespace

// `ifNull(X = 'a', 0) OR ifNull(X = 'b', 0)` -> `ifNull(X IN ('a', 'b'), 0)`, the same test with
// fewer expression nodes: ClickHouse 18.16 analyses conditions in time superlinear in their nodes,
// and OR lists of values on one field (process_name IN (…)) are the commonest shape of both corpora.
static void fold_equalities(std::vector<std::string>& parts) {
  auto split = [](const std::string& s, std::string& x, std::string& lit) {
    static const std::string head = "ifNull(", tail = ", 0)", eq = " = '";
    if (s.size() < head.size() + tail.size() + 4 || s.compare(0, head.size(), head) != 0 ||
        s.compare(s.size() - tail.size(), tail.size(), tail) != 0)
      return false;
    std::string inner = s.substr(head.size(), s.size() - head.size() - tail.size());
    size_t at = inner.find(eq);
    if (at == std::string::npos) return false;
    x = inner.substr(0, at);
    lit = inner.substr(at + 3);
    if (x.find('\'') != std::string::npos || (x.find('(') == std::string::npos && x.find('`') == std::string::npos))
      return false;
    // One quoted literal (sql_quote escapes quotes and backslashes with a backslash).
    if (lit.size() < 2 || lit.front() != '\'') return false;
    for (size_t i = 1; i < lit.size(); ++i) {
      if (lit[i] == '\\') ++i;
      else if (lit[i] == '\'') return i == lit.size() - 1;
    }
    return false;
  };
  std::vector<std::string> out;
  std::map<std::string, size_t> at;  // X -> index in out of its IN list
  std::map<size_t, std::vector<std::string>> lits;
  for (auto& p : parts) {
    std::string x, lit;
    if (!split(p, x, lit)) {
      out.push_back(p);
      continue;
    }
    auto it = at.find(x);
    if (it == at.end()) {
      at.emplace(x, out.size());
      lits[out.size()].push_back(lit);
      out.push_back(p);
    } else {
      lits[it->second].push_back(lit);
    }
  }
  for (auto& [i, ls] : lits) {
    if (ls.size() < 2) continue;
    std::string x, lit;
    split(out[i], x, lit);
    std::string in;
    for (auto& l : ls) in += (in.empty() ? "" : ", ") + l;
    out[i] = "ifNull(" + x + " IN (" + in + "), 0)";
  }
  parts = std::move(out);
}

struct SqlTranslator::Ctx {
  const std::string* table = nullptr;  // logical table name
  std::string prefix;                  // dataset prefix ("" for raw)
  const std::vector<std::string>* columns = nullptr;
  bool exact = true;
  std::vector<std::string>* local_only = nullptr;
  bool compact = false;  // the batched scan's necessary condition (see SqlTranslator::translate)
  bool wide = false;     // compact, with more atom kinds (fetch_query, for otherwise unselective streams)
};

SqlTranslator::SqlTranslator(const Normalizer& norm, const ir::AtomTable& atoms, const Store& store)
    : norm_(norm), atoms_(atoms), store_(store) {
  for (auto& d : norm.datasets())
    if (!d.prefix.empty()) prefixes_.push_back(d.prefix);
}

std::string SqlTranslator::pred(const ir::Predicate& p, bool positive, Ctx& c) const {
  switch (p.op) {
    case Op::always: return "1";
    case Op::never: return "0";
    case Op::atom: return atom(p.atom, positive, c);
    case Op::not_: {
      if (c.compact) return positive ? "1" : "0";
      std::string inner = pred(p.children[0], !positive, c);
      if (inner == "1" || inner == "0") return inner == "1" ? "0" : "1";
      return "NOT " + inner;
    }
    case Op::and_:
    case Op::or_: {
      std::vector<std::string> parts;
      for (auto& ch : p.children) parts.push_back(pred(ch, positive, c));
      const bool is_and = p.op == Op::and_;
      if (!is_and) fold_equalities(parts);
      // Simplify the constants that inexact atoms leave.
      std::vector<std::string> kept;
      for (auto& s : parts) {
        if (s == (is_and ? "1" : "0")) continue;
        if (s == (is_and ? "0" : "1")) return is_and ? "0" : "1";
        if (std::find(kept.begin(), kept.end(), s) == kept.end()) kept.push_back(s);
      }
      if (kept.empty()) return is_and ? "1" : "0";
      if (kept.size() == 1) return kept[0];
      std::string out;
      for (auto& s : kept) out += (out.empty() ? "(" : is_and ? " AND " : " OR ") + s;
      return out + ")";
    }
  }
  return "1";
}

std::string SqlTranslator::atom(ir::AtomId id, bool positive, Ctx& c) const {
  const ir::Atom& a = atoms_.get(id);
  auto inexact = [&](const std::string& why, const std::string& over = "1") {
    c.exact = false;
    if (c.local_only) {
      std::string d = atoms_.describe(id) + ": " + why;
      if (std::find(c.local_only->begin(), c.local_only->end(), d) == c.local_only->end()) c.local_only->push_back(d);
    }
    return positive ? over : std::string("0");
  };
  if (a.kind == AtomKind::keyword) return inexact("keyword over every raw field");
  if (a.kind == AtomKind::field_eq) return inexact("field compared with another field");
  // Where the field lives in this table.
  std::string field(field_name(a.field));
  std::string key;  // name in the table (unprefixed for datasets)
  if (c.prefix.empty()) {
    for (auto& pre : prefixes_)
      if (field.size() > pre.size() && field.compare(0, pre.size(), pre) == 0 && field[pre.size()] == '.')
        return inexact("dataset field read from the raw view");
    key = field;
  } else {
    if (!(field.size() > c.prefix.size() && field.compare(0, c.prefix.size(), c.prefix) == 0 &&
          field[c.prefix.size()] == '.'))
      return inexact("field outside the dataset " + c.prefix);
    key = field.substr(c.prefix.size() + 1);
  }
  const bool column = std::find(c.columns->begin(), c.columns->end(), key) != c.columns->end();
  // The batched scan keeps only equalities on columns (Channel, Provider, EventCode …): cheap to
  // analyse and run on every row, and what separates event types best.
  // `wide` (a stream that would otherwise select nothing): also equalities on other fields and
  // string tests on columns, still cheap to analyse for a handful of streams.
  if (c.compact && !(column && a.kind == AtomKind::eq && positive)) {
    const bool string_test = a.kind == AtomKind::eq || a.kind == AtomKind::starts_with ||
                             a.kind == AtomKind::ends_with || a.kind == AtomKind::contains ||
                             a.kind == AtomKind::wildcard;
    if (!(c.wide && positive && (a.kind == AtomKind::eq || (column && string_test)))) return positive ? "1" : "0";
  }
  const std::string col = sql_ident("c_" + key), qkey = sql_quote(key);
  // test(x): the condition on one value x (a String expression); nullopt = not expressible.
  const bool cs = a.case_sensitive;
  auto L = [&](const std::string& x) { return cs ? x : "lower(" + x + ")"; };
  const std::string lit = cs ? a.value : to_lower(a.value);
  std::string over_why;
  bool atom_exact = true;
  std::function<std::string(const std::string&)> test;
  switch (a.kind) {
    case AtomKind::exists: {
      if (column) return "isNotNull(" + col + ")";
      return "has(f_k, " + qkey + ")";
    }
    case AtomKind::eq: test = [&](const std::string& x) { return L(x) + " = " + sql_quote(lit); }; break;
    case AtomKind::contains:
      test = [&](const std::string& x) { return "position(" + L(x) + ", " + sql_quote(lit) + ") > 0"; };
      break;
    case AtomKind::starts_with:
      test = [&](const std::string& x) { return L(x) + " LIKE " + sql_quote(like_escape(lit) + "%"); };
      break;
    case AtomKind::ends_with:
      test = [&](const std::string& x) { return L(x) + " LIKE " + sql_quote("%" + like_escape(lit)); };
      break;
    case AtomKind::wildcard: {
      WildcardPattern g(a.value, WildcardPattern::Syntax::sigma, !cs);
      std::string pat;
      for (auto& t : g.tokens()) {
        if (t.kind == WildcardPattern::Tok::lit) pat += like_escape(t.text);
        else if (t.kind == WildcardPattern::Tok::star) pat += '%';
        else {
          // `?` is one byte for vigil and one code point for LIKE: widen it to `%`.
          pat += '%';
          atom_exact = false;
          over_why = "`?` wildcard";
        }
      }
      test = [pat, L](const std::string& x) { return L(x) + " LIKE " + sql_quote(pat); };
      break;
    }
    case AtomKind::regex: {
      // A pattern PCRE2 rejects never matches locally: the atom is false, exactly.
      if (!match::CompiledAtom::compile(a)) return "0";
      std::string why;
      auto re2 = to_re2(a.value, why);
      if (!re2) return inexact("regex needs PCRE (" + why + ")");
      atom_exact = false;  // RE2's `.` also matches a newline: a superset
      over_why = "regex (RE2 superset)";
      std::string q = sql_quote(*re2);
      test = [q](const std::string& x) { return "match(" + x + ", " + q + ")"; };
      break;
    }
    case AtomKind::cidr: {
      std::string_view v = a.value;
      size_t slash = v.find('/');
      long long prefix = 32;
      std::string ip(trim(v.substr(0, slash)));
      if (ip.find(':') != std::string::npos) return inexact("IPv6 network");
      if (slash != std::string_view::npos && !parse_int(v.substr(slash + 1), prefix)) return inexact("CIDR prefix");
      if (prefix < 0 || prefix > 32) return inexact("CIDR prefix");
      uint64_t mask = prefix == 0 ? 0 : (0xFFFFFFFFull << (32 - prefix)) & 0xFFFFFFFFull;
      atom_exact = false;  // address parsing differs at the edges: unparsable addresses pass
      over_why = "CIDR (address parsing)";
      std::string m = std::to_string(mask), q = sql_quote(ip);
      test = [m, q](const std::string& x) {
        return "(IPv4StringToNum(" + x + ") = 0 OR bitAnd(IPv4StringToNum(" + x + "), " + m +
               ") = bitAnd(IPv4StringToNum(" + q + "), " + m + "))";
      };
      break;
    }
    case AtomKind::lt:
    case AtomKind::le:
    case AtomKind::gt:
    case AtomKind::ge: {
      double n;
      if (!parse_number(a.value, n)) return inexact("numeric comparison with a non-number");
      // Values SQL cannot parse (hex, spaces) pass, and the bound is widened by a relative 1e-9 so
      // that a last-digit difference between ClickHouse's float parser and strtod never drops one.
      const bool upper = a.kind == AtomKind::lt || a.kind == AtomKind::le;
      const double slack = std::max(std::fabs(n) * 1e-9, 1e-300);
      const char* op = upper ? "<=" : ">=";
      atom_exact = false;
      over_why = "numeric comparison (number parsing)";
      std::string nt = sql_number(upper ? n + slack : n - slack);
      test = [op, nt](const std::string& x) { return "ifNull(toFloat64OrNull(" + x + ") " + op + " " + nt + ", 1)"; };
      break;
    }
    default: return inexact("atom kind");
  }
  if (!atom_exact && !positive) return inexact(over_why);
  if (!atom_exact) {
    c.exact = false;
    if (c.local_only) {
      std::string d = atoms_.describe(id) + ": " + over_why + ", re-checked locally";
      if (std::find(c.local_only->begin(), c.local_only->end(), d) == c.local_only->end()) c.local_only->push_back(d);
    }
  }
  // The field's (first) value: its column, or its entry in f_k/f_v. Rows holding a later value of
  // any field (m_k not empty) are fetched whatever the condition says (see stream_condition).
  if (column) return "ifNull(" + test(col) + ", 0)";
  return "(has(f_k, " + qkey + ") AND " + test("f_v[indexOf(f_k, " + qkey + ")]") + ")";
}

RuleSql SqlTranslator::translate(const ir::CompiledRule& rule, bool compact, bool wide) const {
  RuleSql out;
  static const std::vector<std::string> no_columns;
  const std::vector<Symbol> id_fields = {field_id("EventID"), field_id("EventCode"), field_id("event_simpleName")};
  for (size_t si = 0; si < rule.plan.streams.size(); ++si) {
    const ir::Stream& s = rule.plan.streams[si];
    StreamSql ss;
    ss.stream = si;
    for (auto& op : s.operators) out.local_operators.push_back(op->name());
    Ctx c;
    c.compact = compact;
    c.wide = compact && wide;
    c.local_only = &ss.local_only;
    if (s.source.kind == ir::Source::Kind::none) {
      ss.why_no_table = "generating command: no events";
    } else if (s.source.kind == ir::Source::Kind::raw) {
      ss.table = kRawTable;
      if (auto ids = required_event_ids(s.filter, atoms_, id_fields)) ss.buckets.assign(ids->begin(), ids->end());
    } else {
      int d = norm_.dataset_id(s.source.datamodel + "." + s.source.dataset);
      if (d < 0) {
        ss.why_no_table = "unknown dataset " + s.source.datamodel + "." + s.source.dataset;
      } else if (norm_.datasets()[size_t(d)].prefix.empty()) {
        ss.why_no_table = "dataset without a field prefix";
      } else {
        ss.table = dataset_table_name(norm_.datasets()[size_t(d)].name);
        c.prefix = norm_.datasets()[size_t(d)].prefix;
      }
    }
    if (!ss.table.empty()) {
      auto it = store_.columns.find(ss.table);
      c.table = &ss.table;
      c.columns = it == store_.columns.end() ? &no_columns : &it->second;
      if (it == store_.columns.end()) ss.why_no_table = "table " + ss.table + " not loaded";
      ss.where = pred(s.filter, true, c);
      ss.exact = c.exact;
    }
    out.streams.push_back(std::move(ss));
  }
  return out;
}

static std::string bucket_sql(const std::vector<std::string>& ids) {
  std::string out = "event_id IN (";
  for (size_t i = 0; i < ids.size(); ++i) out += (i ? ", " : "") + sql_quote(ids[i]);
  return out + ")";
}

std::string SqlTranslator::fetch_query(const std::vector<const ir::CompiledRule*>& rules,
                                       std::vector<std::string>* tables_scanned,
                                       const std::set<std::pair<const ir::CompiledRule*, size_t>>* pushed,
                                       std::vector<std::string>* unselective) const {
  // Raw conditions grouped by bucket (so one event id's rules share one IN test), dataset
  // conditions by table; identical conditions once.
  std::map<std::vector<std::string>, std::vector<std::string>> raw;  // bucket -> conditions
  std::map<std::string, std::vector<std::string>> by_table;
  auto add = [](std::vector<std::string>& v, const std::string& s) {
    if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
  };
  for (auto* r : rules)
    for (auto& s : translate(*r, true).streams) {
      if (s.table.empty() || !store_.has(s.table) || s.where == "0") continue;
      if (pushed && pushed->count({r, s.stream})) {
        // Rows with a later value of some field come back anyway (with_mv); those without a time
        // are the other rows the engine still aggregates for this stream.
        add(by_table[s.table], s.where == "1" ? "_time = 0" : "(_time = 0 AND " + s.where + ")");
        continue;
      }
      // No event type and no column equality to select on: the wider compact form (equalities on
      // any field, string tests on columns) often selects (`index=unix`,
      // `source=wineventlog:…applocker/*`); if not, the rule needs every event and the scan
      // returns them all (`unselective` names it). Measured and kept out: such rules' whole
      // filters (keywords as a search of all stored values) — the other rules' conditions still
      // selected 92% of the sample events, their analysis cost ClickHouse 18.16 8 s instead of
      // 0.7 s, and the keyword search ran a shard out of memory on OTRF.
      if (s.table == kRawTable && s.buckets.empty() && s.where == "1") {
        std::string w = translate(*r, true, true).streams[s.stream].where;
        if (w == "0") continue;
        if (w == "1" && unselective) unselective->push_back(r->info.name);
        add(raw[s.buckets], w);
        continue;
      }
      if (s.table == kRawTable) add(raw[s.buckets], s.where);
      else add(by_table[s.table], s.where);
    }
  auto any_of = [](const std::vector<std::string>& conds) {
    if (std::find(conds.begin(), conds.end(), "1") != conds.end()) return std::string("1");
    if (conds.size() == 1) return conds[0];
    std::string out;
    for (auto& c : conds) out += (out.empty() ? "(" : " OR ") + c;
    return out + ")";
  };
  auto with_mv = [&](const std::vector<std::string>& conds) {
    std::string c = any_of(conds);
    return c == "1" ? c : "(" + std::string(kMultivalueRow) + " OR " + c + ")";
  };
  std::vector<std::string> parts;
  for (auto& [bucket, conds] : raw) {
    std::string c = with_mv(conds);
    if (bucket.empty()) parts.push_back(c);
    else parts.push_back(c == "1" ? bucket_sql(bucket) : "(" + bucket_sql(bucket) + " AND " + c + ")");
  }
  if (tables_scanned) tables_scanned->clear();
  if (tables_scanned) tables_scanned->push_back(kRawTable);
  for (auto& [table, conds] : by_table) {
    // Per shard: an event's dataset rows live on the shard of its raw row (same sharding key).
    parts.push_back("seq IN (SELECT seq FROM " + sql_ident(store_.local_name(table)) + " WHERE " + with_mv(conds) + ")");
    if (tables_scanned) tables_scanned->push_back(table);
  }
  std::string where = parts.empty() ? "0" : any_of(parts);
  // Some rule needs every raw event: the dataset subqueries are folded away, one scan remains.
  if (where == "1" && tables_scanned) tables_scanned->resize(1);
  return std::string("SELECT ") + record_columns() + " FROM " + sql_ident(kRawTable) + " WHERE " + where +
         " ORDER BY seq FORMAT RowBinary";
}

std::string SqlTranslator::stream_query(const StreamSql& s) const {
  std::string out = "-- stream " + std::to_string(s.stream);
  if (s.table.empty()) return out + ": runs locally (" + s.why_no_table + ")\n";
  out += s.exact ? ": filter runs on ClickHouse exactly\n" : ": filter runs on ClickHouse as a superset, re-checked locally\n";
  if (!s.why_no_table.empty()) out += "-- note: " + s.why_no_table + "\n";
  for (auto& l : s.local_only) out += "--   local: " + l + "\n";
  std::string where = s.where == "1" || s.where == "0" ? s.where : "(" + std::string(kMultivalueRow) + " OR " + s.where + ")";
  if (!s.buckets.empty()) where = where == "1" ? bucket_sql(s.buckets) : bucket_sql(s.buckets) + " AND " + where;
  return out + "SELECT seq, _time, host, source_file, record_id FROM " + sql_ident(s.table) + "\nWHERE " + where +
         "\nORDER BY seq;\n";
}

std::string SqlTranslator::rule_query(const ir::CompiledRule& rule) const {
  RuleSql rs = translate(rule);
  std::string out;
  for (auto& s : rs.streams) out += stream_query(s);
  if (!rs.local_operators.empty()) {
    out += "-- runs locally on the fetched events:";
    for (auto& o : rs.local_operators) out += " " + o;
    out += "\n";
  }
  out += "-- runs locally: the exact filter, findings (risk, message, entities)\n";
  return out;
}

}  // namespace vigil::clickhouse
