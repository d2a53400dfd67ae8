// stats / eventstats / streamstats / tstats aggregation.
// Expected values are worked out by hand from the rows below and the rules of
// Splunk's "Statistical and charting functions" (cited per case).
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
  EXPECT_NE(build("| timechart count").error, "");
}

}  // namespace
