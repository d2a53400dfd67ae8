#include "spl/lexer.h"

#include <cctype>
#include <cstdlib>

namespace vigil::spl {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Characters that end a search-mode word. `!` ends a word only before `=`.
bool search_word_stop(std::string_view s, size_t i) {
  char c = s[i];
  switch (c) {
    case '(': case ')': case ',': case '=': case '<': case '>': case '"': case '[': case ']': case '|':
      return true;
    case '!':
      return i + 1 < s.size() && s[i + 1] == '=';
    default:
      return is_space(c);
  }
}

bool is_ident_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '{' || c == '}' || c == '@' ||
         c == '$' || c == ':' || static_cast<unsigned char>(c) >= 0x80;
}

bool full_number(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  char buf[65];
  s.copy(buf, s.size());
  buf[s.size()] = 0;
  char* endp = nullptr;
  std::strtod(buf, &endp);
  return endp == buf + s.size() && (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '.');
}

}  // namespace

size_t skip_quoted(std::string_view src, size_t i, size_t end) {
  for (++i; i < end; ++i) {
    if (src[i] == '\\' && i + 1 < end) {
      ++i;
    } else if (src[i] == '"') {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

size_t skip_brackets(std::string_view src, size_t i, size_t end) {
  int depth = 0;
  for (; i < end; ++i) {
    char c = src[i];
    if (c == '\\' && i + 1 < end) {
      ++i;
    } else if (c == '"') {
      size_t q = skip_quoted(src, i, end);
      if (q == std::string_view::npos) return q;
      i = q - 1;
    } else if (c == '[') {
      ++depth;
    } else if (c == ']') {
      if (--depth == 0) return i + 1;
    }
  }
  return std::string_view::npos;
}

std::string unescape_search_value(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\\' && i + 1 < raw.size() && (raw[i + 1] == '\\' || raw[i + 1] == '"')) {
      out += raw[++i];
    } else {
      out += raw[i];
    }
  }
  return out;
}

std::string unescape_eval_string(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '\\' || i + 1 >= raw.size()) {
      out += raw[i];
      continue;
    }
    char n = raw[i + 1];
    switch (n) {
      case '\\': out += '\\'; ++i; break;
      case '"': out += '"'; ++i; break;
      case 't': out += '\t'; ++i; break;
      case 'n': out += '\n'; ++i; break;
      case 'r': out += '\r'; ++i; break;
      default: out += '\\'; break;  // kept: `\d`, `\.` … are regex escapes
    }
  }
  return out;
}

std::vector<Token> tokenize(std::string_view src, uint32_t begin, uint32_t end, LexMode mode) {
  std::vector<Token> out;
  if (end > src.size()) end = static_cast<uint32_t>(src.size());
  size_t i = begin;
  auto push = [&](TokKind k, std::string text, size_t b, size_t e, bool sp) {
    out.push_back(Token{k, std::move(text), Span{uint32_t(b), uint32_t(e)}, sp});
  };
  while (true) {
    bool sp = (i == begin);
    while (i < end && is_space(src[i])) {
      ++i;
      sp = true;
    }
    if (i >= end) {
      push(TokKind::end, {}, end, end, sp);
      return out;
    }
    char c = src[i];
    size_t b = i;
    if (c == '"') {
      size_t q = skip_quoted(src, i, end);
      if (q == std::string_view::npos) {
        push(TokKind::error, "unterminated string", b, end, sp);
        return out;
      }
      std::string_view raw = src.substr(b + 1, q - b - 2);
      push(TokKind::string, mode == LexMode::eval ? unescape_eval_string(raw) : unescape_search_value(raw), b, q, sp);
      i = q;
      continue;
    }
    // Two-character operators first.
    if (i + 1 < end) {
      std::string_view two = src.substr(i, 2);
      if (two == "!=" || two == "<=" || two == ">=" || two == "==") {
        push(TokKind::op, std::string(two), b, i + 2, sp);
        i += 2;
        continue;
      }
    }
    if (c == '(' || c == ')' || c == ',' || c == '=' || c == '<' || c == '>') {
      push(TokKind::op, std::string(1, c), b, i + 1, sp);
      ++i;
      continue;
    }
    if (mode == LexMode::search) {
      if (c == '[') {
        size_t e = skip_brackets(src, i, end);
        if (e == std::string_view::npos) {
          push(TokKind::error, "unbalanced '[': subsearch is not closed", b, end, sp);
          return out;
        }
        push(TokKind::subsearch, std::string(src.substr(b, e - b)), b, e, sp);
        i = e;
        continue;
      }
      if (c == ']' || c == '|') {
        push(TokKind::error, std::string("unexpected '") + c + "'", b, b + 1, sp);
        return out;
      }
      while (i < end && !search_word_stop(src, i)) {
        if (src[i] == '\\' && i + 1 < end) ++i;  // `\"`, `\ ` stay inside the word
        ++i;
      }
      push(TokKind::word, std::string(src.substr(b, i - b)), b, i, sp);
      continue;
    }
    // eval mode
    if (c == '\'') {
      size_t j = i + 1;
      while (j < end && src[j] != '\'') {
        if (src[j] == '\\' && j + 1 < end) ++j;
        ++j;
      }
      if (j >= end) {
        push(TokKind::error, "unterminated single-quoted field name", b, end, sp);
        return out;
      }
      push(TokKind::quoted_field, unescape_search_value(src.substr(b + 1, j - b - 1)), b, j + 1, sp);
      i = j + 1;
      continue;
    }
    if (c == '+' || c == '-' || c == '*' || c == '/' || c == '%') {
      push(TokKind::op, std::string(1, c), b, i + 1, sp);
      ++i;
      continue;
    }
    // A dot not starting a number is the concatenation operator, even unspaced: `"a".field`.
    if (c == '.' && !(i + 1 < end && std::isdigit(static_cast<unsigned char>(src[i + 1])))) {
      push(TokKind::op, ".", b, i + 1, sp);
      ++i;
      continue;
    }
    if (is_ident_char(c)) {
      size_t j = i;
      while (j < end && is_ident_char(src[j])) ++j;
      // Exponent sign inside a number: 1e-5.
      std::string_view run = src.substr(i, j - i);
      if (std::isdigit(static_cast<unsigned char>(c)) && (run.back() == 'e' || run.back() == 'E') && j < end &&
          (src[j] == '-' || src[j] == '+')) {
        size_t k = j + 1;
        while (k < end && std::isdigit(static_cast<unsigned char>(src[k]))) ++k;
        if (full_number(src.substr(i, k - i))) j = k, run = src.substr(i, j - i);
      }
      // `a."x"`, `x.(…)`: a trailing dot before a string or paren is the concatenation operator.
      if (run.size() > 1 && run.back() == '.' && j < end && (src[j] == '"' || src[j] == '\'' || src[j] == '(')) {
        --j;
        run = src.substr(i, j - i);
      }
      if (run == ".") {
        push(TokKind::op, ".", b, i + 1, sp);
        ++i;
        continue;
      }
      push(full_number(run) ? TokKind::number : TokKind::ident, std::string(run), b, j, sp);
      i = j;
      continue;
    }
    push(TokKind::error, std::string("unexpected character '") + c + "' in expression", b, b + 1, sp);
    return out;
  }
}

}  // namespace vigil::spl

namespace vigil::spl {

bool is_spl_command(std::string_view word) {
  // Every command the ESCU corpus uses (spl.md §2.1) plus common generating/transforming ones.
  static constexpr std::string_view kCommands[] = {
      "abstract", "accum", "addinfo", "addtotals", "analyzefields", "anomalydetection", "append", "appendcols",
      "appendpipe", "apply", "bin", "bucket", "chart", "cluster", "collect", "convert", "cyberchef", "datamodel",
      "dedup", "delta", "diff", "eval", "eventstats", "extract", "fieldformat", "fields", "fillnull", "fit",
      "foreach", "format", "from", "fromjson", "gentimes", "head", "inputlookup", "iplocation", "join", "kv",
      "kvform", "loadjob", "localize", "lookup", "makemv", "makeresults", "map", "metadata", "mstats", "multikv",
      "multisearch", "mvcombine", "mvexpand", "nomv", "outlier", "outputlookup", "predict", "rare", "regex",
      "rename", "replace", "rest", "return", "reverse", "rex", "search", "sendemail", "set", "sort", "spath",
      "stats", "strcat", "streamstats", "table", "tail", "timechart", "top", "transaction", "tstats", "typer",
      "union", "uniq", "untable", "where", "xmlkv", "xpath", "xyseries"};
  if (word.empty() || word.size() > 20) return false;
  std::string w;
  for (char c : word) w += (c >= 'A' && c <= 'Z') ? char(c + 32) : c;
  for (auto c : kCommands)
    if (c == w) return true;
  return false;
}

}  // namespace vigil::spl
