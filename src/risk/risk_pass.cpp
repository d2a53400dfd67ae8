#include "risk/risk_pass.h"

#include <algorithm>
#include <optional>
#include <tuple>

#include "core/intern.h"

namespace vigil::risk {

std::string incident_rules_dir(const std::string& data_dir) { return data_dir + "/risk/incidents"; }

// Per risk object over the whole hunt. `sort` keeps ties in input (object, type) order.
const char* const kTopObjectsSpl =
    "| tstats sum(All_Risk.calculated_risk_score) as risk_score count as risk_event_count "
    "values(All_Risk.annotations.mitre_attack.mitre_tactic) as tactics dc(source) as source_count "
    "from datamodel=Risk.All_Risk by All_Risk.risk_object All_Risk.risk_object_type "
    "| rename All_Risk.risk_object as risk_object All_Risk.risk_object_type as risk_object_type";

namespace {

// Whether every stream filter of `rules` tests only rule-wide fields (no keyword, no other field).
bool filters_read_rule_fields(const std::vector<const ir::CompiledRule*>& rules, const ir::AtomTable& atoms) {
  std::vector<ir::AtomId> ids;
  for (const ir::CompiledRule* r : rules)
    for (const ir::Stream& s : r->plan.streams) {
      ids.clear();
      s.filter.collect_atoms(ids);
      for (ir::AtomId id : ids) {
        const ir::Atom& a = atoms.get(id);
        if (a.kind == ir::AtomKind::keyword || !rule_wide_field(a.field)) return false;
        if (ir::is_field_ref(a.kind) && !rule_wide_field(field_id(a.value))) return false;
      }
    }
  return true;
}

}  // namespace

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
  filters_per_rule_ = filters_read_rule_fields(all, atoms);
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

void RiskPass::feed(const ir::CompiledRule* rule, const RiskEvent& e) {
  if (out_) {
    std::string line = to_json(e);
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), out_);
  }
  if (engine_ && admitted(rule, e)) {
    ++handed_on_;
    risk_record(e, count_, record_, storage_);
    engine_->process(record_);  // copies what it keeps: the record's views into `e` end here
    record_.system.clear();
    record_.data.clear();
  }
}

// A risk event no stream filter admits adds nothing to the pass: it reaches no aggregation, no
// row, no finding. When the filters read only fields a rule's events share (ESCU's correlation
// rules test stories, ATT&CK and source names), the engine's answer for a rule's first event of a
// risk-object type is its answer for all of them. Most first-pass findings of a hunt with both
// corpora are Sigma's, which no ESCU correlation filter admits; each of their risk events was
// normalized and matched for nothing (with the making of the events, ~44% of the instructions
// handing on a finding took: callgrind, EVTX samples ×4).
bool RiskPass::admitted(const ir::CompiledRule* rule, const RiskEvent& e) {
  if (!filters_per_rule_) return true;
  auto [at, fresh] = admits_.try_emplace({rule, e.risk_object_type}, false);
  if (fresh) {
    risk_record(e, count_, record_, storage_);
    at->second = engine_->admits(record_);
    record_.system.clear();
    record_.data.clear();
  }
  return at->second;
}

bool RiskPass::refused(const ir::CompiledRule* rule, const std::string& risk_object_type) const {
  if (!filters_per_rule_) return false;
  auto at = admits_.find({rule, risk_object_type});
  return at != admits_.end() && !at->second;
}

void RiskPass::add(const Finding& f, const report::FindingView& v) {
  if (!f.rule) return;
  if (!streaming_) {
    for (auto& e : risk_events(f, v, attack_)) {
      ++count_;
      records_.add(e);
    }
    return;
  }
  // An event is made only when --risk-out writes it or the engine may take it: most of a hunt's
  // are of rules the engine is known to turn down, and making one copies the rule's ATT&CK,
  // stories and tags.
  std::optional<RiskEvent> base;
  for (auto& entity : v.entities) {
    if (!is_risk_object(entity)) continue;
    ++count_;
    if (!out_ && (!engine_ || refused(f.rule, risk_object_type(entity.type)))) continue;
    if (!base) base = risk_event_base(f, v, attack_);
    feed(f.rule, with_object(*base, entity, v.risk_score));
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
