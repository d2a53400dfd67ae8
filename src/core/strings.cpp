#include <charconv>
#include "core/strings.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#define XXH_INLINE_ALL
#include <xxhash.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace vigil {

size_t text_hash(std::string_view s) noexcept { return static_cast<size_t>(XXH3_64bits(s.data(), s.size())); }

std::string to_lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = ascii_lower(c);
  return r;
}
std::string to_upper(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = ascii_upper(c);
  return r;
}
bool istarts_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && iequals(s.substr(0, p.size()), p);
}
bool iends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && iequals(s.substr(s.size() - p.size()), p);
}
size_t ifind(std::string_view h, std::string_view n, size_t from) {
  if (n.empty()) return from <= h.size() ? from : std::string_view::npos;
  if (n.size() > h.size() || from > h.size() - n.size()) return std::string_view::npos;
  // Candidates are found with memchr on both cases of the first byte (the hot path of
  // every case-insensitive contains in the matcher), then verified.
  const char lo = ascii_lower(n[0]), up = ascii_upper(n[0]);
  const char* base = h.data();
  const size_t last = h.size() - n.size();  // last start position
  size_t i = from;
  while (i <= last) {
    const void* a = std::memchr(base + i, lo, last - i + 1);
    const void* b = lo == up ? nullptr : std::memchr(base + i, up, last - i + 1);
    if (!a && !b) return std::string_view::npos;
    const char* p = !a ? static_cast<const char*>(b) : !b ? static_cast<const char*>(a)
                                                          : std::min(static_cast<const char*>(a), static_cast<const char*>(b));
    size_t k = static_cast<size_t>(p - base);
    size_t j = 1;
    while (j < n.size() && ascii_lower(base[k + j]) == ascii_lower(n[j])) ++j;
    if (j == n.size()) return k;
    i = k + 1;
  }
  return std::string_view::npos;
}
std::string_view trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}
std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t b = 0;
  for (size_t i = 0; i <= s.size(); ++i)
    if (i == s.size() || s[i] == sep) {
      out.push_back(s.substr(b, i - b));
      b = i + 1;
    }
  return out;
}
std::string_view path_basename(std::string_view p) {
  size_t k = p.find_last_of("\\/");
  return k == std::string_view::npos ? p : p.substr(k + 1);
}

size_t ascii_run(std::string_view s, size_t i) {
  // Eight bytes at a time: a script block of tens of kilobytes is looked at per regex (core/regex).
  for (uint64_t w; i + 8 <= s.size(); i += 8) {
    std::memcpy(&w, s.data() + i, 8);
    if (w & 0x8080808080808080ULL) break;
  }
  while (i < s.size() && static_cast<unsigned char>(s[i]) < 0x80) ++i;
  return i;
}

namespace {
// Bytes that end a run copied as is: controls, '"', '\\', and non-ASCII (UTF-8 is checked).
constexpr auto kJsonSpecial = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) t[size_t(c)] = c < 0x20 || c >= 0x80 || c == '"' || c == '\\';
  return t;
}();
inline bool json_special(unsigned char c) { return kJsonSpecial[c]; }

// The end of the run of bytes from `i` on that need no escape. Eight bytes at a time while none is
// special (a control, '"', '\\' or a high byte; each test is exact as a yes/no), then byte by byte.
size_t plain_end(std::string_view s, size_t i) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
  while (i + 8 <= s.size()) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    const uint64_t quote = w ^ (kOnes * '"'), slash = w ^ (kOnes * '\\');
    if ((w | ((w - kOnes * 0x20) & ~w) | ((quote - kOnes) & ~quote) | ((slash - kOnes) & ~slash)) & kHigh) break;
    i += 8;
  }
  while (i < s.size() && !json_special(static_cast<unsigned char>(s[i]))) ++i;
  return i;
}
}  // namespace

char* json_escape_raw(char* out, std::string_view s) {
  static const char* hex = "0123456789abcdef";
  auto put2 = [&](char a, char b) {
    out[0] = a, out[1] = b;
    out += 2;
  };
  size_t i = 0;
  while (i < s.size()) {
    // Most log text needs no escaping: copy each such run at once.
#if defined(__SSE2__)
    // Sixteen bytes at a time, stored whole. Each byte read so far wrote at most kJsonEscapeMax, so
    // while three or more are left the room left holds sixteen. A short tail is loaded whole when
    // that stays in its memory page (never past it; not under ASan, which would see the bytes).
    if (const size_t left = s.size() - i; left >= 3 && (left >= 16 || sixteen_readable(s.data() + i))) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i));
      const __m128i special =
          _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),  // signed: controls and high bytes
                       _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
      uint32_t stop = uint32_t(_mm_movemask_epi8(special));
      if (left < 16) stop |= ~0u << left;  // the bytes past the end end the run
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out), v);
      const size_t run = stop ? size_t(__builtin_ctz(stop)) : 16;
      out += run;
      i += run;
      if (run == 16 || i == s.size()) continue;
    } else
#endif
    if (const size_t run = plain_end(s, i); run > i) {
      std::memcpy(out, s.data() + i, run - i);
      out += run - i;
      i = run;
      if (i == s.size()) break;
    }
    unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': put2('\\', '"'); ++i; continue;
      case '\\': put2('\\', '\\'); ++i; continue;
      case '\n': put2('\\', 'n'); ++i; continue;
      case '\r': put2('\\', 'r'); ++i; continue;
      case '\t': put2('\\', 't'); ++i; continue;
      default: break;
    }
    if (c < 0x20) {
      put2('\\', 'u'), put2('0', '0'), put2(hex[c >> 4], hex[c & 15]);
      ++i;
      continue;
    }
    // Validate UTF-8 so output stays valid JSON whatever the input bytes were.
    size_t len = (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = len && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) >> 6) == 2;
    if (ok) {
      std::memcpy(out, s.data() + i, len);
      out += len;
      i += len;
    } else {
      put2('\\', 'u'), put2('f', 'f'), put2('f', 'd');
      ++i;
    }
  }
  return out;
}

void json_escape_to(std::string& out, std::string_view s) {
  // Text that needs no escape is appended as is; else room for the worst case, then cut to size.
  const size_t plain = plain_end(s, 0);
  out.append(s.data(), plain);
  if (plain == s.size()) return;
  s.remove_prefix(plain);
  const size_t at = out.size();
  out.resize(at + kJsonEscapeMax * s.size());
  out.resize(size_t(json_escape_raw(out.data() + at, s) - out.data()));
}

std::string json_quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  json_quote_to(out, s);
  return out;
}

void json_quote_to(std::string& out, std::string_view s) {
  out += '"';
  json_escape_to(out, s);
  out += '"';
}

bool parse_int(std::string_view s, long long& out) {
  s = trim(s);
  if (s.empty()) return false;
  bool neg = false;
  size_t i = 0;
  if (s[0] == '-' || s[0] == '+') {
    neg = s[0] == '-';
    i = 1;
  }
  int base = 10;
  if (s.size() > i + 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
    base = 16;
    i += 2;
  }
  if (i >= s.size()) return false;
  unsigned long long v = 0;
  for (; i < s.size(); ++i) {
    char c = s[i];
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (base == 16 && c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return false;
    v = v * base + d;
  }
  out = neg ? -static_cast<long long>(v) : static_cast<long long>(v);
  return true;
}

bool parse_number(std::string_view s, double& out) {
  s = trim(s);
  if (s.empty() || s.size() > 64) return false;
  // Most texts asked are names, paths and GUIDs: strtod reads a number only from these first
  // characters (it also reads inf and nan, which are no numbers here).
  const char c0 = s[0];
  if (!((c0 >= '0' && c0 <= '9') || c0 == '-' || c0 == '+' || c0 == '.')) return false;
  {
    // Plain integers (ids, counts, codes) up to 15 digits: exact in a double, as strtod gives them.
    const bool neg = c0 == '-';
    const size_t from = neg ? 1 : 0;
    if (s.size() > from && s.size() - from <= 15) {
      uint64_t v = 0;
      size_t i = from;
      for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) v = v * 10 + uint64_t(s[i] - '0');
      if (i == s.size()) {
        out = neg ? -double(v) : double(v);  // "-0" is -0.0, as from strtod
        return true;
      }
    }
  }
  char buf[72];
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = 0;
  // Hex is not a number for SPL comparisons (4688 ids stay text).
  char* end = nullptr;
  if (s.size() > 1 && (s[1] == 'x' || s[1] == 'X')) return false;
  double v = std::strtod(buf, &end);
  if (end != buf + s.size() || std::isnan(v) || std::isinf(v)) return false;
  out = v;
  return true;
}

std::string_view format_number(double v, NumberText& buf) {
  // to_chars with a precision formats as printf's %.15g does, without printf's locale and parsing.
  std::to_chars_result r;
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15)
    r = std::to_chars(buf.data(), buf.data() + buf.size(), static_cast<long long>(v));
  else if (std::isfinite(v))
    r = std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::general, 15);
  else  // inf, nan and -nan exactly as printf spells them
    return {buf.data(), static_cast<size_t>(std::snprintf(buf.data(), buf.size(), "%.15g", v))};
  return {buf.data(), static_cast<size_t>(r.ptr - buf.data())};
}

std::string format_number(double v) {
  NumberText buf;
  return std::string(format_number(v, buf));
}

std::string csv_field(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  // Appended, not `"\"" + …`: GCC 12 warns on that form (-Wrestrict, a false positive).
  std::string out = "\"";
  out += replace_all(s, "\"", "\"\"");
  out += '"';
  return out;
}

std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
  if (from.empty()) return std::string(s);
  std::string out;
  size_t i = 0;
  while (true) {
    size_t k = s.find(from, i);
    if (k == std::string_view::npos) break;
    out.append(s.substr(i, k - i));
    out.append(to);
    i = k + from.size();
  }
  out.append(s.substr(i));
  return out;
}

}  // namespace vigil
