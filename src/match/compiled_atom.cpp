#include "match/compiled_atom.h"

#include <arpa/inet.h>

#include <cstring>

#include "core/strings.h"

namespace vigil::match {

bool parse_ip(std::string_view s, unsigned char out[16], bool& v6) {
  char buf[64];
  s = trim(s);
  if (s.size() >= sizeof buf) return false;
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = 0;
  std::memset(out, 0, 16);
  if (inet_pton(AF_INET, buf, out) == 1) {
    v6 = false;
    return true;
  }
  if (inet_pton(AF_INET6, buf, out) == 1) {
    v6 = true;
    return true;
  }
  return false;
}

std::optional<CompiledAtom> CompiledAtom::compile(const ir::Atom& a, std::string* error) {
  CompiledAtom c;
  c.atom_ = a;
  using K = ir::AtomKind;
  switch (a.kind) {
    case K::eq:
    case K::contains:
    case K::starts_with:
    case K::ends_with:
    case K::keyword:
      c.lit_ = a.case_sensitive ? a.value : to_lower(a.value);
      break;
    case K::wildcard:
      c.glob_ = WildcardPattern(a.value, WildcardPattern::Syntax::sigma, !a.case_sensitive);
      break;
    case K::regex: {
      auto r = Regex::compile(a.value, Regex::Flags{});
      if (!r) {
        if (error) *error = r.error().message;
        return std::nullopt;
      }
      c.re_ = std::move(r.value());
      break;
    }
    case K::cidr: {
      std::string_view v = a.value;
      size_t slash = v.find('/');
      if (!parse_ip(v.substr(0, slash), c.net_, c.v6_)) {
        if (error) *error = "invalid CIDR network '" + a.value + "'";
        return std::nullopt;
      }
      long long p = c.v6_ ? 128 : 32;
      if (slash != std::string_view::npos && !parse_int(v.substr(slash + 1), p)) {
        if (error) *error = "invalid CIDR prefix in '" + a.value + "'";
        return std::nullopt;
      }
      c.prefix_ = static_cast<int>(p);
      break;
    }
    case K::lt:
    case K::le:
    case K::gt:
    case K::ge:
      if (!parse_number(a.value, c.num_)) {
        if (error) *error = "numeric comparison needs a number, got '" + a.value + "'";
        return std::nullopt;
      }
      break;
    case K::exists:
    case K::field_eq:
    case K::field_contains:
    case K::field_starts_with:
    case K::field_ends_with:
      break;
  }
  return c;
}

static bool ci_eq_lower(std::string_view v, std::string_view lower) {
  if (v.size() != lower.size()) return false;
  for (size_t i = 0; i < v.size(); ++i)
    if (ascii_lower(v[i]) != lower[i]) return false;
  return true;
}

bool CompiledAtom::test(std::string_view v) const {
  using K = ir::AtomKind;
  const bool cs = atom_.case_sensitive;
  switch (atom_.kind) {
    case K::eq: return cs ? v == lit_ : ci_eq_lower(v, lit_);
    case K::contains:
    case K::keyword: return cs ? v.find(lit_) != std::string_view::npos : ifind(v, lit_) != std::string_view::npos;
    case K::starts_with:
      return v.size() >= lit_.size() && (cs ? v.substr(0, lit_.size()) == lit_ : ci_eq_lower(v.substr(0, lit_.size()), lit_));
    case K::ends_with:
      return v.size() >= lit_.size() &&
             (cs ? v.substr(v.size() - lit_.size()) == lit_ : ci_eq_lower(v.substr(v.size() - lit_.size()), lit_));
    case K::wildcard: return glob_.matches(v);
    case K::regex: return re_->search(v);
    case K::cidr: {
      unsigned char ip[16];
      bool v6;
      if (!parse_ip(v, ip, v6) || v6 != v6_) return false;
      int full = prefix_ / 8, rem = prefix_ % 8;
      if (std::memcmp(ip, net_, full) != 0) return false;
      if (rem == 0) return true;
      unsigned char mask = static_cast<unsigned char>(0xFF << (8 - rem));
      return (ip[full] & mask) == (net_[full] & mask);
    }
    case K::lt:
    case K::le:
    case K::gt:
    case K::ge: {
      double d;
      long long i;
      if (!parse_number(v, d)) {
        if (!parse_int(v, i)) return false;  // hex ids compare numerically only via explicit 0x
        d = static_cast<double>(i);
      }
      return atom_.kind == K::lt ? d < num_ : atom_.kind == K::le ? d <= num_ : atom_.kind == K::gt ? d > num_ : d >= num_;
    }
    case K::exists: return true;
    case K::field_eq:
    case K::field_contains:
    case K::field_starts_with:
    case K::field_ends_with: return false;  // decided by the caller, which sees both fields
  }
  return false;
}

}  // namespace vigil::match
