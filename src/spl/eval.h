// SPL eval/where expression evaluation over result rows, and the small
// value helpers the pipeline operators share (comparison, LIKE, time spans,
// relative_time snapping, a per-thread regex cache).
//
// Semantics (docs/spl.md §3, §5):
// - numbers are doubles; a string that parses as a decimal number is numeric
//   (hex such as 4688's `0xf84` stays text);
// - `+` adds numbers and concatenates when either side is a non-numeric string;
//   `.` always concatenates; arithmetic or concatenation with null yields null;
// - comparisons are case-sensitive, numeric when both sides are numeric, false
//   when either side is null; a multivalue side compares true when any value does;
// - booleans exist only inside evaluation: evaluate() renders them as the
//   strings "true"/"false" (Value::boolean), evaluate_condition() keeps them.
// Bad input never throws: an unknown function or a bad regex evaluates to null
// (and bad regexes are reported once through ExecContext::diags).
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "core/regex.h"
#include "core/value.h"
#include "ir/plan.h"
#include "spl/ast.h"

namespace vigil::spl {

/// Evaluate an eval expression over `row`. Booleans come back as "true"/"false".
Value evaluate(const Expr& e, const Row& row, ir::ExecContext& ctx);
/// Evaluate a where/if condition: true only for a true boolean (or a truthy value).
bool evaluate_condition(const Expr& e, const Row& row, ir::ExecContext& ctx);
/// Truthiness of a stored value: non-zero numbers and the text "true" (any case).
bool is_truthy(const Value& v);

/// Build-time check of an expression: unknown functions and wrong argument counts.
/// Returns an empty string when the expression can run, else the reason.
std::string validate_expression(const Expr& e);

/// SQL LIKE: `%` any run, `_` one character; case-sensitive; backslash is a
/// literal character (Windows paths in patterns such as "%\\Windows\\%" must work).
bool like_match(std::string_view text, std::string_view pattern);

/// Order two scalar texts the SPL way: numerically when both parse as numbers,
/// else byte-wise (case-sensitive). <0, 0, >0.
int compare_texts(std::string_view a, std::string_view b);

/// The order of sorted output (`sort`, the rows of `stats … by`): numbers first, by value (equal
/// values tie), then other texts byte-wise. Unlike compare_texts, a strict weak order even when
/// numbers and texts mix ("2" < "10" by value, "10" < "1a" and "1a" < "2" as texts would be a
/// cycle), as std::sort requires. A SortKey holds a text and its number, parsed once.
struct SortKey {
  bool numeric = false;
  double number = 0;
  std::string_view text;
  static SortKey of(std::string_view t);
};
int order_texts(const SortKey& a, const SortKey& b);

/// A span such as `1h`, `5m`, `30s`, `1d`, `2w`, `10` (seconds) in seconds; nullopt if invalid
/// or not a fixed length (months, years).
std::optional<double> parse_span_seconds(std::string_view span);
/// Why parse_span_seconds refused `span`, for an error: "unsupported span '1mon' (…)".
std::string span_error(std::string_view span);

/// Splunk relative time modifier applied to `base` (UTC): `-7d@d`, `+1h`, `@w0`, `-30m@m`, `now`.
std::optional<double> apply_relative_time(double base, std::string_view spec);

/// Report that a rule hit the run-time budget (core/budget.h): a located
/// warning with reason `budget`, counted in the summary.
void budget_exceeded(ir::ExecContext& ctx, std::string_view what);

/// Compiled regex from a per-thread cache (patterns come from rules: few, reused per row).
/// Null when the pattern does not compile; `error` then says why.
const Regex* cached_regex(std::string_view pattern, std::string* error = nullptr);

namespace detail {

/// Result of evaluating a sub-expression: a value, or a boolean (comparisons, like, match…).
struct EvalResult {
  Value value;
  int8_t boolean = -1;  ///< -1: not a boolean; 0/1: false/true
  static EvalResult of_bool(bool b) { EvalResult r; r.boolean = b ? 1 : 0; return r; }
  bool is_bool() const { return boolean >= 0; }
};

/// One evaluation over one row. Functions such as mvfilter/mvmap bind the current
/// value of a field for the duration of a sub-evaluation.
class Evaluator {
 public:
  Evaluator(const Row& row, ir::ExecContext& ctx) : row_(row), ctx_(ctx) {}
  EvalResult eval(const Expr& e);
  /// Value form (booleans as "true"/"false").
  Value value(const Expr& e);
  /// value(e) where it already is when `e` names a field (its value in the row, not a copy), else
  /// evaluated into `held`.
  const Value& value_ref(const Expr& e, Value& held);
  bool condition(const Expr& e);
  const Value* field(std::string_view name) const;
  void bind(const std::string* name, const Value* v) { bound_name_ = name; bound_value_ = v; }
  const std::string* bound_name() const { return bound_name_; }
  const Value* bound_value() const { return bound_value_; }
  ir::ExecContext& ctx() { return ctx_; }
  const Row& row() const { return row_; }

 private:
  EvalResult binary(const Expr& e);
  const Row& row_;
  ir::ExecContext& ctx_;
  const std::string* bound_name_ = nullptr;
  const Value* bound_value_ = nullptr;
};

/// The eval function library (functions.cpp). `call.text` is the lower-cased name.
EvalResult call_function(const Expr& call, Evaluator& ev);
/// Known function arity: false when `name` is unknown; max_args SIZE_MAX = variadic.
bool function_arity(std::string_view name, size_t& min_args, size_t& max_args);
/// Value of a boolean result as stored by eval.
inline Value to_value(EvalResult r) { return r.is_bool() ? Value::boolean(r.boolean == 1) : std::move(r.value); }

}  // namespace detail
}  // namespace vigil::spl
