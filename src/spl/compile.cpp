#include "spl/compile.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/strings.h"
#include "spl/lower.h"
#include "spl/macro_expand.h"
#include "spl/operators.h"
#include "spl/parser.h"
#include "spl/subsearch.h"

namespace vigil::spl {

namespace {

struct Compiler {
  const CompileEnv& env;
  CompiledSearch& out;
  SubsearchResolver resolve = lookup_subsearch_resolver(env.lookups, env.atoms);
  int depth = 0;

  void fail(std::string why) {
    out.executable = false;
    out.reasons.push_back(std::move(why));
  }

  // Splunk's `earliest=`/`latest=` in a leading search: the stream's first operator keeps the
  // rows in that time range (the filter took the terms as true).
  void add_time_range(const SearchExpr& e, ir::Stream& stream) {
    if (nested_time_bound(e))
      fail("earliest=/latest= under OR or NOT are not supported: they set the time range only among the "
           "search's top-level terms (e.g. 'earliest=-24h (A OR B)')");
    TimeBounds b = time_bounds(e);
    if (!b.earliest && !b.latest) return;
    auto r = make_time_range_operator(b.earliest, b.latest);
    if (r.op) stream.operators.push_back(std::move(r.op));
    else fail(r.error);
  }

  // Builds stream `index` of out.plan from `p`. Returns false when a stage cannot run.
  void build_stream(const Pipeline& p, size_t index) {
    if (++depth > 8) {
      fail("subsearches nested too deeply");
      return;
    }
    ir::Stream stream;
    size_t first_op = 0;
    if (p.commands.empty()) {
      fail("empty pipeline");
    } else {
      const Command& head = p.commands[0];
      if (auto* ts = std::get_if<TstatsCmd>(&head.body)) {
        // No data model (`| tstats count where index=* by sourcetype`): the events themselves, as
        // Splunk's tstats over index-time fields (here any field of the raw view).
        stream.source.kind = ts->datamodel.empty() ? ir::Source::Kind::raw : ir::Source::Kind::datamodel;
        stream.source.datamodel = ts->datamodel;
        stream.source.dataset = ts->dataset.empty() ? ts->datamodel : ts->dataset;
        if (!ts->nodename.empty()) {
          auto dot = ts->nodename.rfind('.');
          stream.source.dataset = dot == std::string::npos ? ts->nodename : ts->nodename.substr(dot + 1);
        }
        if (ts->where) {
          stream.filter = lower_search(*ts->where, *env.atoms, nullptr, &resolve, true);
          add_time_range(*ts->where, stream);
        }
        if (ts->from_form) {
          first_op = 1;  // `| from datamodel …` yields the dataset's rows as they are
        } else {
          auto r = make_tstats_operator(*ts);
          if (r.op) stream.operators.push_back(std::move(r.op));
          else fail(fmt::format("tstats: {}", r.error));
          first_op = 1;
        }
      } else if (auto* s = std::get_if<SearchCmd>(&head.body); s && !p.leading_pipe) {
        stream.source.kind = ir::Source::Kind::raw;
        if (s->expr) {
          stream.filter = lower_search(*s->expr, *env.atoms, nullptr, &resolve, true);
          add_time_range(*s->expr, stream);
        }
        first_op = 1;
      } else {
        // A generating command (inputlookup, makeresults, rest, mstats …): no events feed it.
        stream.source.kind = ir::Source::Kind::none;
        first_op = 0;
      }
    }
    // Reserve the slot first: subsearches compiled below append after it.
    if (out.plan.streams.size() <= index) out.plan.streams.resize(index + 1);
    OperatorEnv oenv;
    oenv.atoms = env.atoms;
    oenv.lookups = env.lookups;
    oenv.allow_writes = env.allow_writes;
    oenv.add_subsearch = [this](const Pipeline& sub, std::string* error) -> std::optional<size_t> {
      size_t k = out.plan.streams.size();
      out.plan.streams.resize(k + 1);
      size_t before = out.reasons.size();
      build_stream(sub, k);
      if (out.reasons.size() != before && error) *error = out.reasons.back();
      return k;
    };
    auto aggregates = [](const ir::Operator& op) { return op.shape() == ir::OpShape::mergeable; };
    oenv.rows_are_events = std::none_of(stream.operators.begin(), stream.operators.end(),
                                        [&](auto& op) { return aggregates(*op); });  // a tstats head
    for (size_t i = first_op; i < p.commands.size(); ++i) {
      const Command& c = p.commands[i];
      auto r = make_operator(c, oenv);
      if (r.op && aggregates(*r.op)) oenv.rows_are_events = false;
      if (r.op) stream.operators.push_back(std::move(r.op));
      else if (r.error.empty()) fail(c.name + ": not supported");
      else if (r.error.starts_with(c.name + ": ")) fail(r.error);  // the operator named its command already
      else fail(c.name + ": " + r.error);
    }
    out.plan.streams[index] = std::move(stream);
    --depth;
  }
};

}  // namespace

ParsedSearch parse_search(std::string_view spl, const content::MacroTable& macros) {
  ParsedSearch ps;
  ps.expansion = expand_macros(spl, macros);
  if (!ps.expansion.error) ps.parse = parse_pipeline(ps.expansion.text);
  return ps;
}

CompiledSearch compile_search(std::string_view spl, const CompileEnv& env) {
  return compile_parsed(parse_search(spl, *env.macros), env);
}

CompiledSearch compile_parsed(ParsedSearch ps, const CompileEnv& env) {
  CompiledSearch out;
  MacroExpansion& ex = ps.expansion;
  out.expanded = std::move(ex.text);
  out.macros_used = std::move(ex.used);
  if (ex.error) {
    out.reasons.push_back("macro expansion: " + ex.error->message);
    return out;
  }
  for (auto& m : ex.missing) out.reasons.push_back("undefined macro `" + m + "`");
  ParseResult& pr = ps.parse;
  if (pr.error) {
    out.error_offset = pr.error->span.begin;
    out.reasons.push_back(pr.error->message);
    return out;
  }
  out.parsed = true;
  out.executable = ex.missing.empty();
  out.ast = std::shared_ptr<const Pipeline>(std::move(pr.pipeline));
  out.plan.owned.push_back(out.ast);
  Compiler c{env, out};
  c.build_stream(*out.ast, 0);
  const SubsearchResolver* resolve = &c.resolve;
  // Stages as explain shows them: one per top-level command, filters lowered to predicates.
  for (auto& cmd : out.ast->commands) {
    ir::StageInfo st;
    st.command = cmd.name;
    if (cmd.span.end <= out.expanded.size() && cmd.span.begin <= cmd.span.end)
      st.text = std::string(trim(std::string_view(out.expanded).substr(cmd.span.begin, cmd.span.end - cmd.span.begin)));
    if (auto* ts = std::get_if<TstatsCmd>(&cmd.body); ts && ts->where) {
      st.predicate = lower_search(*ts->where, *env.atoms, nullptr, resolve);
      st.has_predicate = true;
    } else if (auto* s = std::get_if<SearchCmd>(&cmd.body)) {
      if (s->expr) st.predicate = lower_search(*s->expr, *env.atoms, nullptr, resolve);
      st.has_predicate = true;
    } else if (auto* w = std::get_if<WhereCmd>(&cmd.body); w && w->expr) {
      bool complete = false;
      st.predicate = lower_where(*w->expr, *env.atoms, complete);
      st.has_predicate = complete;
    }
    out.stages.push_back(std::move(st));
  }
  return out;
}

}  // namespace vigil::spl
