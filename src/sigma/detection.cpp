#include "sigma/detection.h"

#include <fmt/format.h>

#include <cctype>

#include "core/strings.h"
#include "match/compiled_atom.h"

namespace vigil::sigma {
namespace {

using ir::Atom;
using ir::AtomKind;
using ir::Predicate;

// Cap on windash permutations (5^n): a value with more word-initial dashes is
// expanded with one dash form per variant instead of every combination.
constexpr size_t kMaxWindashPositions = 3;

enum class MatchType : uint8_t { plain, contains, startswith, endswith, re, cidr, lt, le, gt, ge, exists, fieldref };

struct Modifiers {
  MatchType type = MatchType::plain;
  MatchType fieldref_form = MatchType::plain;  // contains/startswith/endswith after fieldref
  bool all = false, cased = false;
  bool re_i = false, re_m = false, re_s = false;
  // Value transforms, applied to every value in the order written.
  enum class Transform : uint8_t { base64, base64offset, utf16le, utf16be, utf16, windash, expand };
  std::vector<Transform> transforms;
};

bool is_pattern_special(char c) { return c == '*' || c == '?'; }
// The backslash at p[i] escapes the next character (a wildcard or a backslash); else it is literal.
bool escapes_next(std::string_view p, size_t i) {
  return i + 1 < p.size() && (is_pattern_special(p[i + 1]) || p[i + 1] == '\\');
}

// Sigma pattern tokens (same escape rules as WildcardPattern::Syntax::sigma).
struct Tok {
  enum Kind : uint8_t { lit, star, one } kind;
  std::string text;
};

// Runs of plain characters are appended whole: loading both corpora tokenizes ~80k values, and a
// character at a time was a third of lowering Sigma's detections.
std::vector<Tok> tokenize(std::string_view p) {
  std::vector<Tok> out;
  auto lit = [&](std::string_view run) {
    if (run.empty()) return;
    if (out.empty() || out.back().kind != Tok::lit) out.push_back({Tok::lit, {}});
    out.back().text.append(run);
  };
  for (size_t i = 0; i < p.size();) {
    size_t at = i;  // (find_first_of is a memchr per character)
    while (at < p.size() && p[at] != '\\' && !is_pattern_special(p[at])) ++at;
    lit(p.substr(i, at - i));
    if (at == p.size()) break;
    const char c = p[at];
    i = at + 1;
    if (c == '\\') {
      if (escapes_next(p, at)) ++i;
      lit(p.substr(i - 1, 1));  // the escaped character, or a lone backslash itself
    } else if (c == '*') {
      if (out.empty() || out.back().kind != Tok::star) out.push_back({Tok::star, {}});
    } else {
      out.push_back({Tok::one, {}});
    }
  }
  return out;
}

bool has_wildcard(std::string_view p) {
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '\\' && escapes_next(p, i)) ++i;
    else if (is_pattern_special(p[i])) return true;
  }
  return false;
}

std::string canonical(std::string_view p) {
  std::string s;
  for (auto& t : tokenize(p)) s += t.kind == Tok::lit ? sigma_escape(t.text) : t.kind == Tok::star ? "*" : "?";
  return s;
}

std::string unescape(std::string_view p) {
  std::string s;
  for (auto& t : tokenize(p)) s += t.kind == Tok::lit ? t.text : t.kind == Tok::star ? "*" : "?";
  return s;
}

// UTF-8 -> code points; a byte that is not valid UTF-8 stands for itself (Latin-1).
std::vector<uint32_t> code_points(std::string_view s) {
  std::vector<uint32_t> cps;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = len > 0 && i + len <= s.size();
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (int k = 1; ok && k < len; ++k) {
      unsigned char d = static_cast<unsigned char>(s[i + k]);
      if ((d >> 6) != 2) ok = false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if (!ok) {
      cps.push_back(c);
      ++i;
    } else {
      cps.push_back(cp);
      i += len;
    }
  }
  return cps;
}

std::string utf16(std::string_view s, bool big_endian, bool bom) {
  std::string out;
  auto unit = [&](uint16_t u) {
    char lo = char(u & 0xFF), hi = char(u >> 8);
    if (big_endian) {
      out += hi;
      out += lo;
    } else {
      out += lo;
      out += hi;
    }
  };
  if (bom) unit(0xFEFF);
  for (uint32_t cp : code_points(s)) {
    if (cp >= 0x10000) {
      cp -= 0x10000;
      unit(uint16_t(0xD800 + (cp >> 10)));
      unit(uint16_t(0xDC00 + (cp & 0x3FF)));
    } else {
      unit(uint16_t(cp));
    }
  }
  return out;
}

bool parse_modifiers(std::string_view key, Modifiers& m, std::string& field, std::string& error) {
  auto parts = split(key, '|');
  field = std::string(parts[0]);
  using T = Modifiers::Transform;
  for (size_t i = 1; i < parts.size(); ++i) {
    std::string mod = to_lower(parts[i]);
    auto set_type = [&](MatchType t) {
      if (m.type == MatchType::fieldref &&
          (t == MatchType::contains || t == MatchType::startswith || t == MatchType::endswith)) {
        m.fieldref_form = t;
        return true;
      }
      if (m.type != MatchType::plain && m.type != t) {
        error = fmt::format("modifier '{}' conflicts with an earlier match modifier in '{}'", parts[i], key);
        return false;
      }
      m.type = t;
      return true;
    };
    bool ok = true;
    if (mod == "contains") ok = set_type(MatchType::contains);
    else if (mod == "startswith") ok = set_type(MatchType::startswith);
    else if (mod == "endswith") ok = set_type(MatchType::endswith);
    else if (mod == "re") ok = set_type(MatchType::re);
    else if (mod == "cidr") ok = set_type(MatchType::cidr);
    else if (mod == "lt") ok = set_type(MatchType::lt);
    else if (mod == "lte") ok = set_type(MatchType::le);
    else if (mod == "gt") ok = set_type(MatchType::gt);
    else if (mod == "gte") ok = set_type(MatchType::ge);
    else if (mod == "exists") ok = set_type(MatchType::exists);
    else if (mod == "fieldref") {
      if (m.type == MatchType::contains || m.type == MatchType::startswith || m.type == MatchType::endswith) {
        m.fieldref_form = m.type;
        m.type = MatchType::fieldref;
      } else {
        ok = set_type(MatchType::fieldref);
      }
    }
    else if (mod == "all") m.all = true;
    else if (mod == "cased") m.cased = true;
    else if (mod == "i" || mod == "ignorecase") m.re_i = true;
    else if (mod == "m" || mod == "multiline") m.re_m = true;
    else if (mod == "s" || mod == "dotall") m.re_s = true;
    else if (mod == "base64") m.transforms.push_back(T::base64);
    else if (mod == "base64offset") m.transforms.push_back(T::base64offset);
    else if (mod == "utf16le" || mod == "wide") m.transforms.push_back(T::utf16le);
    else if (mod == "utf16be") m.transforms.push_back(T::utf16be);
    else if (mod == "utf16") m.transforms.push_back(T::utf16);
    else if (mod == "windash") m.transforms.push_back(T::windash);
    else if (mod == "expand") m.transforms.push_back(T::expand);
    else {
      error = fmt::format("unknown modifier '{}' in '{}'", parts[i], key);
      return false;
    }
    if (!ok) return false;
  }
  if ((m.re_i || m.re_m || m.re_s) && m.type != MatchType::re) {
    error = fmt::format("regex flags (i, m, s) need the 're' modifier in '{}'", key);
    return false;
  }
  if (m.type == MatchType::re && !m.transforms.empty()) {
    error = fmt::format("value modifiers cannot be combined with 're' in '{}'", key);
    return false;
  }
  return true;
}

// Interns an atom; the ones that can fail to compile (regex, cidr, numbers) are checked here so
// that a bad value is a located load-time error rather than a silent no-match at run time.
Predicate make_atom(Atom a, const yaml::Mark& mark, LowerContext& cx) {
  if (a.kind == AtomKind::regex || a.kind == AtomKind::cidr || a.kind == AtomKind::lt || a.kind == AtomKind::le ||
      a.kind == AtomKind::gt || a.kind == AtomKind::ge) {
    std::string err;
    if (!match::CompiledAtom::compile(a, &err)) {
      cx.errors.push_back({err, mark});
      return Predicate::always_false();
    }
  }
  return Predicate::make_atom(cx.atoms.intern(a));
}

// One Sigma pattern on a field -> the narrowest atom kind that expresses it.
Predicate pattern_atom(const std::string& sigma_field, Symbol field, std::string_view pattern, bool cased,
                       const yaml::Mark& mark, LowerContext& cx) {
  std::vector<Tok> toks = tokenize(pattern);
  Atom a;
  a.field = field;
  a.case_sensitive = cased;
  size_t n = toks.size();
  if (n == 0) {
    a.kind = AtomKind::eq;
  } else if (n == 1 && toks[0].kind == Tok::lit) {
    a.kind = AtomKind::eq;
    a.value = toks[0].text;
  } else if (n == 1 && toks[0].kind == Tok::star) {
    a.kind = AtomKind::exists;
  } else if (n == 3 && toks[0].kind == Tok::star && toks[1].kind == Tok::lit && toks[2].kind == Tok::star) {
    a.kind = AtomKind::contains;
    a.value = toks[1].text;
  } else if (n == 2 && toks[0].kind == Tok::lit && toks[1].kind == Tok::star) {
    a.kind = AtomKind::starts_with;
    a.value = toks[0].text;
  } else if (n == 2 && toks[0].kind == Tok::star && toks[1].kind == Tok::lit) {
    a.kind = AtomKind::ends_with;
    a.value = toks[1].text;
    // `endswith '\X'` on an image path is "the process name is X": intern it as the CIM
    // basename field so the indicator is shared with SPL's Processes.process_name=X.
    std::string base = cased ? std::string() : cx.logsources.basename_field(cx.entry, sigma_field);
    std::string_view v = a.value;
    if (!base.empty() && v.size() > 1 && v[0] == '\\' && v.find_first_of("\\/", 1) == std::string_view::npos) {
      a.field = field_id(base);
      a.kind = AtomKind::eq;
      a.value = std::string(v.substr(1));
    }
  } else {
    a.kind = AtomKind::wildcard;
    for (auto& t : toks) a.value += t.kind == Tok::lit ? sigma_escape(t.text) : t.kind == Tok::star ? "*" : "?";
  }
  return make_atom(std::move(a), mark, cx);
}

Predicate null_check(Symbol field, LowerContext& cx) {
  // Sigma `null`: the field is absent; an empty value counts as absent too, because
  // transports differ on whether an empty EventData element is a field at all.
  Atom ex{field, AtomKind::exists, {}, false};
  Atom empty{field, AtomKind::eq, {}, false};
  return Predicate::make_or({Predicate::make_not(Predicate::make_atom(cx.atoms.intern(ex))),
                             Predicate::make_atom(cx.atoms.intern(empty))});
}

// Applies the value transforms of `m` to one value; returns its alternatives (OR).
std::vector<std::string> transform_value(const std::string& value, const Modifiers& m, const yaml::Mark& mark,
                                         LowerContext& cx, bool& failed) {
  using T = Modifiers::Transform;
  std::vector<std::string> vs{value};
  for (T t : m.transforms) {
    std::vector<std::string> next;
    for (auto& v : vs) {
      switch (t) {
        case T::windash:
          for (auto& w : windash_variants(v)) next.push_back(std::move(w));
          break;
        case T::expand: {
          // `%name%` placeholders; a value may hold several.
          size_t b = v.find('%');
          size_t e = b == std::string::npos ? b : v.find('%', b + 1);
          if (e == std::string::npos) {
            next.push_back(v);
            break;
          }
          std::string name = v.substr(b + 1, e - b - 1);
          const auto* values = cx.logsources.placeholder(name);
          if (!values) {
            cx.unresolved.push_back({fmt::format("placeholder '%{}%' has no configured value (set it under "
                                                 "`placeholders:` in data/sigma/logsources.yml)", name),
                                     mark});
            break;  // no alternatives: this value matches nothing
          }
          for (auto& pv : *values) next.push_back(v.substr(0, b) + sigma_escape(pv) + v.substr(e + 1));
          break;
        }
        default: {
          if (has_wildcard(v)) {
            cx.errors.push_back({fmt::format("value '{}' has wildcards, which cannot be encoded", v), mark});
            failed = true;
            return {};
          }
          std::string bytes = unescape(v);
          if (t == T::base64) {
            next.push_back(sigma_escape(base64_encode(bytes)));
          } else if (t == T::base64offset) {
            for (auto& o : base64_offsets(bytes)) next.push_back(sigma_escape(o));
          } else {
            next.push_back(sigma_escape(utf16(bytes, t == T::utf16be, t == T::utf16)));
          }
        }
      }
    }
    vs = std::move(next);
  }
  return vs;
}

std::string scalar_text(const yaml::Node& n) { return n.IsScalar() ? n.Scalar() : std::string(); }

Predicate keyword_atoms(std::string_view pattern, LowerContext& cx) {
  // Field-less search: the raw event contains the value. Interior wildcards split the
  // value into literal pieces that must all occur (their order is not enforced).
  std::vector<Predicate> parts;
  for (auto& t : tokenize(pattern))
    if (t.kind == Tok::lit && !t.text.empty())
      parts.push_back(Predicate::make_atom(cx.atoms.intern(Atom{kNoSymbol, AtomKind::keyword, t.text, false})));
  return Predicate::make_and(std::move(parts));
}

}  // namespace

std::string sigma_escape(std::string_view literal) {
  std::string s;
  s.reserve(literal.size());
  for (char c : literal) {
    if (c == '*' || c == '?' || c == '\\') s += '\\';
    s += c;
  }
  return s;
}

std::string base64_encode(std::string_view in) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += tbl[v >> 18];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
    out += tbl[v & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += tbl[v >> 18];
    out += tbl[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += tbl[v >> 18];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::vector<std::string> base64_offsets(std::string_view bytes) {
  // pySigma: b64encode(i * b" " + value)[start[i] : end[(len(value) + i) % 3]], i = 0, 1, 2,
  // with start = (0, 2, 3) and end = (None, -3, -2): drop the characters that depend on the
  // unknown neighbouring bytes.
  static const size_t start[3] = {0, 2, 3};
  static const size_t end_cut[3] = {0, 3, 2};
  std::vector<std::string> out;
  for (size_t i = 0; i < 3; ++i) {
    std::string enc = base64_encode(std::string(i, ' ') + std::string(bytes));
    size_t cut = end_cut[(bytes.size() + i) % 3];
    if (enc.size() < start[i] + cut) continue;
    out.push_back(enc.substr(start[i], enc.size() - start[i] - cut));
  }
  return out;
}

std::vector<std::string> windash_variants(std::string_view p) {
  static const char* dashes[] = {"-", "/", "\xE2\x80\x93", "\xE2\x80\x94", "\xE2\x80\x95"};  // - / en em bar
  auto word = [](char c) {
    unsigned char u = static_cast<unsigned char>(c);
    return std::isalnum(u) || c == '_' || u >= 0x80;  // UTF-8 letters count as word characters
  };
  std::vector<size_t> pos;
  for (size_t i = 0; i < p.size(); ++i)
    if ((p[i] == '-' || p[i] == '/') && (i == 0 || !word(p[i - 1])) && i + 1 < p.size() && word(p[i + 1]))
      pos.push_back(i);
  if (pos.empty()) return {std::string(p)};
  auto build = [&](const std::vector<int>& choice) {
    std::string s;
    size_t last = 0;
    for (size_t k = 0; k < pos.size(); ++k) {
      s.append(p.substr(last, pos[k] - last));
      s += dashes[choice[k]];
      last = pos[k] + 1;
    }
    s.append(p.substr(last));
    return s;
  };
  std::vector<std::string> out;
  if (pos.size() > kMaxWindashPositions) {
    for (int d = 0; d < 5; ++d) out.push_back(build(std::vector<int>(pos.size(), d)));
    return out;
  }
  std::vector<int> choice(pos.size(), 0);
  while (true) {
    out.push_back(build(choice));
    size_t k = 0;
    while (k < choice.size() && ++choice[k] == 5) choice[k++] = 0;
    if (k == choice.size()) break;
  }
  return out;
}

ir::Predicate lower_item(std::string_view key, const yaml::Node& value, const yaml::Mark& mark, LowerContext& cx) {
  Modifiers m;
  std::string sigma_field, err;
  if (!parse_modifiers(key, m, sigma_field, err)) {
    cx.errors.push_back({err, mark});
    return Predicate::always_false();
  }
  if (value.IsMap()) {
    cx.errors.push_back({fmt::format("the value of '{}' is a map; expected a value or a list of values", key),
                         value.Mark()});
    return Predicate::always_false();
  }
  std::vector<yaml::Node> values;
  if (value.IsSequence()) {
    for (auto v : value) values.push_back(v);
  } else {
    values.push_back(value);
  }
  if (sigma_field.empty()) {
    // `'|all': [a, b]` style field-less search: keywords.
    if (m.type != MatchType::plain && m.type != MatchType::contains) {
      cx.errors.push_back({fmt::format("a field-less search cannot use the modifiers of '{}'", key), mark});
      return Predicate::always_false();
    }
    std::vector<Predicate> parts;
    for (auto& v : values) parts.push_back(keyword_atoms(scalar_text(v), cx));
    return m.all ? Predicate::make_and(std::move(parts)) : Predicate::make_or(std::move(parts));
  }
  Symbol field = field_id(cx.logsources.map_field(cx.entry, sigma_field));

  std::vector<Predicate> per_value;
  for (auto& v : values) {
    const yaml::Mark vmark = v.Mark().line >= 0 ? v.Mark() : mark;
    if (v.IsNull()) {
      per_value.push_back(m.type == MatchType::exists ? Predicate::always_false() : null_check(field, cx));
      continue;
    }
    if (!v.IsScalar()) {
      cx.errors.push_back({fmt::format("unexpected nested value under '{}'", key), vmark});
      return Predicate::always_false();
    }
    const std::string& text = v.Scalar();
    switch (m.type) {
      case MatchType::exists: {
        bool want;
        if (iequals(text, "true") || iequals(text, "yes")) want = true;
        else if (iequals(text, "false") || iequals(text, "no")) want = false;
        else {
          cx.errors.push_back({fmt::format("'exists' needs true or false, got '{}'", text), vmark});
          return Predicate::always_false();
        }
        Predicate ex = Predicate::make_atom(cx.atoms.intern(Atom{field, AtomKind::exists, {}, false}));
        per_value.push_back(want ? std::move(ex) : Predicate::make_not(std::move(ex)));
        continue;
      }
      case MatchType::fieldref: {
        // `fieldref|contains` (or startswith/endswith): the field holds the other field's value.
        AtomKind k = m.fieldref_form == MatchType::contains     ? AtomKind::field_contains
                     : m.fieldref_form == MatchType::startswith ? AtomKind::field_starts_with
                     : m.fieldref_form == MatchType::endswith   ? AtomKind::field_ends_with
                                                                : AtomKind::field_eq;
        Atom a{field, k, cx.logsources.map_field(cx.entry, text), m.cased};
        per_value.push_back(make_atom(std::move(a), vmark, cx));
        continue;
      }
      case MatchType::re: {
        // Sigma regexes are case-sensitive; i/m/s become inline PCRE options.
        std::string flags = std::string(m.re_i ? "i" : "") + (m.re_m ? "m" : "") + (m.re_s ? "s" : "");
        Atom a{field, AtomKind::regex, flags.empty() ? text : "(?" + flags + ")" + text, true};
        per_value.push_back(make_atom(std::move(a), vmark, cx));
        continue;
      }
      case MatchType::cidr:
        per_value.push_back(make_atom(Atom{field, AtomKind::cidr, std::string(trim(text)), false}, vmark, cx));
        continue;
      case MatchType::lt:
      case MatchType::le:
      case MatchType::gt:
      case MatchType::ge: {
        AtomKind k = m.type == MatchType::lt   ? AtomKind::lt
                     : m.type == MatchType::le ? AtomKind::le
                     : m.type == MatchType::gt ? AtomKind::gt
                                               : AtomKind::ge;
        per_value.push_back(make_atom(Atom{field, k, text, false}, vmark, cx));
        continue;
      }
      default: break;
    }
    bool failed = false;
    std::vector<std::string> variants = transform_value(text, m, vmark, cx, failed);
    if (failed) return Predicate::always_false();
    std::vector<Predicate> alts;
    for (auto& v : variants) {
      // Canonical escaping first, so that a trailing literal backslash (`'C:\Users\'`)
      // cannot escape the `*` that contains/endswith add after it.
      std::string p = canonical(v);
      std::string pattern = m.type == MatchType::contains     ? "*" + p + "*"
                            : m.type == MatchType::startswith ? p + "*"
                            : m.type == MatchType::endswith   ? "*" + p
                                                              : p;
      alts.push_back(pattern_atom(sigma_field, field, pattern, m.cased, vmark, cx));
    }
    per_value.push_back(Predicate::make_or(std::move(alts)));
  }
  if (per_value.empty()) return Predicate::always_false();  // `field: []` can match nothing
  return m.all ? Predicate::make_and(std::move(per_value)) : Predicate::make_or(std::move(per_value));
}

ir::Predicate lower_search(const yaml::Node& value, LowerContext& cx) {
  if (value.IsMap()) {
    std::vector<Predicate> items;
    for (auto it = value.begin(); it != value.end(); ++it)
      items.push_back(lower_item(it->first.Scalar(), it->second, it->first.Mark(), cx));
    if (items.empty()) {
      cx.errors.push_back({"empty search map", value.Mark()});
      return Predicate::always_false();
    }
    return Predicate::make_and(std::move(items));
  }
  if (value.IsSequence()) {
    std::vector<Predicate> alts;
    for (auto v : value) {
      if (v.IsMap()) {
        alts.push_back(lower_search(v, cx));
      } else if (v.IsScalar()) {
        alts.push_back(keyword_atoms(v.Scalar(), cx));
      } else {
        // Nested lists are not Sigma (and unbounded recursion on them would be a stack hazard).
        cx.errors.push_back({v.IsSequence() ? "a list inside a search list" : "null in a keyword list", v.Mark()});
      }
    }
    if (alts.empty()) {
      cx.errors.push_back({"empty search list", value.Mark()});
      return Predicate::always_false();
    }
    return Predicate::make_or(std::move(alts));
  }
  if (value.IsScalar()) return keyword_atoms(value.Scalar(), cx);
  cx.errors.push_back({"a search identifier needs a map, a list or a keyword", value.Mark()});
  return Predicate::always_false();
}

}  // namespace vigil::sigma
