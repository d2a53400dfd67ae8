// The second pass of a hunt: risk events of the first pass's findings, run through the rules that
// read `datamodel=Risk` (ESCU Correlation rules, user rules, vigil's incident rules) on a second
// Engine, plus the top-risk-objects aggregation (a tstats of its own on the same engine, so the
// table's ending uses the engine's mergeable state like any rule). See risk/risk.h.
#pragma once
#include <cstdio>
#include <map>
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
  explicit RiskPass(const content::AttackTable* attack);
  ~RiskPass();

  /// Streaming (what `hunt` uses): from now on add() hands each risk event straight to a second
  /// engine running `rules` (each reads datamodel=Risk) and `top_rule` (kTopObjectsSpl compiled; may
  /// be null), and writes it to `out` (may be null) as a JSON line; none is kept, so memory does
  /// not grow with findings. finish() ends the pass. Its engine runs on the calling thread: add()
  /// is called one finding at a time, from whichever thread merges the first pass.
  void start(const std::vector<const ir::CompiledRule*>& rules, const ir::CompiledRule* top_rule,
             const ir::AtomTable& atoms, const Normalizer& normalizer, EngineOptions opts, DiagnosticSink& diags,
             std::FILE* out);

  /// A first-pass finding: its risk events (kept for run() unless start() was called).
  /// Correlation findings must not come here (they do not feed back into risk).
  void add(const Finding& f, const report::FindingView& v);

  /// Ends a started pass: correlation findings go to `sink` (held until now, so they follow every
  /// first-pass finding, in the engine's order); the top rule's rows fill top().
  void finish(const FindingSink& sink);

  /// Kept mode: runs `rules` and `top_rule` over the kept risk events (same as start(), every
  /// add(), finish()).
  void run(const std::vector<const ir::CompiledRule*>& rules, const ir::CompiledRule* top_rule,
           const ir::AtomTable& atoms, const Normalizer& normalizer, const EngineOptions& opts, DiagnosticSink& diags,
           const FindingSink& sink);

  /// Kept mode only: the risk events added.
  const std::vector<RiskEvent>& events() const { return records_.events(); }
  /// Risk events added, in either mode.
  size_t event_count() const { return count_; }

  /// Per (object, type), highest score first; from the top rule's rows.
  const std::vector<ObjectTotal>& top() const { return top_; }
  uint64_t evaluated() const { return evaluated_; }
  /// Streaming: the risk events handed to the engine; the others were of a rule and risk-object
  /// type no stream filter of the pass admits (admitted()).
  size_t handed_on_count() const { return handed_on_; }

 private:
  void make_engine(const std::vector<const ir::CompiledRule*>& rules, const ir::CompiledRule* top_rule,
                   const ir::AtomTable& atoms, const Normalizer& normalizer, const EngineOptions& opts,
                   DiagnosticSink& diags);
  void take_top(const Finding& f);
  void feed(const ir::CompiledRule* rule, const RiskEvent& e);
  bool admitted(const ir::CompiledRule* rule, const RiskEvent& e);
  // The engine is known to turn down risk events of `rule` about objects of this type.
  bool refused(const ir::CompiledRule* rule, const std::string& risk_object_type) const;

  const content::AttackTable* attack_;
  RiskRecords records_;
  size_t count_ = 0;
  // Streaming pass
  bool streaming_ = false;
  std::unique_ptr<Engine> engine_;
  const ir::CompiledRule* top_rule_ = nullptr;
  std::vector<Finding> held_;  // correlation findings, until finish()
  std::FILE* out_ = nullptr;
  Record record_;
  std::vector<std::string> storage_;
  // Whether every stream filter of the pass reads only fields all risk events of one rule share,
  // and the risk-object type; if so, the engine's answer for (rule, type) is kept (admitted()).
  bool filters_per_rule_ = false;
  std::map<std::pair<const ir::CompiledRule*, std::string>, bool> admits_;
  size_t handed_on_ = 0;

  std::vector<ObjectTotal> top_;
  uint64_t evaluated_ = 0;
};

}  // namespace vigil::risk
