// What a responder reads after a hunt: the findings grouped into one row per
// rule × host (with count, time range and how many distinct details), a details column,
// colour by level, and the results summary (findings by level and risk band,
// top rules, hosts and users, event time range, ATT&CK tactics and techniques).
//
// The machine outputs (JSONL, CSV) keep one finding per result row; this is
// the table mode and the --summary-out / --html views of the same findings.
#pragma once
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "report/finding_view.h"

namespace vigil::report {

/// One row of the grouped table: findings of one rule on one host (user and image of the first).
struct FindingGroup {
  std::string rule_id, rule_name, rule_language, level, host, user, image;
  std::string details;                ///< of the first finding
  size_t distinct_details = 0;        ///< how many different details the group's findings had
  double risk_score = 0;
  std::string first_time, last_time;  ///< over the group; empty when no finding had a time
  uint64_t findings = 0;
  std::vector<TechniqueView> techniques;
  std::vector<EventRef> sources;      ///< the first few source events
};

/// Findings grouped by rule and host, in timeline order (groups without a time last).
std::vector<FindingGroup> group_findings(const std::vector<FindingView>& findings);

/// Counts over every finding of a hunt.
struct HuntSummary {
  uint64_t findings = 0;
  std::map<std::string, uint64_t> by_level;  ///< effective level -> findings
  std::map<std::string, uint64_t> by_risk;   ///< band ("80-100", "60-79", …) -> findings
  struct Count {
    std::string key, extra;  ///< extra: a rule's level, a technique's name
    uint64_t n = 0;
  };
  std::vector<Count> rules, hosts, users, tactics, techniques;  ///< most first
  std::string first_time, last_time;
  void add(const FindingView& f);
  /// Sorts the lists (most first, then by name); call once after the last add().
  void finish();
  std::string json() const;
  /// The summary for a terminal; `color` adds ANSI colours by level.
  std::string text(bool color, size_t top = 10) const;

 private:
  std::map<std::string, size_t> index_[5];
  std::vector<Count>* list(int k);
  void bump(int k, const std::string& key, const std::string& extra);
};

/// Columns a UTF-8 string takes on a terminal (code points; no wide-character table).
size_t display_width(std::string_view s);

/// The risk band of a score: "80-100", "60-79", "40-59", "20-39", "0-19".
std::string risk_band(double score);

/// The grouped (or, with group = false, one row per finding) table for a terminal.
void write_triage_table(const std::vector<FindingView>& findings, bool group, bool color, size_t width, std::FILE* out);

}  // namespace vigil::report
