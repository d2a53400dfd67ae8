// Risk events from findings (src/risk), on the seed rules over attack_data T1047.
//
// Expected values come from the rule files and the data, not from vigil: seed 003
// (windows_wmi_process_call_create.yml) has tags.risk_score 25 and observables user (User, Victim)
// and dest (Hostname, Victim); it matches records 5429 and 5471 (tests/e2e_foundation), both by
// ATTACKRANGE\Administrator on win-dc-6178966.attackrange.local at 2020-08-01T07:59:18Z. The
// seed-000 form (corpus/seed_rules) has finding.entity user score 50 and intermediate dest score 50
// and matches 5471 only. T1047 is an Execution (TA0002) technique in ATT&CK.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <unistd.h>

#include "content/attack.h"
#include "engine/rule_set.h"
#include "engine/run.h"
#include "normalize/normalizer.h"
#include "report/finding_view.h"
#include "risk/risk_pass.h"

namespace vigil {
namespace {

const std::string kSharedDir = VIGIL_SHARED_DIR;
const std::string kContentDir = kSharedDir + "/corpus/security_content";
const std::string kT1047Data = kSharedDir + "/data/attack_data/T1047/atomic_red_team/attack_data.tar.gz";
const std::string kUser = "ATTACKRANGE\\Administrator";
const std::string kHost = "win-dc-6178966.attackrange.local";

const content::AttackTable& attack() {
  static auto t = content::AttackTable::load(kSharedDir + "/data/attack/enterprise-attack.json");
  return t.value();
}

struct Hunt {
  std::vector<report::FindingView> views;
  std::vector<risk::RiskEvent> events;
};

Hunt hunt(const std::vector<std::string>& rule_paths, const std::string& input = kT1047Data) {
  DiagnosticSink diags(nullptr);
  RuleSet rs({kContentDir, VIGIL_DATA_DIR, false});
  rs.load(rule_paths, diags);
  auto norm = Normalizer::load(std::string(VIGIL_DATA_DIR) + "/normalize");
  EXPECT_TRUE(norm.ok());
  RunOptions ro;
  ro.engine.now = 1.7e9;
  RunResult res = run_rules(executable_rules(rs), rs.atoms(), norm.value(), {input}, ro, diags);
  Hunt h;
  risk::RiskPass rp(&attack());
  for (auto& f : res.findings) {
    auto v = report::describe(f, &attack());
    rp.add(f, v);
    h.views.push_back(v);
  }
  h.events = rp.events();
  return h;
}

TEST(RiskEvents, Seed003YieldsAUserAndASystemEventPerFinding) {
  Hunt h = hunt({kContentDir + "/detections/endpoint/windows_wmi_process_call_create.yml"});
  ASSERT_EQ(h.views.size(), 2u);
  ASSERT_EQ(h.events.size(), 4u);
  std::map<std::string, int> by_type;
  for (size_t i = 0; i < h.events.size(); ++i) {
    const auto& e = h.events[i];
    ++by_type[e.risk_object_type];
    EXPECT_EQ(e.risk_score, 25);
    EXPECT_EQ(e.calculated_risk_score, 25);
    EXPECT_EQ(e.risk_object, e.risk_object_type == "user" ? kUser : kHost);
    EXPECT_EQ(e.source, "ESCU - Windows WMI Process Call Create - Rule");
    EXPECT_EQ(e.search_name, e.source);
    EXPECT_EQ(e.technique_ids, std::vector<std::string>{"T1047"});
    EXPECT_EQ(e.tactic_ids, std::vector<std::string>{"TA0002"});
    EXPECT_EQ(e.tactics, std::vector<std::string>{"execution"});
    EXPECT_NE(std::find(e.analyticstories.begin(), e.analyticstories.end(), "Suspicious WMI Use"), e.analyticstories.end());
    EXPECT_TRUE(e.threat_objects.empty());
    ASSERT_TRUE(e.has_time);
    EXPECT_EQ(e.time, 1596268758);  // 2020-08-01T07:59:18Z
    // One finding, two risk events: the message is the finding's, substituted.
    EXPECT_EQ(e.risk_message, h.views[i / 2].message);
  }
  EXPECT_EQ(by_type, (std::map<std::string, int>{{"system", 2}, {"user", 2}}));
}

TEST(RiskEvents, Seed000FormScoresFiftyForUserAndSystem) {
  Hunt h = hunt({kSharedDir + "/corpus/seed_rules/remote_process_instantiation_via_wmi.yml"});
  ASSERT_EQ(h.views.size(), 1u);
  ASSERT_EQ(h.events.size(), 2u);
  EXPECT_EQ(h.events[0].risk_object_type, "user");
  EXPECT_EQ(h.events[0].risk_object, kUser);
  EXPECT_EQ(h.events[0].risk_object_field, "user");
  EXPECT_EQ(h.events[1].risk_object_type, "system");
  EXPECT_EQ(h.events[1].risk_object, kHost);
  EXPECT_EQ(h.events[1].risk_object_field, "dest");
  for (auto& e : h.events) {
    EXPECT_EQ(e.risk_score, 50);
    EXPECT_EQ(e.source, "ESCU - Remote Process Instantiation via WMI - Rule");
  }
}

TEST(RiskEvents, SigmaHostAndUserBecomeRiskObjectsAtTheLevelScore) {
  // samples/sigma: level high (70); its events are Sysmon 1 on ws-17 by CONTOSO\alice-style users.
  Hunt h = hunt({std::string(VIGIL_SOURCE_DIR) + "/samples/sigma/proc_creation_win_wmic_remote_create.yml"},
                std::string(VIGIL_SOURCE_DIR) + "/samples/logs");
  ASSERT_FALSE(h.views.empty());
  for (auto& v : h.views) {
    // The rule set names Computer (system), User and SubjectUserName (user) for every Sigma rule.
    ASSERT_GE(v.entities.size(), 1u);
    EXPECT_EQ(v.entities[0].type, "system");
  }
  size_t systems = 0;
  for (auto& e : h.events) {
    EXPECT_EQ(e.risk_score, 70);
    EXPECT_EQ(e.source, "Sigma - " + h.views[0].rule_name + " - Rule");
    EXPECT_NE(e.risk_object, "-");
    systems += e.risk_object_type == "system";
  }
  EXPECT_EQ(systems, h.views.size());
}

TEST(RiskEvents, RiskObjectTypesFollowContentctl) {
  EXPECT_EQ(risk::risk_object_type("User"), "user");
  EXPECT_EQ(risk::risk_object_type("Hostname"), "system");
  EXPECT_EQ(risk::risk_object_type("IP Address"), "system");
  EXPECT_EQ(risk::risk_object_type("Endpoint"), "system");
  EXPECT_EQ(risk::risk_object_type("Process"), "other");
  EXPECT_EQ(risk::risk_object_type("system"), "system");  // rba: form
}

TEST(RiskEvents, JsonCarriesTheRiskDataModelFieldNames) {
  Hunt h = hunt({kSharedDir + "/corpus/seed_rules/remote_process_instantiation_via_wmi.yml"});
  ASSERT_FALSE(h.events.empty());
  std::string j = risk::to_json(h.events[0]);
  for (const char* f : {"\"risk_object\":", "\"risk_object_type\":\"user\"", "\"risk_score\":50", "\"calculated_risk_score\":50",
                        "\"risk_message\":", "\"source\":\"ESCU - Remote Process Instantiation via WMI - Rule\"",
                        "\"search_name\":", "\"annotations.mitre_attack.mitre_technique_id\":[\"T1047\"]",
                        "\"annotations.mitre_attack.mitre_tactic_id\":[\"TA0002\"]",
                        "\"annotations.mitre_attack.mitre_tactic\":[\"execution\"]", "\"analyticstories\":[",
                        "\"threat_object\":[]", "\"threat_object_type\":[]", "\"tag\":[]", "\"_time\":1596268758"})
    EXPECT_NE(j.find(f), std::string::npos) << f << " in " << j;
}

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

// The table's top risk objects come from a tstats over Risk.All_Risk on the second-pass engine; a
// plain loop over the same risk events must give the same totals, for 1 and 2 threads.
TEST(RiskPass, TopObjectsOnTheEngineEqualADirectSum) {
  DiagnosticSink diags(nullptr);
  RuleSet rs({kContentDir, VIGIL_DATA_DIR, false});
  rs.load({kSharedDir + "/corpus/sigma/rules/windows/process_creation"}, diags);
  auto norm = Normalizer::load(std::string(VIGIL_DATA_DIR) + "/normalize");
  ASSERT_TRUE(norm.ok());
  RunOptions ro;
  ro.engine.now = 1.7e9;
  RunResult res = run_rules(executable_rules(rs), rs.atoms(), norm.value(), {kSharedDir + "/data/evtx-attack-samples"}, ro, diags);
  ir::CompiledRule top_rule = rs.compile_query(risk::kTopObjectsSpl, diags);
  ASSERT_TRUE(top_rule.executable) << (top_rule.reasons.empty() ? "" : top_rule.reasons[0]);
  std::vector<std::vector<risk::ObjectTotal>> runs;
  for (unsigned threads : {1u, 2u}) {
    risk::RiskPass rp(&attack());
    for (auto& f : res.findings) rp.add(f, report::describe(f, &attack()));
    EngineOptions eo;
    eo.now = 1.7e9;
    eo.threads = threads;
    eo.batch_records = 64;  // several batches, so partial states are merged
    rp.run({}, &top_rule, rs.atoms(), norm.value(), eo, diags, [](Finding&&) { FAIL() << "no correlation rule ran"; });
    auto direct = risk::top_objects(rp.events());
    ASSERT_GT(rp.events().size(), 200u);  // the samples give hundreds of process-creation findings
    ASSERT_EQ(rp.top().size(), direct.size());
    for (size_t i = 0; i < direct.size(); ++i) {
      EXPECT_EQ(rp.top()[i].object, direct[i].object);
      EXPECT_EQ(rp.top()[i].type, direct[i].type);
      EXPECT_EQ(rp.top()[i].score, direct[i].score);
      EXPECT_EQ(rp.top()[i].events, direct[i].events);
      EXPECT_EQ(rp.top()[i].tactics, direct[i].tactics);
      EXPECT_EQ(rp.top()[i].source_count, direct[i].source_count);
    }
    runs.push_back(rp.top());
  }
  ASSERT_EQ(runs[0].size(), runs[1].size());
  for (size_t i = 0; i < runs[0].size(); ++i) EXPECT_EQ(runs[0][i].object, runs[1][i].object);
}

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

// The contentctl v5 `rba:` form: per-object scores and threat objects. Seed 003's search with its
// observables replaced by an rba block (user 40, dest 60, threat object process_name).
TEST(RiskEvents, RbaFormScoresEachObjectAndCarriesThreatObjects) {
  std::ifstream in(kContentDir + "/detections/endpoint/windows_wmi_process_call_create.yml");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  size_t a = text.find("  observable:\n"), b = text.find("  product:\n");
  ASSERT_TRUE(a != std::string::npos && b != std::string::npos && a < b);
  text.erase(a, b - a);
  text.replace(text.find("name: Windows WMI Process Call Create"), 37, "name: WMI Call Create RBA Form");
  text += "rba:\n  message: rba form on $dest$\n  risk_objects:\n  - field: user\n    type: user\n    score: 40\n"
          "  - field: dest\n    type: system\n    score: 60\n  threat_objects:\n  - field: process_name\n    type: process_name\n";
  std::filesystem::path p = std::filesystem::temp_directory_path() / ("vigil_rba_" + std::to_string(::getpid()) + ".yml");
  std::ofstream(p) << text;
  Hunt h = hunt({p.string()});
  ASSERT_EQ(h.views.size(), 2u);
  ASSERT_EQ(h.events.size(), 4u);
  for (auto& e : h.events) {
    EXPECT_EQ(e.risk_score, e.risk_object_type == "user" ? 40 : 60);
    EXPECT_EQ(e.risk_object, e.risk_object_type == "user" ? kUser : kHost);
    EXPECT_EQ(e.threat_objects, std::vector<std::string>{"WMIC.exe"});  // basename of the Image as logged
    EXPECT_EQ(e.threat_object_types, std::vector<std::string>{"process_name"});
    EXPECT_EQ(e.risk_message, "rba form on " + kHost);
    EXPECT_EQ(e.source, "ESCU - WMI Call Create RBA Form - Rule");
  }
  std::filesystem::remove(p);
}

}  // namespace
}  // namespace vigil
