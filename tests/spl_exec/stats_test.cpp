// stats / eventstats / streamstats / tstats aggregation.
// Expected values are worked out by hand from the rows below and the rules of
// Splunk's "Statistical and charting functions" (cited per case).
#include <algorithm>
#include <array>
#include <latch>
#include <thread>

#include "spl_exec/helpers.h"

using namespace vigil;
using namespace vigil::spl;
using namespace vigil::spl::testing;

namespace {

Row ev(double t, std::string host, std::string user, std::string bytes) {
  Row r;
  r.set("_time", Value(t));
  r.set("host", Value(std::move(host)));
  if (!user.empty()) r.set("user", Value(std::move(user)));
  r.set("bytes", Value(std::move(bytes)));
  return r;
}

// The aggregation of a one-command pipeline, driven as the engine drives it.
ir::MergeableOperator* mergeable_op(Pipe& p) {
  EXPECT_EQ(p.error, "");
  return p.ops.empty() ? nullptr : dynamic_cast<ir::MergeableOperator*>(p.ops[0].get());
}

// One partial state per batch, each merged into the first in batch order (as the engine does).
std::unique_ptr<ir::PartialState> merge_in_order(const ir::MergeableOperator& op, const std::vector<Table>& batches,
                                                 ir::ExecContext& ctx) {
  std::unique_ptr<ir::PartialState> merged;
  for (auto& b : batches) {
    auto s = op.make_state();
    op.add(*s, b, ctx);
    if (!merged) merged = std::move(s);
    else op.merge(*merged, *s);
  }
  return merged;
}

// `fmt` (one %d) with i: the names of many generated users or hosts.
std::string numbered(const char* fmt, int i) {
  char b[32];
  std::snprintf(b, sizeof b, fmt, i);
  return b;
}

Table sample() {
  return {ev(100, "h1", "bob", "10"), ev(50, "h1", "alice", "30"), ev(200, "h2", "carol", "5"),
          ev(150, "h1", "", "20"), ev(300, "h2", "bob", "x")};
}

TEST(StatsOp, CountMinMaxValuesByHost) {
  auto out = run("| stats count min(_time) as firstTime max(_time) as lastTime values(user) dc(user) by host", sample());
  ASSERT_EQ(out.size(), 2u);  // sorted by host
  EXPECT_EQ(text(out[0], "host"), "h1");
  EXPECT_EQ(text(out[0], "count"), "3");
  EXPECT_EQ(text(out[0], "firstTime"), "50");
  EXPECT_EQ(text(out[0], "lastTime"), "150");
  EXPECT_EQ(text(out[0], "values(user)"), "alice\nbob");  // distinct, lexicographic
  EXPECT_EQ(text(out[0], "dc(user)"), "2");
  EXPECT_EQ(out[0].entries()[0].first, "host");  // BY fields first, then aggregates in order
  EXPECT_EQ(text(out[1], "count"), "2");
}

// Groups come out by BY value: numbers first, by value, then texts by their bytes. By hand: the
// numbers -2 < 1 = 1.0 < 9 < 10 ("1" before "1.0" by text, two groups), then "$x" < "1a" < "a" <
// "b" < "c:\x" ('$' and the digits sort before letters). Texts that sort before digits ("$x") or
// start like a number ("1a") stay after every number, so the order is the same whatever the input
// order (the earlier comparator mixed by-value and by-text orders: "2" < "10" < "1a" < "2").
TEST(StatsOp, GroupsSortNumbersByValueThenTexts) {
  std::vector<std::string> want = {"-2", "1", "1.0", "9", "10", "$x", "1a", "a", "b", "c:\\x"};
  std::vector<std::string> input = {"b", "10", "1.0", "1a", "c:\\x", "9", "$x", "-2", "a", "1", "10"};
  for (int round = 0; round < 3; ++round) {
    Table in;
    for (auto& k : input) in.push_back(row({{"k", Value(k)}}));
    auto out = run("| stats count by k", in);
    std::vector<std::string> keys;
    for (auto& r : out) keys.push_back(text(r, "k"));
    EXPECT_EQ(keys, want) << "round " << round;
    EXPECT_EQ(text(out[4], "count"), "2");
    std::rotate(input.begin(), input.begin() + 4, input.end());
  }
}

TEST(StatsOp, NumericAggregatesIgnoreNonNumbers) {
  // h2 bytes: "5" and "x": sum/avg use only 5; max is lexicographic because not all values are numeric.
  auto out = run("| stats sum(bytes) as s avg(bytes) as a max(bytes) as mx count(user) as cu by host", sample());
  EXPECT_EQ(text(out[0], "s"), "60");  // 10 + 30 + 20
  EXPECT_EQ(text(out[0], "a"), "20");
  EXPECT_EQ(text(out[0], "mx"), "30");
  EXPECT_EQ(text(out[0], "cu"), "2");  // count(field): rows with the field
  EXPECT_EQ(text(out[1], "s"), "5");
  EXPECT_EQ(text(out[1], "mx"), "x");
}

TEST(StatsOp, StdevRangeMedianPercMode) {
  Table in;
  for (const char* v : {"2", "4", "4", "4", "5", "5", "7", "9"}) in.push_back(row({{"v", v}}));
  auto out = run("| stats stdev(v) as sd var(v) as var range(v) as r median(v) as med p25(v) as p25 mode(v) as mo avg(v) as mean",
                 in);
  ASSERT_EQ(out.size(), 1u);
  // mean 5, sum of squared deviations 32; sample variance 32/7 = 4.571428..., stdev sqrt(32/7)
  EXPECT_NEAR(out[0].get("var")->number(), 32.0 / 7.0, 1e-9);
  EXPECT_NEAR(out[0].get("sd")->number(), 2.138089935, 1e-6);
  EXPECT_EQ(text(out[0], "r"), "7");
  EXPECT_EQ(text(out[0], "med"), "5");  // even count: the higher middle value (sorted 2 4 4 4 5 5 7 9 -> 5)
  EXPECT_EQ(text(out[0], "p25"), "4");  // nearest rank ceil(0.25*8)=2nd -> 4
  EXPECT_EQ(text(out[0], "mo"), "4");
  EXPECT_EQ(text(out[0], "mean"), "5");
}

TEST(StatsOp, EarliestLatestFirstLastList) {
  auto out = run("| stats earliest(user) as e latest(user) as l first(user) as f last(user) as la list(user) as li by host",
                 sample());
  // h1 rows in order: t100 bob, t50 alice, t150 (no user)
  EXPECT_EQ(text(out[0], "e"), "alice");
  EXPECT_EQ(text(out[0], "l"), "bob");  // latest row *with* a user is t100
  EXPECT_EQ(text(out[0], "f"), "bob");
  EXPECT_EQ(text(out[0], "la"), "alice");
  EXPECT_EQ(text(out[0], "li"), "bob\nalice");  // event order, duplicates kept
}

TEST(StatsOp, NullByFieldDropsRowAndEmptyInputCountsZero) {
  auto out = run("| stats count by user", sample());
  ASSERT_EQ(out.size(), 3u);  // alice, bob, carol; the row without user is dropped
  EXPECT_EQ(text(out[1], "user"), "bob");
  EXPECT_EQ(text(out[1], "count"), "2");
  auto empty = run("| stats count", {});
  ASSERT_EQ(empty.size(), 1u);
  EXPECT_EQ(text(empty[0], "count"), "0");
  EXPECT_EQ(run("| stats count by user", {}).size(), 0u);
}

TEST(StatsOp, EvalAggregatesAndMultivalueBy) {
  // count(eval(cond)) counts rows where cond holds; dc(eval(upper(x))) folds case.
  Table in = {row({{"u", "Bob"}, {"n", "5"}}), row({{"u", "bob"}, {"n", "1"}}), row({{"u", "ann"}, {"n", "9"}})};
  auto out = run("| stats count(eval(n>2)) as big dc(eval(upper(u))) as users", in);
  EXPECT_EQ(text(out[0], "big"), "2");
  EXPECT_EQ(text(out[0], "users"), "2");
  Row mv;
  mv.set("tag", Value::multi({"a", "b"}));
  auto byv = run("| stats count by tag", {mv, row({{"tag", "a"}})});
  ASSERT_EQ(byv.size(), 2u);  // one group per value of a multivalue BY field
  EXPECT_EQ(text(byv[0], "count"), "2");
  EXPECT_EQ(text(byv[1], "count"), "1");
}

TEST(StatsOp, BySpanBucketsTime) {
  Table in = {ev(3600 * 5 + 10, "h", "a", "1"), ev(3600 * 5 + 3000, "h", "b", "1"), ev(3600 * 6 + 1, "h", "c", "1")};
  auto out = run("| stats count by _time span=1h", in);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(text(out[0], "_time"), "18000");
  EXPECT_EQ(text(out[0], "count"), "2");
}

TEST(EventstatsOp, AddsGroupResultsToEveryRow) {
  auto out = run("| eventstats avg(bytes) as avg_b count by host", sample());
  ASSERT_EQ(out.size(), 5u);  // rows are kept
  EXPECT_EQ(text(out[0], "avg_b"), "20");  // h1: (10+30+20)/3
  EXPECT_EQ(text(out[2], "avg_b"), "5");   // h2: only the numeric 5
  EXPECT_EQ(text(out[2], "count"), "2");
}

TEST(StreamstatsOp, RunningCount) {
  auto out = run("| streamstats count as n by host", sample());
  EXPECT_EQ(text(out[0], "n"), "1");
  EXPECT_EQ(text(out[1], "n"), "2");
  EXPECT_EQ(text(out[2], "n"), "1");
  EXPECT_EQ(text(out[3], "n"), "3");
}

TEST(TstatsOp, FillnullValueKeepsRowsWithMissingByFields) {
  // spl.md §5: fillnull_value=null groups missing BY fields under the literal "null";
  // without it such rows are dropped (unverified in Splunk's text, documented choice).
  Table in;
  Row a;
  a.set("_time", Value(100.0));
  a.set("Processes.process_name", Value("cmd.exe"));
  a.set("Processes.process_guid", Value("{G1}"));
  Row b;
  b.set("_time", Value(200.0));
  b.set("Processes.process_name", Value("cmd.exe"));
  in = {a, b};
  auto with = run("| tstats summariesonly=false allow_old_summaries=true fillnull_value=null count min(_time) as firstTime "
                  "from datamodel=Endpoint.Processes by Processes.process_guid Processes.process_name",
                  in);
  ASSERT_EQ(with.size(), 2u);
  // groups sort by BY values in byte order: "null" (0x6E) before "{G1}" (0x7B)
  EXPECT_EQ(text(with[0], "Processes.process_guid"), "null");
  EXPECT_EQ(text(with[0], "firstTime"), "200");
  EXPECT_EQ(text(with[1], "Processes.process_guid"), "{G1}");
  auto without = run("| tstats count from datamodel=Endpoint.Processes by Processes.process_guid", in);
  EXPECT_EQ(without.size(), 1u);
  auto values = run("| tstats values(Processes.process_name) from datamodel=Endpoint.Processes", in);
  EXPECT_EQ(text(values[0], "values(Processes.process_name)"), "cmd.exe");
}

TEST(StatsBuild, UnsupportedAggregateIsAnError) {
  EXPECT_NE(build("| stats frobnicate(x)").error, "");
  EXPECT_NE(build("| timechart bins=10 count").error, "");
  EXPECT_NE(build("| timechart count by host user").error, "");
  EXPECT_NE(build("| chart count by a b c").error, "");
  EXPECT_NE(build("| timechart").error, "");
  // Calendar spans have no fixed length: refused, and the reason says so.
  EXPECT_NE(build("| timechart span=1mon count").error.find("calendar spans"), std::string::npos);
  EXPECT_NE(build("| bin _time span=1y").error.find("calendar spans"), std::string::npos);
}

// The columns of a timechart/chart output row, in order, as "name=value" (value as printed).
std::string cells(const Row& r) {
  std::string s;
  for (auto& [k, v] : r.entries()) s += (s.empty() ? "" : " ") + k + "=" + v.to_string();
  return s;
}

// sample(): h1 at 50, 100, 150 (users alice, bob, none); h2 at 200 (carol) and 300 (bob).
// 100-second buckets: 0 {h1}, 100 {h1, h1}, 200 {h2}, 300 {h2}. Every bucket is a row; a series
// with no rows in a bucket counts 0 there.
TEST(TimechartOp, CountsBySeriesInEveryBucket) {
  auto out = run("| timechart span=100 count by host", sample());
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(cells(out[0]), "_time=0 h1=1 h2=0 _span=100");
  EXPECT_EQ(cells(out[1]), "_time=100 h1=2 h2=0 _span=100");
  EXPECT_EQ(cells(out[2]), "_time=200 h1=0 h2=1 _span=100");
  EXPECT_EQ(cells(out[3]), "_time=300 h1=0 h2=1 _span=100");
  // limit=1 keeps h1 (3 rows against h2's 2); h2's counts go to OTHER, or away with useother=f.
  out = run("| timechart span=100 limit=1 count by host", sample());
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(cells(out[2]), "_time=200 h1=0 OTHER=1 _span=100");
  out = run("| timechart span=100 limit=1 useother=f count by host", sample());
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(cells(out[3]), "_time=300 h1=0 _span=100");
  // Without a split: a column per aggregate; an empty bucket has count 0 and no avg. span=2m: one
  // bucket [0, 120) then [120, 240) and [240, 360).
  out = run("| timechart span=2m count avg(bytes)", sample());
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(cells(out[0]), "_time=0 count=2 avg(bytes)=20 _span=120");   // 30 and 10
  EXPECT_EQ(cells(out[1]), "_time=120 count=2 avg(bytes)=12.5 _span=120");  // 20 and 5
  EXPECT_EQ(cells(out[2]), "_time=240 count=1 _span=120");              // "x" is no number
  // cont=f: only the buckets with rows (0, 60, 120, 180, 300), not 240 as cont=t has.
  out = run("| timechart span=60 cont=f count", sample());
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(text(out[4], "_time"), "300");
  EXPECT_EQ(run("| timechart span=60 count", sample()).size(), 6u);
}

// Without span=, the smallest of Splunk's spans that gives at most 100 buckets over the rows'
// times: 0..250 s needs 251 one-second buckets, 51 five-second ones. The 1-second states merge
// into the 5-second bucket, so avg is over the rows (14/3), not an average of averages ((2+10)/2).
TEST(TimechartOp, ChoosesTheSpanAndMergesFinerBuckets) {
  Table rows = {row({{"_time", Value(0.0)}, {"x", Value("1")}}), row({{"_time", Value(0.0)}, {"x", Value("3")}}),
                row({{"_time", Value(1.0)}, {"x", Value("10")}}), row({{"_time", Value(250.0)}, {"x", Value("5")}}),
                row({{"x", Value("7")}})};  // no time: in no bucket
  auto out = run("| timechart avg(x) count", rows);
  ASSERT_EQ(out.size(), 51u);
  EXPECT_NEAR(*out[0].get("avg(x)")->to_number(), 14.0 / 3, 1e-9);
  EXPECT_EQ(text(out[0], "count"), "3");
  EXPECT_EQ(text(out[0], "_span"), "5");
  EXPECT_EQ(cells(out[1]), "_time=5 count=0 _span=5");
  EXPECT_EQ(cells(out[50]), "_time=250 avg(x)=5 count=1 _span=5");
}

// Over no rows, stats and chart without BY give one row (count 0) as Splunk does, and none where
// the context says rows of nothing are no results (a hunt); with BY fields, no rows are no groups.
TEST(StatsOp, NoRowsMakeARowUnlessTheContextSaysNot) {
  for (const char* q : {"| stats count", "| chart count", "| stats count by host"}) {
    const size_t splunk = std::string_view(q).find(" by ") == std::string_view::npos ? 1 : 0;
    EXPECT_EQ(run(q, {}).size(), splunk) << q;
    TestCtx hunt;
    hunt.rows_from_nothing = false;
    EXPECT_EQ(run(q, {}, {}, &hunt).size(), 0u) << q;
    EXPECT_EQ(run(q, sample(), {}, &hunt).size(), splunk ? 1u : 2u) << q;
  }
}

// More than a million buckets between the first and the last time: only those with rows, and a
// warning that says so (2,000,001 one-second buckets here), not two million rows.
TEST(TimechartOp, TooManyBucketsToFillGiveTheBucketsWithRowsAndAWarning) {
  Table rows = {row({{"_time", Value(0.0)}}), row({{"_time", Value(2e6)}})};
  TestCtx ctx;
  DiagnosticSink diags(nullptr);
  ctx.diags = &diags;
  auto out = run("| timechart span=1s count", rows, {}, &ctx);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(cells(out[1]), "_time=2000000 count=1 _span=1");
  ASSERT_EQ(diags.warnings(), 1u);
  EXPECT_NE(diags.kept().at(0).message.find("2000001 buckets"), std::string::npos) << diags.kept().at(0).message;
}

// chart over host by user: rows per host, a column per user in text order, NULL (rows without a
// user) last. limit=bottom1 usenull=f: alice and carol have 1 row each, the tie goes to the
// first in text order; bob's and carol's rows are OTHER.
TEST(ChartOp, PivotsTheColumnFieldIntoSeries) {
  auto out = run("| chart count over host by user", sample());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(cells(out[0]), "host=h1 alice=1 bob=1 carol=0 NULL=1");
  EXPECT_EQ(cells(out[1]), "host=h2 alice=0 bob=1 carol=1 NULL=0");
  out = run("| chart limit=bottom1 usenull=f count by host user", sample());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(cells(out[0]), "host=h1 alice=1 OTHER=1");
  EXPECT_EQ(cells(out[1]), "host=h2 alice=0 OTHER=2");
  // Several aggregates: "<aggregate>: <series>".
  out = run("| chart count max(bytes) by host user limit=1 useother=f", sample());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(cells(out[0]), "host=h1 count: bob=1 max(bytes): bob=10");
  EXPECT_EQ(cells(out[1]), "host=h2 count: bob=1 max(bytes): bob=x");
  // No BY: one row, as stats.
  out = run("| chart count", sample());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(cells(out[0]), "count=5");
}

// The state merges across batches as stats does: two batches give the one-batch output.
TEST(TimechartOp, BatchesMergeToTheSameOutput) {
  Pipe p = build("| timechart span=100 dc(user) first(user) by host");
  auto* op = mergeable_op(p);
  ASSERT_NE(op, nullptr);
  TestCtx ctx;
  Table all = sample();
  auto one = merge_in_order(*op, {all}, ctx);
  auto two = merge_in_order(*op, {Table(all.begin(), all.begin() + 2), Table(all.begin() + 2, all.end())}, ctx);
  Table a = op->finish(*one, ctx), b = op->finish(*two, ctx);
  ASSERT_EQ(a.size(), 4u);
  ASSERT_EQ(b.size(), a.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(cells(a[i]), cells(b[i]));
  // Bucket 0 holds alice (t=50) only; bucket 100 bob (t=100) and h1's user-less row.
  EXPECT_EQ(cells(a[0]), "_time=0 dc(user): h1=1 dc(user): h2=0 first(user): h1=alice _span=100");
  EXPECT_EQ(cells(a[1]), "_time=100 dc(user): h1=1 dc(user): h2=0 first(user): h1=bob _span=100");
}

// The pool of group-key texts behind sealed states is shared by every thread and read without a
// lock: threads that add rows with new texts at once (the pool's index grows under them) and texts
// the others add too must each get back exactly their own groups and counts. Per thread and round:
// 1,000 texts every thread uses, three rows each, and 3,000 of its own, one row each.
TEST(StatsOp, SealedStatesOnManyThreadsGetBackTheirOwnTexts) {
  constexpr int kThreads = 4, kRounds = 3, kRows = 6000;
  std::latch start(kThreads);
  std::vector<std::string> wrong(kThreads);
  std::vector<std::thread> threads;
  for (int k = 0; k < kThreads; ++k)
    threads.emplace_back([&, k] {
      Pipe p = build("| stats count by a");
      auto* op = mergeable_op(p);
      if (!op) return void(wrong[k] = "no operator");
      TestCtx ctx;
      start.arrive_and_wait();
      for (int r = 0; r < kRounds; ++r) {
        auto state = op->make_state();
        op->seal(*state);  // keys as pool ids from the first row on
        Table rows;
        for (int i = 0; i < kRows; ++i) {
          Row row;
          row.set("a", Value(i % 2 == 0 ? numbered("pool-shared-%d", i / 2 % 1000)
                                         : "pool-own-" + std::to_string(k) + "-" + std::to_string(r) + "-" +
                                               std::to_string(i)));
          rows.push_back(std::move(row));
        }
        op->add(*state, rows, ctx);
        size_t shared = 0, own = 0;
        const std::string mine = "pool-own-" + std::to_string(k) + "-" + std::to_string(r) + "-";
        for (auto& row : op->finish(*state, ctx)) {
          const std::string a = text(row, "a"), n = text(row, "count");
          if (a.rfind("pool-shared-", 0) == 0 && n == "3") ++shared;
          else if (a.rfind(mine, 0) == 0 && n == "1") ++own;
          else if (wrong[k].empty()) wrong[k] = a + " count " + n;
        }
        if (shared != 1000 || own != 3000)
          wrong[k] += " round " + std::to_string(r) + ": " + std::to_string(shared) + " shared, " +
                      std::to_string(own) + " own";
      }
    });
  for (auto& t : threads) t.join();
  for (int k = 0; k < kThreads; ++k) EXPECT_EQ(wrong[k], "") << "thread " << k;
}

// A row that many aggregations read in turn (the engine's capture group) has each text's id kept by
// the first that reads it, for its event only: the next event's row, same layout, other texts, is
// read afresh, and each aggregation keys its own BY fields. Two tables over three events' rows;
// expected by hand: by host,user: h1/alice, h1/bob, h2/bob one each; by user,process:
// alice/cmd.exe, bob/cmd.exe, bob/ps.exe one each.
TEST(StatsOp, TextIdsKeptForARowEntryAreOfItsEventOnly) {
  auto make = [](const char* host, const char* user, const char* process) {
    Row r;
    r.entries().emplace_back("host", Value(host));
    r.entries().emplace_back("user", Value(user));
    r.entries().emplace_back("process", Value(process));
    return r;
  };
  const Table events = {make("h1", "bob", "cmd.exe"), make("h1", "alice", "cmd.exe"), make("h2", "bob", "ps.exe")};
  Pipe a = build("| stats count by host user"), b = build("| stats count by user process");
  auto *op_a = mergeable_op(a), *op_b = mergeable_op(b);
  ASSERT_NE(op_a, nullptr);
  ASSERT_NE(op_b, nullptr);
  auto state_a = op_a->make_state(), state_b = op_b->make_state();
  op_a->seal(*state_a);  // keys as text ids from the start, as the engine's run-long states
  op_b->seal(*state_b);
  TestCtx ctx;
  std::vector<ir::ExecContext::EntryId> ids;
  Table row(1);
  for (size_t e = 0; e < events.size(); ++e) {
    row[0] = events[e];  // the row is reused event after event
    ctx.rows_named_once = true;
    ctx.entry_ids = &ids;
    ctx.entry_seq = e + 1;
    op_a->add(*state_a, row, ctx);
    op_b->add(*state_b, row, ctx);
  }
  auto lines = [&](ir::MergeableOperator* op, ir::PartialState& s) {
    std::vector<std::string> out;
    for (auto& r : op->finish(s, ctx)) {
      std::string line;
      for (auto& [k, v] : r.entries()) line += k + "=" + v.to_string() + " ";
      out.push_back(line);
    }
    return out;
  };
  EXPECT_EQ(lines(op_a, *state_a), (std::vector<std::string>{"host=h1 user=alice count=1 ", "host=h1 user=bob count=1 ",
                                                               "host=h2 user=bob count=1 "}));
  EXPECT_EQ(lines(op_b, *state_b), (std::vector<std::string>{"user=alice process=cmd.exe count=1 ",
                                                               "user=bob process=cmd.exe count=1 ",
                                                               "user=bob process=ps.exe count=1 "}));
}

}  // namespace

// The engine feeds each event batch into its own partial state and merges them in input order; the
// merged state keeps its group keys as interned text ids. Same groups, values and typed BY values
// as one state over all rows. Expected values by hand:
//   (18000, a): r0 r1 -> count 2, min(bytes) 10 (10, 30 numeric), hosts h1
//   (18000, b): r0    -> count 1, min 10, hosts h1
//   (21600, a): r4    -> count 1, min "x" (not numeric: lexicographic), hosts h2
//   (21600, b): r2    -> count 1, min 5, hosts h2
//   r3 has no tag: dropped (null BY value, no fillnull).
TEST(StatsOp, PartialStatesMergedInOrderEqualOneState) {
  Row r0 = ev(18010, "h1", "u", "10");
  r0.set("tag", Value::multi({"a", "b"}));
  Row r1 = ev(21000, "h1", "u", "30");
  r1.set("tag", Value("a"));
  Row r2 = ev(21601, "h2", "u", "5");
  r2.set("tag", Value("b"));
  Row r3 = ev(18100, "h1", "u", "20");
  Row r4 = ev(21700, "h2", "u", "x");
  r4.set("tag", Value("a"));
  const char* spl = "| stats count min(bytes) as mn values(host) as hosts by _time span=1h tag";
  Pipe p = build(spl);
  auto* op = mergeable_op(p);
  ASSERT_NE(op, nullptr);
  TestCtx ctx;
  ctx.now = 1700000000;
  std::vector<Table> batches = {{r0, r1}, {r2, r3}, {r4}};
  std::unique_ptr<ir::PartialState> merged = merge_in_order(*op, batches, ctx);
  EXPECT_EQ(op->groups(*merged), 4u);
  Table out = op->finish(*merged, ctx);
  ASSERT_EQ(out.size(), 4u);
  const char* want[4][5] = {{"18000", "a", "2", "10", "h1"},
                            {"18000", "b", "1", "10", "h1"},
                            {"21600", "a", "1", "x", "h2"},
                            {"21600", "b", "1", "5", "h2"}};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(text(out[i], "_time"), want[i][0]) << i;
    EXPECT_TRUE(out[i].get("_time")->is_number()) << i;  // the span bucket stays a number
    EXPECT_EQ(text(out[i], "tag"), want[i][1]) << i;
    EXPECT_EQ(text(out[i], "count"), want[i][2]) << i;
    EXPECT_EQ(text(out[i], "mn"), want[i][3]) << i;
    EXPECT_EQ(text(out[i], "hosts"), want[i][4]) << i;
  }
  // One state over every row gives the same table.
  Table all = run(spl, {r0, r1, r2, r3, r4});
  ASSERT_EQ(all.size(), out.size());
  for (size_t i = 0; i < all.size(); ++i)
    for (auto* f : {"_time", "tag", "count", "mn", "hosts"}) EXPECT_EQ(text(all[i], f), text(out[i], f)) << i << f;
}

namespace {

// `| stats min(x) as mn max(x) as mx by host` over `batches`, in one state and in one partial state
// per batch merged in order: both tables are (host, mn, mx) as in `want`, in host order. The
// one-state table is returned for further checks.
Table expect_min_max_by_host(const std::vector<Table>& batches, const std::vector<std::array<const char*, 3>>& want) {
  const char* spl = "| stats min(x) as mn max(x) as mx by host";
  Table all;
  for (auto& b : batches) all.insert(all.end(), b.begin(), b.end());
  Table one = run(spl, all);
  Pipe p = build(spl);
  auto* op = mergeable_op(p);
  EXPECT_NE(op, nullptr);
  if (!op) return one;
  TestCtx ctx;
  std::unique_ptr<ir::PartialState> merged = merge_in_order(*op, batches, ctx);
  Table parts = op->finish(*merged, ctx);
  for (const Table* t : {&one, &parts}) {
    EXPECT_EQ(t->size(), want.size());
    for (size_t i = 0; i < std::min(t->size(), want.size()); ++i) {
      EXPECT_EQ(text((*t)[i], "host"), want[i][0]) << i;
      EXPECT_EQ(text((*t)[i], "mn"), want[i][1]) << i;
      EXPECT_EQ(text((*t)[i], "mx"), want[i][2]) << i;
    }
  }
  return one;
}

// A row (host, x).
Row host_x(const char* host, Value x) {
  Row r;
  r.set("host", Value(host));
  r.set("x", std::move(x));
  return r;
}

}  // namespace

// min/max keep number-typed values (a captured `_time`, numbers from eval) as numbers, and text
// values as texts; once a group holds a value that is not a number, both are compared as texts
// (Splunk: lexicographic when not every value is numeric). By hand, per host:
//   h1: numbers 9, 10, 2.5 and text "10x"   -> min "10" (lexicographic: "10" < "10x" < "2.5" < "9"), max "9"
//   h2: numbers 9, 10                        -> min 9, max 10 (numeric)
//   h3: text "abc", number 100               -> min "100", max "abc"
//   h4: text "7", number 30                  -> min 7, max 30 (both numeric)
// The same in one state and in three partial states merged in order (numbers and texts on either side).
TEST(StatsOp, MinMaxOfNumberAndTextValuesCompareAsTextsWhenNotAllNumeric) {
  auto num = [](const char* host, double x) { return host_x(host, Value(x)); };
  auto txt = [](const char* host, const char* x) { return host_x(host, Value(x)); };
  std::vector<Table> batches = {{num("h1", 9), num("h2", 10), txt("h3", "abc")},
                                {num("h1", 10), txt("h1", "10x"), num("h2", 9), txt("h4", "7")},
                                {num("h1", 2.5), num("h3", 100), num("h4", 30)}};
  Table one = expect_min_max_by_host(batches, {{"h1", "10", "9"}, {"h2", "9", "10"}, {"h3", "100", "abc"}, {"h4", "7", "30"}});
  ASSERT_EQ(one.size(), 4u);
  EXPECT_TRUE(one[1].get("mn")->is_number());   // h2: all numeric, a number
  EXPECT_FALSE(one[0].get("mn")->is_number());  // h1: a text
}

// The number-typed extremes of min/max are compared as their texts (format_number's, 15 significant
// digits), also when two numbers of one decade compare as numbers; a number whose 15 digits round
// up into the next decade is fed as the number of that text (10, 100). By hand, per host:
//   h1: 1550000000.5, 1549999999.25, 1550000001 and text "z"
//       -> texts "1549999999.25" < "1550000000.5" < "1550000001" < "z": min "1549999999.25", max "z"
//   h2: 9.5, 9.999999999999999 (text "10": 15 digits round it up) and text "q"
//       -> "10" < "9.5" < "q": min "10", max "q"
//   h3: 99.5, 99.99999999999999 (text "100") and text "0a" -> "0a" < "100" < "99.5": min "0a", max "99.5"
TEST(StatsOp, MinMaxOfNumbersInOneDecadeOrderAsTheirTexts) {
  std::vector<Table> batches = {
      {host_x("h1", Value(1550000000.5)), host_x("h2", Value(9.5)), host_x("h3", Value(99.5))},
      {host_x("h1", Value(1549999999.25)), host_x("h2", Value(9.999999999999999)), host_x("h3", Value("0a"))},
      {host_x("h1", Value(1550000001.0)), host_x("h1", Value("z")), host_x("h2", Value("q")),
       host_x("h3", Value(99.99999999999999))}};
  expect_min_max_by_host(batches, {{"h1", "1549999999.25", "z"}, {"h2", "10", "q"}, {"h3", "0a", "99.5"}});
}

// values/dc of a table that others merge into keep their distinct values as ids of pooled texts
// (aggregates.h); the output is the same: distinct values in byte order ("B" 0x42 < "a" 0x61 <
// "é" 0xC3 0xA9). By hand — h1: bob, alice, bob, Bob, é: count 5, values Bob alice bob é, dc 4;
// h2: Zed, bob, zed: count 3, values Zed bob zed, dc 3. A finish that does not spend the state
// (a state shared by several rules) leaves it whole for the next; a spending one empties it.
TEST(StatsOp, ValuesOfMergedTablesAreDistinctInByteOrderAndFinishCanLeaveTheState) {
  const char* spl = "| stats count values(user) as users dc(user) as n by host";
  Pipe p = build(spl);
  auto* op = mergeable_op(p);
  ASSERT_NE(op, nullptr);
  TestCtx ctx;
  std::vector<Table> batches = {{ev(1, "h1", "bob", "1"), ev(2, "h2", "Zed", "1")},
                                {ev(3, "h1", "alice", "1"), ev(4, "h1", "bob", "1"), ev(5, "h2", "bob", "1")},
                                {ev(6, "h1", "Bob", "1"), ev(7, "h2", "zed", "1"), ev(8, "h1", "\xc3\xa9", "1")}};
  std::unique_ptr<ir::PartialState> merged = merge_in_order(*op, batches, ctx);
  const char* want[2][4] = {{"h1", "5", "Bob\nalice\nbob\n\xc3\xa9", "4"}, {"h2", "3", "Zed\nbob\nzed", "3"}};
  for (bool spend : {false, true}) {
    Table out = op->finish(*merged, ctx, spend);
    ASSERT_EQ(out.size(), 2u) << spend;
    for (size_t i = 0; i < 2; ++i) {
      EXPECT_EQ(text(out[i], "host"), want[i][0]) << i;
      EXPECT_EQ(text(out[i], "count"), want[i][1]) << i;
      EXPECT_EQ(text(out[i], "users"), want[i][2]) << i;
      EXPECT_EQ(text(out[i], "n"), want[i][3]) << i;
    }
    EXPECT_EQ(op->groups(*merged), spend ? 0u : 2u);
  }
}

// With one thread the engine feeds rows straight into the run's state, sealed (id keys, pooled
// values) from the start; values/dc there collect new ids in a short list that joins the sorted
// ids in bulk (more than Accumulator::kFreshIds of them here). By construction: users u000..u099,
// each three times in a scrambled order (7 is prime to 100): count 300, dc 100, values u000..u099
// in byte order; then a merged state with u100..u104 and u000 again: count 306, dc 105, values
// u000..u104. The same as one unsealed state over the same rows.
TEST(StatsOp, SealedStateFedRowByRowEqualsOneStateOverTheRows) {
  const char* spl = "| stats count values(user) as users dc(user) as n by host";
  Pipe p = build(spl);
  auto* op = mergeable_op(p);
  ASSERT_NE(op, nullptr);
  TestCtx ctx;
  auto user = [](int i) { return numbered("u%03d", i); };
  Table first, later, all;
  for (int k = 0; k < 300; ++k) first.push_back(ev(k, "h1", user((k * 7) % 100), "1"));
  for (int i = 100; i < 105; ++i) later.push_back(ev(400 + i, "h1", user(i), "1"));
  later.push_back(ev(600, "h1", user(0), "1"));
  auto state = op->make_state();
  op->seal(*state);
  for (auto& r : first) op->add(*state, Table{r}, ctx);
  {  // before the merge: the last ids fed are still in the short list (100 is not a multiple of 32)
    Table out = op->finish(*state, ctx, false);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(text(out[0], "count"), "300");
    EXPECT_EQ(text(out[0], "n"), "100");
    std::string want;
    for (int i = 0; i < 100; ++i) want += (i ? "\n" : "") + user(i);
    EXPECT_EQ(text(out[0], "users"), want);
  }
  auto more = op->make_state();
  op->add(*more, later, ctx);
  op->merge(*state, *more);
  all = first;
  all.insert(all.end(), later.begin(), later.end());
  std::string want;
  for (int i = 0; i < 105; ++i) want += (i ? "\n" : "") + user(i);
  for (const Table& out : {op->finish(*state, ctx), run(spl, all)}) {
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(text(out[0], "count"), "306");
    EXPECT_EQ(text(out[0], "n"), "105");
    EXPECT_EQ(text(out[0], "users"), want);
  }
}

// Thousands of groups: the group index grows many times over, and a merge adds the later table's
// groups (new and known) into it. By construction: host h<i> (i < 5000) gets (i % 7) + 1 rows at
// times i*10, i*10+1, …; its row j goes to a sealed state when i + j is even, else to a plain one
// that is merged into it. So the sealed state lacks exactly the one-row hosts (i % 7 == 0) with odd
// i, i % 14 == 7: 357 of them. Each host's count is (i % 7) + 1, its min time i*10 and its max
// i*10 + i % 7; the rows come out in host order (h0000 … h4999: equal widths, byte order = numeric).
TEST(StatsOp, ThousandsOfGroupsSurviveIndexGrowthAndMerge) {
  const char* spl = "| stats count min(_time) as first max(_time) as last by host";
  Pipe p = build(spl);
  auto* op = mergeable_op(p);
  ASSERT_NE(op, nullptr);
  TestCtx ctx;
  auto host = [](int i) { return numbered("h%04d", i); };
  auto sealed = op->make_state();
  op->seal(*sealed);
  auto plain = op->make_state();
  for (int i = 0; i < 5000; ++i)
    for (int j = 0; j <= i % 7; ++j) op->add((i + j) % 2 ? *plain : *sealed, Table{ev(i * 10 + j, host(i), "", "1")}, ctx);
  EXPECT_EQ(op->groups(*sealed), 5000u - 357u);
  op->merge(*sealed, *plain);
  EXPECT_EQ(op->groups(*sealed), 5000u);
  Table out = op->finish(*sealed, ctx);
  ASSERT_EQ(out.size(), 5000u);
  for (int i = 0; i < 5000; ++i) {
    ASSERT_EQ(text(out[i], "host"), host(i));
    EXPECT_EQ(text(out[i], "count"), std::to_string(i % 7 + 1)) << i;
    EXPECT_EQ(text(out[i], "first"), std::to_string(i * 10)) << i;
    EXPECT_EQ(text(out[i], "last"), std::to_string(i * 10 + i % 7)) << i;
  }
}

// The groups an input row feeds, as the engine asks for them before feeding it (filters on BY
// values run on these rows): the BY values the output row of each group carries, one row per
// distinct multivalue value, none for a row with a null BY value.
TEST(StatsOp, GroupRowsAreTheGroupsARowFeeds) {
  Pipe p = build("| stats count values(x) as xs by host user");
  ASSERT_EQ(p.error, "");
  auto* op = dynamic_cast<ir::MergeableOperator*>(p.ops[0].get());
  ASSERT_NE(op, nullptr);
  std::vector<std::string> outputs;
  ASSERT_TRUE(op->aggregate_outputs(outputs));
  EXPECT_EQ(outputs, (std::vector<std::string>{"count", "xs"}));

  Row multi = row({{"host", Value::multi({"b", "a", "b"})}, {"user", Value("u")}, {"x", Value("1")}});
  Table groups;
  ASSERT_TRUE(op->group_rows(multi, {0, 1}, groups));
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(text(groups[0], "host") + "/" + text(groups[0], "user"), "b/u");
  EXPECT_EQ(text(groups[1], "host") + "/" + text(groups[1], "user"), "a/u");
  EXPECT_EQ(groups[0].get("x"), nullptr);  // BY values only
  // Only the BY positions asked for: the user alone stands for both groups.
  groups.clear();
  ASSERT_TRUE(op->group_rows(multi, {1}, groups));
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(text(groups[0], "user"), "u");
  EXPECT_EQ(groups[0].get("host"), nullptr);
  // A null BY value (even one not asked for) puts the row in no group, as the operator drops it.
  groups.clear();
  ASSERT_TRUE(op->group_rows(row({{"user", Value("u")}}), {1}, groups));
  EXPECT_TRUE(groups.empty());
  // The same groups the operator outputs for that row alone.
  Table out = run("| stats count values(x) as xs by host user", {multi});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(text(out[0], "host") + "/" + text(out[1], "host"), "a/b");
}

// What the engine needs to move a filter ahead of an aggregation: which fields each per-row
// operator writes, and where a rename sends a field.
TEST(StatsOp, PerRowOperatorsSayWhatTheyWriteAndRename) {
  Pipe q = build("| eval a=b, c=d | rename Processes.* AS *, user AS src_user | rex field=process \"(?<ext>\\.\\w+)$\" "
                 "| where a=1 | fields - a | search *");
  ASSERT_EQ(q.error, "");
  std::vector<std::string> w;
  ASSERT_TRUE(q.ops[0]->writes(w));
  EXPECT_EQ(w, (std::vector<std::string>{"a", "c"}));
  EXPECT_FALSE(q.ops[0]->filters());
  EXPECT_EQ(q.ops[1]->renamed("Processes.process_name").value_or("-"), "process_name");
  EXPECT_EQ(q.ops[1]->renamed("Processes.user").value_or("-"), "src_user");  // the pairs apply in turn
  EXPECT_EQ(q.ops[1]->renamed("count").value_or("-"), "-");
  w.clear();
  ASSERT_TRUE(q.ops[2]->writes(w));
  EXPECT_EQ(w, (std::vector<std::string>{"ext"}));
  EXPECT_TRUE(q.ops[3]->filters());
  w.clear();
  EXPECT_TRUE(q.ops[4]->writes(w));  // a projection sets nothing
  EXPECT_TRUE(w.empty());
  EXPECT_FALSE(q.ops[4]->filters());
  EXPECT_FALSE(q.ops[5]->filters());  // `search *` keeps every row
  // Reads that cannot be told, or a value that is not a function of them: never moved early.
  Pipe r = build("| eval r=random() | where searchmatch(\"a=1\") | eval t=time() | eval ok=lower(a)");
  ASSERT_EQ(r.error, "");
  std::vector<std::string> read;
  EXPECT_FALSE(r.ops[0]->reads(read));
  EXPECT_FALSE(r.ops[1]->reads(read));
  EXPECT_FALSE(r.ops[2]->reads(read));
  read.clear();
  EXPECT_TRUE(r.ops[3]->reads(read));
  EXPECT_EQ(read, (std::vector<std::string>{"a"}));
}

// Rows named once (the engine's captures) are read by position where the last row had a name:
// rows that change layout from one to the next (names reordered, a BY value or an aggregate's input
// missing, `_time` first or last) give the same table as the lookup by name. Expected by hand:
// h1/bob: rows 1, 3 (row 2 has no user: dropped by `by user`); h2/bob: row 4; h2/carol: row 5.
TEST(StatsOp, RowsNamedOnceGiveWhatLookupsByNameGive) {
  auto make = [](std::vector<std::pair<const char*, Value>> kv) {
    Row r;
    for (auto& [k, v] : kv) r.entries().emplace_back(k, v);
    return r;
  };
  Table rows = {
      make({{"_time", Value(100.0)}, {"host", Value("h1")}, {"user", Value("bob")}, {"bytes", Value("10")}}),
      make({{"host", Value("h1")}, {"bytes", Value("7")}, {"_time", Value(50.0)}}),
      make({{"bytes", Value("30")}, {"user", Value("bob")}, {"host", Value("h1")}, {"_time", Value(40.0)}}),
      make({{"_time", Value(300.0)}, {"user", Value("bob")}, {"host", Value("h2")}}),
      make({{"user", Value("carol")}, {"_time", Value(200.0)}, {"bytes", Value("5")}, {"host", Value("h2")}}),
  };
  Pipe p = build("| stats count min(_time) as first sum(bytes) as total values(bytes) as all by host user");
  auto* op = mergeable_op(p);
  ASSERT_NE(op, nullptr);
  std::vector<std::string> got[2];
  for (bool named_once : {false, true}) {
    TestCtx ctx;
    ctx.rows_named_once = named_once;
    auto s = op->make_state();
    for (auto& r : rows) op->add(*s, Table{r}, ctx);
    for (auto& r : op->finish(*s, ctx)) {
      std::string line;
      for (auto& [k, v] : r.entries()) line += k + "=" + v.to_string() + " ";
      got[named_once].push_back(line);
    }
  }
  EXPECT_EQ(got[1], got[0]);
  ASSERT_EQ(got[1].size(), 3u);
  EXPECT_EQ(got[1][0], "host=h1 user=bob count=2 first=40 total=40 all=10\n30 ");
  EXPECT_EQ(got[1][1], "host=h2 user=bob count=1 first=300 ");
  EXPECT_EQ(got[1][2], "host=h2 user=carol count=1 first=200 total=5 all=5 ");
}
