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

void RiskPass::add(const Finding& f, const report::FindingView& v) {
  for (auto& e : risk_events(f, v, attack_)) records_.add(e);
}

void RiskPass::write_jsonl(std::FILE* out) const {
  for (auto& e : records_.events()) {
    std::string line = to_json(e);
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), out);
  }
}

void RiskPass::run(const std::vector<const ir::CompiledRule*>& rules, const ir::CompiledRule* top_rule,
                   const ir::AtomTable& atoms, const Normalizer& normalizer, const EngineOptions& opts,
                   DiagnosticSink& diags, const FindingSink& sink) {
  std::vector<const ir::CompiledRule*> all = rules;
  if (top_rule && top_rule->executable) all.push_back(top_rule);
  if (all.empty()) return;
  Engine eng(normalizer, atoms, all, opts, diags, [&](Finding&& f) {
    if (f.rule != top_rule) {
      sink(std::move(f));
      return;
    }
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
  });
  records_.for_each([&](const Record& r) { eng.process(r); });
  eng.finish();
  evaluated_ = eng.evaluated();
  std::stable_sort(top_.begin(), top_.end(), [](auto& a, auto& b) {
    return a.score != b.score ? a.score > b.score : std::tie(a.object, a.type) < std::tie(b.object, b.type);
  });
}

}  // namespace vigil::risk
