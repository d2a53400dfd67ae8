// End-to-end tests of the vigil binary: the bundled demo, bad input handling,
// and lint over the whole ESCU corpus.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../support/cli_run.h"
#include "../support/live_run.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

namespace {

namespace fs = std::filesystem;

using vigil::test::CliRun;
using vigil::test::slurp;

CliRun vigil(const std::string& args, const std::string& env = "") { return vigil::test::run_vigil(args, env); }

size_t count_lines(const std::string& s, const std::string& needle = "") {
  size_t n = 0;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && (needle.empty() || line.find(needle) != std::string::npos)) ++n;
  return n;
}

// The bundled demo (README command 1): samples/ are our own files. Expected findings, worked out
// by reading the sample events against the sample rules:
//  - Sample WMIC Remote Process Create (tstats): ws-17 record 102, srv-02 4688 record 7001, ws-22 NXLog 301 -> 3
//  - Sample Encoded PowerShell From Cmd (raw sysmon search + stats by host User): record 106 -> 1
//  - WMIC Remote Process Creation (Sigma, process_creation): the same three WMIC events -> 3
// and the deliberately truncated NXLog line is reported and counted as skipped.
TEST(Cli, BundledDemo) {
  CliRun r = vigil("hunt --rules samples/content/detections --rules samples/sigma --format jsonl samples/logs");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(count_lines(r.out), 7u) << r.out << r.err;
  EXPECT_EQ(count_lines(r.out, "\"rule_name\":\"Sample WMIC Remote Process Create\""), 3u);
  EXPECT_EQ(count_lines(r.out, "\"rule_name\":\"Sample Encoded PowerShell From Cmd\""), 1u);
  EXPECT_EQ(count_lines(r.out, "\"rule_language\":\"sigma\""), 3u);
  EXPECT_NE(r.out.find("\"message\":\"WMIC process wmic /node:10.0.4.21 process call create"), std::string::npos);
  EXPECT_NE(r.err.find("nxlog_ws22.jsonl:2"), std::string::npos) << r.err;  // the truncated line, by line number
  // 6 Sysmon XML + 3 Security XML + 3 NXLog lines = 12 records read, 1 skipped, 11 evaluated.
  EXPECT_NE(r.err.find("records read 12, evaluated 11, skipped 1"), std::string::npos) << r.err;
}

// Rule texts are kept in one bundle between runs (core/source_cache.h): the second run reads the
// bundle, gets the same findings, and a rule edited since is read again (its new title shows).
TEST(Cli, RuleTextsAreBundledBetweenRunsAndAnEditedRuleIsReadAgain) {
  fs::path dir = fs::temp_directory_path() / ("vigil_bundle_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "rules");
  std::string rule = slurp(std::string(VIGIL_SOURCE_DIR) + "/samples/sigma/proc_creation_win_wmic_remote_create.yml");
  std::ofstream(dir / "rules" / "r.yml") << rule;
  // Files changed in the last 2 s are never bundled (their stamp could still change unseen).
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  std::string env = "XDG_CACHE_HOME='" + (dir / "xdg").string() + "'";
  std::string args = "--format jsonl --rules '" + (dir / "rules").string() + "' samples/logs/sysmon_ws17.xml";
  CliRun plain = vigil("hunt --no-cache " + args, env);
  EXPECT_FALSE(fs::exists(dir / "xdg")) << "--no-cache writes nothing";
  CliRun first = vigil("hunt " + args, env);
  ASSERT_TRUE(fs::is_directory(dir / "xdg" / "vigil"));
  size_t bundles = 0;
  for (auto& e : fs::directory_iterator(dir / "xdg" / "vigil")) bundles += e.path().extension() == ".bin";
  EXPECT_EQ(bundles, 1u);
  CliRun second = vigil("hunt " + args, env);
  // One WMIC process creation in the Sysmon sample (record 102) matches the sample Sigma rule.
  EXPECT_EQ(count_lines(plain.out, "\"rule_name\":\"WMIC Remote Process Creation (vigil sample)\""), 1u) << plain.err;
  EXPECT_TRUE(first.out == plain.out) << first.err;
  EXPECT_TRUE(second.out == plain.out) << second.err;
  std::string renamed = rule;
  renamed.replace(renamed.find("(vigil sample)"), 14, "(edited rule!)");
  std::ofstream(dir / "rules" / "r.yml", std::ios::trunc) << renamed;  // same size, just written
  CliRun edited = vigil("hunt " + args, env);
  EXPECT_EQ(count_lines(edited.out, "\"rule_name\":\"WMIC Remote Process Creation (edited rule!)\""), 1u) << edited.err;
  fs::remove_all(dir);
}

// Bad input: a truncated XML record, an invalid JSON line, a binary file and an empty file are each
// reported and counted while the good records around them still produce their findings.
TEST(Cli, BadInputIsReportedAndCounted) {
  fs::path dir = fs::temp_directory_path() / ("vigil_bad_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string good_xml = slurp(fs::path(VIGIL_SOURCE_DIR) / "samples/logs/security_srv02.xml");
  // Keep the first (WMIC) event, then a truncated copy of the second, then the third.
  std::istringstream lines(good_xml);
  std::vector<std::string> ev;
  for (std::string l; std::getline(lines, l);) ev.push_back(l);
  ASSERT_EQ(ev.size(), 3u);
  std::ofstream(dir / "a_events.xml") << ev[0] << "\n" << ev[1].substr(0, ev[1].size() / 2) << "\n" << ev[2] << "\n";
  std::string nx = slurp(fs::path(VIGIL_SOURCE_DIR) / "samples/logs/nxlog_ws22.jsonl");
  std::ofstream(dir / "b_events.jsonl") << nx << "{\"EventID\": 1, oops}\n";
  std::ofstream(dir / "c_random.bin", std::ios::binary) << std::string("\x00\x01\x02\xff\xfe binary \x7f\x80", 16);
  std::ofstream(dir / "d_empty.json");
  CliRun r = vigil("hunt --rules samples/sigma --format jsonl '" + dir.string() + "'");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // Good WMIC records: the 4688 event of a_events.xml and NXLog record 301 -> 2 Sigma findings.
  EXPECT_EQ(count_lines(r.out), 2u) << r.out << r.err;
  EXPECT_NE(r.err.find("a_events.xml:2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("b_events.jsonl:2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("b_events.jsonl:4"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("c_random.bin"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("d_empty.json"), std::string::npos) << r.err;
  // 3 XML + 4 JSON lines read; 3 skipped; 2 files (binary, empty) skipped.
  EXPECT_NE(r.err.find("records read 7, evaluated 4, skipped 3"), std::string::npos) << r.err;
  // Input-level reasons beside the input count, record-level ones beside the records.
  EXPECT_NE(r.err.find("files 4 (2 skipped: 1 empty-file, 1 unrecognised-format)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("skipped 3 (2 bad-json, 1 bad-xml)"), std::string::npos) << r.err;
  // --strict turns rejected input into exit code 1.
  CliRun s = vigil("hunt --strict --rules samples/sigma --format jsonl '" + dir.string() + "'");
  EXPECT_EQ(s.exit_code, 1);
  fs::remove_all(dir);
}

TEST(Cli, UsageErrorsExitTwo) {
  EXPECT_EQ(vigil("hunt samples/logs").exit_code, 2);  // --rules missing
  EXPECT_EQ(vigil("frobnicate").exit_code, 2);
  EXPECT_EQ(vigil("search '| tstats count from' samples/logs").exit_code, 2);
}

}  // namespace

namespace {

// Every ESCU detection goes through lint: each is parsed or rejected with a location. Measured on
// this corpus snapshot: all 1,711 searches parse after macro expansion (spl.md §1 counts 1,711
// detection files); the JSON report has one object per rule with the documented keys.
TEST(Cli, LintWholeEscuCorpus) {
  CliRun r = vigil("lint --format json ../shared/corpus/security_content/detections");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(count_lines(r.out), 1711u);
  EXPECT_EQ(count_lines(r.out, "\"parsed\":true"), 1711u);
  for (const char* key : {"\"path\":", "\"id\":", "\"name\":", "\"language\":\"escu\"", "\"parsed\":", "\"executable\":",
                          "\"reasons\":"})
    EXPECT_EQ(count_lines(r.out, key), 1711u) << key;
  size_t executable = count_lines(r.out, "\"executable\":true");
  std::printf("lint: 1711 parsed, %zu executable\n", executable);
  EXPECT_NE(r.err.find("rules loaded 1711 (1711 escu, 0 sigma): "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" not executable (0 not parsed)"), std::string::npos) << r.err;
  // A rejected or non-executable rule always says why.
  EXPECT_EQ(count_lines(r.out, "\"executable\":false,\"reasons\":[]"), 0u);
}

// Issue 4's bar: at least 95% of the 1,175 endpoint detections executable (every stage implemented,
// every lookup present or empty by definition); the rest name their reason.
TEST(Cli, LintEndpointDetectionsExecutable) {
  CliRun r = vigil("lint --format json ../shared/corpus/security_content/detections/endpoint");
  EXPECT_EQ(count_lines(r.out), 1175u);
  size_t executable = count_lines(r.out, "\"executable\":true");
  std::printf("endpoint: %zu / 1175 executable (%.1f%%)\n", executable, 100.0 * executable / 1175);
  EXPECT_GE(executable, 1117u);  // 95% of 1,175, rounded up
}

// A malformed rule is rejected with file:line:col and the rest still load.
TEST(Cli, LintReportsLocatedErrors) {
  fs::path dir = fs::temp_directory_path() / ("vigil_lint_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "bad_yaml.yml") << "name: x\nsearch: [unclosed, \n  - bad: {\n";
  std::ofstream(dir / "bad_spl.yml") << "name: Bad SPL\nid: 1\ntype: TTP\ntags: {risk_score: 1}\n"
                                        "search: '| tstats count from datamodel=Endpoint.Processes where (a=1 | stats count'\n";
  std::ofstream(dir / "good.yml") << "name: Good\nid: 2\ntype: TTP\ntags: {risk_score: 1}\n"
                                     "search: '| tstats count from datamodel=Endpoint.Processes where Processes.process_name=x.exe by Processes.dest'\n";
  CliRun r = vigil("lint '" + dir.string() + "'");
  EXPECT_NE(r.out.find("bad_yaml.yml:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bad_spl.yml:5: rejected: Bad SPL"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("missing ')' (search line 1, column"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("good.yml"), std::string::npos) << r.out;  // only problems are listed
  EXPECT_NE(r.out.find("rules loaded 3 (3 escu, 0 sigma): 1 executable, 2 not executable (2 not parsed)"), std::string::npos) << r.out;
  fs::remove_all(dir);
}

}  // namespace

namespace {

// A folder of small EVTX files (a triage collection): with threads, the workers read whole files
// themselves; the records, their order and the counts are those of one thread.
// 7,455 records: what evtxexport finds in the same files (EvtxCorpus.AttackSamplesMatchEvtxexport).
TEST(CliDump, FolderOfSmallEvtxFilesIsTheSameForAnyThreadCount) {
  const char* dir = "../shared/data/evtx-attack-samples";
  if (!fs::exists(std::string(VIGIL_SOURCE_DIR) + "/" + dir)) GTEST_SKIP() << dir << " not present";
  CliRun one = vigil(std::string("dump --format jsonl --threads 1 ") + dir);
  CliRun two = vigil(std::string("dump --format jsonl --threads 2 ") + dir);
  ASSERT_EQ(one.exit_code, 0) << one.err;
  ASSERT_EQ(two.exit_code, 0) << two.err;
  EXPECT_EQ(std::count(one.out.begin(), one.out.end(), '\n'), 7455);
  EXPECT_TRUE(one.out == two.out);
  // Diagnostics and summary in the same order; only the elapsed time at the end may differ.
  auto no_time = [](const std::string& e) { return std::regex_replace(e, std::regex("; [0-9.]+s\n"), "\n"); };
  EXPECT_EQ(no_time(one.err), no_time(two.err));
  EXPECT_NE(one.err.find("records read 7455, evaluated 7455, skipped 0"), std::string::npos) << one.err;
}

}  // namespace

namespace {

// A triage folder of small files, some of them bad, beside one large input: with threads the
// workers read the small files themselves and the caller reads the large one, so that every core
// reads. What comes out (records, findings, every diagnostic in order, the counts) is what one
// thread gives, and a bad file is still named and counted.
TEST(CliDump, SmallFilesReadByTheWorkersGiveWhatOneThreadGives) {
  const std::string shared = std::string(VIGIL_SOURCE_DIR) + "/../shared/data";
  const std::string big = shared + "/otrf/compound/LSASS_campaign_03/metasploit_comsvcs_lsass_memory_dump.zip";
  const std::string evtx = shared + "/evtx-attack-samples/Execution/rogue_msi_url_1040_1042.evtx";
  if (!fs::exists(big) || !fs::exists(evtx)) GTEST_SKIP() << "../shared/data not present";
  ASSERT_GT(fs::file_size(big), 2u << 20);  // above the size the workers read (engine/run.cpp, cmd_dump.cpp)
  fs::path dir = fs::temp_directory_path() / ("vigil_units_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const char* f : {"nxlog_ws22.jsonl", "security_srv02.xml", "sysmon_ws17.xml"})
    fs::copy_file(std::string(VIGIL_SOURCE_DIR) + "/samples/logs/" + f, dir / (std::string("a_") + f));
  std::ofstream(dir / "b_notes.txt") << "not a log\n";
  std::ofstream(dir / "c_empty.evtx");
  std::string bytes = slurp(evtx);
  std::ofstream(dir / "d_cut.evtx", std::ios::binary) << bytes.substr(0, 4096 + 65536 + 30000);
  fs::copy_file(evtx, dir / "e_whole.evtx");
  fs::create_symlink(big, dir / "f_big.zip");
  for (int i = 0; i < 3; ++i) fs::copy_file(evtx, dir / ("g_copy" + std::to_string(i) + ".evtx"));

  auto no_time = [](const std::string& e) { return std::regex_replace(e, std::regex("; [0-9.]+s\n"), "\n"); };
  const std::string d = dir.string();
  for (std::string verb : {"dump --format jsonl", "hunt --format jsonl --rules samples/sigma --rules samples/content/detections"}) {
    CliRun one = vigil(verb + " --verbose --threads 1 " + d);
    CliRun two = vigil(verb + " --verbose --threads 2 " + d);
    EXPECT_EQ(one.exit_code, two.exit_code) << verb;
    EXPECT_TRUE(one.out == two.out) << verb;
    EXPECT_EQ(no_time(one.err), no_time(two.err)) << verb;
    // The bad pieces are named: the cut NXLog line by its line, the text file, the empty file, the cut EVTX.
    EXPECT_NE(two.err.find("a_nxlog_ws22.jsonl:2"), std::string::npos) << two.err;
    EXPECT_NE(two.err.find("b_notes.txt"), std::string::npos) << two.err;
    EXPECT_NE(two.err.find("c_empty.evtx"), std::string::npos) << two.err;
    EXPECT_NE(two.err.find("d_cut.evtx"), std::string::npos) << two.err;
    // 11 inputs (3 samples, 5 EVTX, the text file, the empty one, the archive's one member): the text
    // file and the empty one are skipped.
    EXPECT_NE(two.err.find("summary: files 11 (2 skipped"), std::string::npos) << two.err;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(two.err, m, std::regex("records read ([0-9]+), evaluated ([0-9]+), skipped ([0-9]+)")))
        << two.err;
    EXPECT_EQ(std::stoull(m[1]), std::stoull(m[2]) + std::stoull(m[3]));
    EXPECT_GE(std::stoull(m[3]), 1u);
  }
  CliRun dump = vigil("dump --format jsonl --threads 2 " + d);
  // The big archive's records come between the small files' records, in file order.
  size_t at_big = dump.out.find("f_big.zip"), at_copy = dump.out.find("g_copy0.evtx"), at_whole = dump.out.find("e_whole.evtx");
  EXPECT_LT(at_whole, at_big);
  EXPECT_LT(at_big, at_copy);
  EXPECT_NE(at_copy, std::string::npos);
  fs::remove_all(dir);
}

}  // namespace

namespace {

// Sigma keywords search the values of the raw view, not the XML renderings of them
// (EventData_Xml): markup is no keyword hit, and the same holds whether the prefilter decides
// (eight or more keyword atoms, warm-up 0) or every atom is tested.
// exec_sysmon_1_lolbin_pcalua.evtx has 3 events (evtxexport -f xml); 'pcalua.exe' is in the
// Image/CommandLine values of 2 of them (the process and its child's ParentImage); every event's
// XML has `<Data Name=` and the xmlns URL, which are in no value. Nor are Splunk's default fields of
// where an event is kept (Field::metadata: `index` main, `sourcetype` XmlWinEventLog, `source`
// XmlWinEventLog:Microsoft-Windows-Sysmon/Operational), which `grep -i` finds nowhere in evtxexport's
// XML of the file: 'XmlWinEventLog' matched all 3 events before stop 71.
TEST(CliHunt, KeywordsSearchFieldValuesNotTheirXmlRendering) {
  const std::string evtx =
      std::string(VIGIL_SOURCE_DIR) + "/../shared/data/evtx-attack-samples/Execution/exec_sysmon_1_lolbin_pcalua.evtx";
  if (!fs::exists(evtx)) GTEST_SKIP() << "../shared/data not present";
  fs::path dir = fs::temp_directory_path() / ("vigil_keywords_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto rule = [&](const std::string& name, char id, const std::vector<std::string>& words) {
    std::ofstream r(dir / (name + ".yml"));
    r << "title: " << name << "\nid: " << std::string(8, id) << "-1111-1111-1111-111111111111"
      << "\nlogsource:\n  product: windows\ndetection:\n  keywords:\n";
    for (auto& w : words) r << "    - '" << w << "'\n";
    r << "  condition: keywords\nlevel: low\n";
  };
  rule("Values", 'a', {"pcalua.exe", "zzq-absent-1", "zzq-absent-2", "zzq-absent-3"});
  rule("Markup", 'b', {"Data Name", "EventData", "<Data", "schemas.microsoft.com/win/2004", "</Data>"});
  rule("Metadata", 'c', {"main", "XmlWinEventLog", "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational"});
  for (const char* env : {"VIGIL_PREFILTER_WARMUP=0", "VIGIL_NO_PREFILTER=1"}) {
    CliRun r = vigil("hunt --no-cache --format jsonl --rules " + dir.string() + " " + evtx, env);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(count_lines(r.out, "\"rule_name\":\"Values\""), 2u) << env << "\n" << r.err;
    EXPECT_EQ(count_lines(r.out, "\"rule_name\":\"Markup\""), 0u) << env;
    EXPECT_EQ(count_lines(r.out, "\"rule_name\":\"Metadata\""), 0u) << env;
    EXPECT_NE(r.err.find("records read 3, evaluated 3, skipped 0"), std::string::npos) << r.err;
    // A Sigma finding has its event's fields, without the two XML copies of them.
    EXPECT_NE(r.out.find("\"CommandLine\":"), std::string::npos);
    EXPECT_EQ(r.out.find("EventData_Xml"), std::string::npos);
    EXPECT_EQ(r.out.find("System_Props_Xml"), std::string::npos);
  }
  // A search that reads a rendering still has it (evtxexport: the first event's Image is cmd.exe).
  CliRun s = vigil("search --no-cache --format csv 'EventCode=1 | head 1 | table EventData_Xml' " + evtx);
  EXPECT_NE(s.out.find("<Data Name='Image'>"), std::string::npos) << s.out << s.err;
  EXPECT_NE(s.out.find("<Data Name='Image'>C:\\Windows\\System32\\cmd.exe</Data>"), std::string::npos) << s.out;
  fs::remove_all(dir);
}

// --profile counts, per rule and in all, the events that reached its filter and those that passed.
// Expected from the file itself (evtxexport -f xml): 17 Sysmon events, 16 of them EventID 1 (process
// creation, Endpoint.Processes), one EventID 11; the seed rule matches record 6190 only
// (../shared/docs/data.md). Without the prefilter no gate holds an event back, so each of the 16
// process events reaches the rule's filter; with it from the first event (no warm-up) and for a
// rule's few atoms (a group from one atom on), its gate keeps some of them away and lets the
// matching one through. It also says what each event cost before the rules (all 17 normalized and
// through the gates) and what the one finding cost to hand on; two copies of the file read by two
// workers (--threads 2), 34 events between them, and still one finding (the rule's tstats: record 6190 twice, count 2).
TEST(CliHunt, ProfileCountsTheEventsEachRuleTestedAndMatched) {
  const std::string shared = std::string(VIGIL_SOURCE_DIR) + "/../shared";
  const std::string evtx = shared + "/data/evtx-attack-samples/Execution/sysmon_exec_from_vss_persistence.evtx";
  const std::string rule = shared + "/corpus/security_content/detections/endpoint/windows_wmi_process_call_create.yml";
  if (!fs::exists(evtx) || !fs::exists(rule)) GTEST_SKIP() << "../shared not present";
  const std::regex row(R"(\n +[0-9.]+ +([0-9]+) +([0-9]+)  Windows WMI Process Call Create\n)");
  const std::regex all(R"(profile: ([0-9]+) candidates in all rules \(events let through to a rule's stream, once per stream\), ([0-9]+) matched)");
  const std::regex events(R"(profile: ([0-9]+) events: [0-9.]+ s normalizing them .*, [0-9.]+ s opening the rules' gates)");
  const std::regex findings(R"(profile: ([0-9]+) findings?: [0-9.]+ s describing them, [0-9.]+ s making their risk events and correlating them, [0-9.]+ s writing them)");
  const std::string gated = "VIGIL_PREFILTER_WARMUP=0 VIGIL_PREFILTER_MIN_ATOMS=1";
  for (const std::string& env : {std::string("VIGIL_NO_PREFILTER=1"), gated}) {
    CliRun r = vigil("hunt --profile --format jsonl --rules " + rule + " " + evtx, env);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(count_lines(r.out), 1u) << r.out;
    // record 6190's command line (6188's is cmd.exe's, with one space)
    EXPECT_NE(r.out.find(R"("process":"C:\\Windows\\system32\\wbem\\wmic.exe  process call create)"), std::string::npos)
        << r.out;
    EXPECT_NE(r.err.find("profile: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(" s loading and compiling rules"), std::string::npos) << r.err;
    std::smatch m, t;
    ASSERT_TRUE(std::regex_search(r.err, m, row)) << env << "\n" << r.err;
    ASSERT_TRUE(std::regex_search(r.err, t, all)) << env << "\n" << r.err;
    EXPECT_EQ(m[2].str(), "1") << r.err;  // matched: record 6190
    EXPECT_EQ(t[2].str(), "1") << r.err;  // one rule: the totals are its row
    EXPECT_EQ(t[1].str(), m[1].str()) << r.err;
    std::smatch e, f;
    ASSERT_TRUE(std::regex_search(r.err, e, events)) << r.err;
    ASSERT_TRUE(std::regex_search(r.err, f, findings)) << r.err;
    EXPECT_EQ(e[1].str(), "17") << r.err;
    EXPECT_EQ(f[1].str(), "1") << r.err;
    if (env == gated) {
      EXPECT_GE(std::stoul(m[1].str()), 1u) << r.err;
      EXPECT_LT(std::stoul(m[1].str()), 16u) << r.err;
    } else {
      EXPECT_EQ(m[1].str(), "16") << r.err;  // every process event; never the EventID 11 one
    }
  }
  // The workers' counts are summed: each of two small files is read and evaluated by a worker.
  fs::path dir = fs::temp_directory_path() / ("vigil_profile_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::copy_file(evtx, dir / "a.evtx");
  fs::copy_file(evtx, dir / "b.evtx");
  CliRun two = vigil("hunt --profile --threads 2 --format jsonl --rules " + rule + " " + dir.string());
  ASSERT_EQ(two.exit_code, 0) << two.err;
  EXPECT_EQ(count_lines(two.out), 1u) << two.out;
  EXPECT_NE(two.out.find(R"("count":2,)"), std::string::npos) << two.out;
  std::smatch e, f;
  ASSERT_TRUE(std::regex_search(two.err, e, events)) << two.err;
  ASSERT_TRUE(std::regex_search(two.err, f, findings)) << two.err;
  EXPECT_EQ(e[1].str(), "34") << two.err;
  EXPECT_EQ(f[1].str(), "1") << two.err;
  fs::remove_all(dir);
}

// A `[| inputlookup … ]` term is Splunk's implicit `format` of the table's rows, resolved at load: an
// OR of `field="value"` terms, `*` a wildcard, case-insensitive. Expected counts from python3 over
// `vigil dump` of the samples, with the 59 values of linux_tool_discovery_process.csv turned into
// anchored case-insensitive regexes (`*` -> `.*`): of 903 Endpoint.Processes command lines (Sysmon 1 and
// Security 4688) one matches (`find *`); of 863 EventCode=1 events the same one; none of the 42 4688.
// The term used to be left out (always true), which counted every process and dropped every event
// under NOT.
TEST(CliSearch, LookupSubsearchIsResolvedIntoAFilter) {
  const std::string samples = std::string(VIGIL_SOURCE_DIR) + "/../shared/data/evtx-attack-samples";
  const std::string content = std::string(VIGIL_SOURCE_DIR) + "/../shared/corpus/security_content";
  if (!fs::exists(samples) || !fs::exists(content)) GTEST_SKIP() << "../shared not present";
  auto search = [&](const std::string& q) {
    CliRun r = vigil("search -q --no-cache --format csv --content '" + content + "' '" + q + "' '" + samples + "'");
    EXPECT_EQ(r.exit_code, 0) << q << "\n" << r.err;
    return r.out;
  };
  const std::string sub = "[| inputlookup linux_tool_discovery_process.csv | rename process as ";
  // The form of the ESCU rule Suspicious Linux Discovery Commands: a tstats WHERE.
  EXPECT_EQ(search("| tstats count from datamodel=Endpoint.Processes where " + sub +
                   "Processes.process | table Processes.process] by Processes.process"),
            "Processes.process,count\n\"find  \"\"Shadow Copy Volume\"\" \",1\n");
  // A mid-pipeline search, and a NOT in the leading search.
  EXPECT_EQ(search("EventCode=1 | search " + sub + "CommandLine | table CommandLine] | stats count by CommandLine"),
            "CommandLine,count\n\"find  \"\"Shadow Copy Volume\"\" \",1\n");
  EXPECT_EQ(search("EventCode=4688 NOT " + sub + "CommandLine | table CommandLine] | stats count"), "count\n42\n");
}

// Splunk users start a search with `index=…`. Every event in Splunk has an index, and events read
// from local logs are in Splunk's default one, `main` (data/normalize/windows.yml), so `index=*` and
// `index=main` select them all; an index they are not in selects none. Expected counts: 7,455
// records in the EVTX samples (as evtxexport finds, EvtxCorpus.AttackSamplesMatchEvtxexport), 42 of
// them Security 4688 (LookupSubsearchIsResolvedIntoAFilter); the bundled samples' 11 good records
// (XML and NXLog JSON). `index=*` used to select nothing: the field was missing from every event.
// A search for another index (`index=wineventlog`, a common Splunk setup) finds nothing and says why.
TEST(CliSearch, IndexStarAndMainSelectEveryLocalEvent) {
  const std::string samples = std::string(VIGIL_SOURCE_DIR) + "/../shared/data/evtx-attack-samples";
  if (!fs::exists(samples)) GTEST_SKIP() << "../shared not present";
  auto count = [&](const std::string& q, const std::string& logs) {
    CliRun r = vigil("search -q --no-cache --format csv '" + q + " | stats count' '" + logs + "'");
    EXPECT_EQ(r.exit_code, 0) << q << "\n" << r.err;
    return r.out;
  };
  EXPECT_EQ(count("index=*", samples), "count\n7455\n");
  EXPECT_EQ(count("index=main EventCode=4688", samples), "count\n42\n");
  EXPECT_EQ(count("index=unix", samples), "count\n0\n");
  EXPECT_EQ(count("NOT index=main", samples), "count\n0\n");
  EXPECT_EQ(count("index=*", std::string(VIGIL_SOURCE_DIR) + "/samples/logs"), "count\n11\n");
  // An index the events are not in: nothing, and the search says where they are.
  CliRun other = vigil("search --no-cache --format csv 'index=wineventlog EventCode=4688 | stats count' '" + samples + "'");
  EXPECT_EQ(other.out, "count\n0\n");
  EXPECT_NE(other.err.find("no event is in index wineventlog; the events read are in index main"), std::string::npos)
      << other.err;
  CliRun main_index = vigil("search --no-cache --format csv 'index=main EventCode=4688 | stats count' '" + samples + "'");
  EXPECT_EQ(main_index.err.find("no event is in index"), std::string::npos) << main_index.err;
}

// Splunk's time modifiers in a search (`earliest=-30d`, `latest=…`: relative to --now, epoch or
// ISO-8601; latest excluded) are its time range, not fields; and a tstats without a data model counts
// the events themselves (`| tstats count where index=* by sourcetype`, Splunk's "what data is
// there"), where it used to count nothing. Expected counts from python3 over `vigil dump --format jsonl`
// of the samples (System/TimeCreated and EventID): 7,455 events; 8 of the 42 Security 4688 from
// 2019-05-01 to 2019-06-01; 353 in the 30 days before 2021-01-01; 3,438 from 2020-01-01 on.
TEST(CliSearch, EarliestLatestAreTheTimeRangeAndTstatsCountsEvents) {
  const std::string samples = std::string(VIGIL_SOURCE_DIR) + "/../shared/data/evtx-attack-samples";
  if (!fs::exists(samples)) GTEST_SKIP() << "../shared not present";
  auto search = [&](const std::string& q) {
    CliRun r = vigil("search -q --no-cache --now 2021-01-01T00:00:00Z --format csv '" + q + "' '" + samples + "'");
    EXPECT_EQ(r.exit_code, 0) << q << "\n" << r.err;
    return r.out;
  };
  EXPECT_EQ(search("EventCode=4688 earliest=2019-05-01 latest=2019-06-01 | stats count"), "count\n8\n");
  EXPECT_EQ(search("index=* earliest=-30d | stats count"), "count\n353\n");
  EXPECT_EQ(search("| tstats count where index=* by sourcetype"), "sourcetype,count\nXmlWinEventLog,7455\n");
  EXPECT_EQ(search("| tstats count where index=* earliest=2020-01-01 by sourcetype"),
            "sourcetype,count\nXmlWinEventLog,3438\n");
  CliRun bad = vigil("search --no-cache 'earliest=yesterdayish | stats count' '" + samples + "'");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("earliest: cannot read the time 'yesterdayish'"), std::string::npos) << bad.err;
  // Under OR or NOT the terms are no time range, and as field tests they would select nothing.
  for (const char* q : {"EventCode=4688 (earliest=-7d OR host=PC01.example.corp) | stats count",
                        "EventCode=4688 NOT latest=2020-01-01 | stats count",
                        "| tstats count where index=* (earliest=-7d OR host=IEWIN7) by host"}) {
    CliRun nested = vigil(std::string("search --no-cache '") + q + "' '" + samples + "'");
    EXPECT_EQ(nested.exit_code, 2) << q << nested.err;
    EXPECT_NE(nested.err.find("earliest=/latest= under OR or NOT are not supported"), std::string::npos) << q << nested.err;
  }
}

// `vigil search -q --format csv QUERY LOGS` with THREADS workers: its output (exit 0 expected).
std::string search_csv(const std::string& logs, const std::string& q, int threads) {
  CliRun r = vigil("search -q --no-cache --threads " + std::to_string(threads) + " --format csv '" + q + "' '" + logs + "'");
  EXPECT_EQ(r.exit_code, 0) << q << "\n" << r.err;
  return r.out;
}

// `top` and `rare` (Splunk's most and least common values, with count and percent of the events
// that have the fields), counted as stats counts, the same for any --threads. Expected values from
// python3 over `vigil dump --format jsonl` of the samples: Security 4688 by Computer PC01.example.corp
// 21, IEWIN7 8, MSEDGEWIN10 6, WIN-77LTAPHIQ1R.example.corp 6, wind10.winlab.local 1 (42); EventID 1
// with an Image: 861, cmd.exe 110, svchost.exe 71. Ties come in value order.
TEST(CliSearch, TopAndRareCountTheMostAndLeastCommonValues) {
  const std::string samples = std::string(VIGIL_SOURCE_DIR) + "/../shared/data/evtx-attack-samples";
  if (!fs::exists(samples)) GTEST_SKIP() << "../shared not present";
  auto search = [&](const std::string& q, int threads) { return search_csv(samples, q, threads); };
  for (int threads : {1, 2}) {
    EXPECT_EQ(search("EventCode=4688 | top limit=3 host", threads),
              "host,count,percent\nPC01.example.corp,21,50\nIEWIN7,8,19.047619\nMSEDGEWIN10,6,14.285714\n");
    EXPECT_EQ(search("EventCode=4688 | rare limit=2 host", threads),
              "host,count,percent\nwind10.winlab.local,1,2.380952\nMSEDGEWIN10,6,14.285714\n");
    EXPECT_EQ(search("EventCode=1 | top 2 Image countfield=n percentfield=p", threads),
              "Image,n,p\nC:\\Windows\\System32\\cmd.exe,110,12.775842\n"
              "C:\\Windows\\System32\\svchost.exe,71,8.246225\n");
  }
  EXPECT_EQ(search("EventCode=4688 | top limit=1 showperc=f host", 2), "host,count\nPC01.example.corp,21\n");
  // Per BY group (python3 likewise: 4624 TargetUserName by Computer; 30, 1 and 3 logons on the first three hosts).
  EXPECT_EQ(search("EventCode=4624 | top 1 TargetUserName by host | head 3", 2),
            "host,TargetUserName,count,percent\n01566s-win16-ir.threebeesco.com,01566S-WIN16-IR$,14,46.666667\n"
            "02694w-win10.threebeesco.com,Administrator,1,100\nICORP-DC.internal.corp,ICORP-DC$,2,66.666667\n");
}

// A stream whose rows a `table` ends (or a `transaction` feeds a `stats`) captures only the fields
// the operators up to there read (ir::Operator::projects): a dedup, sort or transaction held every
// field of every event (EVTX x41: 465 MB for the 35,384 Sysmon 1 rows of `dedup Image | table
// Image`). The results stay those of the whole rows. python3 over `vigil dump --format jsonl` of the
// samples: the 25 distinct NewProcessName of the 4688 events in first-seen order; the 87 Security
// 4624 events, per Computer in time order, make 21 transactions of at most an hour.
TEST(CliSearch, TableAndTransactionCaptureOnlyWhatTheyRead) {
  const std::string samples = std::string(VIGIL_SOURCE_DIR) + "/../shared/data/evtx-attack-samples";
  if (!fs::exists(samples)) GTEST_SKIP() << "../shared not present";
  const std::string names =
      "NewProcessName\n"
      "C:\\Windows\\System32\\TSTheme.exe\n"
      "C:\\Windows\\System32\\AtBroker.exe\n"
      "C:\\Users\\user01\\Desktop\\plink.exe\n"
      "C:\\Windows\\System32\\slui.exe\n"
      "C:\\Windows\\System32\\UI0Detect.exe\n"
      "C:\\Windows\\System32\\smss.exe\n"
      "C:\\Windows\\System32\\csrss.exe\n"
      "C:\\Windows\\System32\\winlogon.exe\n"
      "C:\\Windows\\System32\\LogonUI.exe\n"
      "C:\\Windows\\System32\\rundll32.exe\n"
      "C:\\Windows\\System32\\rdpclip.exe\n"
      "\\Device\\Mup\\VBoxSvr\\Users\\bouss\\Downloads\\MalSeclogon-master\\x64\\Debug\\MalSeclogon.exe\n"
      "C:\\Windows\\System32\\svchost.exe\n"
      "C:\\Windows\\System32\\conhost.exe\n"
      "C:\\Windows\\System32\\lsass.exe\n"
      "C:\\Windows\\System32\\cmd.exe\n"
      "C:\\Windows\\System32\\dllhost.exe\n"
      "C:\\Windows\\System32\\tasklist.exe\n"
      "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe\n"
      "C:\\Windows\\System32\\wbem\\WMIC.exe\n"
      "C:\\Windows\\System32\\calc.exe\n"
      "C:\\Windows\\System32\\notepad.exe\n"
      "C:\\Python27\\python.exe\n"
      "C:\\Windows\\System32\\wusa.exe\n"
      "C:\\Windows\\System32\\consent.exe\n";
  for (int threads : {1, 2}) {
    EXPECT_EQ(search_csv(samples, "EventCode=4688 | dedup NewProcessName | table NewProcessName", threads), names);
    EXPECT_EQ(search_csv(samples, "EventCode=4624 | transaction host maxspan=1h | stats count sum(eventcount) as events", threads),
              "count,events\n21,87\n");
  }
}

// `sort … | head N` and `sort N …` hold about 2N rows, ordering them as they come, not every row:
// what comes out is the first N of a stable sort of all of them. python3 over `vigil dump --format
// jsonl` of the samples (7,455 records), sorted by EventRecordID with Python's stable sort in input
// order: record 1 on IEWIN7, IEWIN7, MSEDGEWIN10, MSEDGEWIN10, then 2 on IEWIN7 twice.
TEST(CliSearch, SortThenHeadKeepsOnlyTheRowsItNeeds) {
  const std::string samples = std::string(VIGIL_SOURCE_DIR) + "/../shared/data/evtx-attack-samples";
  if (!fs::exists(samples)) GTEST_SKIP() << "../shared not present";
  for (int threads : {1, 2}) {
    EXPECT_EQ(search_csv(samples, "* | sort EventRecordID | head 6 | table EventRecordID host", threads),
              "EventRecordID,host\n1,IEWIN7\n1,IEWIN7\n1,MSEDGEWIN10\n1,MSEDGEWIN10\n2,IEWIN7\n2,IEWIN7\n");
    EXPECT_EQ(search_csv(samples, "* | sort 3 - EventRecordID | table EventRecordID host", threads),
              "EventRecordID,host\n198242605,DC1.insecurebank.local\n198242604,DC1.insecurebank.local\n"
              "198242603,DC1.insecurebank.local\n");
  }
}

// `head N` has its rows once the first N have come (rows merge in input order): the search stops
// reading there, says so, and gives what reading everything gives. The first 4688 events in the
// walk's order (python3: the samples' paths sorted, a directory's name as name + "/"; evtxexport -f
// xml of each file in turn) are all in Command and Control/DE_RDP_Tunnel_5156.evtx: records 227695
// TSTheme.exe, 227712 AtBroker.exe, 227714 plink.exe. The samples hold 7,455 records.
TEST(CliSearch, HeadStopsReadingOnceItHasItsRows) {
  const std::string samples = std::string(VIGIL_SOURCE_DIR) + "/../shared/data/evtx-attack-samples";
  if (!fs::exists(samples)) GTEST_SKIP() << "../shared not present";
  const std::string want = "EventRecordID,NewProcessName\n227695,C:\\Windows\\System32\\TSTheme.exe\n"
                           "227712,C:\\Windows\\System32\\AtBroker.exe\n227714,C:\\Users\\user01\\Desktop\\plink.exe\n";
  const std::regex read_count("records read ([0-9]+),");
  for (int threads : {1, 2}) {
    CliRun r = vigil("search --no-cache --threads " + std::to_string(threads) +
                     " --format csv 'EventCode=4688 | head 3 | table EventRecordID NewProcessName' '" + samples + "'");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, want) << threads;
    EXPECT_NE(r.err.find("note: head has its rows: reading stopped after "), std::string::npos) << r.err;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(r.err, m, read_count)) << r.err;
    EXPECT_LT(std::stoul(m[1]), 7455u) << threads << " threads: " << r.err;
    // A head behind a sort or a stats needs every event: nothing stops.
    CliRun all = vigil("search --no-cache --threads " + std::to_string(threads) +
                       " --format csv 'EventCode=4688 | sort 0 EventRecordID | head 1 | table EventRecordID' '" + samples + "'");
    EXPECT_EQ(all.exit_code, 0) << all.err;
    EXPECT_EQ(all.err.find("reading stopped"), std::string::npos) << all.err;
    EXPECT_NE(all.err.find("records read 7455,"), std::string::npos) << all.err;
  }
  // Over a large JSON lines file (read in batches by the calling thread, not by the workers): 20,000
  // events, the head's 2 are the first two lines with EventID 1.
  const fs::path big = fs::temp_directory_path() / ("vigil_head_" + std::to_string(::getpid()) + ".json");
  {
    std::ofstream o(big);
    for (int i = 0; i < 20000; ++i)
      o << R"({"EventID":")" << (i % 3 == 2 ? 1 : 4624) << R"(","Computer":"WS)" << i
        << R"(","Image":"C:\\Windows\\x.exe","CommandLine":"padding padding padding padding padding padding padding padding"})" << "\n";
  }
  for (int threads : {1, 2}) {
    CliRun r = vigil("search --no-cache --threads " + std::to_string(threads) + " --format csv 'EventCode=1 | head 2 | table host' '" +
                     big.string() + "'");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "host\nWS2\nWS5\n");
    std::smatch m;
    ASSERT_TRUE(std::regex_search(r.err, m, read_count)) << r.err;
    EXPECT_LT(std::stoul(m[1]), 20000u) << threads << " threads: " << r.err;
  }
  fs::remove(big);
}

// A bare term in a later `search` over events searches what they say, as a keyword of the leading
// search does: not index/source/sourcetype, not the XML renderings (`main` matched every event
// through index=main and `…DomainName` markup). Over result rows (after stats) it searches every
// value. python3 over the dump: of the 42 Security 4688 events, 4 have an EventData value containing
// cmd.exe, none one containing main.
TEST(CliSearch, LaterSearchTermsSearchWhatEventsSayAndResultRowsWhole) {
  const std::string samples = std::string(VIGIL_SOURCE_DIR) + "/../shared/data/evtx-attack-samples";
  if (!fs::exists(samples)) GTEST_SKIP() << "../shared not present";
  EXPECT_EQ(search_csv(samples, "EventCode=4688 | search main | stats count", 2), "count\n0\n");
  EXPECT_EQ(search_csv(samples, "EventCode=4688 | search XmlWinEventLog | stats count", 2), "count\n0\n");
  EXPECT_EQ(search_csv(samples, "EventCode=4688 | search cmd.exe | stats count", 2), "count\n4\n");
  EXPECT_EQ(search_csv(samples, "EventCode=4688 cmd.exe | stats count", 2), "count\n4\n");
  EXPECT_EQ(search_csv(samples, "EventCode=4688 | stats count by sourcetype | search XmlWinEventLog", 2),
            "sourcetype,count\nXmlWinEventLog,42\n");
}

// A query vigil cannot run ends the search with exit 2 and says why, also with -q (which only
// counts the diagnostics of records and rules): `-q` used to exit 2 in silence, and 3 for a log
// that cannot be opened or a --rules path that does not exist.
TEST(CliSearch, ARunThatEndsWithoutResultsSaysWhyAlsoWhenQuiet) {
  fs::path dir = fs::temp_directory_path() / ("vigil_badquery_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "one.json") << R"({"EventID":"1","Computer":"WS1","Image":"C:\\x.exe"})" << "\n";
  for (const char* quiet : {"", "-q "}) {
    CliRun r = vigil(std::string("search ") + quiet + "--no-cache 'EventCode=1 | frobnicate x' " + (dir / "one.json").string());
    EXPECT_EQ(r.exit_code, 2) << quiet << r.err;
    EXPECT_NE(r.err.find("<query>: error: frobnicate: command 'frobnicate' is not supported"), std::string::npos)
        << quiet << r.err;
    CliRun span = vigil(std::string("search ") + quiet + "--no-cache 'EventCode=1 | timechart span=1mon count' " +
                        (dir / "one.json").string());
    EXPECT_EQ(span.exit_code, 2) << quiet << span.err;
    EXPECT_NE(span.err.find("timechart: unsupported span '1mon' (calendar spans"), std::string::npos) << quiet << span.err;
    EXPECT_EQ(span.err.find("timechart: timechart:"), std::string::npos) << span.err;
    CliRun missing = vigil(std::string("search ") + quiet + "--no-cache 'EventCode=1' " + (dir / "missing.evtx").string());
    EXPECT_EQ(missing.exit_code, 3) << quiet << missing.err;
    EXPECT_NE(missing.err.find("missing.evtx: error: cannot open"), std::string::npos) << quiet << missing.err;
    CliRun no_rules = vigil(std::string("hunt ") + quiet + "--no-cache --rules " + (dir / "none.yml").string() + " " +
                            (dir / "one.json").string());
    EXPECT_EQ(no_rules.exit_code, 3) << quiet << no_rules.err;
    EXPECT_NE(no_rules.err.find("none.yml: error: no such file or directory"), std::string::npos) << quiet << no_rules.err;
    // Nothing to read: an empty folder, and a folder with no log in it (both exited 3 in silence).
    fs::create_directories(dir / "empty");
    CliRun empty = vigil(std::string("search ") + quiet + "--no-cache 'EventCode=1' " + (dir / "empty").string());
    EXPECT_EQ(empty.exit_code, 3) << quiet << empty.err;
    EXPECT_NE(empty.err.find("error: no log read: the inputs hold no file"), std::string::npos) << quiet << empty.err;
    fs::create_directories(dir / "notes");
    std::ofstream(dir / "notes" / "README") << "case notes\n";
    CliRun no_log = vigil(std::string("hunt ") + quiet + "--no-cache --format jsonl --rules samples/sigma " + (dir / "notes").string());
    EXPECT_EQ(no_log.exit_code, 3) << quiet << no_log.err;
    EXPECT_NE(no_log.err.find("error: no log read: all 1 input files were skipped (1 unrecognised-format)"), std::string::npos)
        << quiet << no_log.err;
  }
  fs::remove_all(dir);
}

// timechart and chart over the samples. Expected values from python3 over `vigil dump --format
// jsonl` of the samples (EventID, Computer, TimeCreated, EventData.LogonType), bucketing times by
// floor(t / span) * span in UTC:
// - 4688 by Computer, 30-day buckets: PC01.example.corp 21, IEWIN7 8, MSEDGEWIN10 and
//   WIN-77LTAPHIQ1R.example.corp 6 each, wind10.winlab.local 1; limit=3 keeps PC01, IEWIN7 and
//   MSEDGEWIN10 (the tie goes to the first in text order), the other 7 are OTHER. 40 buckets from
//   2019-02-13 to 2022-04-28;
// - Sysmon 13 on PC01.example.corp: 37 events over 9,459 s, so the chosen span is 5 minutes (60 s
//   would make 158 buckets), 32 buckets, 36 of the events in the first four and the ninth;
// - 4624 by Computer and LogonType: types 3 (61), 5 (13), 2 and 9 (4 each, 2 kept by text order).
TEST(CliSearch, TimechartAndChartPivotTheCounts) {
  const std::string samples = std::string(VIGIL_SOURCE_DIR) + "/../shared/data/evtx-attack-samples";
  if (!fs::exists(samples)) GTEST_SKIP() << "../shared not present";
  auto search = [&](const std::string& q, int threads) { return search_csv(samples, q, threads); };
  for (int threads : {1, 2}) {
    std::string by_host = search("EventCode=4688 | timechart span=30d count by host limit=3", threads);
    EXPECT_EQ(count_lines(by_host), 41u) << by_host;
    EXPECT_EQ(by_host.substr(0, by_host.find('\n', by_host.find('\n') + 1) + 1),
              "_time,IEWIN7,MSEDGEWIN10,PC01.example.corp,OTHER,_span\n"
              "2019-02-13T00:00:00.000Z,0,0,17,0,2592000\n");
    for (const char* row : {"2019-03-15T00:00:00.000Z,0,0,4,6,2592000\n", "2019-04-14T00:00:00.000Z,8,0,0,0,2592000\n",
                            "2019-05-14T00:00:00.000Z,0,0,0,0,2592000\n", "2021-11-29T00:00:00.000Z,0,6,0,0,2592000\n",
                            "2022-04-28T00:00:00.000Z,0,0,0,1,2592000\n"})
      EXPECT_NE(by_host.find(row), std::string::npos) << row << by_host;
    std::string auto_span = search("EventCode=13 host=PC01.example.corp | timechart count", threads);
    EXPECT_EQ(count_lines(auto_span), 33u) << auto_span;
    EXPECT_EQ(auto_span.substr(0, auto_span.find("2019-03-19T21:25")),
              "_time,count,_span\n2019-03-19T20:40:00.000Z,1,300\n2019-03-19T20:45:00.000Z,15,300\n"
              "2019-03-19T20:50:00.000Z,10,300\n2019-03-19T20:55:00.000Z,5,300\n2019-03-19T21:00:00.000Z,0,300\n"
              "2019-03-19T21:05:00.000Z,0,300\n2019-03-19T21:10:00.000Z,0,300\n2019-03-19T21:15:00.000Z,0,300\n"
              "2019-03-19T21:20:00.000Z,5,300\n");
    EXPECT_NE(auto_span.find("\n2019-03-19T23:15:00.000Z,1,300\n"), std::string::npos) << auto_span;
    EXPECT_EQ(search("EventCode=4624 | chart count over host by LogonType limit=3", threads),
              "host,2,3,5,OTHER\n01566s-win16-ir.threebeesco.com,0,29,1,0\n02694w-win10.threebeesco.com,0,1,0,0\n"
              "ICORP-DC.internal.corp,0,3,0,0\nIEWIN7,0,0,0,1\nMSEDGEWIN10,2,2,1,2\nPC01.example.corp,0,2,0,4\n"
              "PC02.example.corp,2,3,11,2\nWIN-77LTAPHIQ1R.example.corp,0,16,0,0\nalice.insecurebank.local,0,1,0,0\n"
              "wind10.winlab.local,0,4,0,0\n");
  }
}

// Every CIM dataset inherits host, source and sourcetype from its event (Splunk's data models do),
// so tstats over a data model can group by them. python3 over the dump: IEWIN7 has 267 Sysmon 1 and
// 8 Security 4688 events, the Processes dataset's two sources. ESCU's `Notepad with no Command Line
// Arguments` groups by host: its findings had host "null" (the fillnull value) and now name the
// event's Computer, which is also their dest.
TEST(CliSearch, DatamodelRowsInheritHostSourceAndSourcetype) {
  const std::string samples = std::string(VIGIL_SOURCE_DIR) + "/../shared/data/evtx-attack-samples";
  const std::string rule = std::string(VIGIL_SOURCE_DIR) +
                           "/../shared/corpus/security_content/detections/endpoint/notepad_with_no_command_line_arguments.yml";
  if (!fs::exists(samples) || !fs::exists(rule)) GTEST_SKIP() << "../shared not present";
  CliRun r = vigil("search -q --no-cache --format csv '| tstats count from datamodel=Endpoint.Processes where host=IEWIN7 "
                   "by sourcetype host source' '" + samples + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "sourcetype,host,source,count\n"
                   "XmlWinEventLog,IEWIN7,XmlWinEventLog:Microsoft-Windows-Sysmon/Operational,267\n"
                   "XmlWinEventLog,IEWIN7,XmlWinEventLog:Security,8\n");
  CliRun h = vigil("hunt -q --no-cache --format jsonl --rules '" + rule + "' '" + samples + "'");
  ASSERT_EQ(h.exit_code, 0) << h.err;
  EXPECT_GT(count_lines(h.out), 0u);
  EXPECT_EQ(count_lines(h.out, "\"host\":\"null\""), 0u) << h.out.substr(0, 2000);
  std::istringstream lines(h.out);
  for (std::string line; std::getline(lines, line);) {
    auto field = [&](const std::string& name) {
      size_t at = line.find("\"" + name + "\":\"");
      if (at == std::string::npos) return std::string("<none>");
      at += name.size() + 4;
      return line.substr(at, line.find('"', at) - at);
    };
    EXPECT_EQ(field("host"), field("dest")) << line;
  }
}

// ESCU's `Detect Password Spray Attempts` fills the 5-minute buckets of its whole time range with
// `appendpipe [| timechart limit=0 span=5m count | table _time]` (unique_accounts 0) before its
// 3-sigma test. A log of 4625s from 10.0.0.5: one at 08:00, 40 users at 10:00, one at 12:00. The
// 2-minute tstats rows have unique_accounts 1, 40 and 1; with the buckets filled there are 49 rows
// (08:00 to 12:00), mean 42/49 = 0.86, sample stdev 5.71, upper bound 18.0: the 40 is an outlier,
// one finding. Without the fill (three rows: mean 14, stdev 22.5, bound 81.5) there is none, and
// the rule was not executable before timechart. Its distributed sibling needs 30 sources: none.
TEST(CliHunt, PasswordSprayRuleFillsTimeBucketsWithTimechart) {
  const std::string dir_rules = std::string(VIGIL_SOURCE_DIR) + "/../shared/corpus/security_content/detections/application";
  const std::string spray = dir_rules + "/detect_password_spray_attempts.yml";
  const std::string distributed = dir_rules + "/detect_distributed_password_spray_attempts.yml";
  if (!fs::exists(spray) || !fs::exists(distributed)) GTEST_SKIP() << "../shared not present";
  fs::path dir = fs::temp_directory_path() / ("vigil_spray_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  {
    std::ofstream log(dir / "security.json");
    int record = 1;
    auto failed = [&](const std::string& time, const std::string& user) {
      log << R"({"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Security-Auditing"}},)"
          << R"("EventID":"4625","TimeCreated":{"#attributes":{"SystemTime":")" << time << R"("}},"EventRecordID":")"
          << record++ << R"(","Channel":"Security","Computer":"DC01.corp.local"},"EventData":{"TargetUserName":")" << user
          << R"(","TargetDomainName":"CORP","LogonType":"3","IpAddress":"10.0.0.5","IpPort":"0"}}})" << "\n";
    };
    failed("2024-03-04T08:00:10.000000Z", "alice");
    for (int i = 0; i < 40; ++i) failed("2024-03-04T10:00:" + std::to_string(10 + i) + ".000000Z", "user" + std::to_string(i));
    failed("2024-03-04T12:00:20.000000Z", "bob");
  }
  for (const char* threads : {"1", "2"}) {
    CliRun r = vigil(std::string("hunt --no-cache --threads ") + threads + " --format jsonl --rules '" + spray +
                     "' --rules '" + distributed + "' " + (dir / "security.json").string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("2 executable, 0 not executable"), std::string::npos) << r.err;
    ASSERT_EQ(count_lines(r.out), 1u) << r.out << r.err;
    EXPECT_NE(r.out.find("\"rule_name\":\"Detect Password Spray Attempts\""), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"src\":\"10.0.0.5\""), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"unique_accounts\":40,\"total_failures\":40"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"sourcetype\":\"XmlWinEventLog\""), std::string::npos) << r.out;
  }
  fs::remove_all(dir);
}

// A stats without BY over no events gives one row in Splunk (`count` 0). A search shows it; a hunt
// makes no finding of it, however the rule goes on: ESCU's `Windows Identify PowerShell Web Access
// IIS Pool` (Hunting) aggregates Security logons of user pswa_pool (none in the samples: grep of the
// dump) and then sets PSWA_Running="Yes", so it was a finding from no events, also over an empty
// folder (which exits 3, nothing readable).
TEST(CliHunt, AnAggregationOverNoEventsIsNoFinding) {
  const std::string samples = std::string(VIGIL_SOURCE_DIR) + "/../shared/data/evtx-attack-samples";
  const std::string rule = std::string(VIGIL_SOURCE_DIR) +
                           "/../shared/corpus/security_content/detections/endpoint/windows_identify_powershell_web_access_iis_pool.yml";
  if (!fs::exists(samples) || !fs::exists(rule)) GTEST_SKIP() << "../shared not present";
  CliRun h = vigil("hunt --no-cache --format jsonl --rules '" + rule + "' '" + samples + "'");
  EXPECT_EQ(h.exit_code, 0) << h.err;
  EXPECT_EQ(count_lines(h.out), 0u) << h.out;
  fs::path empty = fs::temp_directory_path() / ("vigil_empty_" + std::to_string(::getpid()));
  fs::remove_all(empty);
  fs::create_directories(empty);
  CliRun none = vigil("hunt --no-cache --format jsonl --rules '" + rule + "' " + empty.string());
  EXPECT_EQ(none.exit_code, 3) << none.err;
  EXPECT_EQ(count_lines(none.out), 0u) << none.out;
  fs::remove_all(empty);
  // The search itself, as Splunk runs it: one row.
  CliRun s = vigil("search -q --no-cache --format csv 'EventCode=4648 SubjectUserName=pswa_pool | stats count dc(TargetUserName) "
                   "as users | eval PSWA_Running=\"Yes\"' '" + samples + "'");
  EXPECT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(s.out, "count,users,PSWA_Running\n0,0,Yes\n");
}

// ESCU `Suspicious Reg Exe Process` keeps the cmd.exe processes (not started by explorer.exe) that
// `search [| tstats … reg.exe … | rename parent_process_id as process_id | table process_id dest]`
// names. python3 over `vigil dump` of the samples: 104 such cmd.exe (Sysmon 1, Security 4688), and two
// reg.exe started by cmd.exe, whose parents (3748 on DC1.insecurebank.local, 3924 on IEWIN7) are not
// among them: no finding. The subsearch used to be left out, and all 100 result rows were findings.
TEST(CliHunt, EventSubsearchFiltersTheRows) {
  const std::string samples = std::string(VIGIL_SOURCE_DIR) + "/../shared/data/evtx-attack-samples";
  const std::string rule =
      std::string(VIGIL_SOURCE_DIR) + "/../shared/corpus/security_content/detections/endpoint/suspicious_reg_exe_process.yml";
  if (!fs::exists(samples) || !fs::exists(rule)) GTEST_SKIP() << "../shared not present";
  CliRun r = vigil("hunt --no-cache --format jsonl --rules '" + rule + "' '" + samples + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(count_lines(r.out), 0u) << r.out.substr(0, 2000);
  // The two halves on their own: the left side has rows, and so does the subsearch.
  CliRun left = vigil("search --no-cache --format csv '| tstats count from datamodel=Endpoint.Processes where "
                      "Processes.parent_process_name!=explorer.exe Processes.process_name=cmd.exe by "
                      "Processes.process_id Processes.dest' '" + samples + "'");
  EXPECT_GT(count_lines(left.out), 50u) << left.err;
  CliRun right = vigil("search --no-cache --format csv '| tstats count from datamodel=Endpoint.Processes where "
                       "Processes.parent_process_name=cmd.exe Processes.process_name=reg.exe by "
                       "Processes.parent_process_id Processes.dest' '" + samples + "'");
  EXPECT_NE(right.out.find("3748,DC1.insecurebank.local"), std::string::npos) << right.out;
  EXPECT_NE(right.out.find("3924,IEWIN7"), std::string::npos) << right.out;
}

}  // namespace

namespace {

// `vigil hunt -q --threads T --format jsonl --rules RULE -` with its stdin and stdout on pipes.
class LiveHunt : public vigil::test::LiveRun {
 public:
  LiveHunt(const std::string& rule, const char* threads)
      : LiveRun({"hunt", "-q", "--threads", threads, "--format", "jsonl", "--rules", rule, "-"}) {}
};

// A live feed (`tail -f … | vigil hunt -`) is answered as it comes: the finding of a record is
// written once the writer pauses, or once its bytes have waited 200 ms behind a steady trickle,
// while stdin is still open, not when it closes. The rule and its event are the Sigma project's own
// regression pair (info.yml: a positive detection test); the event is one pretty-printed JSON
// document, so a pause after its first line (`{`) must not make the format be guessed from that.
TEST(CliHunt, LiveStdinFindingsAreWrittenWhileTheInputIsStillOpen) {
  const std::string rule =
      "../shared/corpus/sigma/rules-threat-hunting/windows/image_load/image_load_win_werfaultsecure_dbgcore_dbghelp_load.yml";
  const std::string event =
      "../shared/corpus/sigma/regression_data/rules-threat-hunting/windows/image_load/"
      "image_load_win_werfaultsecure_dbgcore_dbghelp_load/8a2f4b1c-3d5e-4f7a-9b2c-1e4f6d8a9c2b.json";
  for (auto& p : {rule, event})
    if (!fs::exists(std::string(VIGIL_SOURCE_DIR) + "/" + p)) GTEST_SKIP() << p << " not present";
  const std::string doc = slurp(std::string(VIGIL_SOURCE_DIR) + "/" + event);
  ASSERT_EQ(doc.substr(0, 2), "{\n");
  const std::string id = "\"rule_id\":\"8a2f4b1c-3d5e-4f7a-9b2c-1e4f6d8a9c2b\"";
  auto findings = [&](const std::string& out) {
    size_t n = 0;
    for (size_t at = out.find(id); at != std::string::npos; at = out.find(id, at + 1)) ++n;
    return n;
  };
  for (const char* threads : {"1", "2"}) {
    SCOPED_TRACE(std::string("--threads ") + threads);
    // The writer pauses after `{` (the head decides nothing yet), then after the whole document.
    {
      LiveHunt h(std::string(VIGIL_SOURCE_DIR) + "/" + rule, threads);
      ASSERT_TRUE(h.started());
      ASSERT_TRUE(h.write(doc.substr(0, 2)));
      EXPECT_EQ(h.read_for(600), "");  // nothing to say yet, and the input is not given up on
      ASSERT_TRUE(h.write(doc.substr(2)));
      // Well under a second here; before, only after the close below.
      const std::string live = h.read_for(20000, true).substr(0, 4096);
      EXPECT_EQ(findings(live), 1u) << "no finding while stdin was open: " << live;
      h.close_input();
      const std::string all = h.read_for(20000);
      EXPECT_EQ(h.wait_exit(20000), 0);
      EXPECT_EQ(findings(all), 1u) << all;  // one event, one finding, once
      EXPECT_EQ(std::count(all.begin(), all.end(), '\n'), 1) << all;
    }
    // A steady trickle (a byte every 50 ms, never a 200 ms pause) does not hold the finding back.
    {
      LiveHunt h(std::string(VIGIL_SOURCE_DIR) + "/" + rule, threads);
      ASSERT_TRUE(h.started());
      ASSERT_TRUE(h.write(doc));
      std::string live;
      for (int i = 0; i < 200 && findings(live) == 0; ++i) {  // at most 10 s
        ASSERT_TRUE(h.write("\n"));
        live = h.read_for(50);
      }
      EXPECT_EQ(findings(live), 1u) << "no finding during the trickle: " << live;
      h.close_input();
      EXPECT_EQ(h.wait_exit(20000), 0);
    }
  }
}

// Findings leave in large writes, to stdout and to -o FILE alike: a Sigma finding is ~4 KB, and
// stdio's default buffer (the file system's block, 4 KB) made that a write(2) per finding. strace
// counts the writes; the output (~1,000 findings, several MB) would take ~1,000 of them that way.
TEST(CliHunt, FindingsAreWrittenInLargeWritesNotOnePerFinding) {
  const std::string dir = "../shared/data/evtx-attack-samples", rules = "../shared/corpus/sigma/rules/windows";
  for (auto& p : {dir, rules})
    if (!fs::exists(std::string(VIGIL_SOURCE_DIR) + "/" + p)) GTEST_SKIP() << p << " not present";
  if (std::system("strace -qq -o /dev/null true >/dev/null 2>&1") != 0) GTEST_SKIP() << "strace missing or not allowed";
  const fs::path trace = fs::temp_directory_path() / ("vigil_writes_" + std::to_string(::getpid()));
  const fs::path file = trace.string() + "_out.jsonl";
  // strace -ff: one trace file per thread (TRACE.<tid>), so no call is split across lines.
  auto is_trace = [&](const fs::path& p) { return p.filename().string().rfind(trace.filename().string() + ".", 0) == 0; };
  auto traced = [&] {
    std::string all;
    for (auto& e : fs::directory_iterator(trace.parent_path()))
      if (is_trace(e.path())) {
        all += slurp(e.path());
        fs::remove(e.path());
      }
    return all;
  };
  struct Cleanup {
    std::function<void()> f;
    ~Cleanup() { f(); }
  } cleanup{[&] {
    traced();
    fs::remove(file);
  }};
  // The writes of one fd in the trace, and their bytes.
  auto writes_to = [&](const std::string& text, int fd) {
    std::pair<size_t, size_t> n{0, 0};
    std::istringstream in(text);
    const std::regex call("^write\\(" + std::to_string(fd) + ", .*\\) = ([0-9]+)$");
    std::smatch m;
    for (std::string line; std::getline(in, line);)
      if (std::regex_search(line, m, call)) {
        ++n.first;
        n.second += std::stoul(m[1]);
      }
    return n;
  };
  const std::string args = "hunt -q --format jsonl --rules " + rules + " " + dir;
  // LeakSanitizer cannot run under ptrace: the sanitizer build's leak check is off for these runs.
  const std::string strace = "ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0\" strace -ff -qq -e "
                             "trace=openat,write -o '" + trace.string() + "'";
  CliRun r = vigil(args, strace);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const size_t findings = count_lines(r.out);
  ASSERT_GT(r.out.size(), size_t(2) << 20) << "too little output to tell the buffering apart";
  EXPECT_GT(findings, 500u);
  // stdout is a regular file here (run_vigil redirects it): 1 MB writes. A 4 KB buffer gives ~1,000.
  auto [n, bytes] = writes_to(traced(), 1);
  EXPECT_EQ(bytes, r.out.size());
  EXPECT_LE(n, r.out.size() / (256 << 10) + 2) << n << " writes for " << findings << " findings";

  CliRun o = vigil(args + " -o '" + file.string() + "'", strace);
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(slurp(file), r.out);
  // The -o file's descriptor, from its openat in the trace (a test runner may have left others open).
  const std::string text = traced();
  int fd = -1;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("openat(", 0) == 0 && line.find("\"" + file.string() + "\"") != std::string::npos) {
      const size_t eq = line.rfind(") = ");
      if (eq != std::string::npos) fd = std::atoi(line.c_str() + eq + 4);
    }
  ASSERT_GE(fd, 0) << text.substr(0, 2000);
  auto [fn, fbytes] = writes_to(text, fd);
  EXPECT_EQ(fbytes, r.out.size());
  EXPECT_LE(fn, r.out.size() / (256 << 10) + 2) << fn << " writes for " << findings << " findings";
}

}  // namespace
