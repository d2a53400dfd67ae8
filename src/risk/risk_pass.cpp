#include "risk/risk_pass.h"

#include <algorithm>
#include <tuple>

namespace vigil::risk {

std::string incident_rules_dir(const std::string& data_dir) { return data_dir + "/risk/incidents"; }

// Per risk object over the whole hunt. `sort` keeps ties in input (object, type) order.
const char* const kTopObjectsSpl =
    "| tstats sum(All_Risk.calculated_risk_score) as risk_score count as risk_event_count "
    "values(All_Risk.annotations.mitre_attack.mitre_tactic) as tactics dc(source) as source_count "
    "from datamodel=Risk.All_Risk by All_Risk.risk_object All_Risk.risk_object_type "
    "| rename All_Risk.risk_object as risk_object All_Risk.risk_object_type as risk_object_type";

RiskPass::RiskPass(const content::AttackTable* attack) : attack_(attack) {}
RiskPass::~RiskPass() = default;

void RiskPass::make_engine(const std::vector<const ir::CompiledRule*>& rules, const ir::CompiledRule* top_rule,
                           const ir::AtomTable& atoms, const Normalizer& normalizer, const EngineOptions& opts,
                           DiagnosticSink& diags) {
  top_rule_ = top_rule;
  std::vector<const ir::CompiledRule*> all = rules;
  if (top_rule && top_rule->executable) all.push_back(top_rule);
  if (all.empty()) return;
  engine_ = std::make_unique<Engine>(normalizer, atoms, all, opts, diags, [this](Finding&& f) {
    if (f.rule == top_rule_) take_top(f);
    else held_.push_back(std::move(f));
  });
}

void RiskPass::start(const std::vector<const ir::CompiledRule*>& rules, const ir::CompiledRule* top_rule,
                     const ir::AtomTable& atoms, const Normalizer& normalizer, EngineOptions opts,
                     DiagnosticSink& diags, std::FILE* out) {
  out_ = out;
  streaming_ = true;
  // One thread: add() comes from inside the first pass's merge, one finding at a time.
  opts.threads = 1;
  make_engine(rules, top_rule, atoms, normalizer, opts, diags);
}

void RiskPass::feed(const RiskEvent& e) {
  ++count_;
  if (out_) {
    std::string line = to_json(e);
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), out_);
  }
  if (engine_) {
    risk_record(e, count_, record_, storage_);
    engine_->process(record_);  // copies what it keeps: the record's views into `e` end here
    record_.system.clear();
    record_.data.clear();
  }
}

void RiskPass::add(const Finding& f, const report::FindingView& v) {
  for (auto& e : risk_events(f, v, attack_)) {
    if (streaming_) {
      feed(e);
    } else {
      ++count_;
      records_.add(e);
    }
  }
}

void RiskPass::take_top(const Finding& f) {
  ObjectTotal t;
  auto text = [&](const char* n) {
    const Value* v = f.row.get(n);
    return v && !v->is_null() ? v->to_string() : std::string();
  };
  t.object = text("risk_object");
  t.type = text("risk_object_type");
  if (const Value* v = f.row.get("risk_score"))
    if (auto n = v->to_number()) t.score = *n;
  if (const Value* v = f.row.get("risk_event_count"))
    if (auto n = v->to_number()) t.events = static_cast<size_t>(*n);
  if (const Value* v = f.row.get("tactics"); v && !v->is_null())
    for (auto& x : v->all_texts()) t.tactics.insert(x);
  if (const Value* v = f.row.get("source_count"))
    if (auto n = v->to_number()) t.source_count = static_cast<size_t>(*n);
  top_.push_back(std::move(t));
}

void RiskPass::finish(const FindingSink& sink) {
  if (engine_) {
    engine_->finish();
    evaluated_ = engine_->evaluated();
    engine_.reset();
  }
  for (auto& f : held_) sink(std::move(f));
  held_.clear();
  std::stable_sort(top_.begin(), top_.end(), [](auto& a, auto& b) {
    return a.score != b.score ? a.score > b.score : std::tie(a.object, a.type) < std::tie(b.object, b.type);
  });
}

void RiskPass::run(const std::vector<const ir::CompiledRule*>& rules, const ir::CompiledRule* top_rule,
                   const ir::AtomTable& atoms, const Normalizer& normalizer, const EngineOptions& opts,
                   DiagnosticSink& diags, const FindingSink& sink) {
  make_engine(rules, top_rule, atoms, normalizer, opts, diags);
  if (engine_) records_.for_each([&](const Record& r) { engine_->process(r); });
  finish(sink);
}

}  // namespace vigil::risk
