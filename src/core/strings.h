// Small string helpers shared by every module (ASCII case folding: Windows
// event data and SPL keywords are matched case-insensitively in ASCII only).
#pragma once
#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <vector>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define VIGIL_SANITIZED 1
#endif
#endif

namespace vigil {

/// Transparent hash and equality for text-keyed maps and sets: lookups by string_view, no copy.
/// XXH3 (libxxhash): several times the speed of std::hash on the long texts vigil hashes most
/// (group keys of many BY values, command lines).
size_t text_hash(std::string_view s) noexcept;
struct TextHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return text_hash(s); }
};
struct TextEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
};

inline char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c + 32) : c; }
inline char ascii_upper(char c) { return (c >= 'a' && c <= 'z') ? char(c - 32) : c; }

/// The end of the run of ASCII bytes (below 0x80) that starts at `from`: s.size() when all are.
size_t ascii_run(std::string_view s, size_t from = 0);
inline bool is_ascii(std::string_view s) { return ascii_run(s) == s.size(); }

std::string to_lower(std::string_view s);
std::string to_upper(std::string_view s);
// Inline: the normalizer's conditions and the matcher compare hundreds of short texts per event.
inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}
bool istarts_with(std::string_view s, std::string_view prefix);
bool iends_with(std::string_view s, std::string_view suffix);
/// Case-insensitive substring search; npos when absent.
size_t ifind(std::string_view haystack, std::string_view needle, size_t from = 0);
std::string_view trim(std::string_view s);
std::vector<std::string_view> split(std::string_view s, char sep);
/// Last component of a Windows or POSIX path (`C:\x\wmic.exe` -> `wmic.exe`).
std::string_view path_basename(std::string_view path);
/// JSON string literal with quotes and escapes (UTF-8 passed through; invalid bytes as \uFFFD).
std::string json_quote(std::string_view s);
/// The same, appended to `out` (writers that build one buffer per line).
void json_quote_to(std::string& out, std::string_view s);
void json_escape_to(std::string& out, std::string_view s);
/// The escapes of `s` (no quotes) written at `out`, which has room for kJsonEscapeMax bytes per
/// byte of `s`; returns the end. For writers that size their buffer once per line.
constexpr size_t kJsonEscapeMax = 6;  // a control byte or an invalid UTF-8 byte: \u00XX, \ufffd
char* json_escape_raw(char* out, std::string_view s);

/// True when the sixteen bytes from `p` lie in p's memory page, so that, `p` being readable, reading
/// them cannot fault even where a text ends before them (never under a sanitizer, which would report
/// the bytes past the end).
inline bool sixteen_readable(const void* p) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || defined(VIGIL_SANITIZED)
  (void)p;
  return false;
#else
  return (reinterpret_cast<uintptr_t>(p) & 4095) <= 4096 - 16;
#endif
}

/// `s` copied to `out`, which has room for s.size() + kCopySlack bytes; returns the end. A text of
/// at most sixteen bytes goes as one 16-byte load and store (what lands past its end is the caller's
/// to overwrite or ignore): memcpy's branches by size cost more than the copy for the short values
/// of an event.
constexpr size_t kCopySlack = 16;
inline char* copy_with_slack(char* out, std::string_view s) {
#if defined(__SSE2__)
  // An empty text's pointer may be the first byte of a page that cannot be read: not loaded.
  if (s.size() - 1 < 16 && sixteen_readable(s.data())) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data())));
    return out + s.size();
  }
#endif
  if (!s.empty()) std::memcpy(out, s.data(), s.size());
  return out + s.size();
}
/// Parse a decimal or 0x-hex integer; false when `s` is not entirely a number.
bool parse_int(std::string_view s, long long& out);
/// Parse a number the way SPL does for comparisons (decimal, optional sign/fraction/exponent).
bool parse_number(std::string_view s, double& out);
/// Format a double as SPL prints numbers (integers without ".0", else %.15g).
std::string format_number(double v);
/// The same text without allocating: the view points into `buf`.
using NumberText = std::array<char, 48>;
std::string_view format_number(double v, NumberText& buf);
/// Replace every occurrence of `from` with `to`.
std::string replace_all(std::string_view s, std::string_view from, std::string_view to);
/// A CSV field (RFC 4180): `s` as it is unless it holds a comma, a quote or a line break; then
/// quoted, its quotes doubled.
std::string csv_field(std::string_view s);

}  // namespace vigil
