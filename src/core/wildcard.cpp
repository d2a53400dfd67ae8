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
  for (auto& t : tokens_) has_any_one_ |= t.kind == Tok::any_one;
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

// With `*` as the only wildcard, matching literals left to right at their earliest
// position is exact (no backtracking needed): anchor the first and last literal,
// then find the middle ones in order.
bool WildcardPattern::match_stars_only(std::string_view text) const {
  size_t first = 0, last = tokens_.size();
  size_t lo = 0, hi = text.size();
  if (tokens_.front().kind == Tok::lit) {
    const std::string& p = tokens_.front().text;
    if (!eq_at(text, 0, p, ci_)) return false;
    lo = p.size();
    first = 1;
  }
  if (last > first && tokens_.back().kind == Tok::lit) {
    const std::string& s = tokens_.back().text;
    if (s.size() > hi - lo || !eq_at(text, hi - s.size(), s, ci_)) return false;
    hi -= s.size();
    --last;
  }
  for (size_t i = first; i < last; ++i) {
    if (tokens_[i].kind != Tok::lit) continue;
    const std::string& p = tokens_[i].text;
    std::string_view window = text.substr(lo, hi - lo);
    size_t k = ci_ ? ifind(window, p) : window.find(p);
    if (k == std::string_view::npos) return false;
    lo += k + p.size();
  }
  return true;
}

bool WildcardPattern::matches(std::string_view text) const {
  if (tokens_.size() == 1 && tokens_[0].kind == Tok::lit)
    return ci_ ? iequals(text, tokens_[0].text) : text == tokens_[0].text;
  if (!has_any_one_) return match_stars_only(text);
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
