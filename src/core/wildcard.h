// Glob matching for rule values: SPL `*` (any run) and Sigma `*`/`?` with
// backslash escapes. Matching is whole-value; case folding is ASCII.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace vigil {

class WildcardPattern {
 public:
  enum class Syntax : uint8_t {
    spl,    ///< `*` only; a backslash is a literal character
    sigma,  ///< `*`, `?`; `\*`, `\?`, `\\` escape them
  };
  WildcardPattern() = default;
  WildcardPattern(std::string_view pattern, Syntax syntax, bool case_insensitive);

  bool matches(std::string_view text) const;
  /// True when the pattern has no wildcard (then literal() is the whole value).
  bool is_literal() const { return tokens_.size() == 1 && tokens_[0].kind == Tok::lit; }
  const std::string& literal() const { return tokens_[0].text; }
  /// The pattern in canonical SPL-ish form (`*` and `?` as wildcards, literals unescaped).
  std::string describe() const;

  enum class Tok : uint8_t { lit, star, any_one };
  struct Token {
    Tok kind;
    std::string text;
  };
  const std::vector<Token>& tokens() const { return tokens_; }

 private:
  bool match_from(size_t ti, std::string_view text) const;
  bool match_stars_only(std::string_view text) const;
  std::vector<Token> tokens_;
  bool ci_ = true;
  bool has_any_one_ = false;  // `?` present: needs the backtracking matcher
};

/// One-shot SPL wildcard match (case-insensitive), for code that has no compiled pattern.
bool spl_wildcard_match(std::string_view pattern, std::string_view text);

}  // namespace vigil
