#include "spl/lower.h"

#include <algorithm>

#include "core/intern.h"
#include "core/strings.h"

namespace vigil::spl {

namespace {

using ir::AtomKind;
using ir::Predicate;

Predicate atom(ir::AtomTable& t, std::string_view field, AtomKind k, std::string value, bool cs) {
  ir::Atom a;
  a.field = field.empty() ? kNoSymbol : field_id(field);
  a.kind = k;
  a.value = std::move(value);
  a.case_sensitive = cs;
  return Predicate::make_atom(t.intern(a));
}

// SPL value -> ir glob syntax (see lower.h): SPL has only `*`; a backslash is literal.
std::string to_glob(std::string_view v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    if (c == '\\' && i + 1 < v.size() && (v[i + 1] == '*' || v[i + 1] == '?' || v[i + 1] == '\\')) {
      out += "\\\\";
    } else if (c == '?') {
      out += "\\?";
    } else {
      out += c;
    }
  }
  return out;
}

// `f=v` with SPL wildcard semantics.
Predicate lower_value(ir::AtomTable& t, const std::string& field, std::string v, bool cs) {
  // Runs of `*` mean the same as one.
  std::string s;
  for (char c : v)
    if (!(c == '*' && !s.empty() && s.back() == '*')) s += c;
  if (s == "*") return atom(t, field, AtomKind::exists, "", false);
  size_t stars = std::count(s.begin(), s.end(), '*');
  if (stars == 0) return atom(t, field, AtomKind::eq, std::move(s), cs);
  bool lead = s.front() == '*', trail = s.back() == '*';
  if (stars == 2 && lead && trail) return atom(t, field, AtomKind::contains, s.substr(1, s.size() - 2), cs);
  if (stars == 1 && trail) return atom(t, field, AtomKind::starts_with, s.substr(0, s.size() - 1), cs);
  if (stars == 1 && lead) return atom(t, field, AtomKind::ends_with, s.substr(1), cs);
  return atom(t, field, AtomKind::wildcard, to_glob(s), cs);
}

bool is_time_bound(const SearchExpr& e) {
  return e.kind == SearchKind::compare && e.op == "=" && (iequals(e.field, "earliest") || iequals(e.field, "latest"));
}

// `positive`: under an even number of NOTs. A term that cannot be lowered becomes true there and
// false under a NOT, so the predicate keeps every event the search could keep. `bounds`: the
// terms of the search's top-level AND that set its time range (TimeBounds), true here.
Predicate lower_s(const SearchExpr& e, ir::AtomTable& t, std::vector<std::string>* w, const SubsearchResolver* r,
                  bool positive, bool bounds = false) {
  auto warn = [&](std::string m) {
    if (w) w->push_back(std::move(m));
  };
  switch (e.kind) {
    case SearchKind::and_:
    case SearchKind::or_: {
      std::vector<Predicate> kids;
      for (auto& c : e.children) kids.push_back(lower_s(*c, t, w, r, positive, bounds && e.kind == SearchKind::and_));
      return e.kind == SearchKind::and_ ? Predicate::make_and(std::move(kids)) : Predicate::make_or(std::move(kids));
    }
    case SearchKind::not_:
      return Predicate::make_not(lower_s(*e.children.at(0), t, w, r, !positive));
    case SearchKind::keyword: {
      if (e.subsearch) {
        if (auto rows = r && *r ? (*r)(*e.subsearch) : std::nullopt) {
          // Splunk's implicit `format`: ( ( f1="a" AND f2="b" ) OR ( … ) ); quoted values keep `*` wildcards.
          std::vector<Predicate> alts;
          for (const FormatRow& row : *rows) {
            std::vector<Predicate> all;
            for (const auto& [field, values] : row) {
              std::vector<Predicate> any;
              for (const auto& v : values) any.push_back(lower_value(t, field, v, e.case_sensitive));
              all.push_back(Predicate::make_or(std::move(any)));
            }
            alts.push_back(all.empty() ? Predicate::always_true() : Predicate::make_and(std::move(all)));
          }
          // No rows: format writes `NOT ( )`, and `( )` matches everything, so the term matches nothing.
          return alts.empty() ? Predicate::always_false() : Predicate::make_or(std::move(alts));
        }
        warn("subsearch term is resolved at run time; not part of the static filter");
        return positive ? Predicate::always_true() : Predicate::always_false();
      }
      std::string v = e.values.empty() ? "" : e.values[0];
      size_t b = v.find_first_not_of('*');
      if (b == std::string::npos) return Predicate::always_true();  // `*`
      size_t en = v.find_last_not_of('*');
      v = v.substr(b, en - b + 1);
      if (v.find('*') != std::string::npos) warn("keyword '" + v + "' has an inner '*': matched as a literal substring");
      return atom(t, "", AtomKind::keyword, std::move(v), e.case_sensitive);
    }
    case SearchKind::in_list: {
      std::vector<Predicate> kids;
      for (auto& v : e.values) kids.push_back(lower_value(t, e.field, v, e.case_sensitive));
      return Predicate::make_or(std::move(kids));
    }
    case SearchKind::compare: {
      if (bounds && is_time_bound(e)) return Predicate::always_true();
      const std::string v = e.values.empty() ? "" : e.values[0];
      if (e.op == "=") return lower_value(t, e.field, v, e.case_sensitive);
      if (e.op == "!=") {
        // Only events that have the field with another value (Splunk "Difference between != and NOT").
        Predicate eq = lower_value(t, e.field, v, e.case_sensitive);
        return Predicate::make_and({atom(t, e.field, AtomKind::exists, "", false), Predicate::make_not(std::move(eq))});
      }
      double num = 0;
      if (!parse_number(v, num)) warn("'" + e.field + e.op + v + "': non-numeric comparison value");
      AtomKind k = e.op == "<" ? AtomKind::lt : e.op == "<=" ? AtomKind::le : e.op == ">" ? AtomKind::gt : AtomKind::ge;
      return atom(t, e.field, k, v, false);
    }
  }
  return Predicate::always_true();
}

// ---------------------------------------------------------------- where

struct WhereLowering {
  ir::AtomTable& t;
  bool& complete;

  // Unlowerable: over-approximate (true when positive, false under an odd number of NOTs).
  Predicate give_up(bool positive) {
    complete = false;
    return positive ? Predicate::always_true() : Predicate::always_false();
  }

  static bool is_field(const Expr& e) { return e.kind == ExprKind::field; }
  static bool is_string(const Expr& e) { return e.kind == ExprKind::string; }
  static bool is_number(const Expr& e) { return e.kind == ExprKind::number; }

  Predicate like(const std::string& field, const std::string& pat) {
    // SQL LIKE: `%` any run, `_` one char. Plain forms become substring atoms.
    size_t pct = std::count(pat.begin(), pat.end(), '%');
    bool under = pat.find('_') != std::string::npos;
    if (!under) {
      if (pct == 0) return atom(t, field, AtomKind::eq, pat, true);
      bool lead = pat.front() == '%', trail = pat.back() == '%';
      if (pct == 2 && lead && trail && pat.size() >= 2)
        return atom(t, field, AtomKind::contains, pat.substr(1, pat.size() - 2), true);
      if (pct == 1 && trail) return atom(t, field, AtomKind::starts_with, pat.substr(0, pat.size() - 1), true);
      if (pct == 1 && lead) return atom(t, field, AtomKind::ends_with, pat.substr(1), true);
    }
    std::string re = "^";
    for (char c : pat) {
      if (c == '%') {
        re += ".*";
      } else if (c == '_') {
        re += '.';
      } else {
        if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) re += '\\';
        re += c;
      }
    }
    re += '$';
    return atom(t, field, AtomKind::regex, "(?s)" + re, true);
  }

  Predicate compare(const std::string& op, const Expr& l, const Expr& r, bool positive) {
    const Expr* f = &l;
    const Expr* v = &r;
    std::string o = op == "==" ? "=" : op;
    if (!is_field(l) && is_field(r)) {  // `"x" = f`, `5 < f`: mirror
      std::swap(f, v);
      if (o == "<") o = ">";
      else if (o == ">") o = "<";
      else if (o == "<=") o = ">=";
      else if (o == ">=") o = "<=";
    }
    if (!is_field(*f)) return give_up(positive);
    const std::string& field = f->text;
    auto exists = [&] { return atom(t, field, AtomKind::exists, "", false); };
    if (o == "=" || o == "!=") {
      Predicate eq;
      if (is_string(*v)) {
        eq = atom(t, field, AtomKind::eq, v->text, true);
      } else if (is_number(*v)) {
        eq = Predicate::make_and({atom(t, field, AtomKind::ge, v->text, false), atom(t, field, AtomKind::le, v->text, false)});
      } else if (is_field(*v)) {
        eq = atom(t, field, AtomKind::field_eq, v->text, true);
        if (o == "!=")  // null on either side makes the comparison false
          return Predicate::make_and({exists(), atom(t, v->text, AtomKind::exists, "", false), Predicate::make_not(std::move(eq))});
      } else {
        return give_up(positive);
      }
      if (o == "=") return eq;
      return Predicate::make_and({exists(), Predicate::make_not(std::move(eq))});
    }
    if (!is_number(*v)) return give_up(positive);  // string ordering or field-vs-field: not an atom
    AtomKind k = o == "<" ? AtomKind::lt : o == "<=" ? AtomKind::le : o == ">" ? AtomKind::gt : AtomKind::ge;
    return atom(t, field, k, v->text, false);
  }

  Predicate in_list(const Expr& subject, const std::vector<const Expr*>& items, bool positive) {
    if (!is_field(subject)) return give_up(positive);
    std::vector<Predicate> kids;
    for (const Expr* x : items) {
      if (is_string(*x)) {
        kids.push_back(atom(t, subject.text, AtomKind::eq, x->text, true));
      } else if (is_number(*x)) {
        kids.push_back(Predicate::make_and(
            {atom(t, subject.text, AtomKind::ge, x->text, false), atom(t, subject.text, AtomKind::le, x->text, false)}));
      } else if (is_field(*x)) {
        kids.push_back(atom(t, subject.text, AtomKind::field_eq, x->text, true));
      } else {
        return give_up(positive);
      }
    }
    return Predicate::make_or(std::move(kids));
  }

  Predicate lower(const Expr& e, bool positive) {
    switch (e.kind) {
      case ExprKind::binary: {
        const std::string& op = e.text;
        if (op == "AND" || op == "OR") {
          Predicate l = lower(*e.args[0], positive), r = lower(*e.args[1], positive);
          return op == "AND" ? Predicate::make_and({std::move(l), std::move(r)})
                             : Predicate::make_or({std::move(l), std::move(r)});
        }
        if (op == "=" || op == "==" || op == "!=" || op == "<" || op == "<=" || op == ">" || op == ">=")
          return compare(op, *e.args[0], *e.args[1], positive);
        if (op == "LIKE" && is_field(*e.args[0]) && is_string(*e.args[1])) return like(e.args[0]->text, e.args[1]->text);
        return give_up(positive);
      }
      case ExprKind::unary:
        if (e.text == "NOT") return Predicate::make_not(lower(*e.args[0], !positive));
        return give_up(positive);
      case ExprKind::in_list: {
        std::vector<const Expr*> items;
        for (size_t i = 1; i < e.args.size(); ++i) items.push_back(e.args[i].get());
        return in_list(*e.args[0], items, positive);
      }
      case ExprKind::call: {
        const std::string& fn = e.text;
        if ((fn == "isnotnull" || fn == "isnull") && e.args.size() == 1 && is_field(*e.args[0])) {
          Predicate ex = atom(t, e.args[0]->text, AtomKind::exists, "", false);
          return fn == "isnull" ? Predicate::make_not(std::move(ex)) : ex;
        }
        if (fn == "like" && e.args.size() == 2 && is_field(*e.args[0]) && is_string(*e.args[1]))
          return like(e.args[0]->text, e.args[1]->text);
        if (fn == "match" && e.args.size() == 2 && is_field(*e.args[0]) && is_string(*e.args[1]))
          return atom(t, e.args[0]->text, AtomKind::regex, e.args[1]->text, true);
        if (fn == "cidrmatch" && e.args.size() == 2 && is_string(*e.args[0]) && is_field(*e.args[1]))
          return atom(t, e.args[1]->text, AtomKind::cidr, e.args[0]->text, false);
        return give_up(positive);
      }
      default:
        return give_up(positive);
    }
  }
};

}  // namespace

ir::Predicate lower_search(const SearchExpr& e, ir::AtomTable& atoms, std::vector<std::string>* warnings,
                           const SubsearchResolver* resolve, bool time_bounds) {
  return lower_s(e, atoms, warnings, resolve, true, time_bounds);
}

TimeBounds time_bounds(const SearchExpr& e) {
  TimeBounds b;
  if (is_time_bound(e)) {
    (iequals(e.field, "earliest") ? b.earliest : b.latest) = e.values.empty() ? "" : e.values[0];
  } else if (e.kind == SearchKind::and_) {
    for (auto& c : e.children) {
      TimeBounds k = time_bounds(*c);
      if (k.earliest) b.earliest = k.earliest;  // the last one wins, as in Splunk
      if (k.latest) b.latest = k.latest;
    }
  }
  return b;
}

namespace {
bool nested_time_bound(const SearchExpr& e, bool top) {
  if (is_time_bound(e)) return !top;
  const bool stays_top = top && e.kind == SearchKind::and_;
  for (auto& c : e.children)
    if (nested_time_bound(*c, stays_top)) return true;
  return false;
}
}  // namespace

bool nested_time_bound(const SearchExpr& e) { return nested_time_bound(e, true); }

ir::Predicate lower_where(const Expr& e, ir::AtomTable& atoms, bool& complete) {
  complete = true;
  WhereLowering w{atoms, complete};
  return w.lower(e, true);
}

}  // namespace vigil::spl
