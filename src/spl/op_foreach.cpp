// foreach: run a templated sub-pipeline once per matching field. `<<FIELD>>`
// is the field name, `<<MATCHSTR>>` what the wildcards matched (joined), and
// `<<MATCHSEGn>>` the n-th wildcard's match. Concrete patterns are expanded and
// built when the operator is built (errors surface at load time); wildcard
// patterns are expanded against the fields present in the rows at run time,
// one built sub-pipeline cached per field. Wildcards do not match internal
// fields (names starting with `_`).
#include <map>
#include <unordered_set>

#include "core/strings.h"
#include "spl/operators.h"
#include "spl/parser.h"

namespace vigil::spl::ops {

namespace {

struct Body {
  std::unique_ptr<Pipeline> ast;  // operators point into it: keep it alive
  std::vector<std::unique_ptr<ir::Operator>> ops;
};

class ForeachOp final : public ir::Operator {
 public:
  ForeachOp(std::vector<std::string> patterns, std::string body, std::string field_tok, std::string match_tok,
            OperatorEnv env)
      : patterns_(std::move(patterns)), body_(std::move(body)), field_tok_(std::move(field_tok)),
        match_tok_(std::move(match_tok)), env_(std::move(env)) {
    env_.add_subsearch = nullptr;  // the compiler that owns subsearch streams is gone at run time
  }
  std::string name() const override { return "foreach"; }

  /// Expand + build the body for one field; the error when it cannot be built.
  std::string build(const std::string& field, const std::vector<std::string_view>& caps) {
    if (cache_.count(field)) return {};
    std::string text = body_;
    std::string matchstr;
    for (auto c : caps) matchstr.append(c);
    text = replace_all(text, "<<" + field_tok_ + ">>", field);
    text = replace_all(text, "<<" + match_tok_ + ">>", matchstr);
    for (size_t i = 0; i < caps.size(); ++i)
      text = replace_all(text, "<<MATCHSEG" + std::to_string(i + 1) + ">>", std::string(caps[i]));
    // The body is a sub-pipeline of commands (`eval …`), not an implicit search.
    std::string_view lead = trim(text);
    if (lead.empty() || lead[0] != '|') text = "| " + text;
    ParseResult pr = parse_pipeline(text);
    if (pr.error) return "foreach body for '" + field + "': " + pr.error->message;
    Body b;
    b.ast = std::move(pr.pipeline);
    for (auto& c : b.ast->commands) {
      auto r = make_operator(c, env_);
      if (!r.op) return "foreach body: " + c.name + ": " + r.error;
      b.ops.push_back(std::move(r.op));
    }
    cache_.emplace(field, std::move(b));
    return {};
  }

  void run(Table& rows, ir::ExecContext& ctx) override {
    // Bodies built from here on (wildcard patterns) intern their atoms in this operator's own table:
    // the corpus' is shared with rule tails running on other threads, and a search's atoms are only
    // ever read by the matcher built with them.
    env_.atoms = &run_atoms_;
    // Fields to visit: for each pattern, the matching fields in first-seen order.
    std::vector<std::pair<std::string, std::vector<std::string>>> targets;
    std::unordered_set<std::string> seen;
    for (auto& p : patterns_) {
      if (p.find('*') == std::string::npos) {
        if (seen.insert(p).second) targets.push_back({p, {}});
        continue;
      }
      for (auto& r : rows)
        for (auto& e : r.entries()) {
          if (e.first.empty() || e.first[0] == '_' || seen.count(e.first)) continue;
          std::vector<std::string_view> caps;
          if (!field_glob(p, e.first, &caps)) continue;
          seen.insert(e.first);
          targets.push_back({e.first, std::vector<std::string>(caps.begin(), caps.end())});
        }
    }
    for (auto& [field, caps] : targets) {
      std::vector<std::string_view> cv(caps.begin(), caps.end());
      std::string why = build(field, cv);
      if (!why.empty()) {
        if (ctx.diags) ctx.diags->warning(ctx.where, why, "foreach");
        continue;
      }
      for (auto& op : cache_.at(field).ops) op->run(rows, ctx);
    }
  }

 private:
  std::vector<std::string> patterns_;
  std::string body_, field_tok_, match_tok_;
  OperatorEnv env_;
  ir::AtomTable run_atoms_;  // before cache_: the bodies' matchers read it
  std::map<std::string, Body> cache_;
};


std::string strip_angles(std::string s) {
  if (s.size() > 4 && s.rfind("<<", 0) == 0 && s.substr(s.size() - 2) == ">>") return s.substr(2, s.size() - 4);
  return s;
}

}  // namespace

OperatorResult make_foreach(const Command&, const ForeachCmd& f, OperatorEnv& env) {
  if (f.patterns.empty()) return error("foreach needs a field pattern");
  if (f.body_text.empty()) return error("foreach needs a [body]");
  if (auto mode = opt(f.options, "mode", "multifield"); !iequals(mode, "multifield"))
    return error("foreach mode=" + mode + " is not supported");
  std::vector<std::string> patterns;
  for (auto& p : f.patterns) patterns.push_back(unquote_field(p));
  auto op = std::make_unique<ForeachOp>(patterns, f.body_text, strip_angles(opt(f.options, "fieldstr", "<<FIELD>>")),
                                        strip_angles(opt(f.options, "matchstr", "<<MATCHSTR>>")), env);
  // Validate now: concrete fields are built for real; wildcard patterns with a probe name.
  for (auto& p : patterns) {
    std::string why;
    if (p.find('*') == std::string::npos) {
      why = op->build(p, {});
    } else {
      ForeachOp probe(patterns, f.body_text, strip_angles(opt(f.options, "fieldstr", "<<FIELD>>")),
                      strip_angles(opt(f.options, "matchstr", "<<MATCHSTR>>")), env);
      why = probe.build("vigil_probe_field", {"probe"});
    }
    if (!why.empty()) return error(why);
  }
  return OperatorResult{std::move(op), {}};
}

}  // namespace vigil::spl::ops
