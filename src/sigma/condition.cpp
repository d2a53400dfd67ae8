#include "sigma/condition.h"

#include <fmt/format.h>

#include <vector>

#include "core/strings.h"
#include "core/wildcard.h"

namespace vigil::sigma {
namespace {

constexpr int kMaxDepth = 64;
// `N of` over k identifiers expands to C(k, N) conjunctions; refuse absurd sizes.
constexpr size_t kMaxCombinations = 4096;

struct Token {
  enum Kind : uint8_t { word, lparen, rparen, end } kind;
  std::string_view text;
  size_t offset;
};

bool is_word_char(char c) {
  return !(c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '(' || c == ')');
}

class Parser {
 public:
  Parser(std::string_view text, const std::map<std::string, ir::Predicate>& searches)
      : searches_(searches) {
    size_t i = 0;
    while (i < text.size()) {
      char c = text[i];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++i;
      } else if (c == '(' || c == ')') {
        toks_.push_back({c == '(' ? Token::lparen : Token::rparen, text.substr(i, 1), i});
        ++i;
      } else {
        size_t b = i;
        while (i < text.size() && is_word_char(text[i])) ++i;
        toks_.push_back({Token::word, text.substr(b, i - b), b});
      }
    }
    toks_.push_back({Token::end, {}, text.size()});
  }

  ConditionResult run() {
    ConditionResult r;
    if (toks_.size() == 1) {
      fail(0, "empty condition");
    } else {
      r.predicate = parse_or(0);
      if (!error_ && peek().kind != Token::end)
        fail(peek().offset, fmt::format("unexpected '{}' after a complete condition", peek().text));
    }
    if (error_) {
      r.error = error_;
      r.predicate = ir::Predicate::always_false();
    }
    return r;
  }

 private:
  const Token& peek() const { return toks_[pos_]; }
  bool is_kw(const Token& t, std::string_view kw) const { return t.kind == Token::word && iequals(t.text, kw); }
  void fail(size_t offset, std::string msg) {
    if (!error_) error_ = ConditionError{std::move(msg), offset};
  }

  ir::Predicate parse_or(int depth) {
    std::vector<ir::Predicate> parts;
    parts.push_back(parse_and(depth));
    while (!error_ && is_kw(peek(), "or")) {
      ++pos_;
      parts.push_back(parse_and(depth));
    }
    return parts.size() == 1 ? std::move(parts[0]) : ir::Predicate::make_or(std::move(parts));
  }

  ir::Predicate parse_and(int depth) {
    std::vector<ir::Predicate> parts;
    parts.push_back(parse_not(depth));
    while (!error_ && is_kw(peek(), "and")) {
      ++pos_;
      parts.push_back(parse_not(depth));
    }
    return parts.size() == 1 ? std::move(parts[0]) : ir::Predicate::make_and(std::move(parts));
  }

  ir::Predicate parse_not(int depth) {
    if (depth > kMaxDepth) {
      fail(peek().offset, "condition nested too deeply");
      return {};
    }
    if (is_kw(peek(), "not")) {
      ++pos_;
      return ir::Predicate::make_not(parse_not(depth + 1));
    }
    return parse_primary(depth);
  }

  ir::Predicate parse_primary(int depth) {
    const Token& t = peek();
    if (error_) return {};
    if (t.kind == Token::lparen) {
      ++pos_;
      ir::Predicate p = parse_or(depth + 1);
      if (error_) return p;
      if (peek().kind != Token::rparen) {
        fail(peek().offset, fmt::format("expected ')' to close the '(' at offset {}", t.offset));
        return p;
      }
      ++pos_;
      return p;
    }
    if (t.kind == Token::rparen) {
      fail(t.offset, "unexpected ')'");
      return {};
    }
    if (t.kind == Token::end) {
      fail(t.offset, "condition ends where a search identifier was expected");
      return {};
    }
    // Quantifier: `1 of x*`, `all of them` …
    if (toks_[pos_ + 1].kind == Token::word && iequals(toks_[pos_ + 1].text, "of")) return parse_quantifier();
    for (std::string_view kw : {"and", "or", "of", "them"})
      if (iequals(t.text, kw)) {
        fail(t.offset, fmt::format("unexpected '{}' where a search identifier was expected", t.text));
        return {};
      }
    if (t.text.find('|') != std::string_view::npos) {
      fail(t.offset, "aggregation expressions (`| count() …`) are deprecated Sigma v1 syntax; use a correlation rule");
      return {};
    }
    auto it = searches_.find(std::string(t.text));
    if (it == searches_.end()) {
      fail(t.offset, fmt::format("unknown search identifier '{}'", t.text));
      return {};
    }
    ++pos_;
    return it->second;
  }

  ir::Predicate parse_quantifier() {
    const Token& q = toks_[pos_];
    const Token& target = toks_[pos_ + 2];
    bool all = iequals(q.text, "all");
    long long n = 1;
    if (!all && !iequals(q.text, "any") && (!parse_int(q.text, n) || n < 1)) {
      fail(q.offset, fmt::format("quantifier must be 'all', 'any' or a positive number, got '{}'", q.text));
      return {};
    }
    if (target.kind != Token::word) {
      fail(target.offset, "'of' must be followed by 'them' or an identifier pattern");
      return {};
    }
    pos_ += 3;
    std::vector<ir::Predicate> items;
    if (iequals(target.text, "them")) {
      for (auto& [name, p] : searches_)
        if (!name.empty() && name[0] != '_') items.push_back(p);
    } else {
      WildcardPattern pat(target.text, WildcardPattern::Syntax::spl, false);
      for (auto& [name, p] : searches_)
        if (pat.matches(name)) items.push_back(p);
    }
    if (items.empty()) {
      fail(target.offset, fmt::format("'{}' matches no search identifier", target.text));
      return {};
    }
    if (all) return ir::Predicate::make_and(std::move(items));
    if (n == 1) return ir::Predicate::make_or(std::move(items));
    if (static_cast<size_t>(n) > items.size()) return ir::Predicate::always_false();
    if (static_cast<size_t>(n) == items.size()) return ir::Predicate::make_and(std::move(items));
    return at_least(items, static_cast<size_t>(n), q.offset);
  }

  // "At least n of items" as an OR over every n-subset's AND.
  ir::Predicate at_least(const std::vector<ir::Predicate>& items, size_t n, size_t offset) {
    double combos = 1;
    for (size_t i = 0; i < n; ++i) combos = combos * double(items.size() - i) / double(i + 1);
    if (combos > double(kMaxCombinations)) {
      fail(offset, fmt::format("'{} of' over {} identifiers expands to too many combinations", n, items.size()));
      return {};
    }
    std::vector<size_t> idx(n);
    for (size_t i = 0; i < n; ++i) idx[i] = i;
    std::vector<ir::Predicate> alts;
    while (true) {
      std::vector<ir::Predicate> conj;
      for (size_t i : idx) conj.push_back(items[i]);
      alts.push_back(ir::Predicate::make_and(std::move(conj)));
      size_t i = n;
      while (i > 0 && idx[i - 1] == items.size() - n + (i - 1)) --i;
      if (i == 0) break;
      ++idx[i - 1];
      for (size_t j = i; j < n; ++j) idx[j] = idx[j - 1] + 1;
    }
    return ir::Predicate::make_or(std::move(alts));
  }

  const std::map<std::string, ir::Predicate>& searches_;
  std::vector<Token> toks_;
  size_t pos_ = 0;
  std::optional<ConditionError> error_;
};

}  // namespace

ConditionResult parse_condition(std::string_view text, const std::map<std::string, ir::Predicate>& searches) {
  return Parser(text, searches).run();
}

}  // namespace vigil::sigma
