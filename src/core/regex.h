// PCRE2 regular expressions (Splunk's regex dialect) with match limits so a
// hostile pattern from rule content cannot stall a run. JIT-compiled when the
// platform allows. Thread-safe: each call uses its own match data.
#pragma once
#include <memory>
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

  /// Unanchored search. A match-limit hit counts as no match (see limit_hits()).
  bool search(std::string_view subject) const;
  /// First match at or after `start`, with capture groups.
  bool find(std::string_view subject, size_t start, Match& out) const;
  /// Named groups: (name, group number), in group-number order.
  const std::vector<std::pair<std::string, int>>& names() const { return names_; }
  int group_count() const { return groups_; }
  const std::string& pattern() const { return pattern_; }
  /// sed-style substitution (`s/re/repl/g` semantics done by caller): replace matches with
  /// `repl` where \1..\9 and $1 refer to groups; `global` replaces all.
  std::string replace(std::string_view subject, std::string_view repl, bool global) const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
  std::vector<std::pair<std::string, int>> names_;
  int groups_ = 0;
  std::string pattern_;
};

}  // namespace vigil
