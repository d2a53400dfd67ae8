// Row filters: mid-pipeline `search`, `where`, `regex`, and a leading search's `earliest=`/`latest=`.
#include <algorithm>
#include <cmath>

#include "core/intern.h"
#include "core/strings.h"
#include "core/time.h"
#include "match/row_matcher.h"
#include "spl/eval.h"
#include "spl/lower.h"
#include "spl/field_refs.h"
#include "spl/operators.h"
#include "spl/subsearch.h"

namespace vigil::spl::ops {

// Also for TimeRangeOp, below (outside this namespace).
template <class Keep>
void filter_rows(Table& rows, Keep keep) {
  rows.erase(std::remove_if(rows.begin(), rows.end(), [&](const Row& r) { return !keep(r); }), rows.end());
}

namespace {

// Fields a bare term over events does not search, as keywords over events do not (EventMatcher):
// Splunk's default fields, and the XML renderings of values the row holds already.
bool not_event_text(std::string_view name) {
  return is_metadata_field(name) || name == "EventData_Xml" || name == "System_Props_Xml";
}

class SearchOp final : public ir::Operator {
 public:
  SearchOp(ir::Predicate p, const ir::AtomTable& atoms, std::vector<std::string>* errors,
           match::RowMatcher::NameTest keyword_skip)
      : matcher_(std::move(p), atoms, errors) {
    matcher_.skip_for_keywords(keyword_skip);
  }
  std::string name() const override { return "search"; }
  ir::OpShape shape() const override { return ir::OpShape::per_row; }
  bool reads(std::vector<std::string>& f) const override { return matcher_.fields(f); }
  bool writes(std::vector<std::string>&) const override { return true; }
  bool filters() const override { return !matcher_.always(); }  // `search *` (ESCU's empty *_filter macros) keeps all
  void run(Table& rows, ir::ExecContext&) override {
    filter_rows(rows, [&](const Row& r) { return matcher_.matches(r); });
  }

 private:
  match::RowMatcher matcher_;
};

// A `search` with `[ … ]` terms over events: the subsearches are other streams of the plan, so the
// terms are known once their results are (at the end, like `join`). Then the expression is lowered
// with those rows pasted as `format` pastes them, and applied.
class SubsearchSearchOp final : public ir::Operator {
 public:
  SubsearchSearchOp(const SearchExpr* e, std::vector<std::pair<const Pipeline*, size_t>> subs,
                    SubsearchResolver lookups, match::RowMatcher::NameTest keyword_skip)
      : expr_(e), subs_(std::move(subs)), lookups_(std::move(lookups)), keyword_skip_(keyword_skip) {}
  std::string name() const override { return "search"; }
  bool writes(std::vector<std::string>&) const override { return true; }
  bool filters() const override { return true; }
  void run(Table& rows, ir::ExecContext& ctx) override {
    std::vector<std::pair<const Pipeline*, std::optional<std::vector<FormatRow>>>> results;
    for (auto& [p, k] : subs_) results.emplace_back(p, format_rows(ctx.stream_result(k)));
    SubsearchResolver resolve = [&](const Pipeline& p) -> std::optional<std::vector<FormatRow>> {
      for (auto& [q, r] : results)
        if (q == &p) return r;
      return lookups_(p);
    };
    ir::AtomTable atoms;  // this run's own: the subsearch values are known only now
    match::RowMatcher m(lower_search(*expr_, atoms, nullptr, &resolve), atoms);
    m.skip_for_keywords(keyword_skip_);
    filter_rows(rows, [&](const Row& r) { return m.matches(r); });
  }

 private:
  const SearchExpr* expr_;  // owned by the AST, which outlives the plan
  std::vector<std::pair<const Pipeline*, size_t>> subs_;
  SubsearchResolver lookups_;
  match::RowMatcher::NameTest keyword_skip_;
};

void unresolved_subsearches(const SearchExpr& e, const SubsearchResolver& lookups, std::vector<const Pipeline*>& out) {
  if (e.subsearch && !lookups(*e.subsearch)) out.push_back(e.subsearch.get());
  for (auto& c : e.children) unresolved_subsearches(*c, lookups, out);
}

class PassOp final : public ir::Operator {
 public:
  explicit PassOp(std::string n) : name_(std::move(n)) {}
  std::string name() const override { return name_; }
  ir::OpShape shape() const override { return ir::OpShape::per_row; }
  bool reads(std::vector<std::string>&) const override { return true; }
  bool writes(std::vector<std::string>&) const override { return true; }
  void run(Table&, ir::ExecContext&) override {}

 private:
  std::string name_;
};

class WhereOp final : public ir::Operator {
 public:
  explicit WhereOp(const Expr* e) : expr_(e) {}
  std::string name() const override { return "where"; }
  ir::OpShape shape() const override { return ir::OpShape::per_row; }
  bool writes(std::vector<std::string>&) const override { return true; }
  bool filters() const override { return true; }
  bool reads(std::vector<std::string>& f) const override {
    return expression_fields(*expr_, f);
  }
  void run(Table& rows, ir::ExecContext& ctx) override {
    filter_rows(rows, [&](const Row& r) { return evaluate_condition(*expr_, r, ctx); });
  }

 private:
  const Expr* expr_;  // owned by the AST, which outlives the plan
};

class RegexOp final : public ir::Operator {
 public:
  RegexOp(std::string field, bool negate, Regex re) : field_(std::move(field)), negate_(negate), re_(std::move(re)) {}
  std::string name() const override { return "regex"; }
  ir::OpShape shape() const override { return ir::OpShape::per_row; }
  bool writes(std::vector<std::string>&) const override { return true; }
  bool filters() const override { return true; }
  bool reads(std::vector<std::string>& f) const override {
    f.push_back(field_);
    return true;
  }
  void run(Table& rows, ir::ExecContext&) override {
    filter_rows(rows, [&](const Row& r) {
      const Value* v = r.get(field_);
      bool hit = false;
      if (v)
        for (size_t i = 0; i < v->count() && !hit; ++i) hit = re_.search(v->text(i));
      // `field!=re` keeps rows without the field: they do not match the regex.
      return negate_ ? !hit : hit;
    });
  }

 private:
  std::string field_;
  bool negate_;
  Regex re_;
};

}  // namespace

OperatorResult make_search(const Command&, const SearchCmd& s, OperatorEnv& env) {
  if (!s.expr) return ok<PassOp>("search");  // `search *`: the filter-macro stub
  if (!env.atoms) return error("mid-pipeline search needs an atom table");
  std::vector<std::string> warnings;
  SubsearchResolver resolve = lookup_subsearch_resolver(env.lookups, env.atoms);
  std::vector<const Pipeline*> later;
  unresolved_subsearches(*s.expr, resolve, later);
  const match::RowMatcher::NameTest skip = env.rows_are_events ? &not_event_text : nullptr;
  if (!later.empty()) {
    std::vector<std::pair<const Pipeline*, size_t>> subs;
    for (const Pipeline* p : later) {
      std::string why;
      auto k = compile_subsearch(*p, env, why);
      if (!k) return error(why);
      subs.emplace_back(p, *k);
    }
    return ok<SubsearchSearchOp>(s.expr.get(), std::move(subs), std::move(resolve), skip);
  }
  ir::Predicate p = lower_search(*s.expr, *env.atoms, &warnings, &resolve);
  if (p.op == ir::Predicate::Op::always) return ok<PassOp>("search");
  std::vector<std::string> errors;
  auto op = std::make_unique<SearchOp>(std::move(p), *env.atoms, &errors, skip);
  if (!errors.empty()) return error(errors.front());
  return OperatorResult{std::move(op), {}};
}

OperatorResult make_where(const Command&, const WhereCmd& w) {
  if (!w.expr) return error("where needs an expression");
  std::string why = validate_expression(*w.expr);
  if (!why.empty()) return error(why);
  return ok<WhereOp>(w.expr.get());
}

OperatorResult make_regex(const Command&, const RegexCmd& r) {
  auto re = Regex::compile(r.regex);
  if (!re.ok()) return error(re.error().message);
  return ok<RegexOp>(r.field.empty() ? std::string("_raw") : unquote_field(r.field), r.negate, std::move(re.value()));
}

}  // namespace vigil::spl::ops

namespace vigil::spl {

namespace {

// A time modifier's instant: epoch seconds, ISO-8601, or relative to now (`-24h@h`, `@d`, `now`).
std::optional<double> time_modifier(std::string_view spec, double now) {
  double n = 0;
  if (parse_number(spec, n)) return n;
  if (auto t = parse_time(spec)) return t;
  return apply_relative_time(now, spec);
}

// `earliest=`/`latest=` of a leading search: per row, bounds taken from the run's now.
class TimeRangeOp final : public ir::Operator {
 public:
  TimeRangeOp(std::optional<std::string> earliest, std::optional<std::string> latest)
      : earliest_(std::move(earliest)), latest_(std::move(latest)) {}
  std::string name() const override { return "earliest/latest"; }
  ir::OpShape shape() const override { return ir::OpShape::per_row; }
  bool reads(std::vector<std::string>& f) const override {
    f.push_back("_time");
    return true;
  }
  bool writes(std::vector<std::string>&) const override { return true; }
  bool filters() const override { return true; }
  void run(Table& rows, ir::ExecContext& ctx) override {
    const double lo = earliest_ ? time_modifier(*earliest_, ctx.now).value_or(0) : -HUGE_VAL;
    const double hi = latest_ ? time_modifier(*latest_, ctx.now).value_or(0) : HUGE_VAL;
    ops::filter_rows(rows, [&](const Row& r) {
      const Value* t = r.get("_time");
      auto v = t ? t->to_number() : std::nullopt;
      return v && *v >= lo && *v < hi;
    });
  }

 private:
  std::optional<std::string> earliest_, latest_;
};

}  // namespace

OperatorResult make_time_range_operator(const std::optional<std::string>& earliest,
                                        const std::optional<std::string>& latest) {
  for (auto* spec : {&earliest, &latest})
    if (*spec && !time_modifier(**spec, 0))
      return ops::error(std::string(spec == &earliest ? "earliest" : "latest") + ": cannot read the time '" + **spec +
                        "' (relative such as -24h@h, epoch seconds or ISO-8601)");
  return ops::ok<TimeRangeOp>(earliest, latest);
}

}  // namespace vigil::spl
