#include "spl/macro_expand.h"

#include <algorithm>

#include "core/strings.h"
#include "spl/lexer.h"

namespace vigil::spl {

namespace {

constexpr int kMaxDepth = 32;
constexpr size_t kMaxOutput = 4 << 20;  // a macro bomb must not exhaust memory

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Leading command word of `s` (letters/underscore), or empty when `s` starts with
// something else or the word is immediately followed by `=` (then it is a field).
std::string_view leading_command_word(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && is_space(s[i])) ++i;
  size_t b = i;
  while (i < s.size() && is_word_char(s[i])) ++i;
  if (i == b) return {};
  size_t j = i;
  while (j < s.size() && is_space(s[j])) ++j;
  if (j < s.size() && (s[j] == '=' || s[j] == '!' || s[j] == '<' || s[j] == '>')) return {};
  return s.substr(b, i - b);
}

bool contains_word_ci(std::string_view s, std::string_view w) {
  for (size_t p = ifind(s, w); p != std::string_view::npos; p = ifind(s, w, p + 1)) {
    bool left = p == 0 || !is_word_char(s[p - 1]);
    bool right = p + w.size() >= s.size() || !is_word_char(s[p + w.size()]);
    if (left && right) return true;
  }
  return false;
}

class Expander {
 public:
  // The limit is on what macros add: a long search without macros is not a macro bomb.
  Expander(const content::MacroTable& t, MacroExpansion& r, size_t max_output)
      : macros_(t), res_(r), max_output_(max_output) {
    segs_.push_back({0, false});
  }

  // Expand `text` into res_.text. `call` is the span (in the top-level input) reported for errors.
  bool expand(std::string_view text, int depth, Span call, bool top) {
    size_t i = 0;
    while (i < text.size()) {
      if (res_.text.size() > max_output_) return fail("macros expand the search by more than 4 MiB", call);
      char c = text[i];
      if (c == '"') {
        size_t q = skip_quoted(text, i, text.size());
        if (q == std::string_view::npos) q = text.size();  // the parser reports the open quote
        res_.text.append(text.substr(i, q - i));
        i = q;
        continue;
      }
      if (c == '\\' && i + 1 < text.size()) {
        res_.text.append(text.substr(i, 2));
        i += 2;
        continue;
      }
      if (c == '`') {
        if (text.substr(i, 3) == "```") {
          size_t e = text.find("```", i + 3);
          if (e == std::string_view::npos)
            return fail("unterminated ``` comment", top ? span_of(i, text.size()) : call);
          res_.text += ' ';  // a comment separates tokens
          i = e + 3;
          continue;
        }
        size_t e = text.find('`', i + 1);
        if (e == std::string_view::npos) return fail("unterminated macro call (missing closing `)", top ? span_of(i, i + 1) : call);
        Span here = top ? span_of(i, e + 1) : call;
        if (!expand_call(text.substr(i + 1, e - i - 1), text.substr(e + 1), depth, here)) return false;
        i = e + 1;
        continue;
      }
      emit(c);
      ++i;
    }
    return true;
  }

 private:
  struct Segment {
    size_t start;       // offset in res_.text where the segment's text begins
    bool after_pipe;    // began after a `|` (else: start of text or of a subsearch)
  };

  static Span span_of(size_t b, size_t e) { return Span{uint32_t(b), uint32_t(e)}; }

  bool fail(std::string msg, Span s) {
    if (!res_.error) res_.error = SplError{std::move(msg), s, {}};
    return false;
  }

  void emit(char c) {
    // Quotes are copied wholesale by expand(), so structural characters here are outside strings.
    res_.text += c;
    if (c == '|') {
      segs_.back() = {res_.text.size(), true};
    } else if (c == '[') {
      segs_.push_back({res_.text.size(), false});
    } else if (c == ']' && segs_.size() > 1) {
      segs_.pop_back();
    }
  }

  char prev_nonspace(size_t* pos = nullptr) const {
    const std::string& t = res_.text;
    for (size_t k = t.size(); k > segs_.back().start; --k)
      if (!is_space(t[k - 1])) {
        if (pos) *pos = k - 1;
        return t[k - 1];
      }
    return 0;
  }

  enum class Position { command, value, expression, argument };

  Position position(std::string_view rest) const {
    size_t pos = 0;
    char p = prev_nonspace(&pos);
    if (p == 0) return Position::command;
    if (p == '=' || p == ',') return Position::value;
    if (p == '(') {
      // `IN (` list.
      const std::string& t = res_.text;
      size_t k = pos;
      while (k > 0 && is_space(t[k - 1])) --k;
      if (k >= 2 && iequals(std::string_view(t).substr(k - 2, 2), "in") && (k == 2 || !is_word_char(t[k - 3])))
        return Position::value;
    }
    // A macro naming a field: `macro`=value.
    size_t j = 0;
    while (j < rest.size() && is_space(rest[j])) ++j;
    if (j < rest.size() && (rest[j] == '=' || rest[j] == '<' || rest[j] == '>' ||
                            (rest[j] == '!' && j + 1 < rest.size() && rest[j + 1] == '=')))
      return Position::value;
    std::string_view seg = std::string_view(res_.text).substr(segs_.back().start);
    std::string_view word = leading_command_word(seg);
    if (!segs_.back().after_pipe && !is_spl_command(word)) return Position::expression;  // implicit search
    if (iequals(word, "search") || iequals(word, "where")) return Position::expression;
    if ((iequals(word, "tstats") || iequals(word, "from") || iequals(word, "mstats")) &&
        contains_word_ci(seg, "where"))
      return Position::expression;
    return Position::argument;
  }

  bool expand_call(std::string_view body, std::string_view rest, int depth, Span call) {
    std::string_view b = trim(body);
    size_t paren = b.find('(');
    std::string_view name = trim(b.substr(0, paren));
    std::vector<std::string> args;
    if (paren != std::string_view::npos) {
      if (b.back() != ')') return fail("malformed macro call `" + std::string(b) + "`: expected ')'", call);
      std::string_view inner = b.substr(paren + 1, b.size() - paren - 2);
      if (!trim(inner).empty()) split_args(inner, args);
    }
    if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) { return is_word_char(c) || c == '-' || c == '.'; }))
      return fail("invalid macro name `" + std::string(b) + "`", call);
    if (depth >= kMaxDepth) return fail("macro nesting deeper than 32 (at `" + std::string(name) + "`)", call);
    if (std::find(stack_.begin(), stack_.end(), name) != stack_.end())
      return fail("macro cycle: `" + std::string(name) + "` expands to itself", call);

    Position pos = position(rest);
    const content::Macro* m = macros_.find(name, args.size());
    if (!m) {
      add_unique(res_.missing, std::string(name));
      if (pos == Position::command) res_.text += "search *";
      return true;
    }
    add_unique(res_.used, std::string(name));

    std::string def(trim(m->definition));
    for (size_t a = 0; a < m->args.size() && a < args.size(); ++a)
      def = replace_all(def, "$" + m->args[a] + "$", args[a]);

    std::string_view d = def;
    bool wrap = false;
    // A definition that is itself a pipeline fragment (`type=PROCTITLE | eval …`) cannot be a
    // parenthesised term; it is inserted bare.
    bool has_pipe = has_top_level_pipe(d);
    std::string_view first = leading_command_word(d);
    bool is_command = is_spl_command(first) || (!d.empty() && d[0] == '|');
    switch (pos) {
      case Position::command:
        wrap = !is_command && !has_pipe;
        if (!d.empty() && d[0] == '|' && prev_nonspace() == '|') d.remove_prefix(1);  // `| `m`` with m = `| cmd`
        break;
      case Position::expression:
        if (has_pipe) break;
        if (iequals(first, "search")) d = trim(d.substr(first.size()));
        wrap = true;
        break;
      case Position::value:
      case Position::argument:
        break;
    }
    if (wrap) emit('(');
    stack_.emplace_back(name);
    bool ok = expand(d, depth + 1, call, false);
    stack_.pop_back();
    if (wrap) emit(')');
    return ok;
  }

  static bool has_top_level_pipe(std::string_view s) {
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '"') {
        size_t q = skip_quoted(s, i, s.size());
        if (q == std::string_view::npos) return false;
        i = q - 1;
      } else if (s[i] == '\\') {
        ++i;
      } else if (s[i] == '[') {
        size_t q = skip_brackets(s, i, s.size());
        if (q == std::string_view::npos) return false;
        i = q - 1;
      } else if (s[i] == '|') {
        return true;
      }
    }
    return false;
  }

  static void split_args(std::string_view s, std::vector<std::string>& out) {
    int depth = 0;
    size_t start = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      char c = s[i];
      if (c == '"') {
        size_t q = skip_quoted(s, i, s.size());
        if (q == std::string_view::npos) break;
        i = q - 1;
      } else if (c == '\\') {
        ++i;
      } else if (c == '(') {
        ++depth;
      } else if (c == ')') {
        --depth;
      } else if (c == ',' && depth == 0) {
        out.emplace_back(trim(s.substr(start, i - start)));
        start = i + 1;
      }
    }
    out.emplace_back(trim(s.substr(std::min(start, s.size()))));
  }

  static void add_unique(std::vector<std::string>& v, std::string s) {
    if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(std::move(s));
  }

  const content::MacroTable& macros_;
  MacroExpansion& res_;
  size_t max_output_;
  std::vector<Segment> segs_;
  std::vector<std::string> stack_;
};

}  // namespace

MacroExpansion expand_macros(std::string_view search, const content::MacroTable& macros) {
  MacroExpansion res;
  res.text.reserve(search.size() * 2);
  Expander ex(macros, res, search.size() + kMaxOutput);
  ex.expand(search, 0, Span{0, uint32_t(search.size())}, true);
  return res;
}

}  // namespace vigil::spl
