#include "ingest/evtx/values.h"

#include <charconv>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <fmt/format.h>

#include "ingest/evtx/le.h"

namespace vigil::evtx {
namespace {

constexpr char kHexUpper[] = "0123456789ABCDEF";

template <class T>
void append_int(Arena& out, T v) {
  char* d = out.reserve(24);
  auto r = std::to_chars(d, d + 24, v);
  out.commit(size_t(r.ptr - d));
}

void append_hex(Arena& out, uint64_t v) {
  char* d = out.reserve(18);
  d[0] = '0';
  d[1] = 'x';
  auto r = std::to_chars(d + 2, d + 18, v, 16);  // lower-case, unpadded
  out.commit(size_t(r.ptr - d));
}

void append_2(char* d, unsigned v) {
  d[0] = char('0' + v / 10 % 10);
  d[1] = char('0' + v % 10);
}

// Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = unsigned(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = int64_t(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += (m <= 2);
}

// YYYY-MM-DDTHH:MM:SS.ffffffZ
void append_iso(Arena& out, int64_t year, unsigned mon, unsigned day, unsigned h, unsigned mi, unsigned s,
                unsigned micros) {
  char* d = out.reserve(40);
  char* p = d;
  if (year < 0 || year > 9999) year = 0;  // unreachable for 64-bit FILETIME ranges we print; keeps width fixed
  p[0] = char('0' + year / 1000);
  p[1] = char('0' + year / 100 % 10);
  p[2] = char('0' + year / 10 % 10);
  p[3] = char('0' + year % 10);
  p[4] = '-';
  append_2(p + 5, mon);
  p[7] = '-';
  append_2(p + 8, day);
  p[10] = 'T';
  append_2(p + 11, h);
  p[13] = ':';
  append_2(p + 14, mi);
  p[16] = ':';
  append_2(p + 17, s);
  p[19] = '.';
  for (int i = 5; i >= 0; --i) {
    p[20 + i] = char('0' + micros % 10);
    micros /= 10;
  }
  p[26] = 'Z';
  out.commit(27);
}

void append_guid(Arena& out, const unsigned char* g) {
  char* d = out.reserve(38);
  char* p = d;
  *p++ = '{';
  auto hex = [&](unsigned b) {
    *p++ = kHexUpper[b >> 4];
    *p++ = kHexUpper[b & 15];
  };
  for (int i = 3; i >= 0; --i) hex(g[i]);
  *p++ = '-';
  hex(g[5]);
  hex(g[4]);
  *p++ = '-';
  hex(g[7]);
  hex(g[6]);
  *p++ = '-';
  hex(g[8]);
  hex(g[9]);
  *p++ = '-';
  for (int i = 10; i < 16; ++i) hex(g[i]);
  *p++ = '}';
  out.commit(38);
}

// Returns the number of bytes consumed, 0 when malformed.
size_t append_sid(Arena& out, const unsigned char* p, size_t size) {
  if (size < 8) return 0;
  unsigned rev = p[0], count = p[1];
  size_t need = 8 + size_t(count) * 4;
  if (need > size) return 0;
  uint64_t auth = 0;
  for (int i = 2; i < 8; ++i) auth = (auth << 8) | p[i];
  out.append("S-", 2);
  append_int(out, rev);
  out.push('-');
  if (auth >> 32) {
    append_hex(out, auth);  // Windows prints 48-bit authorities in hex
  } else {
    append_int(out, auth);
  }
  for (unsigned i = 0; i < count; ++i) {
    out.push('-');
    append_int(out, rd32(p + 8 + 4 * i));
  }
  return need;
}

void append_systime(Arena& out, const unsigned char* p) {
  unsigned year = rd16(p), mon = rd16(p + 2), day = rd16(p + 6), h = rd16(p + 8), mi = rd16(p + 10),
           s = rd16(p + 12), ms = rd16(p + 14);
  append_iso(out, year, mon % 100, day % 100, h % 100, mi % 100, s % 100, (ms % 1000) * 1000);
}

size_t fixed_size(uint8_t t) {
  switch (t) {
    case kInt8: case kUInt8: return 1;
    case kInt16: case kUInt16: return 2;
    case kInt32: case kUInt32: case kReal32: case kBool: case kHexInt32: return 4;
    case kInt64: case kUInt64: case kReal64: case kHexInt64: case kFileTime: return 8;
    case kGuid: case kSysTime: return 16;
    default: return 0;
  }
}

// One scalar of fixed-size type `t` at `p` (size already checked).
void append_fixed(Arena& out, uint8_t t, const unsigned char* p, size_t size) {
  switch (t) {
    case kInt8: append_int(out, int(int8_t(p[0]))); break;
    case kUInt8: append_int(out, unsigned(p[0])); break;
    case kInt16: append_int(out, int(int16_t(rd16(p)))); break;
    case kUInt16: append_int(out, unsigned(rd16(p))); break;
    case kInt32: append_int(out, int32_t(rd32(p))); break;
    case kUInt32: append_int(out, rd32(p)); break;
    case kInt64: append_int(out, int64_t(rd64(p))); break;
    case kUInt64: append_int(out, rd64(p)); break;
    case kHexInt32: append_hex(out, rd32(p)); break;
    case kHexInt64: append_hex(out, rd64(p)); break;
    case kSizeT: append_hex(out, size == 8 ? rd64(p) : rd32(p)); break;
    case kBool: out.append(rd32(p) ? std::string_view("true") : std::string_view("false")); break;
    case kReal32: {
      float f;
      std::memcpy(&f, p, 4);
      char* d = out.reserve(64);
      auto r = fmt::format_to_n(d, 64, "{}", f);
      out.commit(r.size < 64 ? r.size : 64);
      break;
    }
    case kReal64: {
      double f;
      std::memcpy(&f, p, 8);
      char* d = out.reserve(64);
      auto r = fmt::format_to_n(d, 64, "{}", f);
      out.commit(r.size < 64 ? r.size : 64);
      break;
    }
    case kGuid: append_guid(out, p); break;
    case kFileTime: append_filetime(out, rd64(p)); break;
    case kSysTime: append_systime(out, p); break;
    default: break;
  }
}

}  // namespace

void append_utf16(Arena& out, const unsigned char* p, size_t units, bool stop_at_nul) {
  // Worst case 3 UTF-8 bytes per UTF-16 unit (a surrogate pair: 4 bytes for 2 units).
  char* d = out.reserve(units * 3);
  char* wp = d;
  for (size_t i = 0; i < units; ++i) {
#if defined(__SSE2__)
    // Sixteen ASCII units at a time, none NUL (most event text: paths, command lines, GUIDs),
    // narrowed to bytes by one pack.
    const __m128i zero = _mm_setzero_si128();
    while (i + 16 <= units) {
      const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2 * i));
      const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2 * i + 16));
      const __m128i high = _mm_and_si128(_mm_or_si128(a, b), _mm_set1_epi16(static_cast<short>(0xFF80)));
      if (_mm_movemask_epi8(_mm_cmpeq_epi16(high, zero)) != 0xFFFF) break;  // a unit of 0x80 or more
      if (stop_at_nul &&
          _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi16(a, zero), _mm_cmpeq_epi16(b, zero))) != 0)
        break;
      _mm_storeu_si128(reinterpret_cast<__m128i*>(wp), _mm_packus_epi16(a, b));
      wp += 16;
      i += 16;
    }
#endif
    // Four ASCII units, none NUL.
    while (i + 4 <= units) {
      uint64_t w;
      std::memcpy(&w, p + 2 * i, 8);
      if (w & 0xFF80FF80FF80FF80ull) break;
      if (((w - 0x0001000100010001ull) & ~w & 0x8000800080008000ull) && stop_at_nul) break;
      wp[0] = char(w);
      wp[1] = char(w >> 16);
      wp[2] = char(w >> 32);
      wp[3] = char(w >> 48);
      wp += 4;
      i += 4;
    }
    if (i >= units) break;
    unsigned c = rd16(p + 2 * i);
    if (c < 0x80) {
      if (c == 0 && stop_at_nul) break;
      *wp++ = char(c);
    } else if (c < 0x800) {
      *wp++ = char(0xC0 | (c >> 6));
      *wp++ = char(0x80 | (c & 0x3F));
    } else if (c >= 0xD800 && c <= 0xDBFF && i + 1 < units && rd16(p + 2 * i + 2) >= 0xDC00 &&
               rd16(p + 2 * i + 2) <= 0xDFFF) {
      unsigned cp = 0x10000 + ((c - 0xD800) << 10) + (rd16(p + 2 * i + 2) - 0xDC00);
      ++i;
      *wp++ = char(0xF0 | (cp >> 18));
      *wp++ = char(0x80 | ((cp >> 12) & 0x3F));
      *wp++ = char(0x80 | ((cp >> 6) & 0x3F));
      *wp++ = char(0x80 | (cp & 0x3F));
    } else {
      if (c >= 0xD800 && c <= 0xDFFF) c = 0xFFFD;  // lone surrogate
      *wp++ = char(0xE0 | (c >> 12));
      *wp++ = char(0x80 | ((c >> 6) & 0x3F));
      *wp++ = char(0x80 | (c & 0x3F));
    }
  }
  out.commit(size_t(wp - d));
}

void append_filetime(Arena& out, uint64_t ticks) {
  uint64_t micros = ticks / 10;
  uint64_t secs = micros / 1000000;
  int64_t days = int64_t(secs / 86400) - 134774;  // 1601-01-01 -> 1970-01-01
  unsigned sod = unsigned(secs % 86400);
  int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  append_iso(out, y, m, d, sod / 3600, sod / 60 % 60, sod % 60, unsigned(micros % 1000000));
}

size_t value_fixed_size(uint8_t type) { return fixed_size(type); }

bool append_value(Arena& out, uint8_t type, const unsigned char* p, size_t size) {
  const bool array = type & kArrayFlag;
  const uint8_t t = type & 0x7F;
  switch (t) {
    case kNull: return true;
    case kString:
    case kEvtXml:
      if (size % 2) return false;
      if (!array) {
        append_utf16(out, p, size / 2, true);
        return true;
      }
      {
        // NUL-separated elements; a trailing NUL ends the last one.
        size_t units = size / 2, start = 0;
        bool first = true;
        for (size_t i = 0; i <= units; ++i) {
          if (i == units || rd16(p + 2 * i) == 0) {
            if (i == units && i == start) break;
            if (!first) out.push(',');
            append_utf16(out, p + 2 * start, i - start, false);
            first = false;
            start = i + 1;
          }
        }
      }
      return true;
    case kAnsiString: {
      char* d = out.reserve(size * 2);
      char* w = d;
      for (size_t i = 0; i < size; ++i) {
        unsigned char c = p[i];
        if (c == 0) {
          if (!array) break;
          if (i + 1 == size) break;
          *w++ = ',';
          continue;
        }
        if (c < 0x80) {
          *w++ = char(c);
        } else {
          *w++ = char(0xC0 | (c >> 6));
          *w++ = char(0x80 | (c & 0x3F));
        }
      }
      out.commit(size_t(w - d));
      return true;
    }
    case kBinary: {
      char* d = out.reserve(size * 2);
      for (size_t i = 0; i < size; ++i) {
        d[2 * i] = kHexUpper[p[i] >> 4];
        d[2 * i + 1] = kHexUpper[p[i] & 15];
      }
      out.commit(size * 2);
      return true;
    }
    case kSid: {
      size_t pos = 0;
      bool first = true;
      do {
        if (!first) out.push(',');
        size_t n = append_sid(out, p + pos, size - pos);
        if (!n) return false;
        pos += n;
        first = false;
      } while (array && pos < size);
      return true;
    }
    case kSizeT: {
      size_t es = (size % 8 == 0 && size) ? 8 : 4;
      if (!array && size != 4 && size != 8) return false;
      if (!array) es = size;
      if (size % es) return false;
      for (size_t i = 0; i < size; i += es) {
        if (i) out.push(',');
        append_fixed(out, t, p + i, es);
      }
      return true;
    }
    case kEvtHandle: return true;  // process-local handle: meaningless on disk
    default: break;
  }
  size_t es = fixed_size(t);
  if (!es) return false;
  if (!array) {
    // Windows writes some booleans and small ints with a wider size; accept >=.
    if (size < es) return false;
    append_fixed(out, t, p, es);
    return true;
  }
  if (size % es) return false;
  for (size_t i = 0; i < size; i += es) {
    if (i) out.push(',');
    append_fixed(out, t, p + i, es);
  }
  return true;
}

}  // namespace vigil::evtx
