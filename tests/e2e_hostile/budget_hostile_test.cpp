// Classes 3 and 9: rule content that exhausts memory or CPU, and silent caps.
// On the old code `eval x=x . x` repeated aborted with bad_alloc (3.7 GB under
// a 4 GB limit), two mvexpands of 100k values never finished (13 GB RSS at
// 60 s), printf("%0999999999d",1) took seconds per event, and mvrange / rex
// max_match=0 stopped at 100,000 values without a word. Now each hits the
// budget of core/budget.h: bounded, with a located `budget` warning.
#include <gtest/gtest.h>

#include "hostile_common.h"

namespace {

using namespace hostile;

VigilRun search(const std::string& q) {
  return vigil({"search", q, "--format", "jsonl", "samples/logs/sysmon_ws17.xml"});
}

void expect_budget(const VigilRun& r, const std::string& what) {
  EXPECT_EQ(r.signal, 0) << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(r.peak_rss_kb, (kSanitized ? 1024 : 512) * 1024) << what;  // ASan's shadow and quarantine cost more
  EXPECT_NE(r.err.find("warning: rule exceeds the run-time budget: " + what), std::string::npos) << r.err;
}

TEST(HostileBudget, ConcatenationDoublingIsBounded) {
  std::string q = "search EventCode=* | head 1 | eval x=\"aaaaaaaaaaaaaaaa\"";
  for (int i = 0; i < 30; ++i) q += " | eval x=x . x";
  q += " | eval l=len(x), ok=\"yes\" | table l ok";
  VigilRun r = search(q);
  expect_budget(r, "concatenation longer than 4 MiB");
  EXPECT_EQ(r.out, "{\"ok\":\"yes\"}\n") << r.out;  // the row survives, x is null
}

TEST(HostileBudget, ReplaceGrowthIsBounded) {
  std::string q = "search EventCode=* | head 1 | eval x=\"aaaaaaaaaaaaaaaa\"";
  for (int i = 0; i < 30; ++i) q += " | eval x=replace(x, \"a\", \"aa\")";
  q += " | table x";
  expect_budget(search(q), "replace() result longer than 4 MiB");
}

TEST(HostileBudget, PrintfWidthIsBounded) {
  VigilRun r = search("search EventCode=* | eval y=printf(\"%0999999999d\",1), l=len(y) | stats count");
  expect_budget(r, "printf() width or precision above 4096");
  EXPECT_EQ(r.out, "{\"count\":6}\n");
  // Within the budget printf still pads.
  VigilRun ok = search("search EventCode=* | head 1 | eval y=printf(\"%05d\",42) | table y");
  EXPECT_EQ(ok.out, "{\"y\":\"00042\"}\n");
}

TEST(HostileBudget, DoubleMvexpandIsBounded) {
  VigilRun r = search("search EventCode=* | head 1 | eval a=mvrange(0,100000) | eval b=a | mvexpand a | mvexpand b "
                      "| stats count");
  expect_budget(r, "mvexpand stopped at");
}

TEST(HostileBudget, ValueCapsAreAnnounced) {
  VigilRun r = search("search EventCode=* | head 1 | eval a=mvrange(0,200000) | eval c=mvcount(a) | table c");
  expect_budget(r, "mvrange() stopped at 100000 values");
  EXPECT_EQ(r.out, "{\"c\":100000}\n");
  std::string q = "search EventCode=* | head 1 | eval s=\"xxxxxxxxxx\"";  // 10 * 2^14 = 163,840 x's
  for (int i = 0; i < 14; ++i) q += " | eval s=s . s";
  q += " | rex field=s max_match=0 \"(?<ch>x)\" | eval n=mvcount(ch) | table n";
  VigilRun x = search(q);
  expect_budget(x, "rex max_match=0 stopped at 100000 matches");
  EXPECT_EQ(x.out, "{\"n\":100000}\n");
  // The summary counts them.
  VigilRun j = vigil({"search", "search EventCode=* | eval a=mvrange(0,200000) | stats count", "--diagnostics", "json",
                      "--format", "jsonl", "samples/logs/sysmon_ws17.xml"});
  EXPECT_NE(j.err.find("\"budget\":6"), std::string::npos) << j.err;
}

TEST(HostileBudget, HugeSigmaRuleIsRejectedNotParsed) {
  fs::path d = scratch("bigrule");
  fs::create_directories(d / "rules");
  std::string rule =
      "title: Huge\nid: 11111111-2222-3333-4444-777777777777\nlogsource:\n  category: process_creation\n"
      "  product: windows\ndetection:\n  sel:\n    CommandLine|contains:\n";
  while (rule.size() < (6u << 20)) rule += "      - 'abcdefghijklmnopqrstuvwxyz0123456789'\n";
  rule += "  condition: sel\n";
  spit(d / "rules/huge.yml", rule);
  VigilRun r = vigil(cat(demo_rules(), {"--rules", (d / "rules").string(), "--format", "jsonl", "samples/logs"}));
  ASSERT_EQ(r.signal, 0) << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("huge.yml:1:1: error: rule file is 6 MiB, above the 4 MiB budget"), std::string::npos)
      << r.err;
  EXPECT_EQ(count(r.out, "\"rule_id\""), kDemoFindings);
}

}  // namespace

namespace {

// Class 9: a long search without macros was rejected as "macro expansion
// exceeds 4 MiB" (the old code's message for this very rule). It is the rule
// budget that refuses it, and says so (the file is refused before it is parsed);
// the macro limit is on what macros add.
TEST(HostileBudget, LongSearchWithoutMacrosIsNotAMacroBomb) {
  hostile::fs::path d = hostile::scratch("longsearch");
  std::string terms;
  while (terms.size() < (5u << 20)) terms += " OR CommandLine=\"*never-present-xyz*\"";
  std::string rule = "name: Long Search\nid: 11111111-2222-3333-4444-888888888888\ntype: TTP\nsearch: 'EventCode=1 "
                     "(CommandLine=\"*wmic*\"" + terms + ") | stats count by host'\ntags:\n  risk_score: 10\n";
  hostile::fs::create_directories(d / "rules");
  hostile::spit(d / "rules/long.yml", rule);
  hostile::VigilRun r = hostile::vigil({"lint", (d / "rules").string()});
  ASSERT_EQ(r.signal, 0) << r.err;
  EXPECT_EQ(r.out.find("macro expansion"), std::string::npos) << r.out.substr(0, 2000);
  EXPECT_EQ(r.out.find("macros expand"), std::string::npos) << r.out.substr(0, 2000);
  EXPECT_NE(r.out.find("rule file is 5 MiB, above the 4 MiB budget"), std::string::npos)
      << r.out.substr(0, 2000);
}

}  // namespace
