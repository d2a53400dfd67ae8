// Field-shaping commands: eval, rename, convert, table/fields, fillnull, dedup,
// mvexpand, sort, makemv, and the small generic ones (head, tail, reverse, uniq, nomv).
#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "core/budget.h"
#include "core/strings.h"
#include "core/time.h"
#include "spl/eval.h"
#include "spl/field_refs.h"
#include "spl/operators.h"

namespace vigil::spl::ops {

namespace {

bool has_star(std::string_view s) { return s.find('*') != std::string_view::npos; }

// ---------------------------------------------------------------- eval
class EvalOp final : public ir::Operator {
 public:
  explicit EvalOp(const EvalCmd* cmd) : cmd_(cmd) {}
  std::string name() const override { return "eval"; }
  ir::OpShape shape() const override { return ir::OpShape::per_row; }
  bool reads(std::vector<std::string>& f) const override {
    for (auto& [field, expr] : cmd_->assignments)
      if (!expression_fields(*expr, f)) return false;
    return true;
  }
  bool writes(std::vector<std::string>& f) const override {
    for (auto& [field, expr] : cmd_->assignments) f.push_back(field);
    return true;
  }
  void run(Table& rows, ir::ExecContext& ctx) override {
    for (Row& r : rows)
      for (auto& [field, expr] : cmd_->assignments) {
        Value v = evaluate(*expr, r, ctx);  // later assignments see earlier ones, as in Splunk
        r.set(field, std::move(v));
      }
  }

 private:
  const EvalCmd* cmd_;
};

// ---------------------------------------------------------------- rename
class RenameOp final : public ir::Operator {
 public:
  explicit RenameOp(std::vector<std::pair<std::string, std::string>> pairs) : pairs_(std::move(pairs)) {}
  std::string name() const override { return "rename"; }
  ir::OpShape shape() const override { return ir::OpShape::per_row; }
  bool reads(std::vector<std::string>& f) const override {
    for (auto& [from, to] : pairs_) f.push_back(from);
    return true;
  }
  bool writes(std::vector<std::string>&) const override { return true; }  // see renamed()
  std::optional<std::string> renamed(std::string_view field) const override {
    // The pairs apply in turn, as in run(); a glob maps each `*` to what it matched.
    std::string name(field);
    for (auto& [from, to] : pairs_) {
      if (!has_star(from)) {
        if (name == from) name = to;
        continue;
      }
      std::vector<std::string_view> caps;
      if (field_glob(from, name, &caps)) name = glob_fill(to, caps);
    }
    if (name == field) return std::nullopt;
    return name;
  }
  void run(Table& rows, ir::ExecContext&) override {
    for (Row& r : rows)
      for (auto& [from, to] : pairs_) rename_one(r, from, to);
  }

 private:
  static void rename_one(Row& r, const std::string& from, const std::string& to) {
    auto& es = r.entries();
    if (!has_star(from)) {
      auto src = std::find_if(es.begin(), es.end(), [&](auto& e) { return e.first == from; });
      if (src == es.end() || from == to) return;
      Value v = std::move(src->second);
      size_t pos = static_cast<size_t>(src - es.begin());
      es.erase(src);
      r.erase(to);  // an existing field with the new name is replaced
      if (pos > es.size()) pos = es.size();
      es.insert(es.begin() + static_cast<long>(pos), {to, std::move(v)});
      return;
    }
    // Wildcards: compute every new name first, so a rename cannot feed itself.
    thread_local std::vector<std::string_view> caps;
    thread_local std::vector<std::pair<size_t, std::string>> renames;  // entry -> new name
    renames.clear();
    for (size_t i = 0; i < es.size(); ++i) {
      caps.clear();
      if (!field_glob(from, es[i].first, &caps)) continue;
      std::string nn = glob_fill(to, caps);
      if (nn != es[i].first) renames.emplace_back(i, std::move(nn));
    }
    if (renames.empty()) return;
    // The usual case (`rename Processes.* AS *`): no new name is taken, by a field or by another
    // new name. Each entry is then renamed where it stands, which is what the steps below give.
    bool clash = false;
    for (size_t k = 0; k < renames.size() && !clash; ++k) {
      const std::string& n = renames[k].second;
      for (auto& e : es)
        if (e.first == n) clash = true;
      for (size_t j = 0; j < k && !clash; ++j)
        if (renames[j].second == n) clash = true;
    }
    if (!clash) {
      for (auto& [i, n] : renames) es[i].first = std::move(n);
      return;
    }
    std::vector<std::pair<std::string, std::string>> plan;  // old -> new
    for (auto& [i, n] : renames) plan.emplace_back(es[i].first, std::move(n));
    for (auto& step : plan) {  // no structured binding: clang-14 (the fuzz build) cannot capture one
      const auto& o = step.first;
      const auto& n = step.second;
      auto it = std::find_if(es.begin(), es.end(), [&](auto& e) { return e.first == o; });
      if (it == es.end()) continue;
      Value v = std::move(it->second);
      size_t pos = static_cast<size_t>(it - es.begin());
      es.erase(it);
      auto dup = std::find_if(es.begin(), es.end(), [&](auto& e) { return e.first == n; });
      if (dup != es.end()) {
        if (static_cast<size_t>(dup - es.begin()) < pos) --pos;
        es.erase(dup);
      }
      es.insert(es.begin() + static_cast<long>(std::min(pos, es.size())), {n, std::move(v)});
    }
  }
  std::vector<std::pair<std::string, std::string>> pairs_;
};

// ---------------------------------------------------------------- convert
class ConvertOp final : public ir::Operator {
 public:
  ConvertOp(std::string fmt, std::vector<ConvertCmd::Conversion> convs) : fmt_(std::move(fmt)), convs_(std::move(convs)) {}
  std::string name() const override { return "convert"; }
  ir::OpShape shape() const override { return ir::OpShape::per_row; }
  bool reads(std::vector<std::string>& f) const override {
    for (auto& c : convs_) f.push_back(c.field);
    return true;
  }
  bool writes(std::vector<std::string>& f) const override {
    for (auto& c : convs_) {
      if (has_star(c.field)) return false;
      f.push_back(c.alias.empty() ? c.field : c.alias);
    }
    return true;
  }
  void run(Table& rows, ir::ExecContext&) override {
    for (Row& r : rows)
      for (auto& c : convs_) {
        if (has_star(c.field)) {
          std::vector<std::string> names;
          for (auto& e : r.entries())
            if (field_glob(c.field, e.first)) names.push_back(e.first);
          for (auto& n : names) apply(r, c.func, n, n);
        } else {
          apply(r, c.func, c.field, c.alias.empty() ? c.field : c.alias);
        }
      }
  }

 private:
  void apply(Row& r, const std::string& func, const std::string& field, const std::string& out) const {
    const Value* v = r.get(field);
    if (!v) return;
    std::vector<std::string> res;
    bool changed = false, drop = false;
    for (size_t i = 0; i < v->count(); ++i) {
      std::string t = v->text(i);
      double d;
      if (func == "ctime") {
        // A value that is not an epoch number is left as it is.
        if (parse_number(t, d)) {
          t = format_time(d, fmt_);
          changed = true;
        }
      } else if (func == "mktime") {
        if (auto e = parse_time_format(t, fmt_)) {
          t = format_number(*e);
          changed = true;
        }
      } else if (func == "num" || func == "auto" || func == "rmcomma" || func == "rmunit") {
        std::string s = t;
        if (func == "rmcomma") s.erase(std::remove(s.begin(), s.end(), ','), s.end());
        if (func == "rmunit") {
          size_t k = 0;
          while (k < s.size() && (std::isdigit(static_cast<unsigned char>(s[k])) || s[k] == '.' || s[k] == '-' || s[k] == '+')) ++k;
          s = s.substr(0, k);
        }
        if (parse_number(s, d)) {
          t = format_number(d);
          changed = true;
        } else if (func == "num") {
          drop = true;
        }
      } else if (func == "dur2sec") {
        // [D+]HH:MM:SS
        long long days = 0;
        std::string s = t;
        if (size_t p = s.find('+'); p != std::string::npos) {
          if (!parse_int(s.substr(0, p), days)) continue;
          s = s.substr(p + 1);
        }
        auto parts = split(s, ':');
        double secs = 0;
        bool okp = !parts.empty() && parts.size() <= 3;
        for (auto& p : parts) {
          double x;
          if (!parse_number(p, x)) okp = false;
          secs = secs * 60 + x;
        }
        if (okp) {
          t = format_number(days * 86400.0 + secs);
          changed = true;
        }
      }
      res.push_back(std::move(t));
    }
    if (drop && v->count() == 1) {
      if (out == field) r.erase(field);
      return;
    }
    if (!changed && out == field) return;
    Value nv = res.size() == 1 ? Value(res[0]) : Value::multi(std::move(res));
    r.set(out, std::move(nv));
  }
  std::string fmt_;
  std::vector<ConvertCmd::Conversion> convs_;
};

// ---------------------------------------------------------------- table / fields
class FieldsOp final : public ir::Operator {
 public:
  FieldsOp(bool table, bool remove, std::vector<std::string> fields)
      : table_(table), remove_(remove), fields_(std::move(fields)) {}
  std::string name() const override { return table_ ? "table" : "fields"; }
  ir::OpShape shape() const override { return ir::OpShape::per_row; }
  bool reads(std::vector<std::string>& f) const override {
    f.insert(f.end(), fields_.begin(), fields_.end());
    return true;
  }
  bool writes(std::vector<std::string>&) const override { return true; }  // only removes fields
  // `fields a b` keeps the internal fields (_time, _raw …) as well; `table a b` nothing else.
  bool projects() const override { return table_ && !remove_; }
  void run(Table& rows, ir::ExecContext&) override {
    for (Row& r : rows) {
      auto& es = r.entries();
      if (remove_) {
        es.erase(std::remove_if(es.begin(), es.end(),
                                [&](auto& e) {
                                  for (auto& f : fields_)
                                    if (field_glob(f, e.first)) return true;
                                  return false;
                                }),
                 es.end());
        continue;
      }
      std::vector<Row::Entry> out;
      std::vector<bool> used(es.size(), false);
      for (auto& f : fields_)
        for (size_t i = 0; i < es.size(); ++i)
          if (!used[i] && field_glob(f, es[i].first)) {
            used[i] = true;
            out.push_back(std::move(es[i]));
          }
      if (!table_)  // `fields` keeps internal fields (_time, _raw) unless removed explicitly
        for (size_t i = 0; i < es.size(); ++i)
          if (!used[i] && !es[i].first.empty() && es[i].first[0] == '_') out.push_back(std::move(es[i]));
      es = std::move(out);
    }
  }

 private:
  bool table_, remove_;
  std::vector<std::string> fields_;
};

// ---------------------------------------------------------------- fillnull
class FillnullOp final : public ir::Operator {
 public:
  FillnullOp(std::string value, std::vector<std::string> fields) : value_(std::move(value)), fields_(std::move(fields)) {}
  std::string name() const override { return "fillnull"; }
  // Without a field list it fills every field present in any row: it needs them all.
  ir::OpShape shape() const override { return fields_.empty() ? ir::OpShape::whole : ir::OpShape::per_row; }
  // Without a list it fills the fields other operators name (and so read); it names none itself.
  bool reads(std::vector<std::string>& f) const override {
    f.insert(f.end(), fields_.begin(), fields_.end());
    return true;
  }
  bool writes(std::vector<std::string>& f) const override {
    if (fields_.empty()) return false;
    f.insert(f.end(), fields_.begin(), fields_.end());
    return true;
  }
  void run(Table& rows, ir::ExecContext&) override {
    std::vector<std::string> names = fields_;
    if (names.empty()) {
      // No list: every field present in any result (Splunk's definition of null).
      std::unordered_set<std::string> seen;
      for (auto& r : rows)
        for (auto& e : r.entries())
          if (seen.insert(e.first).second) names.push_back(e.first);
    }
    for (Row& r : rows)
      for (auto& n : names) {
        const Value* v = r.get(n);
        if (!v || v->is_null()) r.set(n, Value(value_));
      }
  }

 private:
  std::string value_;
  std::vector<std::string> fields_;
};

// ---------------------------------------------------------------- dedup
class DedupOp final : public ir::Operator {
 public:
  DedupOp(std::vector<std::string> fields, bool keepempty, bool consecutive, size_t keep_n)
      : fields_(std::move(fields)), keepempty_(keepempty), consecutive_(consecutive), keep_n_(keep_n) {}
  std::string name() const override { return "dedup"; }
  bool reads(std::vector<std::string>& f) const override {
    f.insert(f.end(), fields_.begin(), fields_.end());
    return true;
  }
  void run(Table& rows, ir::ExecContext&) override {
    std::unordered_map<std::string, size_t> seen;
    std::string prev;
    bool have_prev = false;
    Table out;
    for (Row& r : rows) {
      std::string key;
      bool missing = false;
      for (auto& f : fields_) {
        const Value* v = r.get(f);
        if (!v) {
          missing = true;
          break;
        }
        key += v->to_string();
        key += '\x1f';
      }
      if (missing) {
        if (keepempty_) out.push_back(std::move(r));
        continue;
      }
      if (consecutive_) {
        if (have_prev && key == prev) continue;
        prev = key;
        have_prev = true;
        out.push_back(std::move(r));
        continue;
      }
      if (++seen[key] <= keep_n_) out.push_back(std::move(r));
    }
    rows = std::move(out);
  }

 private:
  std::vector<std::string> fields_;
  bool keepempty_, consecutive_;
  size_t keep_n_;
};

// ---------------------------------------------------------------- mvexpand
class MvexpandOp final : public ir::Operator {
 public:
  MvexpandOp(std::string field, size_t limit) : field_(std::move(field)), limit_(limit) {}
  std::string name() const override { return "mvexpand"; }
  ir::OpShape shape() const override { return ir::OpShape::per_row; }
  bool reads(std::vector<std::string>& f) const override {
    f.push_back(field_);
    return true;
  }
  bool writes(std::vector<std::string>& f) const override {
    f.push_back(field_);
    return true;
  }
  void run(Table& rows, ir::ExecContext& ctx) override {
    Table out;
    out.reserve(rows.size());
    // Rows are the budget (core/budget.h): two mvexpands of 100k values would be 10^10.
    bool cut = false;
    size_t cells = 0;
    for (Row& r : rows) {
      if (out.size() >= budget::kMaxRows || cells >= budget::kMaxCells) {
        cut = true;
        break;
      }
      size_t weight = 1;  // values one copy of this row holds
      for (const auto& e : r.entries()) weight += e.second.count();
      const Value* v = r.get(field_);
      if (!v || !v->is_multi()) {
        cells += weight;
        out.push_back(std::move(r));
        continue;
      }
      std::vector<std::string> vals = v->values();
      size_t n = limit_ ? std::min(limit_, vals.size()) : vals.size();
      const size_t room = std::min(budget::kMaxRows - out.size(), (budget::kMaxCells - cells) / weight);
      if (n > room) {
        n = room;
        cut = true;
      }
      cells += n * weight;
      for (size_t i = 0; i < n; ++i) {
        Row copy = r;
        copy.set(field_, Value(vals[i]));
        out.push_back(std::move(copy));
      }
      if (cut) break;
    }
    if (cut)
      budget_exceeded(ctx, "mvexpand stopped at " + std::to_string(out.size()) + " rows (budget: " +
                               std::to_string(budget::kMaxRows) + " rows, " + std::to_string(budget::kMaxCells) +
                               " values)");
    rows = std::move(out);
  }

 private:
  std::string field_;
  size_t limit_;
};

// ---------------------------------------------------------------- sort
class SortOp final : public ir::Operator {
 public:
  struct Key {
    std::string field;
    bool desc;
    enum class Mode { auto_, num, str } mode;
  };
  SortOp(std::vector<Key> keys, size_t limit) : keys_(std::move(keys)), limit_(limit) {}
  bool reads(std::vector<std::string>& f) const override {
    for (auto& k : keys_) f.push_back(k.field);
    return true;
  }
  std::string name() const override { return "sort"; }
  void run(Table& rows, ir::ExecContext&) override {
    sort_rows(rows);
    if (limit_ && rows.size() > limit_) rows.resize(limit_);
  }
  bool keep_first_in_order(Table& rows, size_t n) const override {
    sort_rows(rows);
    if (rows.size() > n) rows.resize(n);
    return true;
  }
  size_t order_limit() const override { return limit_; }

 private:
  // Stable: rows that compare equal keep the order they came in.
  void sort_rows(Table& rows) const {
    // Each row's sort values are read (and parsed as numbers) once, not in every comparison.
    const size_t nk = keys_.size();
    std::vector<std::string> texts(rows.size() * nk);
    std::vector<SortKey> sk(rows.size() * nk);
    std::vector<char> has(rows.size() * nk, 0);
    for (size_t r = 0; r < rows.size(); ++r)
      for (size_t k = 0; k < nk; ++k)
        if (const Value* v = rows[r].get(keys_[k].field)) {
          const size_t at = r * nk + k;
          texts[at] = v->text();
          has[at] = 1;
          sk[at] = keys_[k].mode == Key::Mode::str ? SortKey{false, 0, texts[at]} : SortKey::of(texts[at]);
        }
    std::vector<size_t> order(rows.size());
    for (size_t r = 0; r < order.size(); ++r) order[r] = r;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      for (size_t k = 0; k < nk; ++k) {
        const bool x = has[a * nk + k], y = has[b * nk + k];
        if (!x || !y) {
          if (!x && !y) continue;
          return x;  // rows without the field go last, whatever the direction
        }
        // str(): byte order; else order_texts (a string-mode key is never numeric, so the same call).
        if (int c = order_texts(sk[a * nk + k], sk[b * nk + k])) return keys_[k].desc ? c > 0 : c < 0;
      }
      return false;
    });
    Table sorted;
    sorted.reserve(rows.size());
    for (size_t r : order) sorted.push_back(std::move(rows[r]));
    rows.swap(sorted);
  }

  std::vector<Key> keys_;
  size_t limit_;
};

// ---------------------------------------------------------------- makemv
class MakemvOp final : public ir::Operator {
 public:
  MakemvOp(std::string field, std::string delim, std::optional<Regex> tokenizer, bool allowempty)
      : field_(std::move(field)), delim_(std::move(delim)), tok_(std::move(tokenizer)), allowempty_(allowempty) {}
  std::string name() const override { return "makemv"; }
  void run(Table& rows, ir::ExecContext&) override {
    for (Row& r : rows) {
      const Value* v = r.get(field_);
      if (!v || v->is_multi()) continue;
      std::string s = v->text();
      std::vector<std::string> out;
      if (tok_) {
        Regex::Match m;
        size_t pos = 0;
        while (pos <= s.size() && tok_->find(s, pos, m)) {
          auto g = m.groups.size() > 1 && m.groups[1].begin != SIZE_MAX ? m.groups[1] : m.groups[0];
          out.push_back(s.substr(g.begin, g.end - g.begin));
          pos = m.groups[0].end > m.groups[0].begin ? m.groups[0].end : m.groups[0].end + 1;
        }
      } else if (!delim_.empty()) {
        size_t b = 0;
        for (;;) {
          size_t k = s.find(delim_, b);
          std::string part = s.substr(b, k == std::string::npos ? std::string::npos : k - b);
          if (allowempty_ || !part.empty()) out.push_back(std::move(part));
          if (k == std::string::npos) break;
          b = k + delim_.size();
        }
      }
      r.set(field_, Value::multi(std::move(out)));
    }
  }

 private:
  std::string field_, delim_;
  std::optional<Regex> tok_;
  bool allowempty_;
};

// ---------------------------------------------------------------- head/tail/reverse/uniq/nomv
class RowsOp final : public ir::Operator {
 public:
  enum class Kind { head, tail, reverse, uniq, noop };
  RowsOp(Kind k, size_t n, std::string name) : kind_(k), n_(n), name_(std::move(name)) {}
  std::string name() const override { return name_; }
  bool reads(std::vector<std::string>&) const override { return kind_ != Kind::uniq; }  // uniq compares whole rows
  std::optional<size_t> row_limit() const override { return kind_ == Kind::head ? std::optional<size_t>(n_) : std::nullopt; }
  void run(Table& rows, ir::ExecContext&) override {
    switch (kind_) {
      case Kind::head:
        if (rows.size() > n_) rows.resize(n_);
        break;
      case Kind::tail:
        if (rows.size() > n_) rows.erase(rows.begin(), rows.end() - static_cast<long>(n_));
        std::reverse(rows.begin(), rows.end());  // tail returns the last results in reverse order
        break;
      case Kind::reverse: std::reverse(rows.begin(), rows.end()); break;
      case Kind::uniq:
        rows.erase(std::unique(rows.begin(), rows.end(),
                               [](const Row& a, const Row& b) { return a.entries() == b.entries(); }),
                   rows.end());
        break;
      case Kind::noop: break;
    }
  }

 private:
  Kind kind_;
  size_t n_;
  std::string name_;
};

class NomvOp final : public ir::Operator {
 public:
  explicit NomvOp(std::string f) : field_(std::move(f)) {}
  std::string name() const override { return "nomv"; }
  void run(Table& rows, ir::ExecContext&) override {
    for (Row& r : rows)
      if (const Value* v = r.get(field_); v && v->is_multi()) r.set(field_, Value(v->to_string()));
  }

 private:
  std::string field_;
};


}  // namespace

OperatorResult make_eval(const Command&, const EvalCmd& e) {
  if (e.assignments.empty()) return error("eval needs an assignment");
  for (auto& [f, x] : e.assignments) {
    if (!x) return error("eval: missing expression for '" + f + "'");
    std::string why = validate_expression(*x);
    if (!why.empty()) return error(why);
  }
  return ok<EvalOp>(&e);
}

OperatorResult make_rename(const Command&, const RenameCmd& r) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (auto& [from, to] : r.renames) {
    std::string f = unquote_field(from), t = unquote_field(to);
    if (std::count(f.begin(), f.end(), '*') != std::count(t.begin(), t.end(), '*'))
      return error("rename: '" + from + "' and '" + to + "' have different numbers of wildcards");
    pairs.emplace_back(std::move(f), std::move(t));
  }
  return ok<RenameOp>(std::move(pairs));
}

OperatorResult make_convert(const Command&, const ConvertCmd& cv) {
  static const std::unordered_set<std::string> known = {"ctime", "mktime", "num",     "auto",
                                                        "rmcomma", "rmunit", "dur2sec", "none"};
  std::vector<ConvertCmd::Conversion> convs;
  for (auto c : cv.conversions) {
    c.func = to_lower(c.func);
    if (!known.count(c.func)) return error("convert: unsupported conversion '" + c.func + "'");
    c.field = unquote_field(c.field);
    c.alias = unquote_field(c.alias);
    convs.push_back(std::move(c));
  }
  std::string fmt = cv.timeformat.empty() ? "%m/%d/%Y %H:%M:%S" : cv.timeformat;
  return ok<ConvertOp>(std::move(fmt), std::move(convs));
}

OperatorResult make_fields(const Command& c, const FieldsCmd& f) {
  std::vector<std::string> fields;
  for (auto& x : f.fields) fields.push_back(unquote_field(x));
  return ok<FieldsOp>(c.name == "table", f.remove, std::move(fields));
}

OperatorResult make_fillnull(const Command&, const FillnullCmd& f) {
  std::vector<std::string> fields;
  for (auto& x : f.fields) fields.push_back(unquote_field(x));
  return ok<FillnullOp>(f.value, std::move(fields));
}

OperatorResult make_dedup(const Command&, const DedupCmd& d) {
  if (d.fields.empty()) return error("dedup needs at least one field");
  if (d.options.count("sortby")) return error("dedup sortby is not supported");
  std::vector<std::string> fields;
  size_t keep_n = 1;
  if (auto l = opt(d.options, "limit"); !l.empty()) {  // `dedup 3 host`: keep the first 3 per key
    long long n;
    if (!parse_int(l, n) || n <= 0) return error("dedup: bad count '" + l + "'");
    keep_n = static_cast<size_t>(n);
  }
  for (auto& x : d.fields) {
    long long n;
    if (fields.empty() && parse_int(x, n) && n > 0) {  // `dedup 3 host`: keep the first 3 per key
      keep_n = static_cast<size_t>(n);
      continue;
    }
    fields.push_back(unquote_field(x));
  }
  if (fields.empty()) return error("dedup needs at least one field");
  return ok<DedupOp>(std::move(fields), opt_true(d.options, "keepempty"), opt_true(d.options, "consecutive"), keep_n);
}

OperatorResult make_mvexpand(const Command&, const MvexpandCmd& m) {
  if (m.field.empty()) return error("mvexpand needs a field");
  return ok<MvexpandOp>(unquote_field(m.field), static_cast<size_t>(std::max(0, m.limit)));
}

OperatorResult make_sort(const Command&, const SortCmd& s) {
  std::vector<SortOp::Key> keys;
  for (auto& [f, desc] : s.keys) {
    SortOp::Key k{unquote_field(f), desc, SortOp::Key::Mode::auto_};
    for (auto [pre, mode] : {std::pair{"num(", SortOp::Key::Mode::num}, std::pair{"str(", SortOp::Key::Mode::str},
                             std::pair{"auto(", SortOp::Key::Mode::auto_}, std::pair{"ip(", SortOp::Key::Mode::auto_}}) {
      std::string_view p = pre;
      if (k.field.size() > p.size() && istarts_with(k.field, p) && k.field.back() == ')') {
        k.field = k.field.substr(p.size(), k.field.size() - p.size() - 1);
        k.mode = mode;
      }
    }
    keys.push_back(std::move(k));
  }
  if (keys.empty()) return error("sort needs a field");
  return ok<SortOp>(std::move(keys), static_cast<size_t>(std::max(0, s.limit)));
}

OperatorResult make_makemv(const Command&, const GenericCmd& g) {
  std::string field;
  for (auto& w : g.words)
    if (!w.empty()) field = unquote_field(w);
  if (field.empty()) return error("makemv needs a field");
  std::optional<Regex> tok;
  if (auto t = opt(g.options, "tokenizer"); !t.empty()) {
    auto re = Regex::compile(t);
    if (!re.ok()) return error("makemv tokenizer: " + re.error().message);
    tok = std::move(re.value());
  }
  return ok<MakemvOp>(std::move(field), opt(g.options, "delim", " "), std::move(tok), opt_true(g.options, "allowempty"));
}

OperatorResult make_generic(const Command& c, const GenericCmd& g, OperatorEnv& env) {
  const std::string& n = c.name;
  if (n == "inputlookup") return make_inputlookup(c, g, env);
  if (n == "spath") return make_spath(c, g);
  if (n == "makemv") return make_makemv(c, g);
  if (n == "xmlkv") return make_xmlkv(c, g);
  if (n == "addtotals") return make_addtotals(c, g);
  if (n == "replace") return make_replace(c, g);
  if (n == "transaction") return make_transaction(c, g, env);
  if (n == "noop") return ok<RowsOp>(RowsOp::Kind::noop, 0, n);
  if (n == "reverse") return ok<RowsOp>(RowsOp::Kind::reverse, 0, n);
  if (n == "uniq") return ok<RowsOp>(RowsOp::Kind::uniq, 0, n);
  if (n == "head" || n == "tail") {
    long long k = 10;  // Splunk's default for both
    if (!g.words.empty() && !parse_int(g.words[0], k)) return error(n + ": expected a count");
    if (auto l = opt(g.options, "limit"); !l.empty() && !parse_int(l, k)) return error(n + ": bad limit");
    return ok<RowsOp>(n == "head" ? RowsOp::Kind::head : RowsOp::Kind::tail, static_cast<size_t>(std::max(0LL, k)), n);
  }
  if (n == "nomv") {
    if (g.words.empty()) return error("nomv needs a field");
    return ok<NomvOp>(unquote_field(g.words[0]));
  }
  return error("command '" + n + "' is not supported");
}

}  // namespace vigil::spl::ops
