#include "spl/eval.h"

#include "core/budget.h"

#include <cmath>
#include <cstring>
#include <unordered_map>

#include "core/strings.h"
#include "core/time.h"

namespace vigil::spl {

namespace {

std::optional<double> single_number(const Value& v) {
  if (v.is_multi() || v.is_null()) return std::nullopt;
  return v.to_number();
}

// One comparison between two scalar texts, given the operator.
bool compare_scalar(std::string_view a, std::string_view b, std::string_view op) {
  int c = compare_texts(a, b);
  if (op == "=" || op == "==") return c == 0;
  if (op == "!=") return c != 0;
  if (op == "<") return c < 0;
  if (op == "<=") return c <= 0;
  if (op == ">") return c > 0;
  if (op == ">=") return c >= 0;
  return false;
}

// Comparisons with null are false; a multivalue side matches when any value does.
bool compare_values(const Value& a, const Value& b, std::string_view op) {
  if (a.is_null() || b.is_null()) return false;
  if (!a.is_multi() && !b.is_multi()) {
    if (a.is_number() && b.is_number()) {
      double x = a.number(), y = b.number();
      if (op == "=" || op == "==") return x == y;
      if (op == "!=") return x != y;
      if (op == "<") return x < y;
      if (op == "<=") return x <= y;
      if (op == ">") return x > y;
      if (op == ">=") return x >= y;
      return false;
    }
  }
  // Viewed where they are, not copied (a row's texts are compared for every `where` and `eval` test);
  // a number's text is made in its buffer.
  std::string a_buf, b_buf;
  for (size_t i = 0; i < a.count(); ++i)
    for (size_t j = 0; j < b.count(); ++j)
      if (compare_scalar(a.text_view(i, a_buf), b.text_view(j, b_buf), op)) return true;
  return false;
}

}  // namespace

int compare_texts(std::string_view a, std::string_view b) {
  double x, y;
  if (parse_number(a, x) && parse_number(b, y)) return x < y ? -1 : (x > y ? 1 : 0);
  int c = a.compare(b);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

SortKey SortKey::of(std::string_view t) {
  SortKey k;
  k.text = t;
  k.numeric = parse_number(t, k.number);
  return k;
}

int order_texts(const SortKey& a, const SortKey& b) {
  if (a.numeric != b.numeric) return a.numeric ? -1 : 1;
  if (a.numeric) return a.number < b.number ? -1 : (a.number > b.number ? 1 : 0);
  int c = a.text.compare(b.text);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

bool is_truthy(const Value& v) {
  if (v.is_number()) return v.number() != 0;
  if (v.is_string()) return iequals(v.string(), "true");
  return false;
}

bool like_match(std::string_view text, std::string_view pat) {
  // Iterative wildcard match with single-star backtracking: linear-ish, no recursion.
  size_t t = 0, p = 0, star_p = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pat.size() && pat[p] == '%') {
      star_p = p++;
      star_t = t;
    } else if (p < pat.size() && (pat[p] == '_' || pat[p] == text[t])) {
      ++p;
      ++t;
    } else if (star_p != std::string_view::npos) {
      p = star_p + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pat.size() && pat[p] == '%') ++p;
  return p == pat.size();
}

std::optional<double> parse_span_seconds(std::string_view span) {
  span = trim(span);
  size_t i = 0;
  while (i < span.size() && ((span[i] >= '0' && span[i] <= '9') || span[i] == '.')) ++i;
  double n = 1;
  if (i > 0 && !parse_number(span.substr(0, i), n)) return std::nullopt;
  std::string unit = to_lower(span.substr(i));
  double mult;
  if (unit.empty() || unit == "s" || unit == "sec" || unit == "secs" || unit == "second" || unit == "seconds")
    mult = 1;
  else if (unit == "m" || unit == "min" || unit == "mins" || unit == "minute" || unit == "minutes")
    mult = 60;
  else if (unit == "h" || unit == "hr" || unit == "hrs" || unit == "hour" || unit == "hours")
    mult = 3600;
  else if (unit == "d" || unit == "day" || unit == "days")
    mult = 86400;
  else if (unit == "w" || unit == "week" || unit == "weeks")
    mult = 7 * 86400;
  else
    return std::nullopt;
  if (i == 0 && unit.empty()) return std::nullopt;
  if (!(n > 0)) return std::nullopt;
  return n * mult;
}

std::string span_error(std::string_view span) {
  std::string unit = to_lower(trim(span));
  while (!unit.empty() && ((unit[0] >= '0' && unit[0] <= '9') || unit[0] == '.')) unit.erase(0, 1);
  const bool calendar = unit == "mon" || unit == "month" || unit == "months" || unit == "q" || unit == "qtr" ||
                        unit == "quarter" || unit == "quarters" || unit == "y" || unit == "yr" || unit == "year" ||
                        unit == "years";
  return "unsupported span '" + std::string(span) + "'" +
         (calendar ? " (calendar spans, months, quarters and years, are not supported; give days, e.g. span=30d)"
                   : " (a number with s, m, h, d or w, e.g. span=5m)");
}

namespace {

struct Civil {
  int64_t y;
  unsigned m, d;
};
Civil civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2), m, d};
}

enum class Unit { sec, min, hour, day, week, month, quarter, year };

std::optional<Unit> parse_unit(std::string_view u) {
  std::string s = to_lower(u);
  if (s == "s" || s == "sec" || s == "secs" || s == "second" || s == "seconds") return Unit::sec;
  if (s == "m" || s == "min" || s == "mins" || s == "minute" || s == "minutes") return Unit::min;
  if (s == "h" || s == "hr" || s == "hrs" || s == "hour" || s == "hours") return Unit::hour;
  if (s == "d" || s == "day" || s == "days") return Unit::day;
  if (s == "w" || s == "week" || s == "weeks") return Unit::week;
  if (s == "mon" || s == "month" || s == "months") return Unit::month;
  if (s == "q" || s == "qtr" || s == "qtrs" || s == "quarter" || s == "quarters") return Unit::quarter;
  if (s == "y" || s == "yr" || s == "yrs" || s == "year" || s == "years") return Unit::year;
  return std::nullopt;
}

double add_months(double t, int64_t months) {
  double day_secs = std::floor(t / 86400.0);
  double rem = t - day_secs * 86400.0;
  Civil c = civil_from_days(static_cast<int64_t>(day_secs));
  int64_t total = c.y * 12 + (c.m - 1) + months;
  int64_t y = total >= 0 ? total / 12 : (total - 11) / 12;
  unsigned m = static_cast<unsigned>(total - y * 12) + 1;
  return static_cast<double>(days_from_civil(y, m, c.d)) * 86400.0 + rem;
}

double snap(double t, Unit u, int weekday) {
  double days = std::floor(t / 86400.0);
  Civil c = civil_from_days(static_cast<int64_t>(days));
  switch (u) {
    case Unit::sec: return std::floor(t);
    case Unit::min: return std::floor(t / 60) * 60;
    case Unit::hour: return std::floor(t / 3600) * 3600;
    case Unit::day: return days * 86400;
    case Unit::week: {
      // 1970-01-01 was a Thursday (weekday 4); @w0 snaps to Sunday, @wN to weekday N.
      int64_t wd = (static_cast<int64_t>(days) % 7 + 7 + 4) % 7;
      int64_t back = (wd - weekday + 7) % 7;
      return (days - static_cast<double>(back)) * 86400;
    }
    case Unit::month: return static_cast<double>(days_from_civil(c.y, c.m, 1)) * 86400;
    case Unit::quarter: return static_cast<double>(days_from_civil(c.y, ((c.m - 1) / 3) * 3 + 1, 1)) * 86400;
    case Unit::year: return static_cast<double>(days_from_civil(c.y, 1, 1)) * 86400;
  }
  return t;
}

}  // namespace

std::optional<double> apply_relative_time(double base, std::string_view spec) {
  spec = trim(spec);
  if (iequals(spec, "now") || spec.empty()) return base;
  double t = base;
  size_t i = 0;
  while (i < spec.size()) {
    char c = spec[i];
    if (c == '+' || c == '-') {
      int sign = c == '-' ? -1 : 1;
      ++i;
      size_t b = i;
      while (i < spec.size() && spec[i] >= '0' && spec[i] <= '9') ++i;
      long long n = 1;
      if (i > b && !parse_int(spec.substr(b, i - b), n)) return std::nullopt;
      size_t ub = i;
      while (i < spec.size() && ((spec[i] >= 'a' && spec[i] <= 'z') || (spec[i] >= 'A' && spec[i] <= 'Z'))) ++i;
      auto u = parse_unit(spec.substr(ub, i - ub));
      if (!u) return std::nullopt;
      double k = static_cast<double>(sign * n);
      switch (*u) {
        case Unit::sec: t += k; break;
        case Unit::min: t += k * 60; break;
        case Unit::hour: t += k * 3600; break;
        case Unit::day: t += k * 86400; break;
        case Unit::week: t += k * 7 * 86400; break;
        case Unit::month: t = add_months(t, sign * n); break;
        case Unit::quarter: t = add_months(t, sign * n * 3); break;
        case Unit::year: t = add_months(t, sign * n * 12); break;
      }
    } else if (c == '@') {
      ++i;
      size_t ub = i;
      while (i < spec.size() && ((spec[i] >= 'a' && spec[i] <= 'z') || (spec[i] >= 'A' && spec[i] <= 'Z'))) ++i;
      std::string_view us = spec.substr(ub, i - ub);
      int weekday = 0;
      if ((us == "w" || us == "W") && i < spec.size() && spec[i] >= '0' && spec[i] <= '7') {
        weekday = (spec[i] - '0') % 7;
        ++i;
      }
      auto u = parse_unit(us);
      if (!u) return std::nullopt;
      t = snap(t, *u, weekday);
    } else {
      return std::nullopt;
    }
  }
  return t;
}

void budget_exceeded(ir::ExecContext& ctx, std::string_view what) {
  if (ctx.diags) ctx.diags->warning(ctx.where, "rule exceeds the run-time budget: " + std::string(what), "budget");
}

const Regex* cached_regex(std::string_view pattern, std::string* error) {
  struct Entry {
    std::optional<Regex> re;
    std::string error;
  };
  // Per thread: no locking on the row path; rule patterns are few, so the cache stays small. Looked up
  // by the view (a pattern of a few KB was copied into a key on every call).
  struct ViewHash {
    using is_transparent = void;
    size_t operator()(std::string_view t) const { return std::hash<std::string_view>{}(t); }
  };
  thread_local std::unordered_map<std::string, Entry, ViewHash, std::equal_to<>> cache;
  auto it = cache.find(pattern);
  if (it == cache.end()) {
    if (cache.size() > 4096) cache.clear();  // bound memory against generated patterns
    Entry e;
    auto r = Regex::compile(pattern);
    if (r.ok()) e.re = std::move(r.value());
    else e.error = r.error().message;
    it = cache.emplace(std::string(pattern), std::move(e)).first;
  }
  if (!it->second.re) {
    if (error) *error = it->second.error;
    return nullptr;
  }
  return &*it->second.re;
}

std::string validate_expression(const Expr& e) {
  if (e.kind == ExprKind::call) {
    size_t lo, hi;
    if (!detail::function_arity(e.text, lo, hi)) return "unknown eval function '" + e.text + "'";
    if (e.args.size() < lo || e.args.size() > hi)
      return "eval function '" + e.text + "' takes " +
             (lo == hi ? std::to_string(lo) : std::to_string(lo) + (hi == SIZE_MAX ? "+" : "-" + std::to_string(hi))) +
             " argument(s), got " + std::to_string(e.args.size());
  }
  for (auto& a : e.args)
    if (a) {
      std::string r = validate_expression(*a);
      if (!r.empty()) return r;
    }
  return {};
}

// ---------------------------------------------------------------- Evaluator

namespace detail {

const Value* Evaluator::field(std::string_view name) const {
  if (bound_name_ && *bound_name_ == name) return bound_value_;
  return row_.get(name);
}

Value Evaluator::value(const Expr& e) { return to_value(eval(e)); }

const Value& Evaluator::value_ref(const Expr& e, Value& held) {
  if (e.kind == ExprKind::field)
    if (const Value* v = field(e.text)) return *v;
  held = value(e);
  return held;
}

bool Evaluator::condition(const Expr& e) {
  EvalResult r = eval(e);
  if (r.is_bool()) return r.boolean == 1;
  return is_truthy(r.value);
}

EvalResult Evaluator::eval(const Expr& e) {
  EvalResult r;
  switch (e.kind) {
    case ExprKind::string: r.value = Value(e.text); return r;
    case ExprKind::number: r.value = Value(e.number); return r;
    case ExprKind::null_lit: return r;
    case ExprKind::field: {
      if (const Value* v = field(e.text)) r.value = *v;
      return r;
    }
    case ExprKind::call: return call_function(e, *this);
    case ExprKind::unary: {
      if (e.args.empty() || !e.args[0]) return r;
      if (e.text == "-") {
        Value v = value(*e.args[0]);
        if (auto n = single_number(v)) r.value = Value(-*n);
        return r;
      }
      return EvalResult::of_bool(!condition(*e.args[0]));  // NOT
    }
    case ExprKind::in_list: {
      if (e.args.empty() || !e.args[0]) return EvalResult::of_bool(false);
      Value v = value(*e.args[0]);
      for (size_t i = 1; i < e.args.size(); ++i)
        if (e.args[i] && compare_values(v, value(*e.args[i]), "=")) return EvalResult::of_bool(true);
      return EvalResult::of_bool(false);
    }
    case ExprKind::binary: return binary(e);
  }
  return r;
}

EvalResult Evaluator::binary(const Expr& e) {
  EvalResult r;
  if (e.args.size() < 2 || !e.args[0] || !e.args[1]) return r;
  const std::string& op = e.text;
  if (op == "AND") return EvalResult::of_bool(condition(*e.args[0]) && condition(*e.args[1]));
  if (op == "OR") return EvalResult::of_bool(condition(*e.args[0]) || condition(*e.args[1]));
  if (op == "XOR") return EvalResult::of_bool(condition(*e.args[0]) != condition(*e.args[1]));

  // An operand that names a field is read where it is in the row: a comparison copied the row's
  // text for every row it tested.
  Value a_held, b_held;
  const Value& a = value_ref(*e.args[0], a_held);
  const Value& b = value_ref(*e.args[1], b_held);
  if (op == "=" || op == "==" || op == "!=" || op == "<" || op == "<=" || op == ">" || op == ">=")
    return EvalResult::of_bool(compare_values(a, b, op));
  if (op == "LIKE") {
    if (a.is_null() || b.is_null()) return EvalResult::of_bool(false);
    std::string pat = b.text();
    for (size_t i = 0; i < a.count(); ++i)
      if (like_match(a.text(i), pat)) return EvalResult::of_bool(true);
    return EvalResult::of_bool(false);
  }
  // Arithmetic and concatenation: null in, null out; multivalues do not take part.
  if (a.is_null() || b.is_null() || a.is_multi() || b.is_multi()) return r;
  auto concat = [&]() {
    std::string ta = a.text(), tb = b.text();
    if (ta.size() + tb.size() > budget::kMaxValueBytes) {
      budget_exceeded(ctx_, "concatenation longer than " + std::to_string(budget::kMaxValueBytes >> 20) +
                                " MiB; the result is null");
      return Value();
    }
    return Value(ta + tb);
  };
  if (op == ".") {
    r.value = concat();
    return r;
  }
  auto x = a.to_number(), y = b.to_number();
  if (op == "+") {
    if (x && y) r.value = Value(*x + *y);
    else r.value = concat();  // either side non-numeric: concatenation
    return r;
  }
  if (!x || !y) return r;
  if (op == "-") r.value = Value(*x - *y);
  else if (op == "*") r.value = Value(*x * *y);
  else if (op == "/") {
    if (*y != 0) r.value = Value(*x / *y);
  } else if (op == "%") {
    if (*y != 0) r.value = Value(std::fmod(*x, *y));
  }
  return r;
}

}  // namespace detail

Value evaluate(const Expr& e, const Row& row, ir::ExecContext& ctx) {
  detail::Evaluator ev(row, ctx);
  return ev.value(e);
}

bool evaluate_condition(const Expr& e, const Row& row, ir::ExecContext& ctx) {
  detail::Evaluator ev(row, ctx);
  return ev.condition(e);
}

}  // namespace vigil::spl
