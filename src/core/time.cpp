#include "core/time.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace vigil {

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

static void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp + (mp < 10 ? 3 : -9);
  y += m <= 2;
}

static bool digits(std::string_view s, size_t& i, int n, int& out) {
  if (i + n > s.size()) return false;
  int v = 0;
  for (int k = 0; k < n; ++k) {
    char c = s[i + k];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  i += n;
  out = v;
  return true;
}

std::optional<double> parse_time(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  int Y, M, D, h = 0, mi = 0, se = 0;
  if (!digits(s, i, 4, Y) || i >= s.size() || (s[i] != '-' && s[i] != '/')) return std::nullopt;
  ++i;
  if (!digits(s, i, 2, M) || i >= s.size() || (s[i] != '-' && s[i] != '/')) return std::nullopt;
  ++i;
  if (!digits(s, i, 2, D)) return std::nullopt;
  double frac = 0;
  if (i < s.size() && (s[i] == 'T' || s[i] == ' ')) {
    ++i;
    if (!digits(s, i, 2, h) || i >= s.size() || s[i] != ':') return std::nullopt;
    ++i;
    if (!digits(s, i, 2, mi)) return std::nullopt;
    if (i < s.size() && s[i] == ':') {
      ++i;
      if (!digits(s, i, 2, se)) return std::nullopt;
    }
    if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
      ++i;
      double scale = 0.1;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        frac += (s[i] - '0') * scale;
        scale /= 10;
        ++i;
      }
    }
  }
  if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || mi > 59 || se > 60) return std::nullopt;
  int offset = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int sign = s[i] == '-' ? -1 : 1, oh = 0, om = 0;
    ++i;
    if (!digits(s, i, 2, oh)) return std::nullopt;
    if (i < s.size() && s[i] == ':') ++i;
    digits(s, i, 2, om);
    offset = sign * (oh * 3600 + om * 60);
  }
  double t = static_cast<double>(days_from_civil(Y, M, D)) * 86400 + h * 3600 + mi * 60 + se - offset;
  return t + frac;
}

double filetime_to_epoch(uint64_t ft) { return (static_cast<double>(ft) - 116444736000000000.0) / 1e7; }

struct Civil {
  int64_t y;
  unsigned mo, d, h, mi, s, wday, yday;
  double frac;
};
static Civil to_civil(double epoch) {
  double fl = std::floor(epoch);
  int64_t secs = static_cast<int64_t>(fl);
  Civil c{};
  c.frac = epoch - fl;
  int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  int64_t rem = secs - days * 86400;
  civil_from_days(days, c.y, c.mo, c.d);
  c.h = static_cast<unsigned>(rem / 3600);
  c.mi = static_cast<unsigned>(rem % 3600 / 60);
  c.s = static_cast<unsigned>(rem % 60);
  c.wday = static_cast<unsigned>(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday
  c.yday = static_cast<unsigned>(days - days_from_civil(c.y, 1, 1));
  return c;
}

std::string format_iso8601(double epoch, int fd) {
  fd = std::min(fd, 9);  // nanoseconds: no finer fraction of a second survives in a double's epoch
  Civil c = to_civil(epoch);
  char buf[64];
  int n;
  if (c.y >= 0 && c.y <= 9999) {  // every finding writes a few: digits by hand, not snprintf
    auto two = [&](char* at, unsigned v) { at[0] = char('0' + v / 10), at[1] = char('0' + v % 10); };
    two(buf, unsigned(c.y / 100)), two(buf + 2, unsigned(c.y % 100));
    buf[4] = '-', two(buf + 5, c.mo), buf[7] = '-', two(buf + 8, c.d);
    buf[10] = 'T', two(buf + 11, c.h), buf[13] = ':', two(buf + 14, c.mi), buf[16] = ':', two(buf + 17, c.s);
    n = 19;
  } else {
    n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02u:%02u:%02u", static_cast<long long>(c.y), c.mo, c.d, c.h,
                      c.mi, c.s);
  }
  if (fd <= 0) {
    buf[n++] = 'Z';
    return std::string(buf, size_t(n));
  }
  std::string out(buf, n);
  long long scale = 1;
  for (int i = 0; i < fd; ++i) scale *= 10;
  long long f = std::llround(c.frac * scale);
  if (f >= scale) f = scale - 1;
  std::snprintf(buf, sizeof buf, ".%0*lld", fd, f);
  out += buf;
  out += 'Z';
  return out;
}

static const char* kMonths[] = {"January", "February", "March",     "April",   "May",      "June",
                                "July",    "August",   "September", "October", "November", "December"};
static const char* kDays[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};

std::string format_time(double epoch, std::string_view fmt) {
  Civil c = to_civil(epoch);
  std::string out;
  char b[64];
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%' || i + 1 == fmt.size()) {
      out += fmt[i];
      continue;
    }
    char f = fmt[++i];
    int ndig = 0;
    if (f >= '1' && f <= '9' && i + 1 < fmt.size() && fmt[i + 1] == 'N') {
      ndig = f - '0';
      f = fmt[++i];
    }
    switch (f) {
      case 'Y': std::snprintf(b, sizeof b, "%04lld", static_cast<long long>(c.y)); out += b; break;
      case 'y': std::snprintf(b, sizeof b, "%02lld", static_cast<long long>(c.y % 100)); out += b; break;
      case 'm': std::snprintf(b, sizeof b, "%02u", c.mo); out += b; break;
      case 'd': std::snprintf(b, sizeof b, "%02u", c.d); out += b; break;
      case 'e': std::snprintf(b, sizeof b, "%2u", c.d); out += b; break;
      case 'H': std::snprintf(b, sizeof b, "%02u", c.h); out += b; break;
      case 'I': std::snprintf(b, sizeof b, "%02u", c.h % 12 == 0 ? 12 : c.h % 12); out += b; break;
      case 'p': out += c.h < 12 ? "AM" : "PM"; break;
      case 'M': std::snprintf(b, sizeof b, "%02u", c.mi); out += b; break;
      case 'S': std::snprintf(b, sizeof b, "%02u", c.s); out += b; break;
      case 'j': std::snprintf(b, sizeof b, "%03u", c.yday + 1); out += b; break;
      case 'b': out += std::string(kMonths[c.mo - 1]).substr(0, 3); break;
      case 'B': out += kMonths[c.mo - 1]; break;
      case 'a': out += std::string(kDays[c.wday]).substr(0, 3); break;
      case 'A': out += kDays[c.wday]; break;
      case 'w': out += char('0' + c.wday); break;
      case 'T': out += format_time(epoch, "%H:%M:%S"); break;
      case 'F': out += format_time(epoch, "%Y-%m-%d"); break;
      case 'z': out += "+0000"; break;
      case 'Z': out += "UTC"; break;
      case 's': std::snprintf(b, sizeof b, "%lld", static_cast<long long>(std::floor(epoch))); out += b; break;
      case 'N': {
        int nd = ndig ? ndig : 9;
        double scale = std::pow(10.0, nd);
        std::snprintf(b, sizeof b, "%0*lld", nd, static_cast<long long>(std::floor(c.frac * scale)));
        out += b;
        break;
      }
      case 'f': std::snprintf(b, sizeof b, "%06lld", static_cast<long long>(std::floor(c.frac * 1e6))); out += b; break;
      case '%': out += '%'; break;
      default: out += '%'; out += f; break;
    }
  }
  return out;
}

std::optional<double> parse_time_format(std::string_view text, std::string_view fmt) {
  int64_t y = 1970;
  int mo = 1, d = 1, h = 0, mi = 0, s = 0, pm = -1;
  double frac = 0;
  int tz = 0;
  size_t t = 0;
  auto num = [&](int maxd, int& out) {
    int n = 0, v = 0;
    while (n < maxd && t < text.size() && text[t] >= '0' && text[t] <= '9') v = v * 10 + (text[t++] - '0'), ++n;
    out = v;
    return n > 0;
  };
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%' || i + 1 == fmt.size()) {
      if (t >= text.size() || text[t] != fmt[i]) return std::nullopt;
      ++t;
      continue;
    }
    char f = fmt[++i];
    if (f >= '1' && f <= '9' && i + 1 < fmt.size() && fmt[i + 1] == 'N') f = fmt[++i];
    int v = 0;
    switch (f) {
      case 'Y': if (!num(4, v)) return std::nullopt; y = v; break;
      case 'y': if (!num(2, v)) return std::nullopt; y = 2000 + v; break;
      case 'm': if (!num(2, mo)) return std::nullopt; break;
      case 'd': case 'e': while (t < text.size() && text[t] == ' ') ++t; if (!num(2, d)) return std::nullopt; break;
      case 'H': case 'I': if (!num(2, h)) return std::nullopt; break;
      case 'M': if (!num(2, mi)) return std::nullopt; break;
      case 'S': if (!num(2, s)) return std::nullopt; break;
      case 'p':
        if (t + 2 > text.size()) return std::nullopt;
        pm = (text[t] == 'P' || text[t] == 'p') ? 1 : 0;
        t += 2;
        break;
      case 'N': case 'f': case 'Q': {
        double scale = 0.1;
        while (t < text.size() && text[t] >= '0' && text[t] <= '9') frac += (text[t++] - '0') * scale, scale /= 10;
        break;
      }
      case 'b': case 'B': {
        bool found = false;
        for (int k = 0; k < 12 && !found; ++k) {
          std::string_view full = kMonths[k];
          for (size_t len : {full.size(), size_t(3)})
            if (text.substr(t, len).size() == len) {
              std::string_view cand = text.substr(t, len);
              bool eq = true;
              for (size_t q = 0; q < len; ++q) eq &= (cand[q] | 32) == (full[q] | 32);
              if (eq) { mo = k + 1; t += len; found = true; break; }
            }
        }
        if (!found) return std::nullopt;
        break;
      }
      case 'a': case 'A': while (t < text.size() && std::isalpha(static_cast<unsigned char>(text[t]))) ++t; break;
      case 'z': {
        if (t < text.size() && (text[t] == 'Z')) { ++t; break; }
        if (t >= text.size() || (text[t] != '+' && text[t] != '-')) return std::nullopt;
        int sign = text[t++] == '-' ? -1 : 1, hh = 0, mm = 0;
        num(2, hh);
        if (t < text.size() && text[t] == ':') ++t;
        num(2, mm);
        tz = sign * (hh * 3600 + mm * 60);
        break;
      }
      case 'Z': while (t < text.size() && std::isalpha(static_cast<unsigned char>(text[t]))) ++t; break;
      case 's': {
        long long v2 = 0;
        int n = 0;
        while (t < text.size() && text[t] >= '0' && text[t] <= '9') v2 = v2 * 10 + (text[t++] - '0'), ++n;
        if (!n) return std::nullopt;
        return static_cast<double>(v2);
      }
      case 'T': {
        auto r = parse_time_format(text.substr(t, 8), "%H:%M:%S");
        if (!r) return std::nullopt;
        int64_t sec = static_cast<int64_t>(*r);
        h = static_cast<int>(sec / 3600); mi = static_cast<int>(sec % 3600 / 60); s = static_cast<int>(sec % 60);
        t += 8;
        break;
      }
      case '%': if (t >= text.size() || text[t] != '%') return std::nullopt; ++t; break;
      default: return std::nullopt;
    }
  }
  if (pm == 1 && h < 12) h += 12;
  if (pm == 0 && h == 12) h = 0;
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return std::nullopt;
  return static_cast<double>(days_from_civil(y, mo, d)) * 86400 + h * 3600 + mi * 60 + s + frac - tz;
}

}  // namespace vigil
