// Aggregation push-down (clickhouse/pushdown.h) over a hand-written dataset, loaded into the
// two-shard cluster (Distributed tables): the groups of each tstats rule are worked out by hand
// below, and both the cluster hunt and the local engine must produce exactly them. The events
// (dataset Test.Items, fields host, kind, tag (multivalue: `{Tag:all}`), n):
//
//   event  time   host  kind  tag        n     where it is aggregated
//   E1     T+1    a     x     t1         5     cluster
//   E2     T+2    a     x     t1         10    cluster
//   E3     T+3    a     x     t1, t2     9     engine (a multivalue field)
//   E4     T+4    b     x     (none)     abc   cluster (no tag: dropped unless fillnull_value)
//   E5     T+5    b     x     t2         abc   cluster
//   E6     T+6    b     x     t2         7     cluster
//   E7     T+7    a     y     t1         1     filtered out (kind)
//   E8     (none) a     x     t2         3     engine (no time)
//   E9     T+9    b     x     t2, t2     2     engine (a multivalue field)
#include <gtest/gtest.h>

#include <ctime>

#include "ch_cluster.h"
#include "clickhouse/loader.h"
#include "clickhouse/remote_hunt.h"
#include "core/diagnostic.h"
#include "core/strings.h"
#include "engine/rule_set.h"
#include "normalize/normalizer.h"

namespace vigil::chtest {
namespace {

struct Ev {
  int time;  // seconds after T; -1: no TimeCreated
  const char* host;
  const char* kind;
  std::vector<const char*> tags;
  const char* n;
};
const Ev kEvents[] = {
    {1, "a", "x", {"t1"}, "5"},        {2, "a", "x", {"t1"}, "10"}, {3, "a", "x", {"t1", "t2"}, "9"},
    {4, "b", "x", {}, "abc"},          {5, "b", "x", {"t2"}, "abc"}, {6, "b", "x", {"t2"}, "7"},
    {7, "a", "y", {"t1"}, "1"},        {-1, "a", "x", {"t2"}, "3"}, {9, "b", "x", {"t2", "t2"}, "2"},
};
constexpr const char* kT = "2026-03-02T09:14:00";

std::string events_xml() {
  std::string out;
  int id = 1;
  for (auto& e : kEvents) {
    std::string data = std::string("<Data Name='Kind'>") + e.kind + "</Data><Data Name='N'>" + e.n + "</Data>";
    for (auto* t : e.tags) data += std::string("<Data Name='Tag'>") + t + "</Data>";
    std::string time = e.time < 0 ? "" : std::string("<TimeCreated SystemTime='") + std::string(kT, 17) + "0" +
                                             std::to_string(e.time) + ".000000Z'/>";
    out += "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Test'/>"
           "<EventID>1</EventID>" + time + "<EventRecordID>" + std::to_string(100 + id) +
           "</EventRecordID><Channel>Test</Channel><Computer>" + e.host + "</Computer></System><EventData>" + data +
           "</EventData></Event>\n";
    ++id;
  }
  return out;
}

const char* kNormalize = R"(datasets:
  - name: Test.Items
    prefix: Items
    sources:
      - label: test items
        when: {Channel: Test, EventID: "1"}
        fields:
          host: "{Computer}"
          kind: "{Kind}"
          tag: "{Tag:all}"
          n: "{N}"
)";

const char* kAggs =
    "count min(_time) as firstTime max(_time) as lastTime min(Items.n) as nmin max(Items.n) as nmax "
    "count(Items.tag) as ntag values(Items.n) as ns dc(Items.n) as dn";

struct Rule {
  const char* name;
  std::string spl;
  bool pushed;
};
const Rule kRules[] = {
    {"plain", std::string("| tstats ") + kAggs + " from datamodel=Test.Items where Items.kind=x by Items.host Items.tag",
     true},
    {"fillnull",
     std::string("| tstats fillnull_value=NONE ") + kAggs +
         " from datamodel=Test.Items where Items.kind=x by Items.host Items.tag",
     true},
    // A span on _time: the bucket is a number, as the engine computes it (one 5 s bucket per 5 s).
    {"span", "| tstats count from datamodel=Test.Items where Items.kind=x by _time span=5s Items.host", true},
    // earliest() depends on row order: aggregated here, from fetched records.
    {"earliest", "| tstats count earliest(Items.n) as e from datamodel=Test.Items where Items.kind=x by Items.host",
     false},
};

// One finding row as text: field=value pairs in row order, multivalues joined by `|`.
std::string row_text(const Row& r) {
  std::string s;
  for (auto& [k, v] : r.entries()) {
    s += k + "=";
    for (size_t i = 0; i < v.count(); ++i) s += (i ? "|" : "") + v.text(i);
    s += " ";
  }
  return s;
}

class Pushdown : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("vigil_ch_push_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "normalize");
    std::ofstream(dir_ / "events.xml") << events_xml();
    std::ofstream(dir_ / "normalize" / "test.yml") << kNormalize;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static inline fs::path dir_;
};

TEST_F(Pushdown, GroupsMatchHandDerivedAndLocalEngine) {
  // A cluster of its own: its Distributed tables live in the default database (on 18.16 the
  // Distributed engine's currentDatabase() is resolved as `default` on the shards), which the
  // shared cluster's other tests fill with their own events.
  if (!clickhouse_installed()) GTEST_SKIP() << "clickhouse-server is not installed";
  Cluster own;
  ASSERT_EQ(own.start(), "");
  Cluster* cluster = &own;
  auto norm = Normalizer::load((dir_ / "normalize").string());
  ASSERT_TRUE(norm.ok()) << norm.error().message;
  DiagnosticSink diags(nullptr);
  diags.set_keep(false);

  // Distributed tables over both shards.
  clickhouse::HttpClient client(cluster->url());
  clickhouse::LoadOptions lo;
  lo.cluster = "vigil";
  lo.shard_urls = {cluster->http_url(1), cluster->http_url(2)};
  auto loaded = clickhouse::load(client, norm.value(), {(dir_ / "events.xml").string()}, lo, diags);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  ASSERT_EQ(loaded->inserted, 9u);
  ASSERT_EQ(loaded->dataset_rows, 9u);

  RuleSet rs({"", VIGIL_DATA_DIR, false});
  std::vector<ir::CompiledRule> compiled;
  for (auto& r : kRules) {
    compiled.push_back(rs.compile_query(r.spl, diags));
    ASSERT_TRUE(compiled.back().executable) << r.name << ": "
                                            << (compiled.back().reasons.empty() ? "" : compiled.back().reasons[0]);
    compiled.back().info.name = r.name;
  }
  std::vector<const ir::CompiledRule*> rules;
  for (auto& c : compiled) rules.push_back(&c);

  EngineOptions eo;
  eo.threads = 1;
  eo.now = 1.8e9;
  std::map<std::string, std::vector<std::string>> remote, local;
  auto rh = clickhouse::remote_hunt(client, norm.value(), rs.atoms(), rules, eo, diags,
                                    [&](Finding&& f) { remote[f.rule->info.name].push_back(row_text(f.row)); });
  ASSERT_TRUE(rh.ok()) << rh.error().message;
  {
    Engine e(norm.value(), rs.atoms(), rules, eo, diags,
             [&](Finding&& f) { local[f.rule->info.name].push_back(row_text(f.row)); });
    ReadStats st;
    read_inputs({(dir_ / "events.xml").string()}, ReadOptions{}, [&](const Record& r) { e.process(r); }, diags, st);
    e.finish();
  }

  // T as the engine prints _time (an epoch number).
  std::tm tm{};
  strptime(kT, "%Y-%m-%dT%H:%M:%S", &tm);
  const double T = double(timegm(&tm));
  auto t = [&](int s) { return format_number(T + s); };
  // The hand-derived groups, in the engine's order (BY values ascending).
  const std::vector<std::string> plain = {
      // a/t1: E1 E2 E3; n 5 10 9 all numeric -> 5..10; tags 1+1+2; values sorted as text.
      "Items.host=a Items.tag=t1 count=3 firstTime=" + t(1) + " lastTime=" + t(3) +
          " nmin=5 nmax=10 ntag=4 ns=10|5|9 dn=3 ",
      // a/t2: E3 E8 (E8 has no time); n 9 3.
      "Items.host=a Items.tag=t2 count=2 firstTime=" + t(3) + " lastTime=" + t(3) +
          " nmin=3 nmax=9 ntag=3 ns=3|9 dn=2 ",
      // b/t2: E5 E6 E9; n abc 7 2: not all numeric -> compared as text.
      "Items.host=b Items.tag=t2 count=3 firstTime=" + t(5) + " lastTime=" + t(9) +
          " nmin=2 nmax=abc ntag=4 ns=2|7|abc dn=3 ",
  };
  std::vector<std::string> filled = plain;
  // b/NONE: E4 alone (no tag).
  filled.insert(filled.begin() + 2, "Items.host=b Items.tag=NONE count=1 firstTime=" + t(4) + " lastTime=" + t(4) +
                                        " nmin=abc nmax=abc ntag=0 ns=abc dn=1 ");
  EXPECT_EQ(remote["plain"], plain);
  EXPECT_EQ(local["plain"], plain);
  EXPECT_EQ(remote["fillnull"], filled);
  EXPECT_EQ(local["fillnull"], filled);
  // span=5s from T (a multiple of 5): E1-E4 in bucket T, E5 E6 E9 in T+5; E8 (no time) in none.
  const std::vector<std::string> span = {"_time=" + t(0) + " Items.host=a count=3 ",
                                         "_time=" + t(0) + " Items.host=b count=1 ",
                                         "_time=" + t(5) + " Items.host=b count=3 "};
  EXPECT_EQ(local["span"], span);
  EXPECT_EQ(remote["span"], span);
  // earliest: a: E1..E3, E8 (n 5 first by time; E8 has no time); b: E4 E5 E6 E9.
  const std::vector<std::string> earliest = {"Items.host=a count=4 e=5 ", "Items.host=b count=4 e=abc "};
  EXPECT_EQ(local["earliest"], earliest);
  EXPECT_EQ(remote["earliest"], earliest);

  // Push-down happened: three streams in one query (one scan of each shard), `earliest` aggregated here; the
  // cluster's groups: plain a/t1 (E1 E2), b/t2 (E5 E6); fillnull those and b/NONE (E4); span
  // T/a (E1 E2), T/b (E4), T+5/b (E5 E6).
  const auto& st = rh->stats;
  EXPECT_EQ(st.streams_pushed, 3u);
  EXPECT_EQ(st.agg_tables, std::vector<std::string>{"vigil_dm_test_items"});
  // Sent to each shard's local table (the load recorded the shard URLs); groups fetched are the
  // shards' partial groups, and each group's events sit on one shard here (sharded by host).
  EXPECT_TRUE(st.agg_per_shard);
  EXPECT_EQ(st.groups_fetched, 8u);
  ASSERT_EQ(st.not_pushed.size(), 1u);
  EXPECT_EQ(st.not_pushed.begin()->second, 1u);
  // Records fetched: every kind=x event for `earliest` (8); with push-down alone it would be
  // E3, E8, E9.
  EXPECT_EQ(st.rows_fetched, 8u);

  std::vector<const ir::CompiledRule*> pushed_only = {rules[0], rules[1], rules[2]};
  std::map<std::string, std::vector<std::string>> again;
  auto rh2 = clickhouse::remote_hunt(client, norm.value(), rs.atoms(), pushed_only, eo, diags,
                                     [&](Finding&& f) { again[f.rule->info.name].push_back(row_text(f.row)); });
  ASSERT_TRUE(rh2.ok()) << rh2.error().message;
  EXPECT_EQ(again["plain"], plain);
  EXPECT_EQ(again["fillnull"], filled);
  EXPECT_EQ(again["span"], span);
  EXPECT_EQ(rh2->stats.rows_fetched, 3u);  // E3, E9 (multivalue) and E8 (no time)
  own.stop();
}

}  // namespace
}  // namespace vigil::chtest
