// SPL abstract syntax tree. Produced by spl/parser.h from macro-expanded text;
// consumed by spl/lower.h (filters -> IR atoms) and spl/operators.h (execution).
// Every node carries a Span into the text it was parsed from.
//
// Grammar notes (Splunk semantics the tree preserves):
// - `search` expressions: implicit AND between terms, precedence () > NOT > OR > AND;
//   `f=v`, `f!=v`, `f<v` …, `f IN (a, b)`, bare keywords, TERM(x), CASE(x).
// - eval/where expressions: precedence () > unary NOT/- > * / % > + - . > comparisons
//   (= == != < <= > >= LIKE IN) > AND > XOR > OR. Single quotes name a field.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace vigil::spl {

struct Span {
  uint32_t begin = 0;  ///< byte offset in the parsed text
  uint32_t end = 0;
};

// ---------------------------------------------------------------- eval/where
struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

enum class ExprKind : uint8_t {
  string,   ///< "double-quoted" literal, unescaped (text)
  number,   ///< numeric literal (number, text = as written)
  field,    ///< bare identifier or 'single-quoted' field name (text)
  call,     ///< function call: text = lower-cased name, args
  unary,    ///< text = "NOT" or "-", args[0]
  binary,   ///< text = operator: + - * / % . = == != < <= > >= AND OR XOR LIKE, args[0], args[1]
  in_list,  ///< args[0] IN (args[1..])
  null_lit, ///< null()
};

struct Expr {
  ExprKind kind = ExprKind::string;
  Span span;
  std::string text;
  double number = 0;
  std::vector<ExprPtr> args;
};

// ---------------------------------------------------------------- search
struct Pipeline;
struct SearchExpr;
using SearchPtr = std::unique_ptr<SearchExpr>;

enum class SearchKind : uint8_t {
  compare,  ///< field op value; op in = != < <= > >=
  in_list,  ///< field IN (values…)
  keyword,  ///< bare term or quoted phrase, no field
  and_,
  or_,
  not_,
};

struct SearchExpr {
  SearchKind kind = SearchKind::keyword;
  Span span;
  std::string field;
  std::string op;                   ///< for compare
  std::vector<std::string> values;  ///< compare/keyword: one; in_list: many (quotes removed, `\\` -> `\`, `\"` -> `"`)
  std::vector<bool> quoted;         ///< parallel to values: was the value quoted
  bool case_sensitive = false;      ///< CASE(…)
  bool term = false;                ///< TERM(…)
  std::vector<SearchPtr> children;  ///< and_/or_/not_
  /// keyword kind only: a `[ … ]` subsearch term (values empty); its results become a filter at run time.
  std::unique_ptr<Pipeline> subsearch;
};

// ---------------------------------------------------------------- commands
struct Pipeline;

/// `name=value` option of a command, in source order.
struct Option {
  std::string key;
  std::string value;
  Span span;
};

/// One aggregate of stats/tstats/eventstats/streamstats/timechart: `func(field) as alias`,
/// `count`, `agg(eval(expr)) as alias`, `p95(x)`, `values(x)`.
struct Aggregate {
  std::string func;   ///< lower-case: count, dc, distinct_count, min, max, values, list, sum, avg, …
  std::string field;  ///< empty for bare count / eval form
  ExprPtr eval;       ///< agg(eval(…)) form
  std::string alias;  ///< `as` name; empty when none (output name is then func(field))
  Span span;
  std::string eval_text;  ///< agg(eval(…)) form: the expression source text, for output_name()
  std::string output_name() const;  ///< alias, or `func(field)` / `func` as Splunk names it
};

struct ByField {
  std::string field;
  std::string span;  ///< `_time span=1h` -> "1h"
};

struct SearchCmd { SearchPtr expr; };                 ///< null expr = match everything (`search *`)
struct WhereCmd { ExprPtr expr; };
struct EvalCmd { std::vector<std::pair<std::string, ExprPtr>> assignments; };
struct TstatsCmd {
  std::map<std::string, std::string> options;  ///< summariesonly, allow_old_summaries, fillnull_value, prestats …
  std::vector<Aggregate> aggregates;
  std::string datamodel;  ///< "Endpoint"
  std::string dataset;    ///< "Processes" (empty when only the model is named)
  std::string nodename;   ///< `where nodename=…`
  SearchPtr where;        ///< null when absent
  std::vector<ByField> by;
  bool from_form = false; ///< `| from datamodel …` rather than tstats
};
struct StatsCmd {  ///< stats, eventstats, streamstats, timechart, chart, top, rare share this shape
  std::map<std::string, std::string> options;
  std::vector<Aggregate> aggregates;
  std::vector<ByField> by;
};
struct RenameCmd { std::vector<std::pair<std::string, std::string>> renames; };  ///< may hold wildcards
struct ConvertCmd {
  std::string timeformat;  ///< empty = Splunk default %m/%d/%Y %H:%M:%S
  struct Conversion { std::string func; std::string field; std::string alias; };
  std::vector<Conversion> conversions;
};
struct FieldsCmd { bool remove = false; std::vector<std::string> fields; };  ///< also `table` (remove=false)
struct RexCmd {
  std::string field = "_raw";
  std::string regex;      ///< as written, after SPL string unescaping
  std::string mode;       ///< "sed" or empty
  int max_match = 1;      ///< 0 = unlimited
  std::string offset_field;
};
struct RegexCmd { std::string field = "_raw"; bool negate = false; std::string regex; };
struct LookupCmd {
  std::string table;
  std::map<std::string, std::string> options;  ///< local=, update=
  std::vector<std::pair<std::string, std::string>> inputs;   ///< lookup field -> event field (AS)
  std::string output_mode;                                   ///< "OUTPUT", "OUTPUTNEW" or empty (all)
  std::vector<std::pair<std::string, std::string>> outputs;  ///< lookup field -> event field
};
struct JoinCmd {
  std::map<std::string, std::string> options;  ///< type=, max=, overwrite=
  std::vector<std::string> fields;
  std::unique_ptr<Pipeline> subsearch;
};
struct AppendCmd { std::map<std::string, std::string> options; std::unique_ptr<Pipeline> subsearch; };  ///< append / appendpipe
struct BinCmd { std::string field; std::string span; std::string alias; std::map<std::string, std::string> options; };
struct DedupCmd { std::vector<std::string> fields; std::map<std::string, std::string> options; };
struct FillnullCmd { std::string value = "0"; std::vector<std::string> fields; };
struct ForeachCmd {
  std::vector<std::string> patterns;  ///< field wildcards
  std::map<std::string, std::string> options;
  std::string body_text;               ///< template with <<FIELD>>, <<MATCHSTR>> …, parsed per field at run time
};
struct MvexpandCmd { std::string field; int limit = 0; };
struct SortCmd { int limit = 0; std::vector<std::pair<std::string, bool>> keys; };  ///< field, descending
/// Any other command: parsed into words and options, kept for explain/lint; not executable
/// unless an operator for `name` exists.
struct GenericCmd {
  std::vector<std::string> words;
  std::map<std::string, std::string> options;
  std::vector<std::unique_ptr<Pipeline>> subsearches;
};

using CommandBody = std::variant<GenericCmd, SearchCmd, WhereCmd, EvalCmd, TstatsCmd, StatsCmd, RenameCmd, ConvertCmd,
                                 FieldsCmd, RexCmd, RegexCmd, LookupCmd, JoinCmd, AppendCmd, BinCmd, DedupCmd,
                                 FillnullCmd, ForeachCmd, MvexpandCmd, SortCmd>;

struct Command {
  std::string name;  ///< lower-case command name; the leading implicit search is "search"
  Span span;         ///< the whole command text (without the leading `|`)
  CommandBody body;
};

struct Pipeline {
  std::vector<Command> commands;
  Span span;
  bool leading_pipe = false;  ///< text began with `|` (generating command first)
};

}  // namespace vigil::spl
