// End-to-end tests of the vigil binary: the bundled demo, bad input handling,
// and lint over the whole ESCU corpus.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;

struct Run {
  int exit_code = -1;
  std::string out, err;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Run vigil(const std::string& args) {
  fs::path dir = fs::temp_directory_path() / ("vigil_cli_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string cmd = std::string("cd '") + VIGIL_SOURCE_DIR + "' && '" + VIGIL_BINARY + "' " + args + " >'" +
                    (dir / "out").string() + "' 2>'" + (dir / "err").string() + "'";
  Run r;
  int st = std::system(cmd.c_str());
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.out = slurp(dir / "out");
  r.err = slurp(dir / "err");
  return r;
}

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
  Run r = vigil("hunt --rules samples/content/detections --rules samples/sigma --format jsonl samples/logs");
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
  Run r = vigil("hunt --rules samples/sigma --format jsonl '" + dir.string() + "'");
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
  EXPECT_NE(r.err.find("(2 skipped)"), std::string::npos) << r.err;
  // --strict turns rejected input into exit code 1.
  Run s = vigil("hunt --strict --rules samples/sigma --format jsonl '" + dir.string() + "'");
  EXPECT_EQ(s.exit_code, 1);
  fs::remove_all(dir);
}

TEST(Cli, UsageErrorsExitTwo) {
  EXPECT_EQ(vigil("hunt samples/logs").exit_code, 2);  // --rules missing
  EXPECT_EQ(vigil("frobnicate").exit_code, 2);
  EXPECT_EQ(vigil("search '| tstats count from' samples/logs").exit_code, 2);
}

}  // namespace
