// Class 4: regex limits must not become silent misses. With `(a+)+b|Z`, an
// event whose field is forty `a`s then `cZ` matches (the `Z`); on the old code
// PCRE2 hit its match limit first and SPL `regex`, `where match()` and Sigma
// `|re` all answered "no" without a word. Now yes/no questions run on a
// linear-time engine; what must backtrack and hits a limit is reported as
// undecided, per pattern and rule, and counted.
#include <gtest/gtest.h>

#include "hostile_common.h"

namespace {

using namespace hostile;

fs::path evasion_log(const fs::path& d) {
  // One padded event (the attack) and one plain event (must not match).
  std::string pad(40, 'a');
  std::string log =
      "{\"EventTime\":\"2026-03-03 14:00:05\",\"Hostname\":\"h1\",\"EventID\":1,\"SourceName\":\"Microsoft-Windows-"
      "Sysmon\",\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"RecordNumber\":1,\"Image\":\"C:\\\\x.exe\","
      "\"CommandLine\":\"" + pad + "cZ\"}\n"
      "{\"EventTime\":\"2026-03-03 14:00:06\",\"Hostname\":\"h1\",\"EventID\":1,\"SourceName\":\"Microsoft-Windows-"
      "Sysmon\",\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"RecordNumber\":2,\"Image\":\"C:\\\\y.exe\","
      "\"CommandLine\":\"" + pad + "c\"}\n";
  spit(d / "evasion.jsonl", log);
  return d / "evasion.jsonl";
}

TEST(HostileRegex, CatastrophicPatternStillMatchesInSpl) {
  fs::path d = scratch("regex_spl");
  fs::path log = evasion_log(d);
  for (const std::string q : {"search EventCode=* | regex CommandLine=\"(a+)+b|Z\" | table RecordNumber",
                              "search EventCode=* | where match(CommandLine, \"(a+)+b|Z\") | table RecordNumber"}) {
    VigilRun r = vigil({"search", q, "--format", "jsonl", log.string()});
    ASSERT_EQ(r.signal, 0) << r.err;
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "{\"RecordNumber\":\"1\"}\n") << q << "\n" << r.err;
    EXPECT_EQ(r.err.find("warning:"), std::string::npos) << r.err;
    EXPECT_LT(r.peak_rss_kb, (kSanitized ? 1024 : 256) * 1024);
  }
}

TEST(HostileRegex, CatastrophicPatternStillMatchesInSigma) {
  fs::path d = scratch("regex_sigma");
  fs::path log = evasion_log(d);
  fs::create_directories(d / "rules");
  spit(d / "rules/re.yml",
       "title: ReDoS probe\nid: 11111111-2222-3333-4444-555555555555\nstatus: test\nlogsource:\n"
       "  category: process_creation\n  product: windows\ndetection:\n  sel:\n    CommandLine|re: '(a+)+b|Z'\n"
       "  condition: sel\nlevel: high\n");
  VigilRun r = vigil(cat(demo_rules(), {"--rules", (d / "rules").string(), "--format", "jsonl", log.string(),
                                        "samples/logs"}));
  ASSERT_EQ(r.signal, 0) << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // The padded event matches; the one without `Z` does not.
  EXPECT_EQ(count(r.out, "evasion.jsonl\",\"record_id\":\"1\""), 1u) << r.out << r.err;
  EXPECT_EQ(count(r.out, "evasion.jsonl\",\"record_id\":\"2\""), 0u) << r.out;
  // The good logs' findings too (the probe also matches sample events that hold a `Z`).
  EXPECT_EQ(count(r.out, "\"rule_id\"") - count(r.out, "\"rule_name\":\"ReDoS probe\""), kDemoFindings) << r.err;
}

// A pattern that needs backtracking (a backreference) and hits PCRE2's limit:
// not a silent "no" but a warning naming the rule and the pattern, counted.
TEST(HostileRegex, LimitHitIsReportedAsUndecided) {
  fs::path d = scratch("regex_undecided");
  fs::path log = evasion_log(d);
  fs::create_directories(d / "rules");
  spit(d / "rules/re.yml",
       "title: Backref probe\nid: 11111111-2222-3333-4444-666666666666\nstatus: test\nlogsource:\n"
       "  category: process_creation\n  product: windows\ndetection:\n  sel:\n    CommandLine|re: '(a+)+\\1b|Z'\n"
       "  condition: sel\nlevel: high\n");
  VigilRun r = vigil(cat(demo_rules(), {"--rules", (d / "rules").string(), "--format", "jsonl", log.string(),
                                        "samples/logs"}));
  ASSERT_EQ(r.signal, 0) << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("warning: regex match limit hit"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("pattern '(a+)+\\1b|Z' in rule 'Backref probe'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("re.yml"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("undecided"), std::string::npos) << r.err;
  EXPECT_EQ(count(r.out, "\"rule_id\"") - count(r.out, "\"rule_name\":\"Backref probe\""), kDemoFindings) << r.err;
  VigilRun j = vigil(cat(demo_rules(), {"--rules", (d / "rules").string(), "--diagnostics", "json", "--format", "jsonl",
                                        log.string()}));
  EXPECT_NE(j.err.find("\"regex-undecided\":"), std::string::npos) << j.err;
}

}  // namespace
