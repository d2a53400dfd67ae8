// End-to-end tests of the field-aware verbs: coverage, lint's field warnings, search's hints.
//
// Golden sample: two files of ../shared/data/evtx-attack-samples, counted with
// `evtxexport -f xml … | grep -o '<EventID>…'` (all Security channel):
//   Credential Access/ACL_ForcePwd_SPNAdd_User_Computer_Accounts.evtx:
//     1102 ×1, 4662 ×14, 4702 ×4, 4719 ×8, 4738 ×5, 4742 ×1, 5136 ×22  (55 with the file below: 37)
//   Command and Control/DE_RDP_Tunneling_4624.evtx: 4624 ×18
// Five ESCU endpoint rules, with their data sources and ATT&CK tactics (python3 over the rule
// YAMLs and data/attack/enterprise-attack.json):
//   windows_local_administrator_credential_stuffing  Security 4624/4625  credential-access
//     -> runs: 18 events of its sources; it reads Logon_Type, TargetUserName, EventCode, all present.
//   kerberos_pre_authentication_flag_disabled_in_useraccountcontrol  Security 4738  credential-access
//     -> field never present: filter needs MSADChangedAttributes (rendered text; not in the XML).
//   windows_ad_domain_controller_audit_policy_disabled  Security 4719  defense-evasion
//     -> field never present: filter ANDs dest_category (an ES asset lookup) with the rest.
//   clop_ransomware_known_service_name  System 7045  persistence, privilege-escalation
//     -> no events (no System events at all).
//   7zip_commandline_to_smb_share_path  tstats Endpoint.Processes  collection
//     -> no events (no Sysmon 1 / Security 4688 in the sample).
#include <gtest/gtest.h>

#include "../support/cli_run.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;

using vigil::test::CliRun;
using vigil::test::slurp;

CliRun run_cli(const std::string& args) { return vigil::test::run_vigil(args); }

const std::string kShared = VIGIL_SHARED_DIR;
const std::string kEndpoint = kShared + "/corpus/security_content/detections/endpoint/";
const std::string kSamples = kShared + "/data/evtx-attack-samples/";

std::string rules_args() {
  std::string s;
  for (const char* r : {"windows_local_administrator_credential_stuffing", "kerberos_pre_authentication_flag_disabled_in_useraccountcontrol",
                        "windows_ad_domain_controller_audit_policy_disabled", "clop_ransomware_known_service_name",
                        "7zip_commandline_to_smb_share_path"})
    s += " --rules '" + kEndpoint + r + ".yml'";
  return s;
}

std::string logs_args() {
  return " '" + kSamples + "Credential Access/ACL_ForcePwd_SPNAdd_User_Computer_Accounts.evtx' '" + kSamples +
         "Command and Control/DE_RDP_Tunneling_4624.evtx'";
}

bool has(const std::string& s, const std::string& needle) { return s.find(needle) != std::string::npos; }

TEST(CoverageCli, GoldenSmallSampleJson) {
  CliRun r = run_cli("coverage --format json" + rules_args() + logs_args());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "\"events\":73,\"rules\":5,\"can_run\":1,")) << r.out.substr(0, 300);
  EXPECT_TRUE(has(r.out, "\"verdicts\":{\"runs\":1,\"runs_fields_missing\":0,\"field_never_present\":2,\"no_events\":2,"
                         "\"not_executable\":0,\"rejected\":0}"))
      << r.out.substr(0, 300);
  EXPECT_TRUE(has(r.out, "{\"source\":\"Windows Event Log Security 4624 or Windows Event Log Security 4625\",\"events\":18,"
                         "\"rules\":1,\"can_run\":1}"));
  EXPECT_TRUE(has(r.out, "{\"source\":\"Windows Event Log Security 4738\",\"events\":5,\"rules\":1,\"can_run\":0}"));
  EXPECT_TRUE(has(r.out, "{\"source\":\"Windows Event Log Security 4719\",\"events\":8,\"rules\":1,\"can_run\":0}"));
  EXPECT_TRUE(has(r.out, "{\"source\":\"Windows Event Log System 7045\",\"events\":0,\"rules\":1,\"can_run\":0}"));
  EXPECT_TRUE(has(r.out, "{\"source\":\"Endpoint.Processes\",\"events\":0,\"rules\":1,\"can_run\":0}"));
  // Tactics in ATT&CK matrix order.
  EXPECT_TRUE(has(r.out, "\"tactics\":[{\"tactic\":\"Persistence\",\"rules\":1,\"can_run\":0},"
                         "{\"tactic\":\"Privilege Escalation\",\"rules\":1,\"can_run\":0},"
                         "{\"tactic\":\"Defense Evasion\",\"rules\":1,\"can_run\":0},"
                         "{\"tactic\":\"Credential Access\",\"rules\":2,\"can_run\":1},"
                         "{\"tactic\":\"Collection\",\"rules\":1,\"can_run\":0}]"))
      << r.out;
  EXPECT_TRUE(has(r.out, "field MSADChangedAttributes (filter) never occurs in events of Windows Event Log Security 4738"));
  EXPECT_TRUE(has(r.out, "field dest_category (filter) never occurs in events of Windows Event Log Security 4719"));
}

TEST(CoverageCli, TableSummary) {
  CliRun r = run_cli("coverage" + logs_args() + rules_args());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "5 rules over 73 events: 1 can run (0 with fields that never occur), 4 cannot")) << r.out;
  EXPECT_TRUE(has(r.out, "field never present: Kerberos Pre-Authentication Flag Disabled in UserAccountControl"));
}

TEST(CoverageCli, LintReportsFieldWarningsButKeepsRulesExecutable) {
  CliRun r = run_cli("lint --format json '" + kEndpoint + "kerberos_pre_authentication_flag_disabled_in_useraccountcontrol.yml' '" +
                   kEndpoint + "windows_local_administrator_credential_stuffing.yml'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Both stay executable (hunt runs them); the first carries a located field warning.
  EXPECT_TRUE(has(r.out, "\"executable\":true,\"reasons\":[],\"field_warnings\":[{\"field\":\"MSADChangedAttributes\","
                         "\"where\":\"filter\",\"sources\":\"Security 4738\",\"filter_dead\":true"))
      << r.out;
  EXPECT_TRUE(has(r.out, "\"name\":\"Windows Local Administrator Credential Stuffing\",\"language\":\"escu\",\"type\":\"TTP\",\"parsed\":true,"
                         "\"executable\":true,\"reasons\":[],\"field_warnings\":[]}"))
      << r.out;
  EXPECT_TRUE(has(r.err, "2 executable, 0 not executable (0 not parsed); 1 executable with field warnings")) << r.err;
}

// Without the add-on mappings (the tables as they were: only windows.yml), Logon_Type is
// unknown, and lint says so in the words of the issue.
TEST(CoverageCli, LintNamesTheMissingAddOnField) {
  fs::path dir = fs::temp_directory_path() / ("vigil_cov_data_" + std::to_string(::getpid()));
  fs::create_directories(dir / "normalize");
  fs::copy_file(std::string(VIGIL_SOURCE_DIR) + "/data/normalize/windows.yml", dir / "normalize/windows.yml",
                fs::copy_options::overwrite_existing);
  for (auto& e : fs::directory_iterator(std::string(VIGIL_SOURCE_DIR) + "/data"))
    if (e.path().filename() != "normalize" && !fs::exists(dir / e.path().filename()))
      fs::create_directory_symlink(e.path(), dir / e.path().filename());
  CliRun r = run_cli("lint --data '" + dir.string() + "' '" + kEndpoint + "windows_local_administrator_credential_stuffing.yml'");
  EXPECT_TRUE(has(r.out, "executable, with field warnings: Windows Local Administrator Credential Stuffing")) << r.out;
  EXPECT_TRUE(has(r.out, "filter: reads Logon_Type, which no Security 4624 or Security 4625 mapping produces")) << r.out;
  fs::remove_all(dir);
}

// 87 Security 4624 events in the samples; LogonType values counted with evtxexport + grep:
// 3 ×61, 5 ×13, 2 ×4, 9 ×4, 10 ×2, 0 ×1, 7 ×1, 11 ×1.
TEST(CoverageCli, SearchSeesTheAddOnNames) {
  CliRun r = run_cli("search --format csv 'EventCode=4624 | stats count by Logon_Type' '" + kSamples + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Logon_Type,count\n0,1\n2,4\n3,61\n5,13\n7,1\n9,4\n10,2\n11,1\n");
}

TEST(CoverageCli, SearchHintsAtAFieldNoEventHas) {
  CliRun r = run_cli("search --format csv 'EventCode=4624 Logon_type=3' '" + kSamples + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find_first_not_of("\n"), std::string::npos);  // no rows
  EXPECT_TRUE(has(r.err, "no event has field Logon_type; did you mean Logon_Type?")) << r.err;
  // A query with results says nothing of the kind.
  CliRun ok = run_cli("search --format csv 'EventCode=4624 Logon_Type=3 | stats count' '" + kSamples + "'");
  EXPECT_EQ(ok.out, "count\n61\n");
  EXPECT_FALSE(has(ok.err, "no event has field"));
  // `stats count` over no events is one row, 0, as in Splunk; the hint still comes.
  CliRun none = run_cli("search --format csv 'EventCode=4624 Logon_type=3 | stats count' '" + kSamples + "'");
  EXPECT_EQ(none.out, "count\n0\n");
  EXPECT_TRUE(has(none.err, "no event has field Logon_type; did you mean Logon_Type?")) << none.err;
  CliRun by = run_cli("search --format csv 'EventCode=4624 Logon_type=3 | stats count by host' '" + kSamples + "'");
  EXPECT_EQ(by.out.find("count"), std::string::npos) << by.out;  // with BY there is no group: no row
}

// The hints come from what the search itself saw: the logs are read once. They were read a second
// time to find the fields (8.4 s instead of 3.0 s over the samples x41, one thread): strace counts
// the openat calls of the log, 1 whether or not the search finds something. The log's 18 logons are
// 3 of type 3 (evtxexport -f xml, grep -c '<Data Name="LogonType">3<').
TEST(CoverageCli, SearchHintsReadTheLogsOnce) {
  if (std::system("strace -qq -o /dev/null true >/dev/null 2>&1") != 0) GTEST_SKIP() << "strace missing or not allowed";
  const std::string log = kSamples + "Command and Control/DE_RDP_Tunneling_4624.evtx";
  const fs::path trace = fs::temp_directory_path() / ("vigil_opens_" + std::to_string(::getpid()));
  auto opens = [&](const std::string& query, CliRun& r) {
    fs::remove(trace);
    // LeakSanitizer cannot run under ptrace: the sanitizer build's leak check is off for these runs.
    r = vigil::test::run_vigil("search --no-cache --format csv '" + query + "' '" + log + "'",
                               "ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0\" strace -f -qq -e "
                               "trace=openat -o '" + trace.string() + "'");
    std::istringstream in(slurp(trace));
    size_t n = 0;
    for (std::string line; std::getline(in, line);) n += has(line, "DE_RDP_Tunneling_4624.evtx");
    fs::remove(trace);
    return n;
  };
  CliRun none, some;
  EXPECT_EQ(opens("EventCode=4624 Logon_type=3", none), 1u) << none.err;
  EXPECT_EQ(none.exit_code, 0) << none.err;
  EXPECT_TRUE(has(none.err, "no event has field Logon_type; did you mean Logon_Type?")) << none.err;
  EXPECT_EQ(opens("EventCode=4624 Logon_Type=3 | stats count", some), 1u) << some.err;
  EXPECT_EQ(some.out, "count\n3\n");
}

}  // namespace

// Sigma rules that tag techniques newer than the ATT&CK table (a 2025-11 snapshot without T1685 or
// a `defense-impairment` tactic), read from the rule files:
//   proc_creation_win_wmic_service_startup_change  execution, defense-impairment, t1047, t1685
//   win_security_audit_log_cleared                 defense-impairment, t1685.005
// T1047 keeps the table's Execution; T1685 and T1685.005 take Defense Impairment, the tag no known
// technique of their rule has. explain, coverage and the catalog's matrix show them under it.
const std::string kSigmaNewer[] = {
    kShared + "/corpus/sigma/rules/windows/process_creation/proc_creation_win_wmic_service_startup_change.yml",
    kShared + "/corpus/sigma/rules/windows/builtin/security/win_security_audit_log_cleared.yml"};

TEST(CatalogAttack, ANewerTechniqueShowsTheTacticItsRulesTagInExplainCoverageAndTheMatrix) {
  CliRun e = run_cli("explain '" + kSigmaNewer[0] + "'");
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_TRUE(has(e.out, "| Execution | T1047 Windows Management Instrumentation |\n| Defense Impairment | T1685 (not in the ATT&CK table) |")) << e.out;
  CliRun h = run_cli("explain --format html '" + kSigmaNewer[0] + "'");
  ASSERT_EQ(h.exit_code, 0) << h.err;
  EXPECT_TRUE(has(h.out, "<tr><td>Defense Impairment</td><td><a href=\"https://attack.mitre.org/techniques/T1685/\">T1685 "
                         "<span class=\"muted\">(not in the ATT&amp;CK table)</span></a></td></tr>"))
      << h.out;

  CliRun c = run_cli("coverage --format json --rules '" + kSigmaNewer[0] + "' --rules '" + kSigmaNewer[1] + "'" + logs_args());
  ASSERT_EQ(c.exit_code, 0) << c.err;
  // The table's tactics first, in matrix order; then the one it lacks.
  EXPECT_TRUE(has(c.out, "\"tactics\":[{\"tactic\":\"Execution\",\"rules\":1,\"can_run\":0},"
                         "{\"tactic\":\"Defense Impairment\",\"rules\":2,\"can_run\":"))
      << c.out;

  fs::path dir = fs::temp_directory_path() / ("vigil_catalog_newer_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  CliRun k = run_cli("catalog --out '" + dir.string() + "' --rules '" + kSigmaNewer[0] + "' --rules '" + kSigmaNewer[1] + "'");
  ASSERT_EQ(k.exit_code, 0) << k.err;
  const std::string page = slurp(dir / "attack.html");
  auto column = [&](const std::string& head) {
    size_t at = page.find("<h3>" + head);
    if (at == std::string::npos) return std::string();
    return page.substr(at, page.find("</div>", at) - at);
  };
  EXPECT_TRUE(has(column("Execution</h3>"), ">T1047 Windows Management Instrumentation <b>1</b>")) << page;
  const std::string newer = column("Defense Impairment");
  EXPECT_TRUE(has(newer, "(not in the table)")) << page;
  EXPECT_TRUE(has(newer, ">T1685  <b>1</b>")) << newer;
  EXPECT_TRUE(has(newer, ">T1685.005  <b>1</b>")) << newer;
  EXPECT_FALSE(has(page, "(not in the ATT&amp;CK table)")) << page;  // every technique has a column
  fs::remove_all(dir);
}

// A deprecated technique a rule still names (ESCU windows_unsigned_dll_side_loading_in_same_process_path:
// mitre_attack_id T1574.002, which the table marks deprecated, "DLL Side-Loading", under persistence,
// privilege-escalation and defense-evasion) stays under its tactics in the catalog's matrix, marked.
TEST(CatalogAttack, CatalogKeepsADeprecatedTechniqueARuleNamesUnderItsTactics) {
  fs::path dir = fs::temp_directory_path() / ("vigil_catalog_deprecated_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  CliRun k = run_cli("catalog --out '" + dir.string() + "' --rules '" + kEndpoint +
                     "windows_unsigned_dll_side_loading_in_same_process_path.yml'");
  ASSERT_EQ(k.exit_code, 0) << k.err;
  const std::string page = slurp(dir / "attack.html");
  size_t n = 0;
  for (size_t at = page.find(">T1574.002 DLL Side-Loading (deprecated) <b>1</b>"); at != std::string::npos;
       at = page.find(">T1574.002 DLL Side-Loading (deprecated) <b>1</b>", at + 1))
    ++n;
  EXPECT_EQ(n, 3u) << page;  // Persistence, Privilege Escalation, Defense Evasion
  EXPECT_FALSE(has(page, "(not in the ATT&amp;CK table)")) << page;
  fs::remove_all(dir);
}
