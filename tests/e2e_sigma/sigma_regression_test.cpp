// Sigma regression data through the full path (native EVTX reader -> normalize
// -> Sigma rules on the shared IR -> engine), as `vigil test --sigma-regression` runs it.
//
// 202 cases have an .evtx (the Cisco AAA case's test is commented out in its info.yml).
// Every rule must match its .evtx, and exactly `match_count` times where set.
// Four info.yml files state match_count 1 while their own .evtx holds more events that satisfy
// the rule; we counted them by hand from the companion .json (python3: every event's
// TargetFilename/TargetObject/Details checked against the rule's selection):
//   file_event_win_anydesk_artefact              3 events contain \AppData\Roaming\AnyDesk\user.conf
//   file_event_win_cred_dump_tools_dropped_files 3 events end with a listed dump-tool file name
//   registry_set_change_security_zones           3 SetValue events under ...\ZoneMap\Domains\ (a key)
//   registry_set_disable_administrative_share    2 events (AutoShareWks and AutoShareServer = 0)
// SigmaHQ's own runner (tests/regression_tests_runner.py) only checks that the rule fires, so its
// CI does not see the difference. We keep exact counting and list these four as data errors.
#include <gtest/gtest.h>

#include <map>
#include <utility>
#include <vector>

#include "engine/rule_tests.h"

namespace vigil {
namespace {

const std::string kSigma = std::string(VIGIL_SHARED_DIR) + "/corpus/sigma";

TEST(SigmaRegression, EveryCasePassesExceptDocumentedCountErrors) {
  DiagnosticSink diags(nullptr);
  RuleSet rs({"", VIGIL_DATA_DIR, false});
  rs.load({kSigma + "/rules", kSigma + "/rules-emerging-threats", kSigma + "/rules-threat-hunting"}, diags);
  auto norm = Normalizer::load(std::string(VIGIL_DATA_DIR) + "/normalize");
  ASSERT_TRUE(norm.ok());
  RunOptions ro;
  ro.engine.now = 1.7e9;
  // `vigil test` prints each verdict from the sink as its case ends: it must see every case, in order.
  std::vector<std::pair<std::string, bool>> seen;
  auto results = run_sigma_regression(kSigma + "/regression_data", rs, norm.value(), ro, diags,
                                      [&](const RuleTestResult& r) { seen.emplace_back(r.name, r.passed); });
  ASSERT_EQ(results.size(), 202u);
  ASSERT_EQ(seen.size(), results.size());
  for (size_t i = 0; i < results.size(); ++i)
    EXPECT_EQ(seen[i], std::make_pair(results[i].name, results[i].passed)) << i;
  const std::map<std::string, size_t> known = {{"file_event_win_anydesk_artefact", 3},
                                               {"file_event_win_cred_dump_tools_dropped_files", 3},
                                               {"registry_set_change_security_zones", 3},
                                               {"registry_set_disable_administrative_share", 2}};
  size_t passed = 0, failed = 0;
  for (auto& r : results) {
    auto it = known.find(r.name);
    if (it != known.end()) {
      EXPECT_FALSE(r.passed) << r.name;
      EXPECT_EQ(r.matches, it->second) << r.name;
    } else {
      EXPECT_TRUE(r.passed) << r.name << ": " << r.detail;
    }
    (r.passed ? passed : failed)++;
  }
  std::printf("%zu passed, %zu failed\n", passed, failed);
  EXPECT_EQ(passed, 198u);
}

// Without the emerging-threats and threat-hunting folders their 10 cases cannot find their rules.
TEST(SigmaRegression, RulesFolderAloneLeavesTenCasesWithoutRule) {
  DiagnosticSink diags(nullptr);
  RuleSet rs({"", VIGIL_DATA_DIR, false});
  rs.load({kSigma + "/rules"}, diags);
  auto norm = Normalizer::load(std::string(VIGIL_DATA_DIR) + "/normalize");
  ASSERT_TRUE(norm.ok());
  auto results = run_sigma_regression(kSigma + "/regression_data", rs, norm.value(), {}, diags);
  size_t not_loaded = 0, passed = 0;
  for (auto& r : results) {
    not_loaded += r.detail.find("is not loaded") != std::string::npos;
    passed += r.passed;
  }
  EXPECT_EQ(not_loaded, 10u);
  EXPECT_EQ(passed, 188u);
}

}  // namespace
}  // namespace vigil
