// SPL tokenizer. SPL has two lexical worlds, so the lexer has two modes:
// - Mode::search: command arguments and search expressions. A word is any run
//   of characters up to whitespace or one of ( ) , = != < > " [ ] |, so
//   `C:\\Windows\\*.exe`, `Endpoint.Processes`, `-`, `$token$` are one word.
//   A backslash keeps the next character inside the word (`\"` does not open a
//   quote). `[ … ]` is one subsearch token (balanced, quote-aware).
// - Mode::eval: eval/where expressions: identifiers, numbers, "strings",
//   'field names', arithmetic and comparison operators.
// Tokens carry absolute byte spans; errors (unterminated quote or bracket) are
// returned as an error token, never thrown.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "spl/ast.h"

namespace vigil::spl {

enum class TokKind : uint8_t {
  word,       ///< search mode: unquoted word (raw text; see unescape_search_value)
  ident,      ///< eval mode: identifier / field name
  number,     ///< eval mode: numeric literal
  string,     ///< "double-quoted" (text = unescaped content)
  quoted_field,  ///< eval mode: 'single-quoted field name' (text = content)
  op,         ///< operator or punctuation: ( ) , = == != < <= > >= + - * / % .
  subsearch,  ///< search mode: `[ … ]`; span covers the brackets
  end,
  error,      ///< text = message; span = offending region
};

struct Token {
  TokKind kind = TokKind::end;
  std::string text;   ///< word/ident/number: raw text; string: unescaped; op: the operator
  Span span;
  bool space_before = false;  ///< whitespace (or start of range) precedes the token
};

enum class LexMode : uint8_t { search, eval };

/// Tokenize `src[begin, end)`. Spans are offsets into `src`. The last token is
/// `end` or `error` (lexing stops at the first error).
std::vector<Token> tokenize(std::string_view src, uint32_t begin, uint32_t end, LexMode mode);

/// Search-value unescaping (spl.md §5): `\\` -> `\`, `\"` -> `"`, any other
/// backslash is kept literally (so `"*\sam *"` keeps its single backslash).
std::string unescape_search_value(std::string_view raw);

/// Eval string-literal unescaping: `\\` -> `\`, `\"` -> `"`, `\t` -> TAB,
/// `\n` -> LF, `\r` -> CR (Splunk documents `"C:\\windows\temp"` yielding a TAB);
/// any other backslash is kept, so regex escapes such as `\d`, `\b`, `\.` reach PCRE intact.
std::string unescape_eval_string(std::string_view raw);

/// Index one past the closing quote of the string starting at `src[i] == '"'`
/// (backslash escapes honoured); npos when unterminated.
size_t skip_quoted(std::string_view src, size_t i, size_t end);
/// Index one past the `]` matching `src[i] == '['` (quotes and nesting honoured); npos when unbalanced.
size_t skip_brackets(std::string_view src, size_t i, size_t end);

}  // namespace vigil::spl

namespace vigil::spl {
/// True for SPL command names vigil knows (case-insensitive): used to tell a
/// command from search terms at the start of a subsearch or macro definition.
bool is_spl_command(std::string_view word);
}  // namespace vigil::spl
