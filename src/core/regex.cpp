#define PCRE2_CODE_UNIT_WIDTH 8
#include "core/regex.h"

#include <pcre2.h>

#include <algorithm>

namespace vigil {

struct Regex::Impl {
  pcre2_code* code = nullptr;
  pcre2_match_context* mctx = nullptr;
  ~Impl() {
    if (mctx) pcre2_match_context_free(mctx);
    if (code) pcre2_code_free(code);
  }
};

Result<Regex> Regex::compile(std::string_view pattern, Flags flags) {
  uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
  if (flags.caseless) opts |= PCRE2_CASELESS;
  if (flags.multiline) opts |= PCRE2_MULTILINE;
  if (flags.dotall) opts |= PCRE2_DOTALL;
  int err = 0;
  PCRE2_SIZE off = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), opts, &err, &off,
                                   nullptr);
  if (!code) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(err, buf, sizeof buf);
    return Error{std::string("invalid regular expression at offset ") + std::to_string(off) + ": " +
                     reinterpret_cast<char*>(buf),
                 {}};
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // best effort; interpreter otherwise
  Regex r;
  r.impl_ = std::make_shared<Impl>();
  r.impl_->code = code;
  r.impl_->mctx = pcre2_match_context_create(nullptr);
  pcre2_set_match_limit(r.impl_->mctx, 1000000);
  pcre2_set_depth_limit(r.impl_->mctx, 10000);
  r.pattern_ = std::string(pattern);
  uint32_t cap = 0;
  pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &cap);
  r.groups_ = static_cast<int>(cap);
  uint32_t count = 0, entry = 0;
  PCRE2_SPTR table = nullptr;
  pcre2_pattern_info(code, PCRE2_INFO_NAMECOUNT, &count);
  pcre2_pattern_info(code, PCRE2_INFO_NAMEENTRYSIZE, &entry);
  pcre2_pattern_info(code, PCRE2_INFO_NAMETABLE, &table);
  for (uint32_t i = 0; i < count; ++i) {
    const unsigned char* e = table + i * entry;
    int n = (e[0] << 8) | e[1];
    r.names_.emplace_back(reinterpret_cast<const char*>(e + 2), n);
  }
  std::sort(r.names_.begin(), r.names_.end(), [](auto& a, auto& b) { return a.second < b.second; });
  return r;
}

bool Regex::search(std::string_view s) const {
  Match m;
  return find(s, 0, m);
}

bool Regex::find(std::string_view s, size_t start, Match& out) const {
  if (!impl_ || start > s.size()) return false;
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(impl_->code, nullptr);
  int rc = pcre2_match(impl_->code, reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), start, 0, md, impl_->mctx);
  bool ok = rc > 0;
  if (ok) {
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    out.groups.assign(groups_ + 1, Group{});
    for (int i = 0; i < rc && i <= groups_; ++i)
      if (ov[2 * i] != PCRE2_UNSET) out.groups[i] = {ov[2 * i], ov[2 * i + 1]};
  }
  pcre2_match_data_free(md);
  return ok;
}

std::string Regex::replace(std::string_view s, std::string_view repl, bool global) const {
  std::string out;
  size_t pos = 0;
  Match m;
  while (pos <= s.size() && find(s, pos, m)) {
    auto [b, e] = std::pair{m.groups[0].begin, m.groups[0].end};
    out.append(s.substr(pos, b - pos));
    for (size_t i = 0; i < repl.size(); ++i) {
      char c = repl[i];
      if ((c == '\\' || c == '$') && i + 1 < repl.size() && repl[i + 1] >= '0' && repl[i + 1] <= '9') {
        int g = repl[++i] - '0';
        if (g <= groups_ && m.groups[g].begin != SIZE_MAX)
          out.append(s.substr(m.groups[g].begin, m.groups[g].end - m.groups[g].begin));
      } else if (c == '\\' && i + 1 < repl.size()) {
        out += repl[++i];
      } else {
        out += c;
      }
    }
    if (e == b) {
      if (b < s.size()) out += s[b];
      pos = b + 1;
    } else {
      pos = e;
    }
    if (!global) break;
  }
  if (pos <= s.size()) out.append(s.substr(pos));
  return out;
}

}  // namespace vigil
