// `vigil test --attack-data DIR --junit FILE` with contentctl's pass rule: a case passes when the rule
// returns at least one result and every risk/threat object field it names is present and not null.
//
// Data: the seed rules' own `tests:` over attack_data T1047 (2 and 1 results, with user and dest in
// every row: see tests/e2e_foundation). A copy of seed 003 naming an observable the results never
// carry must fail on the field check alone (it still has its 2 results).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pugixml.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace {

namespace fs = std::filesystem;

const std::string kSharedRoot = VIGIL_SHARED_DIR;
const std::string kContent = kSharedRoot + "/corpus/security_content";
const std::string kSeed003Rule = kContent + "/detections/endpoint/windows_wmi_process_call_create.yml";
const std::string kSeed000Rule = kSharedRoot + "/corpus/seed_rules/remote_process_instantiation_via_wmi.yml";

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

fs::path junit_scratch() {
  fs::path dir = fs::temp_directory_path() / ("vigil_junit_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir;
}

struct TestRun {
  int exit_code;
  std::string out;
};

TestRun vigil_test(const std::string& rules, const fs::path& junit) {
  std::string cmd = std::string("'") + VIGIL_BINARY + "' test --content " + kContent + rules + " --attack-data " + kSharedRoot +
                    "/data/attack_data --junit " + junit.string() + " > " + (junit_scratch() / "out").string() + " 2>/dev/null";
  int st = std::system(cmd.c_str());
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, read_text(junit_scratch() / "out")};
}

TEST(RuleTestJunit, SeedRulesPassWithTheirRiskObjectFields) {
  fs::path junit = junit_scratch() / "seeds.xml";
  TestRun r = vigil_test(" --rules " + kSeed003Rule + " --rules " + kSeed000Rule, junit);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("2 passed, 0 failed"), std::string::npos) << r.out;
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_file(junit.c_str())) << read_text(junit);
  auto suites = doc.child("testsuites");
  EXPECT_EQ(suites.attribute("tests").as_int(), 2);
  EXPECT_EQ(suites.attribute("failures").as_int(), 0);
  auto suite = suites.child("testsuite");
  EXPECT_STREQ(suite.attribute("name").value(), "escu");
  std::set<std::string> classes;
  for (auto tc : suite.children("testcase")) {
    classes.insert(tc.attribute("classname").value());
    EXPECT_FALSE(tc.child("failure")) << tc.attribute("name").value();
    EXPECT_STRNE(tc.child_value("system-out"), "");
  }
  EXPECT_EQ(classes, (std::set<std::string>{"Windows WMI Process Call Create", "Remote Process Instantiation via WMI"}));
}

TEST(RuleTestJunit, AnObservableAbsentFromTheResultsFailsTheCase) {
  // Seed 003 with its dest observable renamed to a field no result has (same search, same data).
  std::string text = read_text(kSeed003Rule);
  size_t at = text.find("  - name: dest\n");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 15, "  - name: dest_ip_of_nothing\n");
  fs::path rule = junit_scratch() / "seed003_bad_observable.yml";
  std::ofstream(rule) << text;
  fs::path junit = junit_scratch() / "bad.xml";
  TestRun r = vigil_test(" --rules " + rule.string(), junit);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("0 passed, 1 failed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("risk/threat object field dest_ip_of_nothing absent or null in some of the 2 results"),
            std::string::npos)
      << r.out;
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_file(junit.c_str())) << read_text(junit);
  auto tc = doc.child("testsuites").child("testsuite").child("testcase");
  ASSERT_TRUE(tc.child("failure"));
  EXPECT_STREQ(tc.child("failure").attribute("type").value(), "fields");
  EXPECT_NE(std::string(tc.child("failure").attribute("message").value()).find("dest_ip_of_nothing"), std::string::npos);
  EXPECT_EQ(doc.child("testsuites").attribute("failures").as_int(), 1);
}

}  // namespace
