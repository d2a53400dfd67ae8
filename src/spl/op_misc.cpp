// replace (value substitution) and a basic transaction (grouping events by
// fields with startswith/endswith/maxspan/maxpause).
#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_set>

#include "core/strings.h"
#include "match/row_matcher.h"
#include "spl/eval.h"
#include "spl/lower.h"
#include "spl/operators.h"
#include "spl/parser.h"

namespace vigil::spl::ops {

namespace {

// ---------------------------------------------------------------- replace
// `replace "old" with "new", … [in f1, f2]`: whole-value substitution; `*` in old
// captures and the same number of `*` in new re-inserts the captures (replace reference).
class ReplaceOp final : public ir::Operator {
 public:
  ReplaceOp(std::vector<std::pair<std::string, std::string>> pairs, std::vector<std::string> fields)
      : pairs_(std::move(pairs)), fields_(std::move(fields)) {}
  std::string name() const override { return "replace"; }
  void run(Table& rows, ir::ExecContext&) override {
    for (Row& r : rows)
      for (auto& [name, v] : r.entries()) {
        if (!selected(name) || v.is_null()) continue;
        std::vector<std::string> vals = v.all_texts();
        bool changed = false;
        for (auto& s : vals)
          for (auto& [from, to] : pairs_) {
            std::vector<std::string_view> caps;
            if (!field_glob(from, s, &caps)) continue;
            s = glob_fill(to, caps);
            changed = true;
            break;
          }
        if (changed) v = vals.size() == 1 ? Value(vals[0]) : Value::multi(std::move(vals));
      }
  }

 private:
  bool selected(const std::string& f) const {
    if (fields_.empty()) return f.empty() || f[0] != '_';
    for (auto& p : fields_)
      if (field_glob(p, f)) return true;
    return false;
  }
  std::vector<std::pair<std::string, std::string>> pairs_;
  std::vector<std::string> fields_;
};

// ---------------------------------------------------------------- transaction
class TransactionOp final : public ir::Operator {
 public:
  struct Config {
    std::vector<std::string> fields;
    std::optional<match::RowMatcher> starts, ends;
    double maxspan = -1, maxpause = -1;  // seconds; -1 = unlimited
  };
  explicit TransactionOp(Config c) : c_(std::move(c)) {}
  std::string name() const override { return "transaction"; }
  // Its own reads: the key fields, the times, the start and end conditions. The rest of a member's
  // fields pass into the transaction by name (what a later operator reads of them, it names).
  bool reads(std::vector<std::string>& f) const override {
    f.insert(f.end(), c_.fields.begin(), c_.fields.end());
    f.emplace_back("_time");
    return (!c_.starts || c_.starts->fields(f)) && (!c_.ends || c_.ends->fields(f));
  }

  void run(Table& rows, ir::ExecContext&) override {
    // Events in time order (stable: equal times keep their order).
    std::vector<size_t> order(rows.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    auto time_of = [&](size_t i) {
      const Value* t = rows[i].get("_time");
      auto n = t ? t->to_number() : std::nullopt;
      return n ? *n : 0.0;
    };
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return time_of(a) < time_of(b); });

    struct Open {
      std::vector<size_t> members;
      double first = 0, last = 0;
    };
    std::map<std::string, Open> open;
    std::vector<std::vector<size_t>> done;
    auto close = [&](std::map<std::string, Open>::iterator it, bool complete) {
      // Without endswith every transaction is complete; with it, unfinished ones are evicted.
      if (complete) done.push_back(std::move(it->second.members));
      open.erase(it);
    };
    for (size_t i : order) {
      std::string key;
      bool have = true;
      for (auto& f : c_.fields) {
        const Value* v = rows[i].get(f);
        if (!v) {
          have = false;
          break;
        }
        key += v->to_string();
        key += '\x1f';
      }
      if (!have) continue;
      double t = time_of(i);
      bool is_start = c_.starts && c_.starts->matches(rows[i]);
      auto it = open.find(key);
      if (it != open.end()) {
        bool too_long = c_.maxspan >= 0 && t - it->second.first > c_.maxspan;
        bool too_idle = c_.maxpause >= 0 && t - it->second.last > c_.maxpause;
        if (is_start || too_long || too_idle) {
          close(it, !c_.ends);
          it = open.end();
        }
      }
      if (it == open.end()) {
        if (c_.starts && !is_start) continue;  // events before a start belong to no transaction
        it = open.emplace(key, Open{{}, t, t}).first;
      }
      it->second.members.push_back(i);
      it->second.last = t;
      if (c_.ends && c_.ends->matches(rows[i])) close(it, true);
    }
    while (!open.empty()) close(open.begin(), !c_.ends);

    Table out;
    for (auto& members : done) out.push_back(merge(rows, members, time_of));
    std::stable_sort(out.begin(), out.end(), [](const Row& a, const Row& b) {
      return a.get("_time")->number() < b.get("_time")->number();
    });
    rows = std::move(out);
  }

 private:
  template <class TimeOf>
  static Row merge(const Table& rows, const std::vector<size_t>& members, TimeOf time_of) {
    // Each field becomes the distinct values of its events in order; _raw joins with newlines.
    Row r;
    std::vector<std::pair<std::string, std::vector<std::string>>> fields;
    std::string raw;
    for (size_t i : members)
      for (auto& [k, v] : rows[i].entries()) {
        if (k == "_time") continue;
        if (k == "_raw") {
          raw += (raw.empty() ? "" : "\n") + v.to_string();
          continue;
        }
        auto it = std::find_if(fields.begin(), fields.end(), [&name = k](auto& f) { return f.first == name; });
        if (it == fields.end()) it = fields.insert(fields.end(), {k, {}});
        for (auto& t : v.all_texts())
          if (std::find(it->second.begin(), it->second.end(), t) == it->second.end()) it->second.push_back(t);
      }
    double first = time_of(members.front()), last = time_of(members.back());
    r.set("_time", Value(first));
    for (auto& [k, vals] : fields) r.set(k, Value::multi(std::move(vals)));
    if (!raw.empty()) r.set("_raw", Value(raw));
    r.set("duration", Value(last - first));
    r.set("eventcount", Value(members.size()));
    return r;
  }
  Config c_;
};

// `(EventCode=5137)` or `"EventCode=5137"` -> a row predicate.
std::string build_matcher(const std::string& text, OperatorEnv& env, std::optional<match::RowMatcher>& out) {
  std::string s(trim(text));
  if (s.size() >= 2 && ((s.front() == '(' && s.back() == ')') || (s.front() == '"' && s.back() == '"')))
    s = s.substr(1, s.size() - 2);
  if (s.rfind("eval(", 0) == 0) return "transaction: eval() in startswith/endswith is not supported";
  ParseResult pr = parse_pipeline("search " + s);
  if (pr.error) return "transaction: " + pr.error->message;
  auto* sc = std::get_if<SearchCmd>(&pr.pipeline->commands[0].body);
  if (!sc || pr.pipeline->commands.size() != 1) return "transaction: bad startswith/endswith";
  if (!sc->expr) return {};
  std::vector<std::string> errors;
  out.emplace(lower_search(*sc->expr, *env.atoms), *env.atoms, &errors);
  if (!errors.empty()) return "transaction: " + errors.front();
  return {};
}

}  // namespace

OperatorResult make_replace(const Command&, const GenericCmd& g) {
  std::vector<std::pair<std::string, std::string>> pairs;
  std::vector<std::string> fields;
  std::vector<std::string> words;
  for (auto w : g.words) {
    while (!w.empty() && w.back() == ',') w.pop_back();
    if (!w.empty()) words.push_back(std::move(w));
  }
  size_t i = 0;
  while (i + 2 < words.size() && iequals(words[i + 1], "with")) {
    pairs.emplace_back(words[i], words[i + 2]);
    i += 3;
  }
  if (pairs.empty()) return error("replace: expected `\"old\" with \"new\"`");
  if (i < words.size()) {
    if (!iequals(words[i], "in")) return error("replace: unexpected '" + words[i] + "'");
    for (++i; i < words.size(); ++i) fields.push_back(unquote_field(words[i]));
    if (fields.empty()) return error("replace: `in` needs fields");
  }
  for (auto& [f, t] : pairs)
    if (std::count(t.begin(), t.end(), '*') > std::count(f.begin(), f.end(), '*'))
      return error("replace: more wildcards in the replacement than in '" + f + "'");
  return ok<ReplaceOp>(std::move(pairs), std::move(fields));
}

OperatorResult make_transaction(const Command&, const GenericCmd& g, OperatorEnv& env) {
  TransactionOp::Config c;
  for (auto& w : g.words)
    if (w != ",") c.fields.push_back(unquote_field(w));
  if (c.fields.empty()) return error("transaction without fields is not supported");
  for (auto& [k, v] : g.options) {
    std::string key = to_lower(k);
    if (key == "startswith" || key == "endswith") {
      if (!env.atoms) return error("transaction startswith/endswith needs an atom table");
      std::string why = build_matcher(v, env, key == "startswith" ? c.starts : c.ends);
      if (!why.empty()) return error(why);
    } else if (key == "maxspan" || key == "maxpause") {
      auto s = parse_span_seconds(v);
      if (!s) return error("transaction: bad " + key + " '" + v + "'");
      (key == "maxspan" ? c.maxspan : c.maxpause) = *s;
    } else if (key == "connected" || key == "keepevicted" || key == "mvlist" || key == "delim") {
      if (key == "keepevicted" && iequals(v, "true")) return error("transaction keepevicted=true is not supported");
      // connected: vigil only groups events carrying every field, so both settings agree.
    } else {
      return error("transaction option '" + k + "' is not supported");
    }
  }
  return ok<TransactionOp>(std::move(c));
}

}  // namespace vigil::spl::ops
