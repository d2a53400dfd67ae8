// Triage-ready hunt output (issue 14), end to end through the vigil binary: the grouped table,
// the hunt filters, placeholder fallback, record locations for every input format, quiet
// grouped diagnostics, the results summary, SPL mistakes and --format validation.
//
// Expected values come from the inputs themselves (the sample events and rules under samples/,
// events written here, and data.md's independently computed matches), never from vigil's output.
#include <gtest/gtest.h>

#include "../support/cli_run.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

using VigilRun = vigil::test::CliRun;
using vigil::test::slurp;

fs::path scratch(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("vigil_triage_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// A wide table, as on a wide terminal: details are cut to what is left of $COLUMNS.
VigilRun wide_vigil(const std::string& args) { return vigil::test::run_vigil(args, "COLUMNS=400"); }

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

size_t count(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + needle.size())) ++n;
  return n;
}

// The table's data rows: the lines between the header and the blank line before the summary.
std::vector<std::string> table_rows(const std::string& out) {
  std::vector<std::string> rows;
  std::istringstream in(out);
  std::string l;
  std::getline(in, l);  // header
  while (std::getline(in, l) && !l.empty()) rows.push_back(l);
  return rows;
}

const std::string kDemoRules = "--rules samples/content/detections --rules samples/sigma";

// The demo's findings, worked out from samples/ (see cli_test.cpp BundledDemo): ESCU WMIC on
// ws-17 (record 102, 2026-03-02 09:15:41), srv-02 (7001, 2026-03-02 10:01:00) and ws-22 (NXLog 301,
// 2026-03-03 14:00:05); ESCU Encoded PowerShell on ws-17 (record 106, 09:22:47); Sigma WMIC on the
// same three WMIC events. 7 in all.
TEST(Triage, FiltersEachSelectWhatTheRulesSay) {
  // Findings kept; a filter that leaves no rule at all ends the run with exit 3 (nothing ran).
  auto n = [](const std::string& extra) {
    VigilRun r = wide_vigil("hunt " + kDemoRules + " --format jsonl " + extra + " samples/logs");
    size_t found = lines_of(r.out).size();
    EXPECT_EQ(r.exit_code, found || r.err.find("leave none of the") == std::string::npos ? 0 : 3) << extra << "\n" << r.err;
    return found;
  };
  EXPECT_EQ(n(""), 7u);
  // Levels: the Sigma rule says high; ESCU rules take the band of their risk score (README: ESCU
  // severity bands 80 critical, 60 high, 40 medium, 20 low): WMIC 56 and Encoded PowerShell 40
  // (its highest rba risk-object score) are medium.
  EXPECT_EQ(n("--min-level high"), 3u);
  EXPECT_EQ(n("--min-level critical"), 0u);
  EXPECT_EQ(n("--min-level medium"), 7u);
  // Risk: ESCU WMIC 56, Encoded PowerShell 40, Sigma high 70 (README: Sigma high -> 70).
  EXPECT_EQ(n("--min-risk 100"), 0u);
  EXPECT_EQ(n("--min-risk 57"), 3u);
  EXPECT_EQ(n("--min-risk 41"), 6u);
  // Time window on event time.
  EXPECT_EQ(n("--from 2026-03-03"), 2u);                 // ws-22 only: ESCU + Sigma WMIC
  EXPECT_EQ(n("--to 2026-03-02T09:59:59Z"), 3u);         // ws-17: WMIC x2 + Encoded PowerShell
  EXPECT_EQ(n("--from 2026-03-02T10:00:00Z --to 2026-03-02T10:30:00Z"), 2u);  // srv-02 7001
  // Rule selection: ATT&CK id (T1047: both WMIC rules), tag, id, name glob.
  EXPECT_EQ(n("--include-rule T1047"), 6u);
  EXPECT_EQ(n("--include-rule T1059"), 1u);  // T1059.001 is a sub-technique of T1059
  EXPECT_EQ(n("--include-rule attack.execution"), 3u);
  EXPECT_EQ(n("--include-rule 2f9a7c3e-6b1d-4e8a-9c55-000000000003"), 3u);
  EXPECT_EQ(n("--include-rule 'sample*'"), 4u);  // any case
  EXPECT_EQ(n("--exclude-rule '*WMIC*'"), 1u);
  EXPECT_EQ(n("--exclude-rule 'Malicious PowerShell'"), 6u);  // an analytic story
  // Status: the Sigma sample is `status: test`, the ESCU ones `production`.
  EXPECT_EQ(n("--exclude-status test"), 4u);
  EXPECT_EQ(n("--exclude-status production"), 3u);
  // A noisy-rules file: ids, names, comments.
  fs::path d = scratch("noisy");
  std::ofstream(d / "noisy.txt") << "# rules too loud for this estate\n"
                                    "5a0e8c1e-3f0b-4d7e-9d7c-000000000001   # ESCU WMIC by id\n\n"
                                    "Sample Encoded PowerShell From Cmd\n";
  EXPECT_EQ(n("--noisy-rules '" + (d / "noisy.txt").string() + "'"), 3u);

  // The filters are said in the run summary; a bad window is a usage error.
  VigilRun r = wide_vigil("hunt " + kDemoRules + " --format jsonl --min-level high samples/logs");
  EXPECT_NE(r.err.find("filters: level >= high: 1 of 3 executable rules run"), std::string::npos) << r.err;
  EXPECT_EQ(wide_vigil("hunt " + kDemoRules + " --from yesterday samples/logs").exit_code, 2);
  EXPECT_EQ(wide_vigil("hunt " + kDemoRules + " --from 2026-03-04 --to 2026-03-01 samples/logs").exit_code, 2);
  EXPECT_EQ(wide_vigil("hunt " + kDemoRules + " --min-level severe samples/logs").exit_code, 2);
  // Filters that leave no rule: nothing ran.
  EXPECT_EQ(wide_vigil("hunt " + kDemoRules + " --include-rule T9999 samples/logs").exit_code, 3);
  fs::remove_all(d);
}

// Four copies of the WMIC event of ws-17 (record 102) with their own record ids and times: the
// Sigma rule finds each (4 findings); the table groups them into one row (rule x host) with the
// count and the time range; --no-group gives the four rows; JSONL keeps one finding per row.
TEST(Triage, TableGroupsByRuleAndHost) {
  std::string xml = slurp(fs::path(VIGIL_SOURCE_DIR) / "samples/logs/sysmon_ws17.xml");
  std::string wmic;
  for (auto& l : lines_of(xml))
    if (l.find("<EventRecordID>102</EventRecordID>") != std::string::npos) wmic = l;
  ASSERT_FALSE(wmic.empty());
  ASSERT_EQ(count(wmic, "<Event "), 1u);
  fs::path d = scratch("group");
  {
    std::ofstream f(d / "copies.xml");
    const char* times[] = {"2026-03-02T09:15:41.500000Z", "2026-03-02T09:30:00.000000Z", "2026-03-02T10:00:00.000000Z",
                           "2026-03-02T11:00:00.000000Z"};
    for (int i = 0; i < 4; ++i) {
      std::string e = std::regex_replace(wmic, std::regex("<EventRecordID>102<"),
                                         "<EventRecordID>" + std::to_string(102 + 100 * i) + "<");
      e = std::regex_replace(e, std::regex("SystemTime='[^']*'"), std::string("SystemTime='") + times[i] + "'");
      f << e << "\n";
    }
  }
  std::string input = "'" + (d / "copies.xml").string() + "'";
  VigilRun j = wide_vigil("hunt --rules samples/sigma --format jsonl " + input);
  EXPECT_EQ(lines_of(j.out).size(), 4u) << j.err;
  for (int id : {102, 202, 302, 402})
    EXPECT_EQ(count(j.out, "\"record_id\":\"" + std::to_string(id) + "\""), 1u) << id;

  VigilRun t = wide_vigil("hunt --rules samples/sigma --format table --color never " + input);
  EXPECT_EQ(t.exit_code, 0) << t.err;
  auto rows = table_rows(t.out);
  ASSERT_EQ(rows.size(), 1u) << t.out;
  EXPECT_NE(rows[0].find("2026-03-02T09:15:41Z → 11:00:00Z"), std::string::npos) << rows[0];
  EXPECT_NE(rows[0].find("high"), std::string::npos) << rows[0];
  EXPECT_NE(rows[0].find(" 4  ws-17.contoso.local"), std::string::npos) << rows[0];
  EXPECT_NE(rows[0].find("WMIC Remote Process Creation (vigil sample)"), std::string::npos) << rows[0];
  // The details column: the user and command line of the event, not the title again.
  EXPECT_NE(rows[0].find("user=CONTOSO\\alice cmd=wmic /node:10.0.4.21 process call create"), std::string::npos)
      << rows[0];
  EXPECT_EQ(t.out.find("\033["), std::string::npos);  // --color never

  VigilRun u = wide_vigil("hunt --rules samples/sigma --format table --no-group --color never " + input);
  auto each = table_rows(u.out);
  ASSERT_EQ(each.size(), 4u) << u.out;
  // One row per finding, in time order, each naming its record.
  EXPECT_NE(each[0].find("copies.xml 102]"), std::string::npos) << each[0];
  EXPECT_NE(each[3].find("2026-03-02T11:00:00Z"), std::string::npos) << each[3];
  EXPECT_NE(each[3].find("copies.xml 402]"), std::string::npos) << each[3];

  // --color always colours the level (high: bold red).
  VigilRun c = wide_vigil("hunt --rules samples/sigma --format table --color always " + input);
  EXPECT_NE(c.out.find("\033[1;31mhigh"), std::string::npos) << c.out;
  fs::remove_all(d);
}

// The results summary ends the table (on stdout, so -q keeps it) and --summary-out writes it as JSON.
TEST(Triage, ResultsSummary) {
  fs::path d = scratch("summary");
  std::string json = (d / "summary.json").string();
  VigilRun r = wide_vigil("hunt " + kDemoRules + " --format table --color never -q --summary-out '" + json + "' samples/logs");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");  // -q: no progress, no run summary
  EXPECT_NE(r.out.find("Results summary"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("findings 7 from 3 rules · hosts 3"), std::string::npos) << r.out;
  // Earliest and latest event of the seven: ws-17 09:15:41 and ws-22 2026-03-03 14:00:05.
  EXPECT_NE(r.out.find("events    2026-03-02T09:15:41Z → 2026-03-03T14:00:05Z"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("T1047"), std::string::npos);
  std::string s = slurp(json);
  EXPECT_NE(s.find("\"findings\":7"), std::string::npos) << s;
  // Sigma WMIC is high (3); ESCU WMIC (risk 56, 3) and Encoded PowerShell (40, 1) medium.
  EXPECT_NE(s.find("\"by_level\":{\"high\":3,\"medium\":4}"), std::string::npos) << s;
  EXPECT_NE(s.find("\"by_risk\":{\"40-59\":4,\"60-79\":3}"), std::string::npos) << s;
  // ws-17: ESCU WMIC, Sigma WMIC, Encoded PowerShell; srv-02 and ws-22: the two WMIC rules each.
  EXPECT_NE(s.find("\"hosts\":[{\"name\":\"ws-17.contoso.local\",\"findings\":3},{\"name\":\"srv-02.contoso.local\","
                   "\"findings\":2},{\"name\":\"ws-22.contoso.local\",\"findings\":2}]"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("{\"name\":\"T1047\",\"findings\":6"), std::string::npos) << s;
  EXPECT_NE(s.find("\"first_time\":\"2026-03-02T09:15:41Z\",\"last_time\":\"2026-03-03T14:00:05Z\""), std::string::npos)
      << s;
  // JSON lines leave out what only people read (hosts, users, details), but not with --summary-out:
  // the same summary.
  std::string json_lines = (d / "summary_jsonl.json").string();
  VigilRun j = wide_vigil("hunt " + kDemoRules + " --format jsonl -q --summary-out '" + json_lines + "' samples/logs");
  EXPECT_EQ(j.exit_code, 0) << j.err;
  EXPECT_EQ(slurp(json_lines), s);
  fs::remove_all(d);
}

// A message template naming fields the row lacks: $dest$ is filled from an alias the row has
// (host was renamed... here left as `host`), $nothing_here$ is shown as <nothing_here?> and listed.
TEST(Triage, PlaceholderFallback) {
  fs::path d = scratch("placeholder");
  fs::create_directories(d / "detections");
  fs::copy(fs::path(VIGIL_SOURCE_DIR) / "samples/content/macros", d / "macros");
  std::ofstream(d / "detections/p.yml")
      << "name: Placeholder Probe\nid: 7d1c0000-0000-4000-8000-00000000aaaa\nversion: 1\ndate: '2026-03-01'\n"
         "author: test\nstatus: production\ntype: TTP\ndescription: x\ndata_source:\n- Sysmon EventID 1\n"
         "search: '`sysmon` EventCode=1 Image=\"*\\\\powershell.exe\" CommandLine=\"*-enc*\" | stats count by host User'\n"
         "how_to_implement: x\nknown_false_positives: x\nreferences: []\n"
         "rba:\n  message: Encoded PowerShell on $dest$ by $user$ via $nothing_here$\n"
         "  risk_objects:\n  - field: host\n    type: system\n    score: 40\n  threat_objects: []\n"
         "tags:\n  analytic_story:\n  - X\n  asset_type: Endpoint\n  mitre_attack_id:\n  - T1059.001\n"
         "  product:\n  - Splunk Enterprise\n  security_domain: endpoint\n";
  VigilRun r = wide_vigil("hunt --rules '" + (d / "detections").string() + "' --content '" + d.string() +
                "' --format jsonl samples/logs");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(lines_of(r.out).size(), 1u) << r.out << r.err;  // record 106 on ws-17, user CONTOSO\alice
  EXPECT_NE(r.out.find("\"message\":\"Encoded PowerShell on ws-17.contoso.local by CONTOSO\\\\alice via <nothing_here?>\""),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("\"message_missing\":[\"nothing_here\"]"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("$"), std::string::npos) << r.out;  // no unfilled token anywhere
  fs::remove_all(d);
}

// Every finding names its source file and record: EventRecordID for EVTX and XML, and the line for
// text inputs (JSON lines, classic WinEventLog text) beside the record number they carry.
TEST(Triage, RecordLocationsForEveryFormat) {
  fs::path d = scratch("where");
  // EVTX: data.md's oracle: in sysmon_exec_from_vss_persistence.evtx only record 6190 runs
  // wmic.exe with "process call create" (6188 is cmd.exe; 6173/6177/6182 are shadowcopy calls).
  std::ofstream(d / "wmic.yml") << "title: wmic process call create\nid: 0b9e0000-0000-4000-8000-000000000001\n"
                                   "status: test\nlogsource:\n  category: process_creation\n  product: windows\n"
                                   "detection:\n  sel:\n    Image|endswith: '\\wmic.exe'\n"
                                   "    CommandLine|contains: 'process call create'\n  condition: sel\nlevel: high\n";
  VigilRun e = wide_vigil("hunt --rules '" + (d / "wmic.yml").string() +
                "' --format jsonl '../shared/data/evtx-attack-samples/Execution/sysmon_exec_from_vss_persistence.evtx'");
  ASSERT_EQ(lines_of(e.out).size(), 1u) << e.out << e.err;
  EXPECT_NE(e.out.find("\"source\":{\"file\":\"../shared/data/evtx-attack-samples/Execution/"
                       "sysmon_exec_from_vss_persistence.evtx\",\"record_id\":\"6190\"}"),
            std::string::npos)
      << e.out;

  // XML (one event per line in the sample): record 102 is on line 2.
  VigilRun x = wide_vigil("hunt --rules samples/sigma --format jsonl samples/logs/sysmon_ws17.xml");
  ASSERT_EQ(lines_of(x.out).size(), 1u) << x.err;
  EXPECT_NE(x.out.find("\"source\":{\"file\":\"samples/logs/sysmon_ws17.xml\",\"record_id\":\"102\",\"line\":2}"),
            std::string::npos)
      << x.out;

  // JSON lines: the NXLog WMIC event is on line 1 (RecordNumber 301).
  VigilRun j = wide_vigil("hunt --rules samples/sigma --format jsonl samples/logs/nxlog_ws22.jsonl");
  ASSERT_EQ(lines_of(j.out).size(), 1u) << j.err;
  EXPECT_NE(j.out.find("\"source\":{\"file\":\"samples/logs/nxlog_ws22.jsonl\",\"record_id\":\"301\",\"line\":1}"),
            std::string::npos)
      << j.out;

  // Classic WinEventLog text: the 4720 event's header line, found here by reading the file.
  fs::path txt = fs::path(VIGIL_SOURCE_DIR) / "tests/ingest/data/wineventlog_classic.txt";
  std::vector<std::string> tl;
  {
    std::ifstream in(txt);
    for (std::string l; std::getline(in, l);) tl.push_back(l);
  }
  // A record starts at its timestamp line, two lines above its EventCode= (LogName= between).
  size_t ec = 0;
  for (size_t i = 0; i < tl.size(); ++i)
    if (tl[i].rfind("EventCode=4720", 0) == 0) {
      ec = i;
      break;
    }
  ASSERT_GE(ec, 2u);
  ASSERT_EQ(tl[ec - 1].rfind("LogName=", 0), 0u);
  size_t record_line = ec - 2 + 1;  // 1-based
  std::string rn;
  for (size_t i = ec; i < tl.size() && rn.empty(); ++i)
    if (tl[i].rfind("RecordNumber=", 0) == 0) rn = tl[i].substr(13);
  std::ofstream(d / "user_created.yml") << "title: user created\nid: 0b9e0000-0000-4000-8000-000000000002\n"
                                           "status: test\nlogsource:\n  product: windows\n  service: security\n"
                                           "detection:\n  sel:\n    EventID: 4720\n  condition: sel\nlevel: low\n";
  VigilRun w = wide_vigil("hunt --rules '" + (d / "user_created.yml").string() + "' --format jsonl '" + txt.string() + "'");
  ASSERT_GE(lines_of(w.out).size(), 1u) << w.err;
  EXPECT_NE(w.out.find("\"record_id\":\"" + rn + "\",\"line\":" + std::to_string(record_line) + "}"), std::string::npos)
      << "expected record " << rn << " at line " << record_line << "\n" << w.out;
  fs::remove_all(d);
}

// A directory of evidence with files that are not logs: they are counted as skipped, as notes,
// not errors; the run ends without an error count.
TEST(Triage, NonLogFilesAreSkippedNotErrors) {
  fs::path d = scratch("nonlog");
  fs::copy(fs::path(VIGIL_SOURCE_DIR) / "samples/logs/sysmon_ws17.xml", d / "sysmon.xml");
  std::ofstream(d / "README.md") << "# Evidence\nCollected from ws-17.\n";
  std::ofstream(d / "LICENSE.GPL") << "GNU GENERAL PUBLIC LICENSE\nVersion 3\n";
  std::ofstream(d / "capture.pcap", std::ios::binary) << std::string("\xd4\xc3\xb2\xa1\x02\x00\x04\x00", 8);
  VigilRun r = wide_vigil("hunt --rules samples/sigma --format jsonl '" + d.string() + "'");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(lines_of(r.out).size(), 1u);
  EXPECT_EQ(r.err.find("error:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("files 4 (3 skipped: 3 unrecognised-format)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" 0 errors"), std::string::npos) << r.err;
  // Grouped: one line for the three, naming the first and the count of the rest.
  EXPECT_EQ(count(r.err, "unrecognised format"), 1u) << r.err;
  EXPECT_NE(r.err.find("and 2 more 'unrecognised-format'"), std::string::npos) << r.err;
  // --verbose prints each.
  VigilRun v = wide_vigil("hunt --verbose --rules samples/sigma --format jsonl '" + d.string() + "'");
  EXPECT_EQ(count(v.err, "note: skipped: unrecognised format"), 3u) << v.err;
  fs::remove_all(d);
}

// A corpus-wide hunt (both corpora over the EVTX samples), not on a terminal: stderr holds the
// grouped diagnostics and the summary only, a handful of lines, each reason once.
TEST(Triage, CorpusHuntDiagnosticsAreGrouped) {
  VigilRun r = wide_vigil("hunt --rules ../shared/corpus/sigma/rules --rules ../shared/corpus/security_content/detections/endpoint "
                "--format jsonl ../shared/data/evtx-attack-samples");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto err = lines_of(r.err);
  EXPECT_LT(err.size(), 10u) << r.err;
  // The nine non-log files of the sample repository (README.md, LICENSE.GPL, a pcap, an etl, …).
  EXPECT_NE(r.err.find("files 278 (9 skipped: 9 unrecognised-format)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" 0 errors"), std::string::npos) << r.err;
  // One vocabulary: loaded / executable / not executable, with reasons.
  EXPECT_TRUE(std::regex_search(r.err, std::regex("rules loaded [0-9]+: [0-9]+ executable, [0-9]+ not executable \\(")))
      << r.err;
  // A runtime warning raised per event is printed once, with the rule's file and the pattern.
  EXPECT_LE(count(r.err, "match(): pattern '"), 1u) << r.err;
  // It is the run's one warning (the LOLBAS rename rule's `match(process_name, "(?i)".original_file_name)`,
  // a pattern built from a field), counted in the singular.
  EXPECT_NE(r.err.find(" 0 errors, 1 warning; "), std::string::npos) << r.err;
  // No progress line when stderr is not a terminal.
  EXPECT_EQ(r.err.find("\r"), std::string::npos);
}

// The acceptance run on a terminal: `script` gives vigil a pseudo-terminal for stdout and stderr
// together, as a responder sees it. The progress line is rewritten in place (carriage returns) through
// the phases, nothing else comes before the first finding row, and the run ends with the summaries.
TEST(Triage, TerminalRunShowsProgressThenFindingsThenSummary) {
  if (std::system("command -v script >/dev/null 2>&1") != 0) GTEST_SKIP() << "script(1) not installed";
  fs::path dir = scratch("pty");
  std::string inner = std::string("COLUMNS=200 '") + VIGIL_BINARY +
                      "' hunt --rules ../shared/corpus/sigma/rules --rules "
                      "../shared/corpus/security_content/detections/endpoint ../shared/data/evtx-attack-samples";
  std::string cmd = std::string("cd '") + VIGIL_SOURCE_DIR + "' && script -qec \"" + inner + "\" /dev/null >'" +
                    (dir / "tty").string() + "' </dev/null";
  int st = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
  std::string tty = slurp(dir / "tty");
  // Lines as the terminal shows them: each \n-ended line, whatever was overwritten by \r before.
  std::vector<std::string> shown;
  for (auto& l : lines_of(tty)) {
    std::string last = l.substr(l.rfind('\r', l.size() >= 2 ? l.size() - 2 : 0) == std::string::npos
                                    ? 0
                                    : l.rfind('\r', l.size() >= 2 ? l.size() - 2 : 0) + 1);
    shown.push_back(last);
  }
  size_t header = 0;
  while (header < shown.size() && shown[header].find("time (first") == std::string::npos) ++header;
  ASSERT_LT(header, shown.size()) << tty.substr(0, 2000);
  EXPECT_LT(header, 10u) << "lines before the first finding:\n" << tty.substr(0, 4000);
  // The progress line went through its phases in order, with files, events and findings so far.
  // It is first drawn after 300 ms, so a phase that ends sooner (loading both corpora takes about
  // that long, handing the files to the workers less) may not be shown; evaluating takes seconds.
  EXPECT_NE(tty.find("[evaluating] files "), std::string::npos);
  size_t last = 0;
  for (const char* phase : {"[loading rules]", "[reading]", "[evaluating]"})
    if (size_t at = tty.find(phase); at != std::string::npos) {
      EXPECT_GE(at, last) << phase << " first shown before an earlier phase";
      last = at;
    }
  EXPECT_TRUE(std::regex_search(tty, std::regex("events [0-9]+ · findings [0-9]+ · [0-9]+s"))) << tty.substr(0, 2000);
  // Severity in colour, then the results summary and the run's accounting at the end.
  EXPECT_NE(tty.find("\x1b[1;31mhigh"), std::string::npos);
  EXPECT_NE(tty.find("ATT&CK techniques"), std::string::npos);
  EXPECT_NE(shown.back().find("summary: files 278 (9 skipped: 9 unrecognised-format)"), std::string::npos)
      << shown.back();
}

// SPL mistakes are located errors (exit 2), as Splunk refuses them, rather than other answers.
TEST(Triage, SearchRejectsIncompleteAndMisplacedCommands) {
  VigilRun by = wide_vigil("search 'EventCode=1 | stats count by' samples/logs");
  EXPECT_EQ(by.exit_code, 2) << by.out << by.err;
  EXPECT_NE(by.err.find("'by' needs at least one field name"), std::string::npos) << by.err;
  EXPECT_NE(by.err.find("1:27"), std::string::npos) << by.err;  // column of `by`
  EXPECT_EQ(by.out, "");

  VigilRun ts = wide_vigil("search 'index=main | tstats count from datamodel=Endpoint.Processes' samples/logs");
  EXPECT_EQ(ts.exit_code, 2) << ts.out << ts.err;
  EXPECT_NE(ts.err.find("'tstats' must be the first command"), std::string::npos) << ts.err;
  EXPECT_NE(ts.err.find("1:14"), std::string::npos) << ts.err;  // column of `tstats`

  // The correct forms still run: by with a field; tstats first; tstats append=true later.
  VigilRun ok = wide_vigil("search --format jsonl 'EventCode=1 | stats count by host' samples/logs");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_FALSE(ok.out.empty());
  VigilRun ap = wide_vigil("search --format jsonl '| tstats count from datamodel=Endpoint.Processes by Processes.dest "
                 "| tstats append=true count from datamodel=Endpoint.Processes by Processes.user' samples/logs");
  EXPECT_EQ(ap.err.find("must be the first command"), std::string::npos) << ap.err;
}

TEST(Triage, UnknownFormatIsAUsageError) {
  VigilRun j = wide_vigil("hunt " + kDemoRules + " --format json samples/logs");
  EXPECT_EQ(j.exit_code, 2) << j.err;
  EXPECT_EQ(j.out, "");
  EXPECT_NE(j.err.find("--format"), std::string::npos) << j.err;
  EXPECT_EQ(wide_vigil("search --format xml 'EventCode=1' samples/logs").exit_code, 2);
}

// Per-verb help lists the verb's own options only.
TEST(Triage, PerVerbHelp) {
  VigilRun lint = wide_vigil("lint --help");
  EXPECT_EQ(lint.exit_code, 0);
  EXPECT_EQ(lint.out.find("--fail-on-findings"), std::string::npos) << lint.out;
  EXPECT_EQ(lint.out.find("--threads"), std::string::npos) << lint.out;
  EXPECT_EQ(lint.out.find("--now"), std::string::npos) << lint.out;
  VigilRun hunt = wide_vigil("hunt --help");
  for (const char* o : {"--fail-on-findings", "--threads", "--min-level", "--from", "--include-rule", "--no-group",
                        "--html", "--summary-out", "--color", "--verbose"})
    EXPECT_NE(hunt.out.find(o), std::string::npos) << o;
  VigilRun ex = wide_vigil("explain --help");
  EXPECT_EQ(ex.out.find("--fail-on-findings"), std::string::npos);
  EXPECT_EQ(ex.out.find("--threads"), std::string::npos);
}

// Outside a security_content tree an ESCU rule's macros are undefined: the note says to pass --content.
TEST(Triage, MissingMacroHintsContent) {
  fs::path d = scratch("macro");
  fs::copy(fs::path(VIGIL_SOURCE_DIR) / "samples/content/detections/sample_wmic_remote_process_create.yml", d / "r.yml");
  VigilRun r = wide_vigil("hunt --rules '" + (d / "r.yml").string() + "' --format jsonl samples/logs");
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("use macros that are not defined"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("hint: ESCU macros live in the security_content tree: pass --content DIR"), std::string::npos)
      << r.err;
  VigilRun ok = wide_vigil("hunt --rules '" + (d / "r.yml").string() + "' --content samples/content --format jsonl samples/logs");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(lines_of(ok.out).size(), 3u) << ok.err;
  fs::remove_all(d);
}

}  // namespace
