// The streaming, parallel engine (engine/engine.h): aggregations are exact whatever the batch size
// and thread count, findings come out identical (and in the same order) for any --threads, and the
// one bound left (rows held for whole-table operators) is reported, never silent.
//
// Expected values were derived independently with python3 over ../shared/data/otrf (zipfile + json,
// Channel compared case-insensitively, EventID as text): Sysmon EventID 1 events: 1,270 (also in
// docs/data.md), 129 distinct Image values, and per Hostname (the raw view's Computer): MKT01.pandalab.com 579,
// WORKSTATION5.theshire.local 201, ACCT01.pandalab.com 138, PRD01.pandalab.com 127, IT01.pandalab.com
// 104, DC01.pandalab.com 39, WORKSTATION6.theshire.local 36, WORKSTATION5 18, MXS01.azsentinel.local 13,
// MORDORDC.mordor.local 8, WORKSTATION6.mordor.local 4, MORDORDC.theshire.local 3.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>

#include <map>
#include <mutex>
#include <thread>

#include "engine/rule_set.h"
#include "engine/run.h"
#include "normalize/normalizer.h"

namespace vigil {
namespace {

const std::string kSharedRoot = VIGIL_SHARED_DIR;
const std::string kSysmon1 = "Channel=\"Microsoft-Windows-Sysmon/Operational\" EventID=1";
// A tenth of OTRF (53,132 events, 135 of them Sysmon EventID 1), for tests whose point is not the
// volume; the same python derivation gives its counts.
const std::string kPersistence = kSharedRoot + "/data/otrf/atomic/windows/persistence";

struct Query {
  Table rows;
  bool order_free = false;  // Engine::aggregates_order_free of its first stream
  std::vector<RuleStats> stats;
  std::vector<Diagnostic> diags;
};

Query run_query(const std::string& spl, const std::string& input, unsigned threads, size_t batch,
             size_t max_kept = 2'000'000) {
  DiagnosticSink diags(nullptr);
  RuleSet rs({kSharedRoot + "/corpus/security_content", VIGIL_DATA_DIR, false});
  ir::CompiledRule rule = rs.compile_query(spl, diags);
  EXPECT_TRUE(rule.executable) << spl;
  auto norm = Normalizer::load(std::string(VIGIL_DATA_DIR) + "/normalize");
  EXPECT_TRUE(norm.ok());
  RunOptions ro;
  ro.engine.now = 1.7e9;
  ro.engine.threads = threads;
  ro.engine.batch_records = batch;
  ro.engine.max_kept_rows = max_kept;
  RunResult res = run_rules({&rule}, rs.atoms(), norm.value(), {input}, ro, diags);
  Query q;
  for (auto& f : res.findings) q.rows.push_back(std::move(f.row));
  q.stats = res.engine->rule_stats();
  q.order_free = res.engine->aggregates_order_free(0, 0);
  q.diags = diags.kept();
  return q;
}

// A JSON-lines input written for one test, removed when the test is done with it.
struct TempEvents {
  std::string dir, path;
  TempEvents(const std::string& name, const std::function<void(std::ostream&)>& write)
      : dir(::testing::TempDir() + name), path(dir + "/events.json") {
    std::filesystem::create_directories(dir);
    std::ofstream out(path);
    write(out);
  }
  ~TempEvents() { std::filesystem::remove_all(dir); }
};

std::string text(const Row& r, const char* field) {
  const Value* v = r.get(field);
  return v ? v->to_string() : "<none>";
}

TEST(StreamingEngine, StatsOverOtrfAreExactForAnyBatchAndThreadCount) {
  const std::string otrf = kSharedRoot + "/data/otrf";
  for (auto [threads, batch] : {std::pair<unsigned, size_t>{1, 512}, {2, 512}, {2, 7}}) {
    Query q = run_query(kSysmon1 + " | stats count dc(Image) as images", otrf, threads, batch);
    ASSERT_EQ(q.rows.size(), 1u);
    EXPECT_EQ(text(q.rows[0], "count"), "1270") << "threads " << threads << " batch " << batch;
    EXPECT_EQ(text(q.rows[0], "images"), "129");
  }
}

// Order-free aggregates (count, dc, values, min, max) are fed by every worker into one state under
// its lock, in whatever order the batches run: the table must be the one-thread table, row for row.
TEST(StreamingEngine, OrderFreeStatsFedByConcurrentWorkersEqualOneThread) {
  const std::string spl = kSysmon1 +
                          " | stats count dc(Image) as images values(ParentImage) as parents min(_time) as first"
                          " max(_time) as last by Computer";
  Query one = run_query(spl, kSharedRoot + "/data/otrf", 1, 100000);
  std::map<std::string, std::string> counts;
  for (auto& r : one.rows) counts[text(r, "Computer")] = text(r, "count");
  EXPECT_EQ(counts.size(), 12u);
  EXPECT_EQ(counts["MKT01.pandalab.com"], "579");  // the header's derivation
  EXPECT_EQ(counts["MORDORDC.theshire.local"], "3");
  for (unsigned threads : {4u}) {  // more workers than cores: they meet on the state often
    Query many = run_query(spl, kSharedRoot + "/data/otrf", threads, 7);
    ASSERT_EQ(one.rows.size(), many.rows.size()) << threads;
    for (size_t i = 0; i < one.rows.size(); ++i)
      for (const char* f : {"Computer", "count", "images", "parents", "first", "last"})
        EXPECT_EQ(text(one.rows[i], f), text(many.rows[i], f)) << f << " row " << i << " threads " << threads;
  }
}

// Per-row operators before an order-free aggregation (eval, where, rename) leave it order-free: each
// worker runs them on its own rows and feeds the run's state under its lock. The table must still
// be the one-thread table, row for row.
TEST(StreamingEngine, OrderFreeStatsAfterPerRowOperatorsFedByConcurrentWorkersEqualOneThread) {
  const std::string spl = kSysmon1 +
                          " | eval image=lower(Image) | where isnotnull(image) | rename Computer as host"
                          " | stats count dc(image) as images values(ParentImage) as parents max(_time) as last"
                          " by host";
  Query one = run_query(spl, kSharedRoot + "/data/otrf", 1, 100000);
  EXPECT_TRUE(one.order_free);
  std::map<std::string, std::string> counts;
  for (auto& r : one.rows) counts[text(r, "host")] = text(r, "count");
  EXPECT_EQ(counts["MKT01.pandalab.com"], "579");  // as above: every Sysmon 1 has an Image
  EXPECT_EQ(counts["MORDORDC.theshire.local"], "3");
  Query many = run_query(spl, kSharedRoot + "/data/otrf", 4, 7);
  ASSERT_EQ(one.rows.size(), many.rows.size());
  for (size_t i = 0; i < one.rows.size(); ++i)
    for (const char* f : {"host", "count", "images", "parents", "last"})
      EXPECT_EQ(text(one.rows[i], f), text(many.rows[i], f)) << f << " row " << i;
}

// A group keeps the number of the row that made it: a BY value a per-row operator may have made a
// number (`_time` copied or renamed) leaves the aggregation ordered (batch states merged in input
// order); one that stays a captured text, or a number that is not a BY value, does not.
TEST(StreamingEngine, PerRowOperatorsThatMayMakeABYValueANumberKeepTheAggregationOrdered) {
  // Any input will do: the plan is the point.
  const std::string otrf = kSharedRoot + "/data/otrf/atomic/windows/persistence/host/cmd_userinitmprlogonscript_batch.zip";
  auto order_free = [&](const std::string& tail) { return run_query(kSysmon1 + tail, otrf, 2, 512).order_free; };
  EXPECT_TRUE(order_free(" | stats count by Computer"));
  EXPECT_TRUE(order_free(" | eval n=len(Image) | where n > 3 | stats count max(n) as longest by Computer"));
  EXPECT_TRUE(order_free(" | rename Computer as host | stats count by host"));
  EXPECT_FALSE(order_free(" | eval t=_time | stats count by t"));
  EXPECT_FALSE(order_free(" | rename _time as t | stats count by t"));
  EXPECT_FALSE(order_free(" | eval n=len(Image) | rename n as size | stats count by size"));
  EXPECT_FALSE(order_free(" | stats count by _time"));
}

TEST(StreamingEngine, GroupedStatsMergeAcrossBatches) {
  const std::map<std::string, std::string> want = {
      {"MKT01.pandalab.com", "579"},   {"WORKSTATION5.theshire.local", "201"}, {"ACCT01.pandalab.com", "138"},
      {"PRD01.pandalab.com", "127"},   {"IT01.pandalab.com", "104"},           {"DC01.pandalab.com", "39"},
      {"WORKSTATION6.theshire.local", "36"}, {"WORKSTATION5", "18"},           {"MXS01.azsentinel.local", "13"},
      {"MORDORDC.mordor.local", "8"},  {"WORKSTATION6.mordor.local", "4"},     {"MORDORDC.theshire.local", "3"}};
  Query one = run_query(kSysmon1 + " | stats count min(_time) as first latest(Image) as last_image by Computer",
                     kSharedRoot + "/data/otrf", 1, 100000);
  Query many = run_query(kSysmon1 + " | stats count min(_time) as first latest(Image) as last_image by Computer",
                      kSharedRoot + "/data/otrf", 2, 3);
  std::map<std::string, std::string> got;
  for (auto& r : one.rows) got[text(r, "Computer")] = text(r, "count");
  EXPECT_EQ(got, want);
  // Small batches on two threads merge to exactly the single-batch result (order included).
  ASSERT_EQ(one.rows.size(), many.rows.size());
  for (size_t i = 0; i < one.rows.size(); ++i)
    for (const char* f : {"Computer", "count", "first", "last_image"})
      EXPECT_EQ(text(one.rows[i], f), text(many.rows[i], f)) << f << " row " << i;
}

TEST(StreamingEngine, RowsHeldForWholeTableOperatorsAreBoundedAndReported) {
  // `sort` needs every row: past max_kept_rows the rest are dropped, with a warning and a count.
  Query q = run_query(kSysmon1 + " | sort 0 _time | stats count", kPersistence, 2, 16, 100);
  ASSERT_EQ(q.rows.size(), 1u);
  EXPECT_EQ(text(q.rows[0], "count"), "100");
  EXPECT_EQ(q.stats[0].rows_dropped, 35u);  // of its 135 Sysmon EventID 1 events
  bool warned = false;
  for (auto& d : q.diags) warned |= d.reason == "row-limit";
  EXPECT_TRUE(warned);
  // stats itself has no row cap: its state grows with groups, not events.
  Query all = run_query(kSysmon1 + " | stats count", kPersistence, 2, 16, 100);
  EXPECT_EQ(text(all.rows[0], "count"), "135");
  EXPECT_EQ(all.stats[0].rows_dropped, 0u);
}

// Filters after an aggregation that read only BY values (through rename and eval) run on each
// event's group before it is fed: only the groups they keep are held, and the results are exact.
// A filter that reads an aggregate (or a field computed from one) is not moved: every group is held.
// Expected counts per Computer: the python3 derivation in this file's header.
TEST(StreamingEngine, FiltersOnGroupValuesRunBeforeTheAggregation) {
  // Over the tenth of OTRF (kPersistence): its 135 Sysmon EventID 1 events per Hostname, by the same
  // python derivation: WORKSTATION5.theshire.local 118, MXS01.azsentinel.local 13,
  // MORDORDC.theshire.local 3, WORKSTATION5 1.
  const std::string agg = kSysmon1 + " | stats count min(_time) as first by Computer";
  struct Case {
    std::string tail;
    std::map<std::string, std::string> want;  // host -> count
    uint64_t groups_held;
  };
  const std::vector<Case> cases = {
      {" | rename Computer as host | where host=\"MXS01.azsentinel.local\" OR host=\"MORDORDC.theshire.local\"",
       {{"MXS01.azsentinel.local", "13"}, {"MORDORDC.theshire.local", "3"}}, 2},
      {" | rename Computer as host | eval site=lower(substr(host,1,4)) | search site=work",
       {{"WORKSTATION5.theshire.local", "118"}, {"WORKSTATION5", "1"}}, 2},
      // Reads the aggregate: not moved, and the counts show that no event was left out.
      {" | rename Computer as host | where count > 10",
       {{"WORKSTATION5.theshire.local", "118"}, {"MXS01.azsentinel.local", "13"}}, 4},
      // Computed from an aggregate, then filtered: not moved either.
      {" | rename Computer as host | eval big=if(count>100,\"y\",\"n\") | where big=\"y\"",
       {{"WORKSTATION5.theshire.local", "118"}}, 4},
  };
  for (size_t i = 0; i < cases.size(); ++i)
    for (auto [threads, batch] : {std::pair<unsigned, size_t>{1, 512}, {2, 5}}) {
      if (threads == 2 && i % 2) continue;  // each kind once on two threads with small batches
      const Case& c = cases[i];
      Query q = run_query(agg + c.tail, kPersistence, threads, batch);
      std::map<std::string, std::string> got;
      for (auto& r : q.rows) got[text(r, "host")] = text(r, "count");
      EXPECT_EQ(got, c.want) << c.tail << " threads " << threads;
      EXPECT_EQ(q.stats[0].groups_held, c.groups_held) << c.tail << " threads " << threads;
      EXPECT_EQ(q.stats[0].events_matched, 135u);
    }
}

// An early filter runs once per group key and worker (again when its remembered verdicts are
// cleared), so its warnings are told once a run, not once each time it runs: the count is the same
// for any thread count. Here a bad pattern makes `match` warn and fail for every one of the 129
// Image values (see the header): one warning, where one thread used to count 129 and two more, and
// no row is left.
TEST(StreamingEngine, EarlyFilterWarningsAreToldOnceForAnyThreadCount) {
  const std::string& otrf = kPersistence;
  for (auto [threads, batch] : {std::pair<unsigned, size_t>{1, 512}, {2, 64}}) {
    Query q = run_query(kSysmon1 + " | stats count by Image | where match(Image, \"(\")", otrf, threads, batch);
    size_t told = 0;
    for (auto& d : q.diags)
      if (d.reason == "bad-regex") told += 1 + d.repeats;
    EXPECT_EQ(told, 1u) << "threads " << threads;
    EXPECT_TRUE(q.rows.empty());
    EXPECT_EQ(q.stats[0].groups_held, 0u);  // every group was left out before the aggregation
  }
}

// The verdict of those early filters is remembered by the BY values they read; an event that
// feeds no group (a null BY value the filter does not read) must not decide it for later events.
TEST(StreamingEngine, EarlyFilterVerdictsAreNotTakenFromEventsInNoGroup) {
  const TempEvents in("vigil_early_filter", [](std::ostream& out) {
    out << R"({"EventID":"1","Image":"C:\\x.exe"})" "\n"                      // no User: in no group
        << R"({"EventID":"1","Image":"C:\\x.exe","User":"alice"})" "\n"
        << R"({"EventID":"1","Image":"C:\\y.exe","User":"bob"})" "\n";
  });
  Query q = run_query("EventID=1 | stats count by Image User | where Image=\"C:\\\\x.exe\"", in.path, 1, 512);
  ASSERT_EQ(q.rows.size(), 1u);
  EXPECT_EQ(text(q.rows[0], "User"), "alice");
  EXPECT_EQ(text(q.rows[0], "count"), "1");
  EXPECT_EQ(q.stats[0].groups_held, 1u);  // y.exe was left out before the aggregation
}

// A worker remembers at most 512 verdicts per stream, then forgets them all and starts again: with
// 1,000 keys seen three times over (in order, in order, backwards), verdicts are remembered, found,
// forgotten and made again, and every kept group still has all of its events. Expected by
// construction: users u0 … u999, the filter keeps the 500 ending in an even digit, 3 events each.
TEST(StreamingEngine, EarlyFilterVerdictsStayExactPastTheirBound) {
  const TempEvents in("vigil_early_filter_bound", [](std::ostream& out) {
    auto event = [&](int k) { out << R"({"EventID":"1","Image":"C:\\x.exe","User":"u)" << k << "\"}\n"; };
    for (int k = 0; k < 1000; ++k) event(k);
    for (int k = 0; k < 1000; ++k) event(k);
    for (int k = 999; k >= 0; --k) event(k);
  });
  for (auto [threads, batch] : {std::pair<unsigned, size_t>{1, 512}, {2, 64}}) {
    Query q = run_query("EventID=1 | stats count by User | where match(User, \"[02468]$\")", in.path, threads, batch);
    ASSERT_EQ(q.rows.size(), 500u) << "threads " << threads;
    for (auto& r : q.rows) {
      const std::string user = text(r, "User");
      EXPECT_TRUE(std::string("02468").find(user.back()) != std::string::npos) << user;
      EXPECT_EQ(text(r, "count"), "3") << user << " threads " << threads;
    }
    EXPECT_EQ(q.stats[0].groups_held, 500u) << "threads " << threads;
    EXPECT_EQ(q.stats[0].events_matched, 3000u) << "threads " << threads;
  }
}

// A running state keys a `_time span=1h` bucket by its text's pool id, kept while rows stay in one
// bucket: rows that change bucket at every event must still land in their own hour. Expected by
// construction: 300 events, event i in hour (7i mod 3) and user u(i mod 2), so each (hour, user)
// pair has 50 events.
TEST(StreamingEngine, TimeSpanBucketsStayApartWhenEveryRowChangesBucket) {
  const TempEvents in("vigil_span_buckets", [](std::ostream& out) {
    for (int i = 0; i < 300; ++i)
      out << R"({"EventTime":"2024-01-01 0)" << (7 * i) % 3 << ":" << 10 + i % 40 << R"(:00","EventID":"1","User":"u)"
          << i % 2 << "\"}\n";
  });
  for (auto [threads, batch] : {std::pair<unsigned, size_t>{1, 512}, {2, 16}}) {
    Query q = run_query("EventID=1 | stats count by _time span=1h User", in.path, threads, batch);
    ASSERT_EQ(q.rows.size(), 6u) << "threads " << threads;
    std::map<std::pair<std::string, std::string>, std::string> got;
    for (auto& r : q.rows) got[{text(r, "_time"), text(r, "User")}] = text(r, "count");
    const double day = 1704067200;  // 2024-01-01T00:00:00Z
    for (int h = 0; h < 3; ++h)
      for (const char* u : {"u0", "u1"}) {
        const std::string hour = Value(day + 3600.0 * h).to_string();
        EXPECT_EQ(got[std::make_pair(hour, std::string(u))], "50") << "hour " << h << " " << u << " threads " << threads;
      }
  }
}

// The two sides of ESCU's process-and-file rules, by process_guid: every process (`runs`), and the
// file events `where` keeps (`writes`); `no_file` keeps none. Expected counts from python (zipfile +
// json) over the OTRF archives of atomic/windows/persistence (53,132 events): 135 Sysmon EventID 1
// events with 135 distinct ProcessGuid; 18 of those ProcessGuid also have Sysmon file events (EventID
// 11, 23, 26, 15: the Filesystem data model's sources). Over all of OTRF the same script gives 1,270
// and 239; a tenth of the events keeps these tests short.
const std::string kProcessesByGuid =
    "| tstats count as runs from datamodel=Endpoint.Processes by Processes.process_guid | rename Processes.* as * ";
std::string files_by_guid(const std::string& where) {
  return "| tstats count as writes from datamodel=Endpoint.Filesystem " + where +
         " by Filesystem.process_guid | rename Filesystem.* as * ";
}
const std::string kNoFile = "where Filesystem.file_name=\"no-such-file.vigil\"";
std::string subsearch(const std::string& spl) { return "[" + spl + "]"; }

// `tstats … | rename … | join key [tstats …]`: when the right side is empty, an inner join leaves
// nothing, so the left table is never made; a left join, or a right side with rows, makes it.
TEST(StreamingEngine, AnInnerJoinWithNothingOnItsRightMakesNoLeftRows) {
  const std::string& otrf = kPersistence;
  const std::string left = kProcessesByGuid;
  auto right = [](const std::string& where) { return subsearch(files_by_guid(where)); };
  const std::string nothing = right(kNoFile);
  for (auto [threads, batch] : {std::pair<unsigned, size_t>{1, 512}, {2, 64}}) {
    Query inner = run_query(left + "| join process_guid " + nothing, otrf, threads, batch);
    EXPECT_TRUE(inner.rows.empty());
    EXPECT_EQ(inner.stats[0].groups_held, 135u);
    EXPECT_EQ(inner.stats[0].groups_joined_away, 135u) << "the left table was made";
    if (threads > 1) continue;  // the two below once
    Query outer = run_query(left + "| join type=left process_guid " + nothing, otrf, threads, batch);
    EXPECT_EQ(outer.rows.size(), 135u);
    EXPECT_EQ(outer.stats[0].groups_joined_away, 0u);

    Query some = run_query(left + "| join process_guid " + right(""), otrf, threads, batch);
    EXPECT_EQ(some.rows.size(), 18u);
    EXPECT_EQ(some.stats[0].groups_joined_away, 0u);
    for (auto& r : some.rows) EXPECT_NE(text(r, "writes"), "<none>");
  }
}

// The mirror case (ESCU's `tstats … Filesystem … | join process_guid [tstats … Processes …]`): with
// no row on its left, a join (inner or left) leaves nothing whatever its right side holds, so the
// right table is not made; its 135 groups (the Sysmon EventID 1 events' ProcessGuid, as above) are
// counted as joined away. With rows on the left it is made and joined as before.
TEST(StreamingEngine, AJoinWithNoRowOnItsLeftMakesNoRightRows) {
  const std::string& otrf = kPersistence;
  const std::string processes = subsearch(kProcessesByGuid);
  const std::string none = files_by_guid(kNoFile);
  for (auto [threads, batch] : {std::pair<unsigned, size_t>{1, 512}, {2, 64}}) {
    for (const char* type : {"", "type=left "}) {
      Query q = run_query(none + "| join " + type + "process_guid " + processes, otrf, threads, batch);
      EXPECT_TRUE(q.rows.empty());
      EXPECT_EQ(q.stats[0].groups_held, 135u);
      EXPECT_EQ(q.stats[0].groups_joined_away, 135u) << "the right table was made (" << type << ")";
    }
    if (threads > 1) continue;
    Query some = run_query(files_by_guid("") + "| join process_guid " + processes, otrf, threads, batch);
    EXPECT_EQ(some.rows.size(), 18u);
    EXPECT_EQ(some.stats[0].groups_joined_away, 0u);
    for (auto& r : some.rows) EXPECT_NE(text(r, "runs"), "<none>");
  }
}

// Each query compiled as a rule, all run together over the EVTX samples: per rule, its findings'
// rows as text and then "matched=N"; and the groups the rules hold, summed. Also the findings' rows
// in the order they came, per rule the groups it holds, what the run's sink kept and counted, and
// how many threads ran the rules' tails.
struct SamplesRun {
  std::vector<std::vector<std::string>> rules;
  uint64_t groups = 0;
  std::vector<std::string> in_order;
  std::vector<uint64_t> rule_groups;
  std::vector<Diagnostic> diags;
  size_t warnings = 0;
  unsigned tail_threads = 0;
};
SamplesRun run_over_samples(const std::vector<std::string>& queries, unsigned threads) {
  DiagnosticSink diags(nullptr);
  RuleSet rs({kSharedRoot + "/corpus/security_content", VIGIL_DATA_DIR, false});
  std::vector<ir::CompiledRule> rules;
  for (auto& q : queries) rules.push_back(rs.compile_query(q, diags));
  std::vector<const ir::CompiledRule*> ptrs;
  for (auto& r : rules) ptrs.push_back(&r);
  auto norm = Normalizer::load(std::string(VIGIL_DATA_DIR) + "/normalize");
  RunOptions ro;
  ro.engine.now = 1.7e9;
  ro.engine.threads = threads;
  RunResult res = run_rules(ptrs, rs.atoms(), norm.value(), {kSharedRoot + "/data/evtx-attack-samples"}, ro, diags);
  SamplesRun out;
  out.rules.resize(queries.size());
  for (auto& f : res.findings) {
    size_t i = size_t(std::find(ptrs.begin(), ptrs.end(), f.rule) - ptrs.begin());
    std::string s;
    for (auto& [k, v] : f.row.entries()) s += k + "=" + v.to_string() + "|";
    out.in_order.push_back(s);
    out.rules[i].push_back(std::move(s));
  }
  for (size_t i = 0; i < queries.size(); ++i) {
    auto& st = res.engine->rule_stats()[i];
    out.rules[i].push_back("matched=" + std::to_string(st.events_matched));
    out.groups += st.groups_held;
    out.rule_groups.push_back(st.groups_held);
  }
  out.diags = diags.kept();
  out.warnings = diags.warnings();
  out.tail_threads = res.engine->tail_threads();
  return out;
}

// Rules whose aggregation reads the same events the same way share one state (ESCU repeats one
// Processes tstats in nine rules): each rule's findings and counts are what it gets alone.
TEST(StreamingEngine, RulesWithTheSameAggregationShareOneStateAndGetTheirOwnResults) {
  const std::string tstats =
      "| tstats count min(_time) as firstTime from datamodel=Endpoint.Processes where Processes.process_name=cmd.exe "
      "by Processes.dest Processes.parent_process_name";
  const std::vector<std::string> spls = {tstats + " | where count > 5", tstats + " | sort - count | head 1",
                                         tstats + " | stats sum(count) as total"};
  const SamplesRun all = run_over_samples(spls, 2);
  const auto& together = all.rules;
  const uint64_t shared_groups = all.groups;
  uint64_t alone_groups = 0;
  for (size_t i = 0; i < spls.size(); ++i) {
    const SamplesRun one = run_over_samples({spls[i]}, 2);
    const auto& alone = one.rules;
    alone_groups += one.groups;
    EXPECT_EQ(together[i], alone[0]) << spls[i];
    EXPECT_GT(alone[0].size(), 1u) << spls[i];  // some finding, and the matched count
  }
  EXPECT_EQ(together[0].back(), together[1].back());  // the same events matched, counted for each
  EXPECT_NE(together[0].back(), "matched=0");
  EXPECT_EQ(shared_groups * 3, alone_groups);  // one state, counted once
}

// The queries run together, with 1 and 2 threads: each one's findings and matched count are what it
// gets run alone (and it gets some).
void expect_each_as_alone(const std::vector<std::string>& spls) {
  for (unsigned threads : {1u, 2u}) {
    auto together = run_over_samples(spls, threads).rules;
    for (size_t i = 0; i < spls.size(); ++i) {
      auto alone = run_over_samples({spls[i]}, 1).rules;
      EXPECT_EQ(together[i], alone[0]) << spls[i] << " threads " << threads;
      EXPECT_GT(alone[0].size(), 1u) << spls[i];  // some finding, and the matched count
    }
  }
}

// Rules whose tstats read the same names of the same view (one BY list, one set of aggregates) but
// through different filters capture one row per event between them: each rule's findings and
// counts are still what it gets alone (where every rule captures its own), for 1 and 2 threads,
// including a rule whose filter on a BY value runs before its aggregation.
TEST(StreamingEngine, RulesThatCaptureAlikeShareOneRowAndGetTheirOwnResults) {
  auto tstats = [](const std::string& where) {
    return "| tstats count min(_time) as firstTime max(_time) as lastTime from datamodel=Endpoint.Processes where " +
           where + " by Processes.dest Processes.user Processes.process_name";
  };
  const std::vector<std::string> spls = {
      tstats("Processes.process_name=cmd.exe"),
      tstats("Processes.process_name=powershell.exe"),
      tstats("Processes.parent_process_name=cmd.exe") + " | `drop_dm_object_name(Processes)` | where count > 1",
      tstats("Processes.process_name=*") + " | `drop_dm_object_name(Processes)` | where process_name=\"whoami.exe\"",
  };
  expect_each_as_alone(spls);
}

// Rules over one data model with different BY lists and aggregates capture one row per event
// between them, of every name any of them reads: each rule's findings and counts are still what it
// gets alone (its row then holding its own names only), for 1 and 2 threads. The rules read names
// some events lack (a BY value missing drops the row, a missing aggregate input is skipped), time
// spans, values() and dc() of names other rules group by, and the same name in two roles.
TEST(StreamingEngine, RulesOfOneDataModelShareOneRowOfAllTheirNamesAndGetTheirOwnResults) {
  const std::vector<std::string> spls = {
      "| tstats count from datamodel=Endpoint.Processes where Processes.process_name=cmd.exe "
      "by Processes.dest Processes.parent_process_name",
      "| tstats count min(_time) as firstTime values(Processes.process) as cmds dc(Processes.parent_process_name) as "
      "parents from datamodel=Endpoint.Processes by Processes.user Processes.process_name",
      "| tstats count from datamodel=Endpoint.Processes where Processes.process_name=powershell.exe "
      "by _time span=1h Processes.process_id Processes.parent_process_id Processes.dest",
      "| tstats values(Processes.dest) as hosts count from datamodel=Endpoint.Processes "
      "by Processes.process_current_directory | `drop_dm_object_name(Processes)` | where count > 2",
      "| tstats count from datamodel=Endpoint.Filesystem by Filesystem.file_name Filesystem.dest",
  };
  expect_each_as_alone(spls);
}

// Rule tails (what runs at the end, on the merged states) run side by side with threads: their
// findings and their operators' warnings come out in rule order, as with one thread, and a state
// several rules share counts its groups once, for the first rule that has it. 96 rules, so that
// the tails of two threads run (with fewer, the calling thread runs them all). Every third rule
// shares one Processes tstats; each rule's tail warns on every row with a pattern of its own.
TEST(StreamingEngine, RuleTailsOnTwoThreadsHandOnWhatOneThreadGives) {
  const std::string shared_tstats =
      "| tstats count from datamodel=Endpoint.Processes where Processes.process_name=cmd.exe "
      "by Processes.dest Processes.parent_process_name | `drop_dm_object_name(Processes)`";
  std::vector<std::string> spls;
  for (int i = 0; i < 96; ++i) {
    const std::string k = std::to_string(i);
    const std::string head =
        i % 3 == 0 ? shared_tstats
                   : "| tstats count from datamodel=Endpoint.Processes where Processes.process_id>" + k +
                         " by Processes.dest Processes.process_name | `drop_dm_object_name(Processes)`";
    spls.push_back(head + " | eval rule=" + k + ", bad=match(dest, \"(" + k + "\") | where count > " +
                   std::to_string(i % 4));
  }
  auto warned = [](const SamplesRun& r) {
    std::vector<std::string> out;
    for (auto& d : r.diags)
      if (d.message.find("match()") != std::string::npos)
        out.push_back(d.message + " x" + std::to_string(d.repeats + 1));
    return out;
  };
  SamplesRun one = run_over_samples(spls, 1), two = run_over_samples(spls, 2);
  EXPECT_EQ(one.tail_threads, 1u);
  EXPECT_EQ(two.tail_threads, 2u);  // the tails did run side by side
  EXPECT_GT(one.in_order.size(), 96u);
  EXPECT_EQ(one.in_order, two.in_order);
  EXPECT_EQ(warned(one), warned(two));
  EXPECT_EQ(one.warnings, two.warnings);
  EXPECT_EQ(one.rule_groups, two.rule_groups);
  // Every rule warned, in rule order (its pattern names it), each once with a count per row.
  const auto told = warned(two);
  ASSERT_EQ(told.size(), 96u);
  for (size_t i = 0; i < told.size(); ++i)
    EXPECT_NE(told[i].find("pattern '(" + std::to_string(i) + "'"), std::string::npos) << told[i];
  // The shared state's groups count for rule 0 alone; the other rules' for each.
  for (size_t i = 3; i < two.rule_groups.size(); i += 3) EXPECT_EQ(two.rule_groups[i], 0u) << i;
  EXPECT_GT(two.rule_groups[0], 0u);
  EXPECT_GT(two.rule_groups[1], 0u);
}

// Both corpora over the EVTX samples: the same findings, in the same order, for 1 and 2 threads.
TEST(StreamingEngine, HuntIsIdenticalForAnyThreadCount) {
  auto run = [](unsigned threads) {
    DiagnosticSink diags(nullptr);
    diags.set_keep(false);
    RuleSet rs({kSharedRoot + "/corpus/security_content", VIGIL_DATA_DIR, false});
    rs.load({kSharedRoot + "/corpus/sigma/rules", kSharedRoot + "/corpus/security_content/detections/endpoint"}, diags);
    auto norm = Normalizer::load(std::string(VIGIL_DATA_DIR) + "/normalize");
    RunOptions ro;
    ro.engine.now = 1.7e9;
    ro.engine.threads = threads;
    RunResult res = run_rules(executable_rules(rs), rs.atoms(), norm.value(),
                              {kSharedRoot + "/data/evtx-attack-samples"}, ro, diags);
    std::vector<std::string> out;
    for (auto& f : res.findings) {
      std::string s = f.rule->info.name;
      for (auto& [k, v] : f.row.entries()) s += "|" + k + "=" + v.to_string();
      for (auto& src : f.sources) s += "|@" + src.file + "#" + src.record_id;
      out.push_back(std::move(s));
    }
    // The reading is accounted the same way too (with threads, small EVTX files are decoded ahead).
    EXPECT_EQ(res.evaluated, res.read.records_read - res.read.records_skipped);
    out.push_back("files=" + std::to_string(res.read.files) + " skipped=" + std::to_string(res.read.files_skipped) +
                  " read=" + std::to_string(res.read.records_read) + " evaluated=" + std::to_string(res.evaluated));
    return out;
  };
  auto one = run(1), two = run(2);
  EXPECT_GT(one.size(), 1000u);
  EXPECT_EQ(one, two);
  // Rule gates (match/event_matcher.h) only skip filters that cannot match: the same findings
  // with them off, where every candidate rule's filter is walked.
  setenv("VIGIL_NO_GATES", "1", 1);
  auto ungated = run(2);
  unsetenv("VIGIL_NO_GATES");
  EXPECT_EQ(one, ungated);
}

// With threads, the workers read the small files themselves, so that a triage folder of thousands
// of them is read by every core; an input above the unit size (2 MiB) is read by the calling
// thread, its records evaluated by the workers. The counts are the same either way; 7,455 records
// in the EVTX samples, as evtxexport finds (EvtxCorpus.AttackSamplesMatchEvtxexport).
TEST(StreamingEngine, WorkersReadTheSmallFilesAndTheCallerTheLargeOnes) {
  const std::string small = kSharedRoot + "/data/evtx-attack-samples";  // every file at most 1.1 MB
  const std::string big = kSharedRoot + "/data/otrf/compound/LSASS_campaign_03/metasploit_comsvcs_lsass_memory_dump.zip";
  ASSERT_GT(std::filesystem::file_size(big), 2u << 20);
  DiagnosticSink diags(nullptr);
  diags.set_keep(false);
  RuleSet rs({kSharedRoot + "/corpus/security_content", VIGIL_DATA_DIR, false});
  ir::CompiledRule rule = rs.compile_query(kSysmon1 + " | stats count", diags);
  auto norm = Normalizer::load(std::string(VIGIL_DATA_DIR) + "/normalize");
  std::vector<std::string> counts;
  for (unsigned threads : {1u, 2u}) {
    std::mutex mu;
    uint64_t small_on_caller = 0, small_elsewhere = 0, big_on_caller = 0, big_elsewhere = 0;
    const auto caller = std::this_thread::get_id();
    RunOptions ro;
    ro.engine.now = 1.7e9;
    ro.engine.threads = threads;
    ro.accept = [&](const Record& r) {
      std::lock_guard lock(mu);
      const bool here = std::this_thread::get_id() == caller;
      if (r.file.substr(0, big.size()) == big) ++(here ? big_on_caller : big_elsewhere);
      else ++(here ? small_on_caller : small_elsewhere);
      return true;
    };
    RunResult res = run_rules({&rule}, rs.atoms(), norm.value(), {small, big}, ro, diags);
    EXPECT_EQ(small_on_caller + small_elsewhere, 7455u) << "threads " << threads;
    EXPECT_GT(big_on_caller + big_elsewhere, 0u);
    if (threads == 1) {
      EXPECT_EQ(small_elsewhere + big_elsewhere, 0u);
    } else {
      EXPECT_EQ(small_on_caller, 0u);
      EXPECT_EQ(big_elsewhere, 0u);
    }
    EXPECT_EQ(res.evaluated, res.read.records_read - res.read.records_skipped);
    ASSERT_EQ(res.findings.size(), 1u);
    counts.push_back(text(res.findings[0].row, "count") + " files=" + std::to_string(res.read.files) +
                     " read=" + std::to_string(res.read.records_read) + " evaluated=" + std::to_string(res.evaluated));
  }
  EXPECT_EQ(counts[0], counts[1]);
}

}  // namespace
}  // namespace vigil
