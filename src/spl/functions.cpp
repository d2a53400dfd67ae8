// The eval function library (Splunk "Evaluation functions" reference). Every
// function tolerates any argument values: wrong types give null, never a throw.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <unordered_map>
#include <unordered_set>

#include "core/budget.h"
#include "core/strings.h"
#include "core/time.h"
#include "match/compiled_atom.h"
#include "spl/eval.h"

namespace vigil::spl::detail {

namespace {

using Args = std::vector<ExprPtr>;
using Fn = EvalResult (*)(const Expr& call, Evaluator& ev);

EvalResult val(Value v) {
  EvalResult r;
  r.value = std::move(v);
  return r;
}
EvalResult null_result() { return {}; }
EvalResult boolean(bool b) { return EvalResult::of_bool(b); }

Value arg(const Expr& c, Evaluator& ev, size_t i) { return i < c.args.size() && c.args[i] ? ev.value(*c.args[i]) : Value(); }

// An argument where it already is when it names a field (its value in the row), else evaluated into
// `held`: match() and lower() over a PowerShell script block copied up to 32 KB a call, and ESCU's
// PowerShell 4104 Hunting makes two dozen such calls an event.
const Value& arg_ref(const Expr& c, Evaluator& ev, size_t i, Value& held) {
  if (i < c.args.size() && c.args[i]) return ev.value_ref(*c.args[i], held);
  held = Value();
  return held;
}
// A single-valued text argument (multivalues use their first value, as Splunk's string functions do),
// copied once from where it is.
std::optional<std::string> text_arg(const Expr& c, Evaluator& ev, size_t i) {
  Value held;
  const Value& v = arg_ref(c, ev, i, held);
  if (v.is_null()) return std::nullopt;
  return v.text(0);
}
// text_arg() viewed where it is when it is a string literal (a regex's text), else made in `held`.
std::optional<std::string_view> text_view_arg(const Expr& c, Evaluator& ev, size_t i, std::string& held) {
  if (i < c.args.size() && c.args[i] && c.args[i]->kind == ExprKind::string) return std::string_view(c.args[i]->text);
  auto t = text_arg(c, ev, i);
  if (!t) return std::nullopt;
  held = std::move(*t);
  return std::string_view(held);
}
std::optional<double> num_arg(const Expr& c, Evaluator& ev, size_t i) {
  Value held;
  const Value& v = arg_ref(c, ev, i, held);
  if (v.is_null()) return std::nullopt;
  if (v.is_multi()) {
    double d;
    if (!v.values().empty() && parse_number(v.values()[0], d)) return d;
    return std::nullopt;
  }
  return v.to_number();
}

// UTF-8 code point boundaries, so len/substr count characters as Splunk does.
std::vector<size_t> char_starts(std::string_view s) {
  std::vector<size_t> out;
  for (size_t i = 0; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) out.push_back(i);
  return out;
}

// The field an mvfilter expression talks about: its first field reference.
const Expr* first_field(const Expr& e) {
  if (e.kind == ExprKind::field) return &e;
  for (auto& a : e.args)
    if (a)
      if (const Expr* f = first_field(*a)) return f;
  return nullptr;
}

// ---------------------------------------------------------------- conditionals
EvalResult f_if(const Expr& c, Evaluator& ev) {
  bool cond = ev.condition(*c.args[0]);
  return ev.eval(*c.args[cond ? 1 : 2]);
}
EvalResult f_case(const Expr& c, Evaluator& ev) {
  for (size_t i = 0; i + 1 < c.args.size(); i += 2)
    if (ev.condition(*c.args[i])) return ev.eval(*c.args[i + 1]);
  return null_result();
}
EvalResult f_coalesce(const Expr& c, Evaluator& ev) {
  for (auto& a : c.args) {
    EvalResult r = ev.eval(*a);
    if (r.is_bool() || !r.value.is_null()) return r;
  }
  return null_result();
}
EvalResult f_null(const Expr&, Evaluator&) { return null_result(); }
EvalResult f_true(const Expr&, Evaluator&) { return boolean(true); }
EvalResult f_false(const Expr&, Evaluator&) { return boolean(false); }
EvalResult f_isnull(const Expr& c, Evaluator& ev) { return boolean(arg(c, ev, 0).is_null()); }
EvalResult f_isnotnull(const Expr& c, Evaluator& ev) { return boolean(!arg(c, ev, 0).is_null()); }
EvalResult f_isnum(const Expr& c, Evaluator& ev) {
  Value v = arg(c, ev, 0);
  return boolean(!v.is_multi() && v.to_number().has_value());
}
EvalResult f_isint(const Expr& c, Evaluator& ev) {
  Value v = arg(c, ev, 0);
  auto n = v.is_multi() ? std::nullopt : v.to_number();
  return boolean(n && std::floor(*n) == *n);
}
EvalResult f_isstr(const Expr& c, Evaluator& ev) {
  Value v = arg(c, ev, 0);
  return boolean(v.is_string() && !v.to_number());
}
EvalResult f_typeof(const Expr& c, Evaluator& ev) {
  EvalResult r = ev.eval(*c.args[0]);
  if (r.is_bool()) return val(Value("Boolean"));
  if (r.value.is_null()) return val(Value("Invalid"));
  if (r.value.is_multi()) return val(Value("Multivalue"));
  return val(Value(r.value.to_number() ? "Number" : "String"));
}
EvalResult f_in(const Expr& c, Evaluator& ev) {
  Value v = arg(c, ev, 0);
  if (v.is_null()) return boolean(false);
  for (size_t i = 1; i < c.args.size(); ++i) {
    Value w = ev.value(*c.args[i]);
    for (size_t a = 0; a < v.count(); ++a)
      for (size_t b = 0; b < w.count(); ++b)
        if (compare_texts(v.text(a), w.text(b)) == 0) return boolean(true);
  }
  return boolean(false);
}
EvalResult f_like(const Expr& c, Evaluator& ev) {
  Value held;
  std::string held_pat, buf;
  const Value& v = arg_ref(c, ev, 0, held);
  auto pat = text_view_arg(c, ev, 1, held_pat);
  if (v.is_null() || !pat) return boolean(false);
  for (size_t i = 0; i < v.count(); ++i)
    if (like_match(v.text_view(i, buf), *pat)) return boolean(true);
  return boolean(false);
}
EvalResult f_match(const Expr& c, Evaluator& ev) {
  Value held;
  std::string held_pat, buf;
  const Value& v = arg_ref(c, ev, 0, held);
  auto pat = text_view_arg(c, ev, 1, held_pat);
  if (v.is_null() || !pat) return boolean(false);
  std::string err;
  const Regex* re = cached_regex(*pat, &err);
  if (!re) {
    if (ev.ctx().diags) {
      std::string msg = "match(): pattern '";
      msg.append(pat->substr(0, 200)).append("': ").append(err);
      ev.ctx().diags->warning(ev.ctx().where, std::move(msg), "bad-regex");
    }
    return boolean(false);
  }
  for (size_t i = 0; i < v.count(); ++i)
    if (re->search(v.text_view(i, buf))) return boolean(true);
  return boolean(false);
}
EvalResult f_cidrmatch(const Expr& c, Evaluator& ev) {
  auto cidr = text_arg(c, ev, 0);
  Value ip = arg(c, ev, 1);
  if (!cidr || ip.is_null()) return boolean(false);
  ir::Atom atom;
  atom.kind = ir::AtomKind::cidr;
  atom.value = *cidr;
  auto compiled = match::CompiledAtom::compile(atom);
  if (!compiled) return boolean(false);
  for (size_t i = 0; i < ip.count(); ++i)
    if (compiled->test(ip.text(i))) return boolean(true);
  return boolean(false);
}
EvalResult f_searchmatch(const Expr& c, Evaluator& ev) {
  // Minimal form: every whitespace-separated term (f=v or bare) must match the row.
  auto q = text_arg(c, ev, 0);
  if (!q) return boolean(false);
  for (std::string_view term : split(*q, ' ')) {
    term = trim(term);
    if (term.empty()) continue;
    size_t eq = term.find('=');
    bool ok = false;
    if (eq != std::string_view::npos) {
      const Value* v = ev.field(term.substr(0, eq));
      std::string pat(term.substr(eq + 1));
      if (pat.size() >= 2 && pat.front() == '"' && pat.back() == '"') pat = pat.substr(1, pat.size() - 2);
      if (v)
        for (size_t i = 0; i < v->count() && !ok; ++i) ok = spl_wildcard_match(pat, v->text(i));
    } else {
      std::string pat = "*" + std::string(term) + "*";
      for (auto& [k, v] : ev.row().entries())
        for (size_t i = 0; i < v.count() && !ok; ++i) ok = spl_wildcard_match(pat, v.text(i));
    }
    if (!ok) return boolean(false);
  }
  return boolean(true);
}

// ---------------------------------------------------------------- text
// lower() and upper(): each value with its case changed.
EvalResult change_case(const Expr& c, Evaluator& ev, std::string (*change)(std::string_view)) {
  Value held;
  std::string buf;
  const Value& v = arg_ref(c, ev, 0, held);
  if (v.is_multi()) {
    std::vector<std::string> out;
    for (auto& s : v.values()) out.push_back(change(s));
    return val(Value::multi(std::move(out)));
  }
  if (v.is_null()) return null_result();
  return val(Value(change(v.text_view(0, buf))));
}
EvalResult f_lower(const Expr& c, Evaluator& ev) { return change_case(c, ev, to_lower); }
EvalResult f_upper(const Expr& c, Evaluator& ev) { return change_case(c, ev, to_upper); }
EvalResult f_len(const Expr& c, Evaluator& ev) {
  auto s = text_arg(c, ev, 0);
  if (!s) return null_result();
  // Characters counted in place: a table of character starts cost 8 bytes per character.
  size_t n = 0;
  for (char ch : *s) n += (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
  return val(Value(n));
}
EvalResult f_substr(const Expr& c, Evaluator& ev) {
  auto s = text_arg(c, ev, 0);
  auto start = num_arg(c, ev, 1);
  if (!s || !start) return null_result();
  auto starts = char_starts(*s);
  long long n = static_cast<long long>(starts.size());
  long long b = static_cast<long long>(*start);
  // 1-based; a negative start counts from the end; 0 behaves as 1.
  if (b < 0) b = std::max(0LL, n + b);
  else if (b > 0) b -= 1;
  if (b > n) b = n;
  long long e = n;
  if (c.args.size() > 2) {
    auto len = num_arg(c, ev, 2);
    if (!len) return null_result();
    e = std::min(n, b + std::max(0LL, static_cast<long long>(*len)));
  }
  size_t bb = b < n ? starts[b] : s->size();
  size_t ee = e < n ? starts[e] : s->size();
  return val(Value(s->substr(bb, ee - bb)));
}
std::string trim_chars(std::string_view s, std::string_view chars, bool left, bool right) {
  size_t b = 0, e = s.size();
  if (left)
    while (b < e && chars.find(s[b]) != std::string_view::npos) ++b;
  if (right)
    while (e > b && chars.find(s[e - 1]) != std::string_view::npos) --e;
  return std::string(s.substr(b, e - b));
}
EvalResult trim_impl(const Expr& c, Evaluator& ev, bool l, bool r) {
  auto s = text_arg(c, ev, 0);
  if (!s) return null_result();
  std::string chars = " \t\n\r\f\v";
  if (c.args.size() > 1) {
    auto ch = text_arg(c, ev, 1);
    if (!ch) return null_result();
    chars = *ch;
  }
  return val(Value(trim_chars(*s, chars, l, r)));
}
EvalResult f_trim(const Expr& c, Evaluator& ev) { return trim_impl(c, ev, true, true); }
EvalResult f_ltrim(const Expr& c, Evaluator& ev) { return trim_impl(c, ev, true, false); }
EvalResult f_rtrim(const Expr& c, Evaluator& ev) { return trim_impl(c, ev, false, true); }
EvalResult f_replace(const Expr& c, Evaluator& ev) {
  Value v = arg(c, ev, 0);
  auto re_text = text_arg(c, ev, 1);
  auto repl = text_arg(c, ev, 2);
  if (v.is_null() || !re_text || !repl) return null_result();
  std::string err;
  const Regex* re = cached_regex(*re_text, &err);
  if (!re) {
    if (ev.ctx().diags) ev.ctx().diags->warning(ev.ctx().where, "replace(): " + err, "bad-regex");
    return null_result();
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < v.count(); ++i) {
    std::string r;
    if (!re->replace_into(r, v.text(i), *repl, true, budget::kMaxValueBytes)) {
      budget_exceeded(ev.ctx(), "replace() result longer than " + std::to_string(budget::kMaxValueBytes >> 20) +
                                    " MiB; the result is null");
      return null_result();
    }
    out.push_back(std::move(r));
  }
  return val(Value::multi(std::move(out)));
}
EvalResult f_urldecode(const Expr& c, Evaluator& ev) {
  auto s = text_arg(c, ev, 0);
  if (!s) return null_result();
  std::string out;
  out.reserve(s->size());
  auto hex = [](char h) -> int {
    if (h >= '0' && h <= '9') return h - '0';
    if (h >= 'a' && h <= 'f') return h - 'a' + 10;
    if (h >= 'A' && h <= 'F') return h - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < s->size(); ++i) {
    char ch = (*s)[i];
    if (ch == '+') {
      out += ' ';
    } else if (ch == '%' && i + 2 < s->size() && hex((*s)[i + 1]) >= 0 && hex((*s)[i + 2]) >= 0) {
      out += static_cast<char>(hex((*s)[i + 1]) * 16 + hex((*s)[i + 2]));
      i += 2;
    } else {
      out += ch;
    }
  }
  return val(Value(std::move(out)));
}
EvalResult f_split(const Expr& c, Evaluator& ev) {
  auto s = text_arg(c, ev, 0);
  auto d = text_arg(c, ev, 1);
  if (!s || !d) return null_result();
  std::vector<std::string> out;
  if (d->empty()) {
    auto starts = char_starts(*s);
    for (size_t i = 0; i < starts.size(); ++i)
      out.push_back(s->substr(starts[i], (i + 1 < starts.size() ? starts[i + 1] : s->size()) - starts[i]));
  } else {
    size_t b = 0;
    for (;;) {
      size_t k = s->find(*d, b);
      if (k == std::string::npos) {
        out.push_back(s->substr(b));
        break;
      }
      out.push_back(s->substr(b, k - b));
      b = k + d->size();
    }
  }
  return val(Value::multi(std::move(out)));
}
EvalResult f_tostring(const Expr& c, Evaluator& ev) {
  EvalResult r = ev.eval(*c.args[0]);
  if (r.is_bool()) return val(Value(r.boolean == 1 ? "True" : "False"));
  if (r.value.is_null()) return null_result();
  if (c.args.size() < 2) {
    if (r.value.is_multi()) return r;
    return val(Value(r.value.text()));
  }
  auto fmt = text_arg(c, ev, 1);
  auto n = r.value.is_multi() ? std::nullopt : r.value.to_number();
  if (!fmt || !n) return val(Value(r.value.text()));
  std::string f = to_lower(*fmt);
  char buf[64];
  if (f == "hex") {
    std::snprintf(buf, sizeof buf, "0x%llX", static_cast<long long>(*n));
    return val(Value(buf));
  }
  if (f == "commas") {
    double rounded = std::round(*n * 100) / 100;
    std::string s = format_number(rounded);
    size_t dot = s.find('.');
    std::string ip = s.substr(0, dot), frac = dot == std::string::npos ? "" : s.substr(dot);
    bool neg = !ip.empty() && ip[0] == '-';
    if (neg) ip.erase(0, 1);
    std::string grouped;
    for (size_t i = 0; i < ip.size(); ++i) {
      if (i && (ip.size() - i) % 3 == 0) grouped += ',';
      grouped += ip[i];
    }
    return val(Value((neg ? "-" : "") + grouped + frac));
  }
  if (f == "duration") {
    long long secs = static_cast<long long>(*n);
    long long d = secs / 86400, h = (secs % 86400) / 3600, m = (secs % 3600) / 60, s = secs % 60;
    if (d) std::snprintf(buf, sizeof buf, "%lld+%02lld:%02lld:%02lld", d, h, m, s);
    else std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", h, m, s);
    return val(Value(buf));
  }
  return val(Value(r.value.text()));
}
EvalResult f_tonumber(const Expr& c, Evaluator& ev) {
  Value v = arg(c, ev, 0);
  if (v.is_null() || v.is_multi()) return null_result();
  if (v.is_number()) return val(v);
  int base = 10;
  if (c.args.size() > 1) {
    auto b = num_arg(c, ev, 1);
    if (!b || *b < 2 || *b > 36) return null_result();
    base = static_cast<int>(*b);
  }
  std::string s(trim(v.text()));
  if (base == 10) {
    double d;
    if (parse_number(s, d)) return val(Value(d));
    return null_result();
  }
  if (base == 16 && s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s = s.substr(2);
  if (s.empty()) return null_result();
  bool neg = s[0] == '-';
  size_t i = neg ? 1 : 0;
  if (i >= s.size()) return null_result();
  double acc = 0;
  for (; i < s.size(); ++i) {
    char ch = ascii_lower(s[i]);
    int d = ch >= '0' && ch <= '9' ? ch - '0' : (ch >= 'a' && ch <= 'z' ? ch - 'a' + 10 : 99);
    if (d >= base) return null_result();
    acc = acc * base + d;
  }
  return val(Value(neg ? -acc : acc));
}
EvalResult f_printf(const Expr& c, Evaluator& ev) {
  auto fmt = text_arg(c, ev, 0);
  if (!fmt) return null_result();
  std::string out;
  size_t next = 1;
  if (fmt->size() > budget::kMaxValueBytes) return null_result();
  for (size_t i = 0; i < fmt->size(); ++i) {
    char ch = (*fmt)[i];
    if (ch != '%') {
      out += ch;
      continue;
    }
    if (i + 1 < fmt->size() && (*fmt)[i + 1] == '%') {
      out += '%';
      ++i;
      continue;
    }
    // %[flags][width][.prec]conv with conv in s d i f x X o e g c
    size_t j = i + 1;
    while (j < fmt->size() && std::string_view("-+ 0#'").find((*fmt)[j]) != std::string_view::npos) ++j;
    while (j < fmt->size() && (std::isdigit(static_cast<unsigned char>((*fmt)[j])) || (*fmt)[j] == '.')) ++j;
    if (j >= fmt->size()) {
      out.append(fmt->substr(i));
      break;
    }
    char conv = (*fmt)[j];
    std::string spec = fmt->substr(i, j - i);
    // Width and precision come from the rule: bounded, or one call formats gigabytes.
    for (size_t k = i + 1; k < j;) {
      if (!std::isdigit(static_cast<unsigned char>((*fmt)[k]))) {
        ++k;
        continue;
      }
      size_t num = 0;
      while (k < j && std::isdigit(static_cast<unsigned char>((*fmt)[k])) && num <= budget::kMaxFormatWidth)
        num = num * 10 + static_cast<size_t>((*fmt)[k++] - '0');
      if (num > budget::kMaxFormatWidth) {
        budget_exceeded(ev.ctx(), "printf() width or precision above " + std::to_string(budget::kMaxFormatWidth) +
                                      "; the result is null");
        return null_result();
      }
    }
    spec.erase(std::remove(spec.begin(), spec.end(), '\''), spec.end());
    Value a = next < c.args.size() ? ev.value(*c.args[next]) : Value();
    ++next;
    char buf[budget::kMaxFormatWidth + 512];  // the widest allowed field, plus digits
    switch (conv) {
      case 'd': case 'i': case 'x': case 'X': case 'o': case 'u': {
        auto n = a.is_multi() ? std::nullopt : a.to_number();
        std::snprintf(buf, sizeof buf, (spec + "ll" + conv).c_str(), static_cast<long long>(n ? *n : 0));
        out += buf;
        break;
      }
      case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': {
        auto n = a.is_multi() ? std::nullopt : a.to_number();
        std::snprintf(buf, sizeof buf, (spec + conv).c_str(), n ? *n : 0.0);
        out += buf;
        break;
      }
      case 'c': {
        auto n = a.to_number();
        out += static_cast<char>(n ? static_cast<int>(*n) : 0);
        break;
      }
      default: {  // 's' and anything unknown: text, honouring width/precision
        std::string t = a.to_string();
        std::snprintf(buf, sizeof buf, (spec + "s").c_str(), t.c_str());
        out += (t.size() < 400) ? std::string(buf) : t;
        break;
      }
    }
    i = j;
  }
  if (out.size() > budget::kMaxValueBytes) {
    budget_exceeded(ev.ctx(), "printf() result longer than " + std::to_string(budget::kMaxValueBytes >> 20) +
                                  " MiB; the result is null");
    return null_result();
  }
  return val(Value(std::move(out)));
}

// ---------------------------------------------------------------- math
template <double (*F)(double)>
EvalResult unary_math(const Expr& c, Evaluator& ev) {
  auto n = num_arg(c, ev, 0);
  if (!n) return null_result();
  double r = F(*n);
  if (std::isnan(r) || std::isinf(r)) return null_result();
  return val(Value(r));
}
double d_floor(double x) { return std::floor(x); }
double d_ceil(double x) { return std::ceil(x); }
double d_abs(double x) { return std::fabs(x); }
double d_sqrt(double x) { return std::sqrt(x); }
double d_exp(double x) { return std::exp(x); }
double d_ln(double x) { return std::log(x); }
EvalResult f_round(const Expr& c, Evaluator& ev) {
  auto n = num_arg(c, ev, 0);
  if (!n) return null_result();
  double digits = 0;
  if (c.args.size() > 1) {
    auto d = num_arg(c, ev, 1);
    if (!d) return null_result();
    digits = std::floor(*d);
  }
  double m = std::pow(10.0, digits);
  return val(Value(std::round(*n * m) / m));  // half away from zero
}
EvalResult f_pow(const Expr& c, Evaluator& ev) {
  auto a = num_arg(c, ev, 0), b = num_arg(c, ev, 1);
  if (!a || !b) return null_result();
  double r = std::pow(*a, *b);
  if (std::isnan(r) || std::isinf(r)) return null_result();
  return val(Value(r));
}
EvalResult f_log(const Expr& c, Evaluator& ev) {
  auto a = num_arg(c, ev, 0);
  double base = 10;
  if (c.args.size() > 1) {
    auto b = num_arg(c, ev, 1);
    if (!b) return null_result();
    base = *b;
  }
  if (!a || *a <= 0 || base <= 0 || base == 1) return null_result();
  return val(Value(std::log(*a) / std::log(base)));
}
EvalResult f_pi(const Expr&, Evaluator&) { return val(Value(M_PI)); }
EvalResult f_random(const Expr&, Evaluator&) {
  thread_local uint64_t s = 0x9E3779B97F4A7C15ULL;
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return val(Value(static_cast<double>(s % 2147483648ULL)));
}

// min/max of eval: numbers sort before strings; numbers numerically, strings lexicographically.
EvalResult min_max(const Expr& c, Evaluator& ev, bool want_max) {
  std::optional<double> best_num;
  std::optional<std::string> best_str;
  for (auto& a : c.args) {
    Value v = ev.value(*a);
    for (size_t i = 0; i < v.count(); ++i) {
      std::string t = v.text(i);
      double d;
      if (v.is_number()) {
        d = v.number();
      } else if (!parse_number(t, d)) {
        if (!best_str || (want_max ? t > *best_str : t < *best_str)) best_str = t;
        continue;
      }
      if (!best_num || (want_max ? d > *best_num : d < *best_num)) best_num = d;
    }
  }
  if (want_max) {
    if (best_str) return val(Value(*best_str));
    if (best_num) return val(Value(*best_num));
  } else {
    if (best_num) return val(Value(*best_num));
    if (best_str) return val(Value(*best_str));
  }
  return null_result();
}
EvalResult f_min(const Expr& c, Evaluator& ev) { return min_max(c, ev, false); }
EvalResult f_max(const Expr& c, Evaluator& ev) { return min_max(c, ev, true); }

// ---------------------------------------------------------------- multivalue
EvalResult f_mvcount(const Expr& c, Evaluator& ev) {
  Value v = arg(c, ev, 0);
  if (v.is_null()) return null_result();
  return val(Value(v.count()));
}
EvalResult f_mvindex(const Expr& c, Evaluator& ev) {
  Value v = arg(c, ev, 0);
  auto s = num_arg(c, ev, 1);
  if (v.is_null() || !s) return null_result();
  long long n = static_cast<long long>(v.count());
  long long b = static_cast<long long>(*s);
  if (b < 0) b += n;  // negative indexes count from the end
  long long e = b;
  if (c.args.size() > 2) {
    auto en = num_arg(c, ev, 2);
    if (!en) return null_result();
    e = static_cast<long long>(*en);
    if (e < 0) e += n;
  }
  if (b < 0 || b >= n || e < b) return null_result();
  if (e >= n) e = n - 1;
  std::vector<std::string> out;
  for (long long i = b; i <= e; ++i) out.push_back(v.text(static_cast<size_t>(i)));
  if (out.size() == 1 && v.is_number()) return val(v);
  return val(Value::multi(std::move(out)));
}
EvalResult f_mvjoin(const Expr& c, Evaluator& ev) {
  Value v = arg(c, ev, 0);
  auto d = text_arg(c, ev, 1);
  if (v.is_null() || !d) return null_result();
  std::string out;
  for (size_t i = 0; i < v.count(); ++i) {
    if (i) out += *d;
    out += v.text(i);
  }
  return val(Value(std::move(out)));
}
EvalResult f_mvappend(const Expr& c, Evaluator& ev) {
  std::vector<std::string> out;
  for (auto& a : c.args) {
    Value v = ev.value(*a);
    for (size_t i = 0; i < v.count(); ++i) out.push_back(v.text(i));
  }
  return val(Value::multi(std::move(out)));
}
EvalResult f_mvdedup(const Expr& c, Evaluator& ev) {
  Value v = arg(c, ev, 0);
  if (v.is_null()) return null_result();
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  for (size_t i = 0; i < v.count(); ++i) {
    std::string t = v.text(i);
    if (seen.insert(t).second) out.push_back(std::move(t));
  }
  return val(Value::multi(std::move(out)));
}
EvalResult f_mvsort(const Expr& c, Evaluator& ev) {
  Value v = arg(c, ev, 0);
  if (v.is_null()) return null_result();
  auto out = v.all_texts();
  std::sort(out.begin(), out.end());
  return val(Value::multi(std::move(out)));
}
EvalResult f_mvfind(const Expr& c, Evaluator& ev) {
  Value v = arg(c, ev, 0);
  auto pat = text_arg(c, ev, 1);
  if (v.is_null() || !pat) return null_result();
  const Regex* re = cached_regex(*pat);
  if (!re) return null_result();
  for (size_t i = 0; i < v.count(); ++i)
    if (re->search(v.text(i))) return val(Value(i));
  return null_result();
}
EvalResult f_mvfilter(const Expr& c, Evaluator& ev) {
  const Expr* f = first_field(*c.args[0]);
  if (!f) return null_result();  // Splunk requires the expression to name the field
  const Value* cur = ev.field(f->text);
  if (!cur) return null_result();
  Value whole = *cur;  // copy: the binding below shadows the field while we iterate
  std::vector<std::string> out;
  auto saved_name = ev.bound_name();
  auto saved_value = ev.bound_value();
  for (size_t i = 0; i < whole.count(); ++i) {
    Value one(whole.text(i));
    ev.bind(&f->text, &one);
    if (ev.condition(*c.args[0])) out.push_back(whole.text(i));
  }
  ev.bind(saved_name, saved_value);
  return val(Value::multi(std::move(out)));
}
EvalResult f_mvmap(const Expr& c, Evaluator& ev) {
  // mvmap(X, expr): expr sees each value of X through X's name.
  const Expr& x = *c.args[0];
  Value whole = ev.value(x);
  if (whole.is_null()) return null_result();
  const std::string* name = x.kind == ExprKind::field ? &x.text : nullptr;
  std::vector<std::string> out;
  auto saved_name = ev.bound_name();
  auto saved_value = ev.bound_value();
  for (size_t i = 0; i < whole.count(); ++i) {
    Value one(whole.text(i));
    if (name) ev.bind(name, &one);
    Value r = ev.value(*c.args[1]);
    for (size_t k = 0; k < r.count(); ++k) out.push_back(r.text(k));
  }
  ev.bind(saved_name, saved_value);
  return val(Value::multi(std::move(out)));
}
EvalResult f_mvzip(const Expr& c, Evaluator& ev) {
  Value a = arg(c, ev, 0), b = arg(c, ev, 1);
  std::string d = ",";
  if (c.args.size() > 2) {
    auto dd = text_arg(c, ev, 2);
    if (!dd) return null_result();
    d = *dd;
  }
  if (a.is_null() || b.is_null()) return null_result();
  std::vector<std::string> out;
  for (size_t i = 0; i < std::min(a.count(), b.count()); ++i) out.push_back(a.text(i) + d + b.text(i));
  return val(Value::multi(std::move(out)));
}
EvalResult f_mvrange(const Expr& c, Evaluator& ev) {
  auto s = num_arg(c, ev, 0), e = num_arg(c, ev, 1);
  double step = 1;
  if (c.args.size() > 2) {
    auto st = num_arg(c, ev, 2);
    if (!st) return null_result();
    step = *st;
  }
  if (!s || !e || step <= 0) return null_result();
  std::vector<std::string> out;
  for (double x = *s; x < *e; x += step) {
    if (out.size() == budget::kMaxValues) {
      budget_exceeded(ev.ctx(), "mvrange() stopped at " + std::to_string(budget::kMaxValues) + " values");
      break;
    }
    out.push_back(format_number(x));
  }
  return val(Value::multi(std::move(out)));
}

// ---------------------------------------------------------------- time
EvalResult f_now(const Expr&, Evaluator& ev) { return val(Value(ev.ctx().now)); }
EvalResult f_time(const Expr&, Evaluator&) {
  using namespace std::chrono;
  double t = duration<double>(system_clock::now().time_since_epoch()).count();
  return val(Value(std::floor(t * 1e6) / 1e6));
}
EvalResult f_relative_time(const Expr& c, Evaluator& ev) {
  auto t = num_arg(c, ev, 0);
  auto spec = text_arg(c, ev, 1);
  if (!t || !spec) return null_result();
  auto r = apply_relative_time(*t, *spec);
  if (!r) return null_result();
  return val(Value(*r));
}
EvalResult f_strftime(const Expr& c, Evaluator& ev) {
  auto t = num_arg(c, ev, 0);
  auto fmt = text_arg(c, ev, 1);
  if (!t || !fmt) return null_result();
  return val(Value(format_time(*t, *fmt)));
}
EvalResult f_strptime(const Expr& c, Evaluator& ev) {
  auto s = text_arg(c, ev, 0);
  auto fmt = text_arg(c, ev, 1);
  if (!s || !fmt) return null_result();
  auto t = parse_time_format(*s, *fmt);
  if (!t) return null_result();
  return val(Value(*t));
}

struct FnInfo {
  Fn fn;
  size_t min_args, max_args;
};
constexpr size_t kAny = SIZE_MAX;

const std::unordered_map<std::string_view, FnInfo>& table() {
  static const std::unordered_map<std::string_view, FnInfo> t = {
      {"if", {f_if, 3, 3}},
      {"case", {f_case, 2, kAny}},
      {"coalesce", {f_coalesce, 1, kAny}},
      {"null", {f_null, 0, 0}},
      {"true", {f_true, 0, 0}},
      {"false", {f_false, 0, 0}},
      {"isnull", {f_isnull, 1, 1}},
      {"isnotnull", {f_isnotnull, 1, 1}},
      {"isnum", {f_isnum, 1, 1}},
      {"isint", {f_isint, 1, 1}},
      {"isstr", {f_isstr, 1, 1}},
      {"typeof", {f_typeof, 1, 1}},
      {"in", {f_in, 2, kAny}},
      {"like", {f_like, 2, 2}},
      {"match", {f_match, 2, 2}},
      {"cidrmatch", {f_cidrmatch, 2, 2}},
      {"searchmatch", {f_searchmatch, 1, 1}},
      {"lower", {f_lower, 1, 1}},
      {"upper", {f_upper, 1, 1}},
      {"len", {f_len, 1, 1}},
      {"substr", {f_substr, 2, 3}},
      {"trim", {f_trim, 1, 2}},
      {"ltrim", {f_ltrim, 1, 2}},
      {"rtrim", {f_rtrim, 1, 2}},
      {"replace", {f_replace, 3, 3}},
      {"urldecode", {f_urldecode, 1, 1}},
      {"split", {f_split, 2, 2}},
      {"tostring", {f_tostring, 1, 2}},
      {"tonumber", {f_tonumber, 1, 2}},
      {"printf", {f_printf, 1, kAny}},
      {"round", {f_round, 1, 2}},
      {"floor", {unary_math<d_floor>, 1, 1}},
      {"ceil", {unary_math<d_ceil>, 1, 1}},
      {"ceiling", {unary_math<d_ceil>, 1, 1}},
      {"abs", {unary_math<d_abs>, 1, 1}},
      {"sqrt", {unary_math<d_sqrt>, 1, 1}},
      {"exp", {unary_math<d_exp>, 1, 1}},
      {"ln", {unary_math<d_ln>, 1, 1}},
      {"log", {f_log, 1, 2}},
      {"pow", {f_pow, 2, 2}},
      {"pi", {f_pi, 0, 0}},
      {"random", {f_random, 0, 0}},
      {"min", {f_min, 1, kAny}},
      {"max", {f_max, 1, kAny}},
      {"mvcount", {f_mvcount, 1, 1}},
      {"mvindex", {f_mvindex, 2, 3}},
      {"mvjoin", {f_mvjoin, 2, 2}},
      {"mvappend", {f_mvappend, 1, kAny}},
      {"mvdedup", {f_mvdedup, 1, 1}},
      {"mvsort", {f_mvsort, 1, 1}},
      {"mvfind", {f_mvfind, 2, 2}},
      {"mvfilter", {f_mvfilter, 1, 1}},
      {"mvmap", {f_mvmap, 2, 2}},
      {"mvzip", {f_mvzip, 2, 3}},
      {"mvrange", {f_mvrange, 2, 3}},
      {"now", {f_now, 0, 0}},
      {"time", {f_time, 0, 0}},
      {"relative_time", {f_relative_time, 2, 2}},
      {"strftime", {f_strftime, 2, 2}},
      {"strptime", {f_strptime, 2, 2}},
  };
  return t;
}

}  // namespace

EvalResult call_function(const Expr& call, Evaluator& ev) {
  auto& t = table();
  auto it = t.find(call.text);
  if (it == t.end()) return {};
  if (call.args.size() < it->second.min_args || call.args.size() > it->second.max_args) return {};
  for (auto& a : call.args)
    if (!a) return {};
  return it->second.fn(call, ev);
}

bool function_arity(std::string_view name, size_t& min_args, size_t& max_args) {
  auto& t = table();
  auto it = t.find(name);
  if (it == t.end()) return false;
  min_args = it->second.min_args;
  max_args = it->second.max_args;
  return true;
}

}  // namespace vigil::spl::detail
