// Hostile rules and values, classes 1 (malformed ESCU aborts the run),
// 5 (terminal escapes) and 6 (outputlookup through a symlink). Each failed on
// the old code: yaml-cpp's BadSubscript/TypedBadConversion escaped load_escu
// and lint/hunt died with SIGABRT; ESC/BEL reached stdout and stderr raw; a
// symlink in the writes folder was followed and its target overwritten.
#include <gtest/gtest.h>

#include <algorithm>

#include "hostile_common.h"

namespace {

using namespace hostile;

const fs::path kSampleRule = fs::path(VIGIL_SOURCE_DIR) / "samples/content/detections/sample_wmic_remote_process_create.yml";

// 1-based line of the first `needle` in `text`.
std::string line_of(const std::string& text, const std::string& needle) {
  size_t p = text.find(needle);
  EXPECT_NE(p, std::string::npos) << needle;
  return std::to_string(1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(p), '\n'));
}

// The sample rule with one part replaced: the shapes the mutation probe found.
std::string mutate(const std::string& from, const std::string& to) {
  std::string s = slurp(kSampleRule);
  size_t p = s.find(from);
  EXPECT_NE(p, std::string::npos) << from;
  s.replace(p, from.size(), to);
  return s;
}

TEST(HostileContent, MalformedEscuRulesAreRejectedWithTheirPlace) {
  fs::path d = scratch("escu");
  fs::create_directories(d / "rules");
  // An observable that is a scalar, a role that is a map, a tests item that is a scalar.
  const std::string observable_scalar =
      mutate("  observable:\n  - name: dest\n    type: Hostname\n    role:\n    - Victim\n",
             "  observable:\n  - just a string\n");
  const std::string role_map = mutate("    role:\n    - Victim\n  - name: user", "    role:\n      a: b\n  - name: user");
  spit(d / "rules/observable_scalar.yml", observable_scalar);
  spit(d / "rules/role_map.yml", role_map);
  spit(d / "rules/tests_scalar.yml", slurp(kSampleRule) + "tests:\n- not a map\n");
  spit(d / "rules/attack_data_scalar.yml", slurp(kSampleRule) + "tests:\n- name: t\n  attack_data: 7\n");
  spit(d / "rules/role_list_of_maps.yml",
       mutate("    role:\n    - Victim\n  - name: user", "    role:\n    - {x: 1}\n  - name: user"));

  VigilRun l = vigil({"lint", "--content", "samples/content", (d / "rules").string()});
  ASSERT_EQ(l.signal, 0) << l.err;
  EXPECT_EQ(l.exit_code, 0) << l.err;
  EXPECT_NE(l.out.find("observable_scalar.yml:" + line_of(observable_scalar, "- just a string") + ": rejected"),
            std::string::npos)
      << l.out;
  EXPECT_NE(l.out.find("each item of tags.observable must be a map"), std::string::npos) << l.out;
  EXPECT_NE(l.out.find("role_map.yml:" + line_of(role_map, "      a: b") + ": rejected"), std::string::npos) << l.out;
  EXPECT_NE(l.out.find("tags.observable role must be a string or a list of strings"), std::string::npos) << l.out;
  EXPECT_NE(l.out.find("tests_scalar.yml"), std::string::npos) << l.out;
  EXPECT_NE(l.out.find("each item of tests must be a map"), std::string::npos) << l.out;
  EXPECT_NE(l.out.find("tests[].attack_data must be a list of maps"), std::string::npos) << l.out;
  EXPECT_NE(l.out.find("rules loaded 5 (5 escu, 0 sigma): 0 executable, 5 not executable (5 not parsed)"), std::string::npos) << l.out;

  // Beside good rules, the good rules still find what they find.
  VigilRun h = vigil(cat(demo_rules(), {"--rules", (d / "rules").string(), "--format", "jsonl", "samples/logs"}));
  ASSERT_EQ(h.signal, 0) << h.err;
  EXPECT_EQ(h.exit_code, 0) << h.err;
  EXPECT_EQ(count(h.out, "\"rule_id\""), kDemoFindings) << h.err;
  // The summary counts the rejected rules by reason (2 share one).
  EXPECT_NE(h.err.find(" 5 not executable (2 not parsed: "), std::string::npos) << h.err;
  EXPECT_LT(h.peak_rss_kb, (kSanitized ? 1024 : 512) * 1024);

  // explain and catalog load the same way.
  VigilRun e = vigil({"explain", (d / "rules/role_map.yml").string()});
  EXPECT_EQ(e.signal, 0) << e.err;
  VigilRun c = vigil({"catalog", "--rules", (d / "rules").string(), "--rules", "samples/content/detections", "--out",
                 (d / "site").string()});
  EXPECT_EQ(c.signal, 0) << c.err;
}

// YAML that yaml-cpp 0.7 looped on until bad_alloc (a line starting with ',' in block context, found
// by sigma_fuzz), a self-referencing anchor and nesting past the limit: each file is rejected with
// the parser's line and column, and the good rules of the same run still find what they find.
TEST(HostileContent, MalformedYamlIsRejectedWithItsPlace) {
  fs::path d = scratch("yaml");
  fs::create_directories(d / "rules");
  spit(d / "rules/comma.yml", ",itle: x\n");
  spit(d / "rules/comma_later.yml", "title: t\nlogsource:\n  product: windows\n,detection: x\n");
  spit(d / "rules/self_alias.yml", "title: &a [1, *a]\n");
  spit(d / "rules/deep.yml", std::string(3000, '[') + std::string(3000, ']') + "\n");
  VigilRun h = vigil(cat(demo_rules(), {"--rules", (d / "rules").string(), "--format", "jsonl", "--verbose", "samples/logs"}));
  ASSERT_EQ(h.signal, 0) << h.err;
  EXPECT_EQ(h.exit_code, 0) << h.err;
  EXPECT_EQ(count(h.out, "\"rule_id\""), kDemoFindings) << h.err;
  EXPECT_NE(h.err.find("comma.yml:1:1: error:"), std::string::npos) << h.err;
  EXPECT_NE(h.err.find("comma_later.yml:4:1: error:"), std::string::npos) << h.err;
  EXPECT_NE(h.err.find("self_alias.yml:1:"), std::string::npos) << h.err;
  EXPECT_NE(h.err.find("unknown or unfinished anchor 'a'"), std::string::npos) << h.err;
  EXPECT_NE(h.err.find("nesting deeper than 2000 levels"), std::string::npos) << h.err;
  EXPECT_LT(h.peak_rss_kb, (kSanitized ? 1024 : 256) * 1024);
}

TEST(HostileContent, MalformedMacroIsReportedWhereItIs) {
  fs::path d = scratch("macros");
  fs::create_directories(d / "content/macros");
  fs::create_directories(d / "content/detections");
  fs::copy(kSampleRule, d / "content/detections/rule.yml");
  for (auto& e : fs::directory_iterator(fs::path(VIGIL_SOURCE_DIR) / "samples/content/macros"))
    fs::copy(e.path(), d / "content/macros" / e.path().filename());
  spit(d / "content/macros/bad.yml", "name: bad_macro\ndefinition: search *\narguments:\n- {a: b}\n");
  VigilRun l = vigil({"lint", (d / "content/detections").string()});
  ASSERT_EQ(l.signal, 0) << l.err;
  VigilRun h = vigil({"hunt", "--rules", (d / "content/detections").string(), "--format", "jsonl", "samples/logs"});
  ASSERT_EQ(h.signal, 0) << h.err;
  EXPECT_NE(h.err.find("bad.yml:4:3: error: macro 'bad_macro': each argument must be a name"), std::string::npos)
      << h.err;
  EXPECT_EQ(count(h.out, "\"rule_id\""), 3u) << h.err;  // the sample rule's three WMIC findings
}

// ESC and BEL in a log value, in a bad line echoed by a diagnostic, and a
// newline in a file name: nothing reaches the terminal raw.
TEST(HostileContent, TerminalEscapesAreEscaped) {
  fs::path d = scratch("esc");
  std::string good = slurp(fs::path(VIGIL_SOURCE_DIR) / "samples/logs/nxlog_ws22.jsonl");
  std::string first = good.substr(0, good.find('\n') + 1);
  std::string evil = first;
  size_t host = evil.find("ws-22.contoso.local");
  evil.replace(host, 19, "ws-22\\u001b]0;pwned\\u0007\\u001b[2J");
  std::string bad_line = "{\"EventTime\": \"x\x1b[31mred\x07\n";
  fs::path named = d / "evil\nfake.jsonl:1: error: forged";
  spit(named, evil + bad_line);
  for (const char* format : {"table", "csv"}) {
    VigilRun r = vigil(cat(demo_rules(), {"--format", format, named.string(), "samples/logs"}));
    ASSERT_EQ(r.signal, 0) << r.err;
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << format << r.out;
    EXPECT_EQ(r.out.find('\x07'), std::string::npos) << format << r.out;
    EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find('\x07'), std::string::npos) << r.err;
    EXPECT_NE(r.out.find("ws-22\\x1b]0;pwned\\x07"), std::string::npos) << format << r.out;
    EXPECT_NE(r.err.find("evil\\nfake.jsonl:1: error: forged:2: error: invalid JSON"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("x\\x1b[31mred\\x07"), std::string::npos) << r.err;  // the echoed line, escaped
    // No line of stderr starts with the forged location.
    EXPECT_EQ(r.err.find("\nfake.jsonl"), std::string::npos) << r.err;
    EXPECT_GE(count(r.out, "WMIC"), 3u);
  }
  // --diagnostics json: every stderr line is one JSON object, the summary too.
  VigilRun j = vigil(cat(demo_rules(), {"--diagnostics", "json", "--format", "jsonl", named.string(), "samples/logs"}));
  std::istringstream lines(j.err);
  size_t n = 0;
  for (std::string line; std::getline(lines, line); ++n) {
    ASSERT_FALSE(line.empty());
    EXPECT_EQ(line.front(), '{') << line;
    EXPECT_EQ(line.back(), '}') << line;
  }
  EXPECT_GE(n, 2u);
  EXPECT_NE(j.err.find("{\"summary\":{\"files\":4,"), std::string::npos) << j.err;
}

TEST(HostileContent, OutputlookupNeverFollowsASymlink) {
  fs::path d = scratch("writes");
  fs::create_directories(d / "allowed");
  spit(d / "victim.txt", "precious\n");
  fs::create_symlink(d / "victim.txt", d / "allowed/out.csv");
  VigilRun r = vigil({"search", "search EventCode=* | head 2 | table host EventCode | outputlookup out.csv",
                 "--allow-writes", (d / "allowed").string(), "--format", "jsonl", "samples/logs"});
  ASSERT_EQ(r.signal, 0) << r.err;
  EXPECT_EQ(slurp(d / "victim.txt"), "precious\n");
  EXPECT_NE(r.err.find("symbolic link (not followed)"), std::string::npos) << r.err;
  EXPECT_EQ(count(r.out, "\"EventCode\""), 2u) << r.out;  // the search itself still ran
  // A plain name is written.
  VigilRun ok = vigil({"search", "search EventCode=* | head 2 | table host EventCode | outputlookup fresh.csv",
                  "--allow-writes", (d / "allowed").string(), "--format", "jsonl", "samples/logs"});
  EXPECT_NE(slurp(d / "allowed/fresh.csv").find("host,EventCode"), std::string::npos) << ok.err;
  // Cells with a comma or a quote are quoted, quotes doubled (RFC 4180); plain cells are not.
  VigilRun q = vigil({"search", "search EventCode=* | head 1 | eval note=\"a,\\\"b\\\"\", n=7 | table note n | outputlookup q.csv",
                 "--allow-writes", (d / "allowed").string(), "--format", "jsonl", "samples/logs"});
  EXPECT_EQ(slurp(d / "allowed/q.csv"), "note,n\n\"a,\"\"b\"\"\",7\n") << q.err;
  // A name with a control character is refused at parse time, with a reason.
  VigilRun nl = vigil({"search", "search EventCode=* | outputlookup \"a\nb.csv\"", "--allow-writes",
                  (d / "allowed").string(), "--format", "jsonl", "samples/logs"});
  EXPECT_EQ(nl.signal, 0);
  EXPECT_NE(nl.err.find("is not a plain file name"), std::string::npos) << nl.err;
  EXPECT_FALSE(fs::exists(d / "allowed/a\nb.csv"));
}

}  // namespace
