// The HTML report of a hunt (vigil hunt --html FILE): one self-contained page
// with the results summary, a timeline of findings per host, an ATT&CK heat
// map of the techniques that fired (by tactic), and the grouped findings, each
// linked to its rule page in a catalog (vigil catalog --out DIR) when one is given.
#pragma once
#include <string>
#include <vector>

#include "report/finding_view.h"
#include "report/triage.h"

namespace vigil::report {

struct HuntReportInfo {
  std::string catalog;              ///< catalog directory or URL; empty = no rule links
  std::vector<std::string> inputs;  ///< the log paths hunted
  size_t rules_run = 0;
  uint64_t records = 0;
};

/// Writes the page; false when the file cannot be written.
bool write_hunt_html(const std::string& path, const std::vector<FindingView>& findings, const HuntSummary& summary,
                     const HuntReportInfo& info);

}  // namespace vigil::report
