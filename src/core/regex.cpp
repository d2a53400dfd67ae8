#define PCRE2_CODE_UNIT_WIDTH 8
#include "core/regex.h"

#include "core/strings.h"

#include <pcre2.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>

#ifdef VIGIL_HAVE_HYPERSCAN
#include <hs/hs.h>
#endif

namespace vigil {

namespace {

// Limit hits: counted per pattern for the end-of-run report, and listed per
// thread so that the event being evaluated can be marked undecided.
std::mutex g_hits_mu;
std::map<std::string, uint64_t>& global_hits() {
  static std::map<std::string, uint64_t> hits;
  return hits;
}
thread_local std::vector<std::string> t_undecided;

// One match data per thread, grown to the most capture groups asked for: a Sigma |re or an SPL
// match() runs per event, and creating and freeing one per call was an allocation pair each. The
// interpreter's backtracking frames it keeps between calls are bounded by the depth limit (below).
struct ThreadMatchData {
  pcre2_match_data* md = nullptr;
  uint32_t pairs = 0;
  pcre2_match_data* fit(uint32_t want) {
    if (want > pairs) {
      if (md) pcre2_match_data_free(md);
      md = pcre2_match_data_create(want, nullptr);
      pairs = md ? want : 0;
    }
    return md;
  }
  ~ThreadMatchData() {
    if (md) pcre2_match_data_free(md);
  }
};
thread_local ThreadMatchData t_match_data;

#ifdef VIGIL_HAVE_HYPERSCAN
std::atomic<uint64_t> g_db_ids{0};

// One scratch per thread, grown to fit every database it has been used with.
struct ThreadScratch {
  hs_scratch_t* scratch = nullptr;
  std::vector<uint64_t> fitted;  // ids of the databases it is large enough for (sorted)
  ~ThreadScratch() {
    if (scratch) hs_free_scratch(scratch);
  }
};
thread_local ThreadScratch t_scratch;

// Length of a valid UTF-8 sequence at s[i], 0 when invalid.
size_t utf8_seq(std::string_view s, size_t i) {
  auto b = static_cast<unsigned char>(s[i]);
  size_t n = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 0;
  if (n == 0 || i + n > s.size() || (n == 2 && b < 0xC2)) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  if (n == 3) {
    auto c = static_cast<unsigned char>(s[i + 1]);
    if ((b == 0xE0 && c < 0xA0) || (b == 0xED && c >= 0xA0)) return 0;  // overlong, surrogate
  }
  if (n == 4) {
    auto c = static_cast<unsigned char>(s[i + 1]);
    if ((b == 0xF0 && c < 0x90) || b > 0xF4 || (b == 0xF4 && c >= 0x90)) return 0;
  }
  return n;
}

// Hyperscan's UTF-8 mode needs valid UTF-8; log values need not be. Invalid
// bytes become U+FFFD (PCRE2 with MATCH_INVALID_UTF lets them match no
// literal either), in a per-thread buffer; valid input is scanned in place.
std::string_view valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    i = ascii_run(s, i);
    if (i == s.size()) break;
    size_t n = utf8_seq(s, i);
    if (n == 0) break;
    i += n;
  }
  if (i == s.size()) return s;
  thread_local std::string fixed;
  fixed.assign(s.substr(0, i));
  while (i < s.size()) {
    size_t n = static_cast<unsigned char>(s[i]) < 0x80 ? 1 : utf8_seq(s, i);
    if (n == 0) {
      fixed += "\xEF\xBF\xBD";
      ++i;
    } else {
      fixed.append(s.substr(i, n));
      i += n;
    }
  }
  return fixed;
}

int on_match(unsigned, unsigned long long, unsigned long long, unsigned, void* ctx) {
  *static_cast<bool*>(ctx) = true;
  return 1;  // stop at the first match
}
#endif

// Patterns made of literal pieces joined by `.*` (Sigma's `\+.*\+.*\+…` counts of a character in a
// command line): PCRE2 tries every split of the subject among the pieces and on a long command line
// with many of them runs to its match limit (~0.1 ms per subject, then the linear engine). The pieces
// found in order, each at its leftmost place after the last, decide the same question in one pass: the
// leftmost end of each piece leaves the most room for the rest. The pieces, or nothing when the
// pattern is not of that form or its answer could differ from PCRE2's:
//  - caseless pieces with letters (the piece search compares bytes as they are);
//  - a newline convention other than LF (`.` stops at the newline, so pieces share a line unless dotall).
// Subjects with non-ASCII bytes are left to PCRE2 (chain_search: -1): under MATCH_INVALID_UTF a `.`
// does not cross an invalid sequence.
std::vector<std::string> literal_chain(std::string_view p, bool caseless) {
  static const bool lf_newlines = [] {
    uint32_t nl = 0;
    return pcre2_config(PCRE2_CONFIG_NEWLINE, &nl) >= 0 && nl == PCRE2_NEWLINE_LF;
  }();
  if (!lf_newlines) return {};
  if (p.substr(0, 4) == "(?i)") {
    caseless = true;
    p.remove_prefix(4);
  }
  std::vector<std::string> pieces(1);
  for (size_t i = 0; i < p.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(p[i]);
    if (c >= 0x80) return {};
    if (c == '.') {
      if (i + 1 >= p.size() || p[i + 1] != '*') return {};
      ++i;
      if (i + 1 < p.size() && p[i + 1] == '?') ++i;  // lazy: the same yes or no
      if (!pieces.back().empty()) pieces.emplace_back();
      continue;
    }
    char lit = char(c);
    if (c == '\\') {
      if (i + 1 >= p.size()) return {};
      const unsigned char e = static_cast<unsigned char>(p[++i]);
      if (e >= 0x80 || std::isalnum(e)) return {};  // \d, \x41, \1 …: not a literal
      lit = char(e);
    } else if (std::strchr("^$|?*+()[]{}", c)) {
      return {};
    }
    if (caseless && std::isalpha(static_cast<unsigned char>(lit))) return {};
    if (lit == '\n') return {};
    pieces.back().push_back(lit);
  }
  if (pieces.back().empty()) pieces.pop_back();
  if (pieces.size() < 2) return {};  // one literal: PCRE2 is quick, nothing to split
  return pieces;
}

// 1 / 0: the chain's answer; -1: the subject has non-ASCII bytes (PCRE2 decides).
int chain_search(const std::vector<std::string>& pieces, bool dotall, std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return -1;
  size_t line = 0;
  while (line <= s.size()) {
    const size_t end = dotall ? s.size() : std::min(s.find('\n', line), s.size());
    const std::string_view text = s.substr(line, end - line);
    size_t at = 0;
    bool all = true;
    for (auto& piece : pieces) {
      const size_t k = text.find(piece, at);
      if (k == std::string_view::npos) {
        all = false;
        break;
      }
      at = k + piece.size();
    }
    if (all) return 1;
    line = end + 1;
  }
  return 0;
}

}  // namespace

struct Regex::Impl {
  pcre2_code* code = nullptr;
  pcre2_match_context* mctx = nullptr;
  std::atomic<uint64_t> hits{0};
  Regex::Flags flags;
  std::vector<std::string> chain;  // literal_chain(): search() answers without PCRE2
  // Which engine answers search() on subjects of kLongSubject bytes or more (see search()), and the
  // trial that chooses it: shared by the threads that search with this pattern, on a line of its own
  // (written only until the choice is made).
  static constexpr uint8_t kUndecided = 0, kPcre = 1, kLinear = 2, kTrialLinear = 3;
  struct alignas(64) Trial {
    std::atomic<uint8_t> engine{kUndecided};
    std::atomic<uint32_t> pcre_calls{0}, linear_calls{0};
    // Each engine's best time per byte (picoseconds) on a subject it did not match (a miss reads
    // the whole subject; a match may stop at its first bytes): the least disturbed call, not the
    // first (cold caches) or one the scheduler interrupted. And PCRE2's time on long subjects.
    std::atomic<uint64_t> pcre_ps{UINT64_MAX}, linear_ps{UINT64_MAX}, pcre_ns{0};
  } trial;
  uint64_t compile_budget_ns = 0;  // PCRE2's time on long subjects before the linear form is tried
#ifdef VIGIL_HAVE_HYPERSCAN
  // Compiled on first need (a PCRE2 limit hit, or search()'s trial): Hyperscan compiles take
  // milliseconds, and a corpus holds hundreds of patterns that never need it.
  std::once_flag hs_once;
  hs_database_t* hs = nullptr;
  uint64_t hs_id = 0;

  // Hyperscan refuses what needs backtracking (backreferences, lookaround,
  // some very large bounded repeats): those have no linear answer.
  void compile_linear(const std::string& pattern) {
    unsigned hflags = HS_FLAG_UTF8 | HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY;
    if (flags.caseless) hflags |= HS_FLAG_CASELESS;
    if (flags.multiline) hflags |= HS_FLAG_MULTILINE;
    if (flags.dotall) hflags |= HS_FLAG_DOTALL;
    hs_compile_error_t* herr = nullptr;
    if (pattern.find('\0') == std::string::npos &&
        hs_compile(pattern.c_str(), hflags, HS_MODE_BLOCK, nullptr, &hs, &herr) == HS_SUCCESS)
      hs_id = ++g_db_ids;
    else
      hs = nullptr;
    if (herr) hs_free_compile_error(herr);
  }
#endif
  ~Impl() {
    if (mctx) pcre2_match_context_free(mctx);
    if (code) pcre2_code_free(code);
#ifdef VIGIL_HAVE_HYPERSCAN
    if (hs) hs_free_database(hs);
#endif
  }

  void limit_hit(const std::string& pattern) {
    hits.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard lock(g_hits_mu);
      global_hits()[pattern]++;
    }
    if (std::find(t_undecided.begin(), t_undecided.end(), pattern) == t_undecided.end())
      t_undecided.push_back(pattern);
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
  r.impl_->flags = flags;
  r.impl_->mctx = pcre2_match_context_create(nullptr);
  pcre2_set_match_limit(r.impl_->mctx, 1000000);
  pcre2_set_depth_limit(r.impl_->mctx, 10000);
  r.pattern_ = std::string(pattern);
  r.impl_->chain = literal_chain(pattern, flags.caseless);
  // The rent paid before the linear form is bought (search()): twice Hyperscan's compile time as
  // measured on the ESCU and Sigma patterns (~2 ms, and up to ~100 µs per pattern byte for long
  // alternations: 0.2 s for the 1.9 KB of PowerShell 4104 Hunting's cmdlet names). Renting only as
  // long as the compile takes bought that one after 733 of OTRF's 1,248 script blocks, too late to
  // earn the compile back (the rule 0.52 s, against 0.48 s on PCRE2 alone); with twice that it stays
  // on PCRE2 there (0.46 s, the cheaper patterns moved) and moves on an input about twice as large.
  r.impl_->compile_budget_ns = 2 * (2'000'000 + 100'000 * uint64_t(pattern.size()));
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

bool Regex::chained() const { return impl_ && !impl_->chain.empty(); }

bool Regex::linear() const {
#ifdef VIGIL_HAVE_HYPERSCAN
  if (!impl_) return false;
  std::call_once(impl_->hs_once, [this] { impl_->compile_linear(pattern_); });
  return impl_->hs != nullptr;
#else
  return false;
#endif
}

bool Regex::linear_ready() const {
#ifdef VIGIL_HAVE_HYPERSCAN
  if (!linear()) return false;
  ThreadScratch& ts = t_scratch;
  auto it = std::lower_bound(ts.fitted.begin(), ts.fitted.end(), impl_->hs_id);
  if (it == ts.fitted.end() || *it != impl_->hs_id) {
    if (hs_alloc_scratch(impl_->hs, &ts.scratch) != HS_SUCCESS) return false;
    ts.fitted.insert(it, impl_->hs_id);
  }
  return true;
#else
  return false;
#endif
}

bool Regex::linear_search(std::string_view s, bool& matched, bool ascii_only) const {
#ifdef VIGIL_HAVE_HYPERSCAN
  if (s.size() > UINT32_MAX || (ascii_only && !is_ascii(s)) || !linear_ready()) return false;
  ThreadScratch& ts = t_scratch;
  std::string_view text = ascii_only ? s : valid_utf8(s);
  matched = false;
  hs_error_t e = hs_scan(impl_->hs, text.data(), static_cast<unsigned>(text.size()), 0, ts.scratch, on_match, &matched);
  return e == HS_SUCCESS || e == HS_SCAN_TERMINATED;
#else
  (void)s;
  (void)matched;
  return false;
#endif
}

std::optional<bool> Regex::search_on(Engine e, std::string_view s) const {
  if (e == Engine::linear) {
    bool matched = false;
    if (linear_search(s, matched, true)) return matched;
    return std::nullopt;
  }
  Match m;
  const int r = find_backtracking(s, 0, m);
  if (r < 0) return std::nullopt;
  return r == 1;
}

Regex::Engine Regex::long_subject_engine() const {
  return impl_ && impl_->trial.engine.load(std::memory_order_relaxed) == Impl::kLinear ? Engine::linear : Engine::pcre2;
}

// PCRE2 (JIT) answers; only when it gives up at its limit does the linear-time engine decide, so a
// hostile subject costs at most the limit and is never a silent "no".
bool Regex::search_pcre_first(std::string_view s) const {
  Match m;
  int r = find_backtracking(s, 0, m);
  if (r >= 0) return r == 1;
  bool matched = false;
  if (linear_search(s, matched)) return matched;
  impl_->limit_hit(pattern_);
  return false;
}

// PCRE2 answers first: it is the faster engine on ordinary subjects (measured: answering every
// Sigma |re on Hyperscan doubled a hunt's time). Long subjects may be answered by the linear engine
// instead. PCRE2 finds a pattern that starts with a fixed character or literal by skipping to it
// (memchr), but tries an alternation of names or a character class at every position: over
// PowerShell script blocks of kilobytes, ESCU's PowerShell 4104 Hunting spent most of its time
// there (bench/regex_bench: the linear engine is 3 to 30 times faster on such patterns, and 100 times
// slower on a few bounded repeats). The linear form costs a compile (milliseconds; 0.2 s for that
// rule's 150 cmdlet names), so the choice is made as one rents before buying: PCRE2 answers, timed,
// until the time it spent on long subjects reaches twice the compile's reckoned cost
// (compile_budget_ns); only a pattern it found slow per byte gets there. Then the linear engine is
// compiled and timed on a few subjects, and the faster per byte answers long subjects from then on.
// Both engines give the same answer on ASCII subjects (the only ones the linear engine is asked
// about here), so the choice changes only the time, never a result.
bool Regex::search(std::string_view s) const {
  if (chained())
    if (int r = chain_search(impl_->chain, impl_->flags.dotall, s); r >= 0) return r == 1;
#ifdef VIGIL_HAVE_HYPERSCAN
  if (s.size() >= kLongSubject) {
    const uint8_t engine = impl_->trial.engine.load(std::memory_order_relaxed);
    bool matched = false;
    if (engine == Impl::kLinear && linear_search(s, matched, true)) return matched;
    if (engine == Impl::kUndecided || engine == Impl::kTrialLinear) return search_long_timed(s);
  }
#endif
  return search_pcre_first(s);
}

// search() on a long subject while its engine is not chosen: one timed call toward the choice.
// Threads share the trial; each step is one compare-and-swap from the state it ends, so the
// choice is made once, and a thread that read an older state only makes one more timed call.
bool Regex::search_long_timed(std::string_view s) const {
  Impl::Trial& t = impl_->trial;
  constexpr auto relaxed = std::memory_order_relaxed;
  auto keep_min = [&](std::atomic<uint64_t>& at, uint64_t ps) {
    for (uint64_t b = at.load(relaxed); ps < b && !at.compare_exchange_weak(b, ps, relaxed);) {
    }
  };
  auto settle = [&](uint8_t from, uint8_t to) { t.engine.compare_exchange_strong(from, to, relaxed); };
  auto elapsed_ns = [](std::chrono::steady_clock::time_point t0) {
    using std::chrono::nanoseconds;
    return uint64_t(std::chrono::duration_cast<nanoseconds>(std::chrono::steady_clock::now() - t0).count());
  };
  if (t.engine.load(std::memory_order_relaxed) == Impl::kTrialLinear) {
    bool matched = false, answered = false;
    if (linear_ready()) {  // compiles the linear form, and fits this thread's scratch, outside the time
      const auto t0 = std::chrono::steady_clock::now();
      answered = linear_search(s, matched, true);
      if (answered && !matched) keep_min(t.linear_ps, elapsed_ns(t0) * 1000 / s.size());
    }
    // A subject it could not answer (not ASCII; no linear form) counts too: the trial ends anyway.
    if (t.linear_calls.fetch_add(1, std::memory_order_relaxed) + 1 == kTrialCalls)
      settle(Impl::kTrialLinear, t.linear_ps.load(std::memory_order_relaxed) < t.pcre_ps.load(std::memory_order_relaxed)
                                     ? Impl::kLinear : Impl::kPcre);
    return answered ? matched : search_pcre_first(s);
  }
  const auto t0 = std::chrono::steady_clock::now();
  const bool matched = search_pcre_first(s);
  const uint64_t ns = elapsed_ns(t0);
  if (!matched) keep_min(t.pcre_ps, ns * 1000 / s.size());
  const uint64_t spent = t.pcre_ns.fetch_add(ns, std::memory_order_relaxed) + ns;
  if (t.pcre_calls.fetch_add(1, std::memory_order_relaxed) + 1 >= kTrialCalls) {
    if (double(t.pcre_ps.load(std::memory_order_relaxed)) <= kSlowNsPerByte * 1000)
      settle(Impl::kUndecided, Impl::kPcre);  // it skips to a fixed start: nothing to win
    else if (spent >= impl_->compile_budget_ns)
      settle(Impl::kUndecided, Impl::kTrialLinear);
  }
  return matched;
}

uint64_t Regex::limit_hits() const { return impl_ ? impl_->hits.load(std::memory_order_relaxed) : 0; }

std::vector<std::string> Regex::take_undecided() {
  std::vector<std::string> out;
  out.swap(t_undecided);
  return out;
}

std::vector<std::pair<std::string, uint64_t>> Regex::limit_report() {
  std::lock_guard lock(g_hits_mu);
  return {global_hits().begin(), global_hits().end()};
}

bool Regex::find(std::string_view s, size_t start, Match& out) const {
  int r = find_backtracking(s, start, out);
  if (r >= 0) return r == 1;
  // PCRE2 gave up. When the linear engine proves there is no match, "no" is
  // the answer; otherwise the captures are unknown: undecided.
  bool matched = true;
  if (start == 0 && linear_search(s, matched) && !matched) return false;
  impl_->limit_hit(pattern_);
  return false;
}

int Regex::find_backtracking(std::string_view s, size_t start, Match& out) const {
  if (!impl_ || start > s.size()) return 0;
  pcre2_match_data* md = t_match_data.fit(uint32_t(groups_) + 1);
  if (!md) return -1;  // no memory for it: undecided, as at the match limit
  // An empty view may have no data pointer, which PCRE2 before 10.40 refuses (PCRE2_ERROR_NULL).
  const char* subject = s.data() ? s.data() : "";
  int rc = pcre2_match(impl_->code, reinterpret_cast<PCRE2_SPTR>(subject), s.size(), start, 0, md, impl_->mctx);
  // Every failure other than "no match" (a limit, no memory for the backtracking frames) leaves the
  // answer open: undecided, never a silent "no".
  const bool limit = rc < 0 && rc != PCRE2_ERROR_NOMATCH;
  bool ok = rc > 0;
  if (ok) {
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    out.groups.assign(groups_ + 1, Group{});
    for (int i = 0; i < rc && i <= groups_; ++i)
      if (ov[2 * i] != PCRE2_UNSET) out.groups[i] = {ov[2 * i], ov[2 * i + 1]};
  }
  return limit ? -1 : ok ? 1 : 0;
}

std::string Regex::replace(std::string_view s, std::string_view repl, bool global) const {
  std::string out;
  replace_into(out, s, repl, global, SIZE_MAX);
  return out;
}

bool Regex::replace_into(std::string& out, std::string_view s, std::string_view repl, bool global,
                         size_t max_bytes) const {
  out.clear();
  size_t pos = 0;
  Match m;
  while (pos <= s.size() && find(s, pos, m)) {
    if (out.size() > max_bytes) return false;
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
  return out.size() <= max_bytes;
}

namespace {

// An escape whose argument or effect may hide a `]` or a parenthesis from a reading that skips one
// character after the backslash: \Q…\E, \E (ignored, so a `]` after it is a class member), \c and
// the character it takes.
bool hiding_escape(char e) { return e == 'Q' || e == 'E' || e == 'c'; }

// Index just past the class that opens at p[i] == '[', or npos (also for what this reading does
// not follow: POSIX classes `[:alpha:]`, whose end PCRE2 decides by rules of its own).
size_t skip_class(std::string_view p, size_t i) {
  size_t j = i + 1;
  if (j < p.size() && p[j] == '^') ++j;
  if (j < p.size() && p[j] == ']') ++j;  // a `]` first is a member
  while (j < p.size()) {
    if (p[j] == '\\') {
      if (j + 1 >= p.size() || hiding_escape(p[j + 1])) return std::string_view::npos;
      j += 2;
    } else if (p[j] == '[' && j + 1 < p.size() && (p[j + 1] == ':' || p[j + 1] == '.' || p[j + 1] == '=')) {
      return std::string_view::npos;
    } else if (p[j] == ']') {
      return j + 1;
    } else {
      ++j;
    }
  }
  return std::string_view::npos;
}

// Whether p[i] opens an option setting, `(?` letters `)` such as `(?i)` (not a group such as `(?i:…)`);
// `extended` is set when the letters hold an `x`.
bool option_setting(std::string_view p, size_t i, bool& extended) {
  size_t j = i + 2;
  while (j < p.size() && (std::isalpha(static_cast<unsigned char>(p[j])) || p[j] == '-' || p[j] == '^')) {
    if (p[j] == 'x') extended = true;
    ++j;
  }
  return j > i + 2 && j < p.size() && p[j] == ')';
}

// Index just past the group that opens at p[i] == '(', or npos when it does not close or holds
// what this reading does not follow: what may hide a parenthesis (verbs' names, callouts' strings,
// \Q, \c, extended mode's comments).
size_t skip_group(std::string_view p, size_t i) {
  int depth = 0;
  size_t j = i;
  while (j < p.size()) {
    const char c = p[j];
    if (c == '\\') {
      if (j + 1 >= p.size() || hiding_escape(p[j + 1])) return std::string_view::npos;
      j += 2;
    } else if (c == '[') {
      j = skip_class(p, j);
      if (j == std::string_view::npos) return j;
    } else if (c == '(') {
      if (j + 1 < p.size() && p[j + 1] == '*') return std::string_view::npos;
      if (j + 2 < p.size() && p[j + 1] == '?' && p[j + 2] == 'C') return std::string_view::npos;  // a callout
      if (j + 2 < p.size() && p[j + 1] == '?') {
        if (p[j + 2] == '#') {  // a comment: up to the first `)`, whatever it holds
          const size_t close = p.find(')', j + 3);
          if (close == std::string_view::npos) return close;
          j = close + 1;
          if (depth == 0) return j;
          continue;
        }
        bool extended = false;
        option_setting(p, j, extended);
        if (extended) return std::string_view::npos;
      }
      ++depth;
      ++j;
    } else if (c == ')') {
      ++j;
      if (--depth == 0) return j;
    } else {
      ++j;
    }
  }
  return std::string_view::npos;
}

}  // namespace

std::optional<RequiredLiteral> required_literal(std::string_view p, size_t min_len) {
  constexpr size_t npos = std::string_view::npos;
  bool caseless = false;
  size_t i = 0;
  // Options for the whole pattern: `(?i)`, `(?is)`, … (Sigma's `re|i`).
  if (p.size() > 2 && p[0] == '(' && p[1] == '?') {
    bool extended = false;
    if (option_setting(p, 0, extended)) {
      if (extended) return std::nullopt;
      const size_t close = p.find(')');
      for (size_t k = 2; k < close; ++k) {
        const char o = p[k];
        if (o == 'i') caseless = true;
        else if (o != 'm' && o != 's' && o != 'n' && o != 'U' && o != 'J') return std::nullopt;  // `-`, `^`, …
      }
      i = close + 1;
    }
  }
  std::string run, best;
  bool last_plain = false;  // the item before is the run's last character
  auto end_run = [&] {
    if (run.size() > best.size()) best = run;
    run.clear();
    last_plain = false;
  };
  auto drop_last = [&] {  // a quantifier makes the character before it optional or repeated
    if (!last_plain) return;
    while (!run.empty() && (static_cast<unsigned char>(run.back()) & 0xC0) == 0x80) run.pop_back();
    if (!run.empty()) run.pop_back();
  };
  auto plain = [&](char c) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (caseless && (u >= 0x80 || c == 'k' || c == 'K' || c == 's' || c == 'S')) return end_run();
    run.push_back(caseless ? static_cast<char>(std::tolower(u)) : c);
    last_plain = true;
  };
  while (i < p.size()) {
    const char c = p[i];
    switch (c) {
      case '|': return std::nullopt;  // alternatives: no one run is in every match
      case ')': return std::nullopt;
      case '(':
      case '[': {
        const size_t j = c == '(' ? skip_group(p, i) : skip_class(p, i);
        if (j == npos) return std::nullopt;
        if (c == '(' && p[i + 1] == '?') {  // an option change here would apply to what follows
          bool extended = false;
          if (option_setting(p, i, extended)) return std::nullopt;
          // A comment is no item: a quantifier after it may apply to the character before it.
          if (p[i + 2] == '#') drop_last();
        }
        end_run();
        i = j;
        break;
      }
      case '.':
      case '^':
      case '$':
        end_run();
        ++i;
        break;
      case '*':
      case '+':
      case '?':
        drop_last();
        end_run();
        ++i;
        break;
      case '{': {
        drop_last();
        end_run();
        // `{2}`, `{1,3}`: skipped, and `{,3}` (plain text to PCRE2 10.42, a quantifier to later
        // versions: left out either way); another `{` is a plain character to PCRE2, left out here.
        size_t j = i + 1;
        while (j < p.size() && (std::isdigit(static_cast<unsigned char>(p[j])) || p[j] == ',' || p[j] == ' ')) ++j;
        i = j < p.size() && p[j] == '}' ? j + 1 : i + 1;
        break;
      }
      case '\\': {
        if (i + 1 >= p.size()) return std::nullopt;
        const unsigned char e = static_cast<unsigned char>(p[i + 1]);
        if (e >= 0x80) return std::nullopt;
        if (!std::isalnum(e)) {
          plain(static_cast<char>(e));
        } else if (std::strchr("dDsSwWbBhHvVRAzZGXKnrtfae", static_cast<char>(e))) {
          end_run();  // a class, an assertion or one control character: not taken
        } else {
          return std::nullopt;  // \x.., \p{..}, \Q, back references, …
        }
        i += 2;
        break;
      }
      default:
        plain(c);
        ++i;
    }
  }
  end_run();
  if (best.size() < min_len) return std::nullopt;
  return RequiredLiteral{std::move(best), caseless};
}

}  // namespace vigil
