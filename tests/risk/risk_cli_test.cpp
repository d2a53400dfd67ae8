// The risk verbs end to end through the real binary: the second pass of a hunt (a user rule over
// datamodel=Risk on the seeds' risk events), the table's risk ending, lint and explain on ESCU's
// Correlation rules and on vigil's incident rules.
//
// Expected numbers come from the rule files: seed 003 gives 2 findings x (user + system) at 25,
// seed 000 one finding x (user + system) at 50, all on ATTACKRANGE\Administrator and
// win-dc-6178966.attackrange.local (see risk_events_test.cpp). Per object: 25 + 25 + 50 = 100
// from 2 distinct sources.
#include <gtest/gtest.h>

#include "../support/cli_run.h"
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace {

namespace fs = std::filesystem;

const std::string kShared = VIGIL_SHARED_DIR;
const std::string kEscu = kShared + "/corpus/security_content/detections";
const std::string kSeed003 = kEscu + "/endpoint/windows_wmi_process_call_create.yml";
const std::string kSeed000 = kShared + "/corpus/seed_rules/remote_process_instantiation_via_wmi.yml";
const std::string kT1047 = kShared + "/data/attack_data/T1047/atomic_red_team/attack_data.tar.gz";

using vigil::test::CliRun;
using vigil::test::slurp;

fs::path scratch() {
  fs::path dir = fs::temp_directory_path() / ("vigil_risk_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir;
}

CliRun vigil(const std::string& args) { return vigil::test::run_vigil(args); }

size_t count(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t at = s.find(needle); at != std::string::npos; at = s.find(needle, at + 1)) ++n;
  return n;
}

// A user correlation rule (ESCU tags form) over the Risk data model.
fs::path write_user_correlation(const std::string& where) {
  fs::path p = scratch() / "user_correlation.yml";
  std::ofstream(p) << "name: Two Detections On One Object\n"
                      "id: 00000000-0000-0000-0000-00000000c0de\n"
                      "type: TTP\n"
                      "search: '| tstats sum(All_Risk.calculated_risk_score) as risk_score dc(source) as source_count "
                      "count from datamodel=Risk.All_Risk by All_Risk.risk_object All_Risk.risk_object_type "
                      "| `drop_dm_object_name(All_Risk)` | where " << where << "'\n"
                      "tags:\n  risk_score: 10\n  message: $risk_object$ has $risk_score$\n"
                      "  observable:\n  - name: risk_object\n    type: Other\n    role: [Victim]\n";
  return p;
}

TEST(RiskHunt, SecondPassRunsAUserRuleOverTheRiskEventsAndDoesNotFeedBack) {
  fs::path rule = write_user_correlation("source_count >= 2 AND risk_score >= 100");
  fs::path risk = scratch() / "risk.jsonl";
  std::string args = "hunt -q --format jsonl --rules " + kSeed003 + " --rules " + kSeed000 + " --rules " + rule.string() +
                     " --risk-out " + risk.string() + " " + kT1047;
  CliRun r = vigil(args + " --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // 3 first-pass findings, then 2 correlation findings (one per object: 100 from 2 sources).
  EXPECT_EQ(count(r.out, "\n"), 5u) << r.out;
  EXPECT_EQ(count(r.out, "\"rule_type\":\"Correlation\""), 2u);
  EXPECT_EQ(count(r.out, "\"rule_name\":\"Two Detections On One Object\""), 2u);
  EXPECT_NE(r.out.find("\"message\":\"ATTACKRANGE\\\\Administrator has 100\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"message\":\"win-dc-6178966.attackrange.local has 100\""), std::string::npos);
  // Risk events: the 3 findings' 6, none from the correlation findings.
  std::string events = slurp(risk);
  EXPECT_EQ(count(events, "\n"), 6u);
  EXPECT_EQ(count(events, "Two Detections"), 0u);
  // The same with one thread.
  CliRun one = vigil(args + " --threads 1");
  EXPECT_EQ(one.out, r.out);
  EXPECT_EQ(slurp(risk), events);
  // A threshold above the data: no correlation finding (the rule decides, not the pass).
  fs::path high = write_user_correlation("risk_score > 100");
  CliRun none = vigil("hunt -q --format jsonl --rules " + kSeed003 + " --rules " + kSeed000 + " --rules " + high.string() +
                      " " + kT1047);
  EXPECT_EQ(count(none.out, "\"rule_type\":\"Correlation\""), 0u);
  EXPECT_EQ(count(none.out, "\n"), 3u);
}

TEST(RiskHunt, TableEndsWithIncidentsAndTopRiskObjects) {
  CliRun r = vigil("hunt -q --format table --incidents --rules " + kSeed003 + " --rules " + kSeed000 + " " + kT1047);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // 100 per object is not above the 24-hour threshold (> 100); 1 tactic is below 3.
  EXPECT_NE(r.out.find("\nIncidents (0)\n  none\n"), std::string::npos) << r.out;
  size_t top = r.out.find("Top risk objects (2 objects, 6 risk events)");
  ASSERT_NE(top, std::string::npos) << r.out;
  // Columns: object, type, total score, detections, tactics (count, names); spaces collapsed.
  std::string tail;
  for (char ch : r.out.substr(top))
    if (ch != ' ' || tail.empty() || tail.back() != ' ') tail += ch;
  EXPECT_NE(tail.find("\n ATTACKRANGE\\Administrator user 100 2 1 execution\n"), std::string::npos) << tail;
  EXPECT_NE(tail.find("\n win-dc-6178966.attackrange.local system 100 2 1 execution\n"), std::string::npos) << tail;
}

TEST(RiskHunt, UserCorrelationWithoutIncidentsEndsWithTopObjectsOnly) {
  fs::path rule = write_user_correlation("source_count >= 2");
  CliRun r = vigil("hunt -q --format table --rules " + kSeed003 + " --rules " + kSeed000 + " --rules " + rule.string() +
                   " " + kT1047);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("Incidents ("), std::string::npos) << r.out;  // the incident rules did not run
  EXPECT_NE(r.out.find("Top risk objects (2 objects, 6 risk events)"), std::string::npos) << r.out;
  EXPECT_EQ(count(r.out, "Two Detections On One Object"), 2u) << r.out;  // in the findings timeline
}

TEST(RiskHunt, RiskOutWithoutCorrelationsKeepsTheTableAsItWas) {
  fs::path risk = scratch() / "risk_only.jsonl";
  CliRun r = vigil("hunt -q --format table --risk-out " + risk.string() + " --rules " + kSeed003 + " " + kT1047);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("Top risk objects"), std::string::npos);
  EXPECT_EQ(count(slurp(risk), "\n"), 4u);
}

// Risk events stream to the second pass and to --risk-out as findings come (none is kept); on
// stdout they follow the findings as one block, the same lines as in a file.
TEST(RiskHunt, RiskOutToStdoutFollowsTheFindingsAndEqualsTheFile) {
  fs::path rule = write_user_correlation("source_count >= 2 AND risk_score >= 100");
  fs::path risk = scratch() / "risk_stdout.jsonl";
  const std::string rules = " --rules " + kSeed003 + " --rules " + kSeed000 + " --rules " + rule.string() + " ";
  CliRun file = vigil("hunt -q --format jsonl" + rules + "--risk-out " + risk.string() + " " + kT1047);
  ASSERT_EQ(file.exit_code, 0) << file.err;
  CliRun both = vigil("hunt -q --format jsonl" + rules + "--risk-out - " + kT1047);
  ASSERT_EQ(both.exit_code, 0) << both.err;
  // 3 findings, 2 correlation findings, then the 6 risk events (2 objects x 3 findings).
  EXPECT_EQ(both.out, file.out + slurp(risk));
  EXPECT_EQ(count(both.out, "\n"), 11u);
}

// A user correlation rule named `name`, in `file`, whose tstats filters the risk events (`where` inside
// the tstats).
fs::path write_filtered_correlation(const std::string& file, const std::string& name, const std::string& filter) {
  fs::path p = scratch() / file;
  std::ofstream(p) << "name: " << name << "\n"
                      "id: 00000000-0000-0000-0000-00000000c0df\n"
                      "type: TTP\n"
                      "search: '| tstats sum(All_Risk.calculated_risk_score) as risk_score dc(source) as source_count "
                      "count from datamodel=Risk.All_Risk where " << filter << " by All_Risk.risk_object "
                      "All_Risk.risk_object_type | `drop_dm_object_name(All_Risk)`'\n"
                      "tags:\n  risk_score: 10\n  message: $risk_object$ has $risk_score$ from $source_count$\n"
                      "  observable:\n  - name: risk_object\n    type: Other\n    role: [Victim]\n";
  return p;
}

// The correlation findings among a hunt's JSON lines, in order.
std::string correlation_lines(const std::string& out) {
  std::string kept;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);)
    if (line.find("\"rule_type\":\"Correlation\"") != std::string::npos) kept += line + "\n";
  return kept;
}

// The correlation rules' filters here read only what all risk events of one rule share (source,
// stories, ATT&CK) and the risk-object type, so the risk events of a rule and type that no filter
// admits never reach the second pass's engine; one filter reading a per-finding field (the score)
// sends every event there. The correlation findings are the same either way. Expected, from the
// rule files: seed 003's 2 findings x (user + system) at 25 give 50 per object from 1 source; seed
// 000's 1 finding x 2 objects (2 events) is not the filtered source.
TEST(RiskHunt, RiskEventsNoFilterAdmitsSkipTheSecondPassAndChangeNothing) {
  const std::string wmi = "source=\"ESCU - Windows WMI Process Call Create - Rule\"";
  fs::path by_source = write_filtered_correlation("by_source.yml", "WMI Detections", wmi);
  fs::path by_score = write_filtered_correlation("by_score.yml", "WMI Detections", "All_Risk.risk_score>0 " + wmi);
  const std::string rules = " --rules " + kSeed003 + " --rules " + kSeed000 + " ";
  CliRun skipped = vigil("hunt -q --profile --format jsonl" + rules + "--rules " + by_source.string() + " " + kT1047);
  ASSERT_EQ(skipped.exit_code, 0) << skipped.err;
  EXPECT_NE(skipped.err.find("profile: 6 risk events, 4 of them handed to the correlation rules"), std::string::npos) << skipped.err;
  EXPECT_EQ(count(skipped.out, "\"rule_type\":\"Correlation\""), 2u) << skipped.out;
  EXPECT_NE(skipped.out.find("\"message\":\"ATTACKRANGE\\\\Administrator has 50 from 1\""), std::string::npos) << skipped.out;
  EXPECT_NE(skipped.out.find("\"message\":\"win-dc-6178966.attackrange.local has 50 from 1\""), std::string::npos);
  CliRun all = vigil("hunt -q --profile --format jsonl" + rules + "--rules " + by_score.string() + " " + kT1047);
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_NE(all.err.find("profile: 6 risk events, 6 of them handed to the correlation rules"), std::string::npos) << all.err;
  EXPECT_EQ(correlation_lines(skipped.out), correlation_lines(all.out));
}

// ESCU's own correlation rules over the EVTX samples with both corpora: the second pass left out
// most risk events (Sigma's meet none of their filters), and a rule reading a per-finding field
// (never true: it adds no finding) makes it take them all; ESCU's correlation findings are the
// same byte for byte.
TEST(RiskHunt, EscuCorrelationFindingsAreTheSameWithRiskEventsLeftOut) {
  const std::string samples = (fs::path(kShared) / "data/evtx-attack-samples").string();
  fs::path never = write_filtered_correlation("never.yml", "Never", "All_Risk.risk_score>1000000");
  const std::string args = "hunt -q --profile --format jsonl --now 2026-06-01T00:00:00Z --rules " +
                           (fs::path(kShared) / "corpus/sigma/rules").string() + " --rules " +
                           (fs::path(kEscu) / "endpoint").string() + " ";
  CliRun skipped = vigil(args + samples);
  ASSERT_EQ(skipped.exit_code, 0) << skipped.err;
  CliRun all = vigil(args + "--rules " + never.string() + " " + samples);
  ASSERT_EQ(all.exit_code, 0) << all.err;
  auto risk_line = [](const std::string& err) {  // "profile: N risk events, M of them handed to …"
    std::istringstream in(err);
    for (std::string line; std::getline(in, line);)
      if (line.rfind("profile: ", 0) == 0 && line.find(" risk events, ") != std::string::npos) return line;
    return std::string();
  };
  unsigned long events = 0, correlated = 0, events_all = 0, correlated_all = 0;
  ASSERT_EQ(std::sscanf(risk_line(skipped.err).c_str(), "profile: %lu risk events, %lu", &events, &correlated), 2)
      << skipped.err;
  ASSERT_EQ(std::sscanf(risk_line(all.err).c_str(), "profile: %lu risk events, %lu", &events_all, &correlated_all), 2)
      << all.err;
  EXPECT_EQ(events, events_all);
  EXPECT_EQ(correlated_all, events_all);
  EXPECT_LT(correlated * 2, events) << "most risk events are Sigma findings' and meet no ESCU correlation filter";
  EXPECT_FALSE(correlation_lines(skipped.out).empty()) << "ESCU correlation rules fire on the samples";
  EXPECT_EQ(correlation_lines(skipped.out), correlation_lines(all.out));
  EXPECT_EQ(count(all.out, "\"rule_name\":\"Never\""), 0u);
}

// An unwritable --risk-out stops the hunt before it reads anything, naming the path.
// A Sigma rule that tags a technique newer than the ATT&CK table (T1685, tactic defense-impairment;
// the table is a 2025-11 snapshot without either): its finding and its risk events keep the tactic
// the rule states, beside T1047's from the table. The rule's regression EVTX holds one matching
// process creation (its info.yml), on one host and one user: two risk events.
TEST(RiskHunt, ATacticNewerThanTheTableIsKeptFromTheRuleTags) {
  const std::string dir = kShared + "/corpus/sigma/regression_data/rules/windows/process_creation/"
                          "proc_creation_win_wmic_service_startup_change";
  auto r = vigil("hunt -q --format jsonl --risk-out - --rules " + kShared +
                 "/corpus/sigma/rules/windows/process_creation/proc_creation_win_wmic_service_startup_change.yml " + dir +
                 "/c0514f28-fdae-42df-b886-06e2b2bc5b37.evtx");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(count(r.out, "\"rule_name\":"), 1u) << r.out;
  EXPECT_NE(r.out.find("\"mitre_attack\":[{\"id\":\"T1047\",\"name\":\"Windows Management Instrumentation\","
                       "\"tactics\":[\"Execution\"]},{\"id\":\"T1685\",\"name\":null,\"tactics\":[\"Defense Impairment\"]}]"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(count(r.out, "\"annotations.mitre_attack.mitre_tactic\":[\"execution\",\"defense-impairment\"]"), 2u) << r.out;
  // Only the table's tactic has an id to give.
  EXPECT_EQ(count(r.out, "\"annotations.mitre_attack.mitre_tactic_id\":[\"TA0002\"]"), 2u) << r.out;
}

TEST(RiskHunt, UnwritableRiskOutFailsBeforeTheHunt) {
  const std::string bad = (scratch() / "no_such_dir" / "risk.jsonl").string();
  CliRun r = vigil("hunt --format jsonl --rules " + kSeed003 + " --risk-out " + bad + " " + kT1047);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(bad), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("cannot write risk events"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");  // no finding written
}

// A hunt that fails after --risk-out was opened (here: no ClickHouse listens on 127.0.0.1:1) leaves
// neither a truncated risk file nor its .part, and an earlier risk file stays as it was.
TEST(RiskHunt, FailedHuntLeavesNoPartialRiskFile) {
  const fs::path risk = scratch() / "failed_risk.jsonl";
  fs::remove(risk);
  CliRun r = vigil("hunt --format jsonl --rules " + kSeed003 + " --risk-out " + risk.string() +
                   " --clickhouse http://127.0.0.1:1");
  EXPECT_EQ(r.exit_code, 3) << r.err;  // nothing ran: the connection was refused, not a usage error
  EXPECT_NE(r.err.find("127.0.0.1:1"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(risk));
  EXPECT_FALSE(fs::exists(risk.string() + ".part"));
  std::ofstream(risk) << "earlier\n";
  r = vigil("hunt --format jsonl --rules " + kSeed003 + " --risk-out " + risk.string() +
            " --clickhouse http://127.0.0.1:1");
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(vigil::test::slurp(risk), "earlier\n");
  EXPECT_FALSE(fs::exists(risk.string() + ".part"));
}

TEST(RiskLint, AllThirteenEscuCorrelationRulesAreExecutableWithTheirFields) {
  std::string files;
  for (const char* f : {"web/proxyshell_proxynotshell_behavior_detected.yml", "application/okta_risk_threshold_exceeded.yml",
                        "endpoint/windows_modify_registry_risk_behavior.yml", "endpoint/windows_post_exploitation_risk_behavior.yml",
                        "endpoint/log4shell_cve_2021_44228_exploitation.yml", "endpoint/living_off_the_land_detection.yml",
                        "endpoint/active_directory_lateral_movement_identified.yml",
                        "endpoint/steal_or_forge_authentication_certificates_behavior_identified.yml",
                        "endpoint/active_directory_privilege_escalation_identified.yml",
                        "endpoint/windows_common_abused_cmd_shell_risk_behavior.yml",
                        "endpoint/linux_persistence_and_privilege_escalation_risk_behavior.yml",
                        "cloud/aws_s3_exfiltration_behavior_identified.yml", "cloud/risk_rule_for_dev_sec_ops_by_repository.yml"})
    files += " " + kEscu + "/" + f;
  CliRun r = vigil("lint --format json" + files);
  EXPECT_EQ(count(r.out, "\"type\":\"Correlation\""), 13u) << r.out;
  EXPECT_EQ(count(r.out, "\"executable\":true"), 13u) << r.out;
  EXPECT_EQ(count(r.out, "\"field_warnings\":[]"), 13u) << r.out;
  // Field checks do run against the Risk mapping: a field it does not define is named.
  fs::path bad = write_user_correlation("risk_score > 1");
  std::string text = slurp(bad);
  text.replace(text.find("dc(source)"), 10, "dc(All_Risk.no_such_field)");
  std::ofstream(bad) << text;
  CliRun b = vigil("lint --format json " + bad.string());
  EXPECT_NE(b.out.find("no_such_field"), std::string::npos) << b.out;
}

TEST(RiskLint, IncidentRulesAreExecutableEscuCorrelations) {
  CliRun r = vigil(std::string("lint --format json ") + VIGIL_DATA_DIR + "/risk/incidents");
  EXPECT_EQ(count(r.out, "\"type\":\"Correlation\""), 2u) << r.out;
  EXPECT_EQ(count(r.out, "\"executable\":true"), 2u) << r.out;
  EXPECT_EQ(count(r.out, "\"field_warnings\":[]"), 2u) << r.out;
}

TEST(RiskExplain, CorrelationRuleShowsItsRiskDataModelStage) {
  CliRun r = vigil("explain " + kEscu + "/endpoint/living_off_the_land_detection.yml");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("- source: datamodel Risk.All_Risk"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| vigil risk events | Risk.All_Risk |"), std::string::npos);
  EXPECT_NE(r.out.find("All_Risk.analyticstories = Living Off The Land AND All_Risk.risk_object_type = system"),
            std::string::npos);
  CliRun inc = vigil(std::string("explain ") + VIGIL_DATA_DIR +
                     "/risk/incidents/risk_threshold_exceeded_for_object_over_24_hours.yml");
  EXPECT_NE(inc.out.find("- source: datamodel Risk.All_Risk"), std::string::npos) << inc.out;
  EXPECT_NE(inc.out.find("where risk_score > 100"), std::string::npos);
}

// hunt --clickhouse runs the rules that read datamodel=Risk in its second pass, over its own risk
// events: lint, explain and sql --clickhouse say so and do not count them as cluster streams
// (before, lint counted ESCU endpoint's 9 Correlation rules as 9 more tstats aggregated locally).
TEST(RiskLint, CorrelationRulesAreSecondPassForClickhouse) {
  const std::string corr = kEscu + "/endpoint/living_off_the_land_detection.yml";
  const std::string wanted = "runs locally: it reads datamodel=Risk, so hunt runs it in its second pass";
  CliRun l = vigil("lint --clickhouse " + corr + " " + kSeed003);
  ASSERT_EQ(l.exit_code, 0) << l.err;
  EXPECT_NE(l.out.find("clickhouse: " + wanted), std::string::npos) << l.out;
  // Seed 003: one tstats stream, pushed; the Correlation rule: none counted, one in the second pass.
  EXPECT_NE(l.out.find("clickhouse: 1 tstats aggregations on the cluster, 0 locally, 1 rules in the second pass"),
            std::string::npos)
      << l.out;
  CliRun e = vigil("explain --format sql " + corr);
  EXPECT_NE(e.out.find("-- " + wanted), std::string::npos) << e.out;
  EXPECT_EQ(e.out.find("SELECT"), std::string::npos) << e.out;
  CliRun q = vigil("sql --batch " + corr + " " + kSeed003);
  ASSERT_EQ(q.exit_code, 0) << q.err;
  EXPECT_NE(q.out.find("-- " + wanted), std::string::npos) << q.out;
  EXPECT_NE(q.out.find("-- 1 rules,"), std::string::npos) << q.out;  // the batch holds seed 003 only
}

}  // namespace
