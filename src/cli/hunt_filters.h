// The hunt filters Hayabusa and Chainsaw users expect. Rule-level filters
// (--include-rule/--exclude-rule, --exclude-status, --noisy-rules,
// --min-level, --min-risk) choose the rules before the run, so a filtered
// rule costs nothing; --from/--to keep the findings whose event time range
// overlaps the window (findings without a time are dropped when a window is given).
//
// A rule pattern is, in this order: a rule id (exact, any case); an ATT&CK
// technique id (T1059 selects T1059 and its sub-techniques); a tag or analytic
// story (exact, any case: `attack.execution`, `Active Directory Kerberos Attacks`);
// else a glob over the rule name (`*`, `?`, any case).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "ir/rule.h"
#include "report/finding_view.h"

namespace vigil::cli {

struct HuntFilters {
  std::string min_level;  ///< informational, low, medium, high, critical
  double min_risk = -1;
  std::string from, to;   ///< ISO-8601 or epoch seconds
  std::vector<std::string> include_rules, exclude_rules;
  std::vector<std::string> exclude_status;  ///< deprecated, experimental, …
  std::string noisy_rules;  ///< file: one rule pattern per line, `#` comments

  /// Registers the options on the hunt subcommand.
  void add_options(CLI::App& app);
  /// Parses the window and reads the noisy-rules file; false after printing why (a usage error).
  bool prepare();
  bool active() const;
  /// True when the rule is to be run.
  bool rule_selected(const ir::RuleInfo& r) const;
  /// True when the finding falls in the --from/--to window (always without one).
  bool finding_selected(const report::FindingView& f) const;
  /// One line for the run summary: what the filters left out.
  std::string describe() const;

 private:
  std::optional<double> from_, to_;
  std::vector<std::string> noisy_;
};

/// True when `pattern` selects the rule (see the header comment).
bool rule_matches(const ir::RuleInfo& r, const std::string& pattern);

}  // namespace vigil::cli
