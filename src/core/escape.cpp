#include "core/escape.h"

#include <cstdint>

namespace vigil {

namespace {

// Length of the valid UTF-8 sequence at s[i] (1 for ASCII), 0 when invalid.
size_t utf8_len(std::string_view s, size_t i) {
  auto b = static_cast<uint8_t>(s[i]);
  size_t n = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((static_cast<uint8_t>(s[i + k]) & 0xC0) != 0x80) return 0;
  if (n == 2 && b < 0xC2) return 0;  // overlong
  return n;
}

bool is_c1(std::string_view s, size_t i, size_t n) {
  return n == 2 && static_cast<uint8_t>(s[i]) == 0xC2 && static_cast<uint8_t>(s[i + 1]) < 0xA0;
}

bool plain_ascii(uint8_t b, bool keep_line_breaks) {
  if (b == '\t') return true;
  if (keep_line_breaks && (b == '\n' || b == '\r')) return true;
  return b >= 0x20 && b < 0x7F;
}

}  // namespace

bool needs_escape(std::string_view s, bool keep_line_breaks) {
  for (size_t i = 0; i < s.size();) {
    auto b = static_cast<uint8_t>(s[i]);
    if (b < 0x80) {
      if (!plain_ascii(b, keep_line_breaks)) return true;
      ++i;
      continue;
    }
    size_t n = utf8_len(s, i);
    if (n == 0 || is_c1(s, i, n)) return true;
    i += n;
  }
  return false;
}

std::string escape_controls(std::string_view s, bool keep_line_breaks) {
  if (!needs_escape(s, keep_line_breaks)) return std::string(s);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() + 16);
  for (size_t i = 0; i < s.size();) {
    auto b = static_cast<uint8_t>(s[i]);
    if (b < 0x80) {
      if (plain_ascii(b, keep_line_breaks)) out += static_cast<char>(b);
      else if (b == '\n') out += "\\n";
      else if (b == '\r') out += "\\r";
      else {
        out += "\\x";
        out += hex[b >> 4];
        out += hex[b & 15];
      }
      ++i;
      continue;
    }
    size_t n = utf8_len(s, i);
    if (n == 0) {
      out += "\\x";
      out += hex[b >> 4];
      out += hex[b & 15];
      ++i;
    } else if (is_c1(s, i, n)) {
      auto c = static_cast<uint8_t>(s[i + 1]);
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 15];
      i += 2;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

}  // namespace vigil
