// The IR → ClickHouse SQL translator (clickhouse/sql.h): the SQL text of each semantic case, and the
// same cases run for real — crafted events loaded into the cluster, one Sigma rule per case, the
// expected matches worked out by hand from the rule semantics (README "ClickHouse"):
//
//   event  Image                       CommandLine      Custom         IpAddress      Count
//   E1     C:\Tools\50%_off.exe        run 100% now     abc            10.1.2.3       5
//   E2     C:\Tools\50xxoff.exe        run 100x now     '' (empty)     192.168.1.10   0x10
//   E3     c:\tools\50%_OFF.EXE        (missing)        (missing)      fe80::1        " 7"
//   E4     C:\Tools\a_b.exe            RUN a_b          x, target      10.255.0.1     12
//   E5     C:\Tools\aXb.exe            stop now\n       zzz            (missing)      (missing)
//
// For each case: the local hunt, the cluster hunt and the expected count agree, and the case's SQL
// condition evaluated by ClickHouse selects at least the expected events (exactly them where the
// translation is exact).
#include <gtest/gtest.h>

#include "ch_cluster.h"
#include "clickhouse/schema.h"
#include "clickhouse/sql.h"
#include "clickhouse/store.h"
#include "core/diagnostic.h"
#include "engine/rule_set.h"
#include "normalize/normalizer.h"

namespace vigil::chtest {
namespace {

const ::testing::Environment* const kSqlEnv = ::testing::AddGlobalTestEnvironment(new ClusterEnvironment);

using clickhouse::like_escape;
using clickhouse::to_re2;

// ---- pure translation

TEST(SqlText, LikeEscapesPercentUnderscoreBackslash) {
  EXPECT_EQ(like_escape("50%_off\\x"), "50\\%\\_off\\\\x");
  EXPECT_EQ(like_escape("plain"), "plain");
}

TEST(SqlText, QuoteEscapesQuotesBackslashesAndControlBytes) {
  EXPECT_EQ(clickhouse::sql_quote("it's \\ a\nb"), "'it\\'s \\\\ a\\x0Ab'");
  EXPECT_EQ(clickhouse::sql_ident("c_a`b"), "`c_a\\`b`");
}

TEST(SqlText, Re2SubsetAndRewrites) {
  std::string why;
  // PCRE's `$` also matches before a final newline.
  EXPECT_EQ(to_re2("now$", why).value_or("-"), "now(?:\\n?$)");
  EXPECT_EQ(to_re2("[$]x", why).value_or("-"), "[$]x");  // `$` in a class is a literal
  EXPECT_EQ(to_re2("a\\$", why).value_or("-"), "a\\$");
  EXPECT_EQ(to_re2("a\\ b", why).value_or("-"), "a b");  // RE2 rejects `\ `
  EXPECT_EQ(to_re2("^c:\\\\windows\\\\.*\\.exe", why).value_or("-"), "^c:\\\\windows\\\\.*\\.exe");
  EXPECT_EQ(to_re2("a+?b*?", why).value_or("-"), "a+?b*?");  // lazy: the same in both
  // Decided locally, with the reason.
  EXPECT_FALSE(to_re2("(?i)abc", why));
  EXPECT_FALSE(to_re2("a(?=b)", why));
  EXPECT_FALSE(to_re2("(a)\\1", why));
  EXPECT_FALSE(to_re2("a{2,3}", why));
  EXPECT_EQ(why, "counted repetition");
  EXPECT_FALSE(to_re2("a*+", why));  // possessive
  EXPECT_FALSE(to_re2("\\s", why));
  EXPECT_FALSE(to_re2("[[:alpha:]]", why));
  EXPECT_FALSE(to_re2("(*UTF)a", why));
  EXPECT_FALSE(to_re2("[abc", why));
  EXPECT_FALSE(to_re2("x\\", why));
}

// ---- rules over crafted events

const char* kSqlEvents[] = {
    // Image, CommandLine (nullptr = missing), Custom values ("" = empty, none = missing), IpAddress, Count
    "C:\\Tools\\50%_off.exe|run 100% now|abc|10.1.2.3|5",
    "C:\\Tools\\50xxoff.exe|run 100x now||192.168.1.10|0x10",
    "c:\\tools\\50%_OFF.EXE|-|-|fe80::1| 7",
    "C:\\Tools\\a_b.exe|RUN a_b|x;target|10.255.0.1|12",
    "C:\\Tools\\aXb.exe|stop now&#10;|zzz|-|-",
};

std::string xml_escape(const std::string& s) {
  std::string o;
  for (char c : s) o += c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '\'' ? "&apos;" : std::string(1, c);
  return o;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t b = 0;
  for (;;) {
    size_t e = s.find(sep, b);
    out.push_back(s.substr(b, e == std::string::npos ? std::string::npos : e - b));
    if (e == std::string::npos) break;
    b = e + 1;
  }
  return out;
}

// One Sysmon EventID 1 XML record per line (XmlWinEventLog text, like samples/logs).
std::string sql_events_xml() {
  std::string out;
  int id = 1;
  for (const char* spec : kSqlEvents) {
    auto f = split(spec, '|');
    std::string data = "<Data Name='Image'>" + xml_escape(f[0]) + "</Data>";
    if (f[1] != "-") data += "<Data Name='CommandLine'>" + f[1] + "</Data>";  // f[1] may hold an entity
    if (f[2] != "-")
      for (auto& v : split(f[2], ';')) data += "<Data Name='Custom'>" + xml_escape(v) + "</Data>";
    if (f[3] != "-") data += "<Data Name='IpAddress'>" + f[3] + "</Data>";
    if (f[4] != "-") data += "<Data Name='Count'>" + f[4] + "</Data>";
    out += "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider "
           "Name='Microsoft-Windows-Sysmon' Guid='{5770385F-C22A-43E0-BF4C-06F5698FFBD9}'/><EventID>1</EventID>"
           "<TimeCreated SystemTime='2026-03-02T09:14:0" +
           std::to_string(id) + ".000000Z'/><EventRecordID>" + std::to_string(100 + id) +
           "</EventRecordID><Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>host-" +
           std::string(1, id % 2 ? 'a' : 'b') + "</Computer></System><EventData>" + data + "</EventData></Event>\n";
    ++id;
  }
  return out;
}

struct Case {
  const char* name;
  const char* detection;  // the `selection:` map body (YAML, 4-space indented lines)
  const char* condition;
  size_t expected;
  bool exact;  // the SQL condition selects exactly the expected events (first values)
  bool e4;     // E4 (multivalue Custom) is among them; the scan fetches it in any case
};

// Expected counts, from the semantics (README "ClickHouse"):
const Case kCases[] = {
    // Case-insensitive wildcard; `%` and `_` are literals: E1, E3 (case), not E2 (xx), E4.
    {"like_literals", "    Image|endswith: '\\50%_off.exe'", "selection", 2, true, false},
    // `?` is one character: 5?%_off matches 50%_off (E1, E3), not 50xxoff (E2).
    {"wildcard_question", "    Image: '*\\5?%_off.exe'", "selection", 2, false, false},
    // `_` literal: a_b (E4) but not aXb (E5).
    {"underscore_literal", "    Image: 'C:\\Tools\\a_b*'", "selection", 1, true, true},
    {"contains_percent", "    CommandLine|contains: '100%'", "selection", 1, true, false},
    // Empty, not missing: E2 only.
    {"empty_value", "    Custom: ''", "selection", 1, true, false},
    // Sigma null: missing or empty: E2 (empty), E3 (missing).
    {"null_is_missing_or_empty", "    Custom: null", "selection", 2, true, false},
    // Multivalue: the second value of Custom (E4).
    {"multivalue_any", "    Custom: 'target'", "selection", 1, true, true},
    // NOT over a multivalue field: E4 has x among its values, the others pass (missing included).
    {"multivalue_not", "    EventID: 1\n  filter:\n    Custom: 'x'", "selection and not filter", 4, true, false},
    // CIDR: E1, E4; the IPv6 address of E3 and the missing one of E5 never.
    {"cidr", "    IpAddress|cidr: '10.0.0.0/8'", "selection", 2, false, true},
    // Numbers in strings: 0x10 = 16 (E2), " 7" (E3) and 12 (E4) > 6; 5 is not.
    {"numeric_gt", "    Count|gt: 6", "selection", 3, false, true},
    // PCRE `$` before a final newline: E1, E2 and E5 ("stop now\n").
    {"regex_dollar", "    CommandLine|re: 'now$'", "selection", 3, false, false},
    // Case-sensitive regex: only E4's upper-case RUN.
    {"regex_case", "    CommandLine|re: '^RUN'", "selection", 1, false, true},
    // A list of values on one field (one IN test in SQL): E4 and E5, whatever the case.
    {"value_list", "    Image:\n      - 'c:\\tools\\A_B.exe'\n      - 'C:\\Tools\\aXb.exe'", "selection", 2, true, true},
};

std::string rule_yaml(const Case& c) {
  return std::string("title: ch ") + c.name + "\nid: 00000000-0000-0000-0000-0000000000" +
         std::to_string(10 + (&c - kCases)) + "\nstatus: test\nlogsource:\n  product: windows\n  service: sysmon\n"
         "detection:\n  selection:\n" + c.detection + "\n  condition: " + c.condition + "\nlevel: high\n";
}

class Semantics : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("vigil_ch_sem_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "rules");
    std::ofstream(dir_ / "events.xml") << sql_events_xml();
    for (auto& c : kCases) std::ofstream(dir_ / "rules" / (std::string(c.name) + ".yml")) << rule_yaml(c);
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static inline fs::path dir_;
};

TEST_F(Semantics, LocalClusterAndSqlAgreeWithTheHandDerivedCounts) {
  VIGIL_NEED_CLUSTER(cluster);
  // A database of its own on the shared cluster: plain MergeTree tables (no --cluster).
  ASSERT_EQ(cluster->query("CREATE DATABASE IF NOT EXISTS sem"), "");
  const std::string url = cluster->url() + "/?database=sem";
  const std::string events = shell_quote((dir_ / "events.xml").string());
  CliRun load = vigil("load --clickhouse " + shell_quote(url) + " " + events);
  ASSERT_EQ(load.exit_code, 0) << load.err;
  ASSERT_NE(load.err.find("records read 5, inserted 5, skipped 0"), std::string::npos) << load.err;

  const std::string rules = "--rules " + shell_quote((dir_ / "rules").string());
  CliRun local = vigil("hunt " + rules + " --format jsonl --rule-stats " + events);
  CliRun remote = vigil("hunt --clickhouse " + shell_quote(url) + " " + rules + " --format jsonl --rule-stats");
  ASSERT_EQ(local.exit_code, 0) << local.err;
  ASSERT_EQ(remote.exit_code, 0) << remote.err;
  EXPECT_EQ(sorted_lines(local.out), sorted_lines(remote.out));
  // Sigma rules without aggregation: one finding per matching event.
  auto lc = per_rule(sorted_lines(local.out)), rc = per_rule(sorted_lines(remote.out));

  // The SQL each rule's filter becomes, evaluated by ClickHouse over the loaded events.
  DiagnosticSink diags(nullptr);
  diags.set_keep(false);
  RuleSet rs({"", VIGIL_DATA_DIR, false});
  rs.load({(dir_ / "rules").string()}, diags);
  auto norm = Normalizer::load(std::string(VIGIL_DATA_DIR) + "/normalize");
  ASSERT_TRUE(norm.ok());
  clickhouse::HttpClient client(url);
  auto store = clickhouse::inspect(client);
  ASSERT_TRUE(store.ok()) << store.error().message;
  clickhouse::SqlTranslator tr(norm.value(), rs.atoms(), store.value());
  size_t checked = 0;
  for (auto& r : rs.rules()) {
    ASSERT_TRUE(r.executable) << r.info.name;
    const Case* c = nullptr;
    for (auto& k : kCases)
      if (r.info.name == std::string("ch ") + k.name) c = &k;
    ASSERT_NE(c, nullptr) << r.info.name;
    EXPECT_EQ(lc[r.info.name], c->expected) << "local engine, " << c->name;
    EXPECT_EQ(rc[r.info.name], c->expected) << "cluster hunt, " << c->name;
    auto sql = tr.translate(r);
    ASSERT_EQ(sql.streams.size(), 1u);
    const auto& s = sql.streams[0];
    EXPECT_EQ(s.table, "vigil_raw");
    EXPECT_EQ(s.exact, c->exact) << c->name << ": " << s.where;
    // As the hunt fetches: rows holding a later value of some field (E4) always come back.
    std::string where = "(notEmpty(m_k) OR " + s.where + ")";
    if (!s.buckets.empty()) where = "event_id = '1' AND " + where;
    std::string n = cluster->query("SELECT count() FROM sem.vigil_raw WHERE " + where);
    ASSERT_EQ(n.rfind("ERROR", 0), std::string::npos) << c->name << ": " << n << "\n" << where;
    const size_t fetched = c->expected + (c->e4 ? 0 : 1);
    if (c->exact) EXPECT_EQ(std::stoul(n), fetched) << c->name << ": " << where;
    else EXPECT_GE(std::stoul(n), fetched) << c->name << ": " << where;
    ++checked;
  }
  EXPECT_EQ(checked, std::size(kCases));
}

// The SQL text of a few cases, written out by hand.
TEST_F(Semantics, SqlTextOfCases) {
  DiagnosticSink diags(nullptr);
  diags.set_keep(false);
  RuleSet rs({"", VIGIL_DATA_DIR, false});
  rs.load({(dir_ / "rules").string()}, diags);
  auto norm = Normalizer::load(std::string(VIGIL_DATA_DIR) + "/normalize");
  ASSERT_TRUE(norm.ok());
  clickhouse::Store store;
  for (auto& t : clickhouse::build_schema(norm.value())) store.columns[t.name] = t.columns;
  clickhouse::SqlTranslator tr(norm.value(), rs.atoms(), store);
  std::map<std::string, std::string> where;
  for (auto& r : rs.rules()) where[r.info.name.substr(3)] = tr.translate(r).streams.at(0).where;
  // Image is a column: lower() for case-insensitivity, `%` `_` `\` escaped inside LIKE, NULL = missing.
  EXPECT_NE(where["like_literals"].find("ifNull(lower(`c_Image`) LIKE '%\\\\\\\\50\\\\%\\\\_off.exe', 0)"),
            std::string::npos)
      << where["like_literals"];
  // Custom is not a column: read from the key/value arrays, present and empty.
  EXPECT_NE(where["empty_value"].find("(has(f_k, 'Custom') AND lower(f_v[indexOf(f_k, 'Custom')]) = '')"),
            std::string::npos)
      << where["empty_value"];
  // A numeric comparison: unparsable values pass (decided locally), the bound is widened slightly.
  EXPECT_NE(where["numeric_gt"].find("ifNull(toFloat64OrNull(f_v[indexOf(f_k, 'Count')]) >= 5.99999999"),
            std::string::npos)
      << where["numeric_gt"];
  // CIDR on IPv4: masked comparison; unparsable addresses pass.
  EXPECT_NE(where["cidr"].find("bitAnd(IPv4StringToNum(`c_IpAddress`), 4278190080)"), std::string::npos) << where["cidr"];
  // Equalities on one field folded into one IN list (fewer nodes for ClickHouse to analyse).
  EXPECT_NE(where["value_list"].find("ifNull(lower(`c_Image`) IN ('c:\\\\tools\\\\a_b.exe', 'c:\\\\tools\\\\axb.exe'), 0)"),
            std::string::npos)
      << where["value_list"];
  // The regex `$` rewritten for RE2.
  EXPECT_NE(where["regex_dollar"].find("match(`c_CommandLine`, 'now(?:\\\\n?$)')"), std::string::npos)
      << where["regex_dollar"];
}

}  // namespace
}  // namespace vigil::chtest
