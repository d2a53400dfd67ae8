#include "core/wildcard.h"

#include "core/strings.h"

namespace vigil {

WildcardPattern::WildcardPattern(std::string_view p, Syntax syntax, bool ci) : ci_(ci) {
  std::string lit;
  auto flush = [&] {
    if (!lit.empty()) tokens_.push_back({Tok::lit, std::move(lit)});
    lit.clear();
  };
  for (size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (syntax == Syntax::sigma && c == '\\' && i + 1 < p.size() &&
        (p[i + 1] == '*' || p[i + 1] == '?' || p[i + 1] == '\\')) {
      lit += p[++i];
    } else if (c == '*') {
      flush();
      if (tokens_.empty() || tokens_.back().kind != Tok::star) tokens_.push_back({Tok::star, {}});
    } else if (c == '?' && syntax == Syntax::sigma) {
      flush();
      tokens_.push_back({Tok::any_one, {}});
    } else {
      lit += c;
    }
  }
  flush();
  if (tokens_.empty()) tokens_.push_back({Tok::lit, {}});
  if (ci_)
    for (auto& t : tokens_) t.text = to_lower(t.text);
}

static bool eq_at(std::string_view text, size_t pos, const std::string& lit, bool ci) {
  if (pos + lit.size() > text.size()) return false;
  if (!ci) return text.compare(pos, lit.size(), lit) == 0;
  for (size_t i = 0; i < lit.size(); ++i)
    if (ascii_lower(text[pos + i]) != lit[i]) return false;
  return true;
}

bool WildcardPattern::match_from(size_t ti, std::string_view text) const {
  // Iterative with backtracking to the last star: linear-ish, no recursion blowup.
  size_t t = 0, star_tok = SIZE_MAX, star_pos = 0;
  while (true) {
    if (ti == tokens_.size()) {
      if (t == text.size()) return true;
    } else {
      const Token& tok = tokens_[ti];
      if (tok.kind == Tok::star) {
        star_tok = ti++;
        star_pos = t;
        continue;
      }
      if (tok.kind == Tok::any_one) {
        if (t < text.size()) {
          ++t;
          ++ti;
          continue;
        }
      } else if (ti + 1 == tokens_.size() && star_tok != SIZE_MAX) {
        // Last literal after a star: anchor it at the end.
        if (text.size() >= t + tok.text.size() && eq_at(text, text.size() - tok.text.size(), tok.text, ci_))
          return true;
        return false;
      } else if (eq_at(text, t, tok.text, ci_)) {
        t += tok.text.size();
        ++ti;
        continue;
      }
    }
    if (star_tok == SIZE_MAX || star_pos >= text.size()) return false;
    ti = star_tok + 1;
    t = ++star_pos;
  }
}

bool WildcardPattern::matches(std::string_view text) const {
  if (tokens_.size() == 1 && tokens_[0].kind == Tok::lit)
    return ci_ ? iequals(text, tokens_[0].text) : text == tokens_[0].text;
  return match_from(0, text);
}

std::string WildcardPattern::describe() const {
  std::string s;
  for (auto& t : tokens_) s += t.kind == Tok::star ? "*" : t.kind == Tok::any_one ? "?" : t.text;
  return s;
}

bool spl_wildcard_match(std::string_view pattern, std::string_view text) {
  return WildcardPattern(pattern, WildcardPattern::Syntax::spl, true).matches(text);
}

}  // namespace vigil
