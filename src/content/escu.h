// ESCU detections: every schema form in use.
// - `tags:` form (security_content 2024): impact, confidence, risk_score,
//   message, observable, mitre_attack_id, analytic_story, required_fields.
// - `finding:` / `intermediate_findings:` form (seed 000): entity with score,
//   top-level analytic_story and mitre_attack_id.
// - `rba:` form (contentctl v5): message, risk_objects [{field,type,score}],
//   threat_objects [{field,type}].
// Risk score: stored tags.risk_score; else round(impact × confidence / 100);
// in the newer forms the entity score, or the highest rba risk-object score.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "core/yaml.h"

#include "core/diagnostic.h"
#include "core/result.h"
#include "ir/rule.h"

namespace vigil::content {

struct EscuTestData {
  std::string data;  ///< URL or path of the attack data
  std::string source;
  std::string sourcetype;
};
struct EscuTest {
  std::string name;
  std::vector<EscuTestData> attack_data;
};

struct EscuDetection {
  ir::RuleInfo info;
  std::string search;            ///< the SPL as written
  uint32_t search_line = 0;      ///< 1-based line of the `search:` value in the file
  std::vector<EscuTest> tests;
};

/// A YAML document is an ESCU detection when it has `search` and one of tags/finding/rba, and no Sigma detection.
bool looks_like_escu(const yaml::Node& doc);
Result<EscuDetection> load_escu(const std::string& path, std::string_view text, const yaml::Node& doc);

/// Walk up from a rule file to the security_content root (a directory holding `macros/`); empty when none.
std::string find_content_root(const std::string& rule_path);

/// contentctl's filter macro name for a detection name (spaces, `-`, `.`, `/` -> `_`, lower-cased, + `_filter`).
std::string filter_macro_name(std::string_view detection_name);

}  // namespace vigil::content
