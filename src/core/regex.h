// Regular expressions in Splunk's dialect (PCRE) without detection evasion.
//
// Every pattern runs on PCRE2 (JIT) with match and depth limits, the fastest
// engine on ordinary subjects. Patterns that allow it are also compiled for a
// linear-time automaton (Hyperscan, PCRE semantics): when PCRE2 gives up at
// its limit, the automaton answers yes/no questions (search(): SPL `regex`,
// `match()`, Sigma `|re`), so no subject can make them blind: `(a+)+b|Z`
// matches forty `a`s then `cZ`. (search() may also ask the automaton first, on
// long ASCII subjects of patterns it is faster for: see search() in regex.cpp.)
// Only what the automaton cannot answer
// (backreferences, lookaround; captures of a match PCRE2 gave up on) is
// undecided, and an undecided answer is not "no": the hit is
// counted per pattern (limit_hits()), recorded for the calling thread
// (take_undecided()) so the caller can mark the event undecided, and reported
// at the end of a run (limit_report()).
//
// Thread-safe: each call uses its own match data / per-thread scratch; the
// threads share a pattern's choice of engine for long subjects (atomics).
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace vigil {

class Regex {
 public:
  struct Flags {
    bool caseless = false;
    bool multiline = false;
    bool dotall = false;
  };
  struct Group {
    size_t begin = SIZE_MAX;  ///< SIZE_MAX when the group did not participate
    size_t end = SIZE_MAX;
  };
  struct Match {
    std::vector<Group> groups;  ///< [0] = whole match
  };

  static Result<Regex> compile(std::string_view pattern, Flags flags);
  static Result<Regex> compile(std::string_view pattern) { return compile(pattern, Flags{}); }

  /// Unanchored search. A PCRE2 match-limit hit answers false but is counted
  /// and recorded as undecided (see take_undecided()). On long subjects (kLongSubject bytes and
  /// more) a pattern on which PCRE2 has spent twice as long as a compile of the linear form takes
  /// may move to the linear engine, when that is faster per byte (regex.cpp: search()).
  bool search(std::string_view subject) const;
  // For tests and benches (search() answers the same with either engine):
  enum class Engine { pcre2, linear };
  /// One engine's answer to search(), nullopt when it cannot give one (no linear form, or a subject
  /// that is not ASCII; PCRE2's limit).
  std::optional<bool> search_on(Engine e, std::string_view subject) const;
  /// The engine search() uses on long subjects: linear once its trial chose it, else PCRE2 (also
  /// while the trial runs).
  Engine long_subject_engine() const;
  /// Subjects of this many bytes or more are the ones search() may move to the linear engine.
  static constexpr size_t kLongSubject = 256;
  /// True when the pattern has a linear-time form (compiled on first call).
  bool linear() const;
  /// True when search() answers by finding literal pieces in order (a pattern such as `\+.*\+.*\+`):
  /// one pass, where backtracking on a long subject runs to PCRE2's limit.
  bool chained() const;
  /// First match at or after `start`, with capture groups.
  bool find(std::string_view subject, size_t start, Match& out) const;
  /// Named groups: (name, group number), in group-number order.
  const std::vector<std::pair<std::string, int>>& names() const { return names_; }
  int group_count() const { return groups_; }
  const std::string& pattern() const { return pattern_; }
  /// sed-style substitution (`s/re/repl/g` semantics done by caller): replace matches with
  /// `repl` where \1..\9 and $1 refer to groups; `global` replaces all.
  std::string replace(std::string_view subject, std::string_view repl, bool global) const;
  /// replace() into `out`, stopping with false once `out` would exceed `max_bytes`.
  bool replace_into(std::string& out, std::string_view subject, std::string_view repl, bool global,
                    size_t max_bytes) const;

  /// PCRE2 limit hits of this pattern so far (all threads).
  uint64_t limit_hits() const;

  /// Patterns whose limit was hit on this thread since the last call, and
  /// clears the list: a caller that evaluates one event per call can mark
  /// that event undecided for the rule it was evaluating.
  static std::vector<std::string> take_undecided();
  /// Every pattern whose limit was hit in this process, with its count.
  static std::vector<std::pair<std::string, uint64_t>> limit_report();

 private:
  /// 1 match, 0 no match, -1 PCRE2 gave up at a limit.
  int find_backtracking(std::string_view subject, size_t start, Match& out) const;
  /// search() as PCRE2 answers it: the linear engine only at PCRE2's limit.
  bool search_pcre_first(std::string_view subject) const;
  /// search() on a long subject before its engine is chosen: timed, toward the choice.
  bool search_long_timed(std::string_view subject) const;
  /// Long subjects PCRE2 answers before it may be found fast (below), and that the linear engine's
  /// trial takes.
  static constexpr uint32_t kTrialCalls = 8;
  /// PCRE2 at or below this many nanoseconds per byte keeps long subjects without a trial of the
  /// linear engine (which costs a compile): it skips to a fixed first character or literal.
  static constexpr double kSlowNsPerByte = 0.5;
  /// The linear form compiled and this thread's scratch fitted to it; false when there is none.
  bool linear_ready() const;
  /// The linear-time engine's answer in `matched`; false when it cannot answer. Beyond ASCII the
  /// engines differ: PCRE2's \w takes Latin-1 letters (é) and it matches nothing at an invalid
  /// byte, which the linear engine reads as U+FFFD. `ascii_only` leaves subjects with other bytes
  /// unanswered (search() then asks PCRE2), so that its answer is PCRE2's.
  bool linear_search(std::string_view subject, bool& matched, bool ascii_only = false) const;

  struct Impl;
  std::shared_ptr<Impl> impl_;
  std::vector<std::pair<std::string, int>> names_;
  int groups_ = 0;
  std::string pattern_;
};

/// A run of bytes that every match of a pattern contains (a necessary condition for search()).
struct RequiredLiteral {
  std::string text;
  bool caseless = false;  ///< ASCII letters match either case (the pattern starts with `(?i)`)
};

/// The longest run of plain characters at the pattern's top level (outside groups, classes and
/// alternations, not made optional or repeated by a quantifier), of at least `min_len` bytes, as
/// compiled by Regex::compile without flags. nullopt when there is none, or when the pattern uses
/// syntax this reading does not follow (it only ever leaves a character out, never takes one in
/// that a match could lack): a top-level `|`, `(?x)`, option changes after the start, `\Q`,
/// escapes with arguments. Under `(?i)` the run stops at `k`, `s` and non-ASCII bytes, which
/// PCRE2 in UTF mode also matches with non-ASCII characters (U+212A KELVIN SIGN, U+017F LONG S).
std::optional<RequiredLiteral> required_literal(std::string_view pattern, size_t min_len = 3);

}  // namespace vigil
