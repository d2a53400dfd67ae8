// Rules' own tests.
// - Sigma regression data (SigmaHQ `regression_data/**/info.yml`): each case
//   names a rule id and an .evtx beside it; the rule must match at least once
//   and, where `match_count` is set, exactly that many times.
// - ESCU `tests:` with attack_data: each attack_data URL is resolved to a
//   local file under an attack-data root by its path after
//   `datasets/attack_techniques/` (the same file name, else every log file in
//   that folder, archives included); the test passes as contentctl's unit
//   test does: the detection returns at least one result, and every risk
//   object and threat object field the rule names (observables, rba:
//   risk_objects/threat_objects, finding: entities) is present and not null
//   (absent, empty or the text `null`) in every result.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "engine/rule_set.h"
#include "engine/run.h"
#include "normalize/normalizer.h"

namespace vigil {

struct RuleTestResult {
  std::string suite;    ///< sigma-regression | escu
  std::string name;     ///< case name (folder or rule name)
  std::string rule_id;
  std::string rule_name;
  bool passed = false;
  bool skipped = false;  ///< no local data for the case
  size_t matches = 0;
  std::string detail;   ///< why it failed or was skipped
  double seconds = 0;   ///< time the case took (loading its data and running the rule)
};

/// contentctl's field check: the risk and threat object fields of `rule` that are absent or null in
/// some row, each once, in the rule's order (empty = every row carries them all).
std::vector<std::string> missing_object_fields(const ir::CompiledRule& rule, const std::vector<Finding>& findings);

/// Called with each case as soon as it has run (the CLI prints its verdict then, not at the end).
using RuleTestSink = std::function<void(const RuleTestResult&)>;

std::vector<RuleTestResult> run_sigma_regression(const std::string& regression_dir, const RuleSet& rules,
                                                 const Normalizer& normalizer, const RunOptions& opts,
                                                 DiagnosticSink& diags, const RuleTestSink& on_result = {});

std::vector<RuleTestResult> run_escu_tests(const std::string& attack_data_root, const RuleSet& rules,
                                           const Normalizer& normalizer, const RunOptions& opts,
                                           DiagnosticSink& diags, const RuleTestSink& on_result = {});

}  // namespace vigil
