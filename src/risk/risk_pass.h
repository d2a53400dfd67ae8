// The second pass of a hunt: risk events of the first pass's findings, run through the rules that
// read `datamodel=Risk` (ESCU Correlation rules, user rules, vigil's incident rules) on a second
// Engine, plus the top-risk-objects aggregation (a tstats of its own on the same engine, so the
// table's ending uses the engine's mergeable state like any rule). See risk/risk.h.
#pragma once
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/rule_set.h"
#include "risk/risk.h"

namespace vigil::risk {

/// The incident rules shipped with vigil: `<data>/risk/incidents`.
std::string incident_rules_dir(const std::string& data_dir);

/// The SPL of the top-risk-objects table (object, type, score, tactics, detections).
extern const char* const kTopObjectsSpl;

class RiskPass {
 public:
  explicit RiskPass(const content::AttackTable* attack) : attack_(attack) {}

  /// A first-pass finding: keeps its risk events. Correlation findings must not come here (they
  /// do not feed back into risk).
  void add(const Finding& f, const report::FindingView& v);

  const std::vector<RiskEvent>& events() const { return records_.events(); }
  /// --risk-out: one JSON object per line (risk/risk.h to_json).
  void write_jsonl(std::FILE* out) const;

  /// Runs `rules` (each reads datamodel=Risk) and `top_rule` (kTopObjectsSpl compiled; may be null)
  /// over the risk events. Correlation findings go to `sink`; the top rule's rows fill top().
  void run(const std::vector<const ir::CompiledRule*>& rules, const ir::CompiledRule* top_rule,
           const ir::AtomTable& atoms, const Normalizer& normalizer, const EngineOptions& opts, DiagnosticSink& diags,
           const FindingSink& sink);
  /// Per (object, type), highest score first; from the top rule's rows.
  const std::vector<ObjectTotal>& top() const { return top_; }
  uint64_t evaluated() const { return evaluated_; }

 private:
  const content::AttackTable* attack_;
  RiskRecords records_;
  std::vector<ObjectTotal> top_;
  uint64_t evaluated_ = 0;
};

}  // namespace vigil::risk
