// Pre-aggregated groups (ClickHouse push-down): MergeableOperator::describe names the order-free
// aggregates, and groups added with add_group combine with rows fed locally exactly as if those
// rows had been fed. Expected values worked out by hand from the rows below.
#include "spl_exec/helpers.h"

namespace vigil::spl::testing {
namespace {

const char* kStats =
    "| stats count min(n) as nmin max(n) as nmax values(n) as ns dc(n) as dn count(n) as cn min(_time) as t0 "
    "earliest(n) as e by h";

TEST(PreGroup, DescribeNamesOrderFreeAggregates) {
  Pipe p = build(kStats);
  ASSERT_EQ(p.error, "");
  auto* op = dynamic_cast<ir::MergeableOperator*>(p.ops[0].get());
  ASSERT_NE(op, nullptr);
  auto d = op->describe();
  ASSERT_TRUE(d);
  using F = ir::AggregateSpec::Func;
  ASSERT_EQ(d->aggs.size(), 8u);
  EXPECT_EQ(d->aggs[0].func, F::count);
  EXPECT_EQ(d->aggs[1].func, F::min);
  EXPECT_EQ(d->aggs[2].func, F::max);
  EXPECT_EQ(d->aggs[3].func, F::values);
  EXPECT_EQ(d->aggs[4].func, F::dc);
  EXPECT_EQ(d->aggs[5].func, F::count_field);
  EXPECT_EQ(d->aggs[6].func, F::min);
  EXPECT_EQ(d->aggs[6].field, "_time");
  EXPECT_EQ(d->aggs[7].func, F::other);  // earliest: order-dependent
  EXPECT_EQ(d->aggs[7].written, "earliest(n) as e");
  EXPECT_EQ(d->by, std::vector<std::string>{"h"});
}

TEST(PreGroup, GroupsCombineWithLocalRowsAsIfFed) {
  Pipe p = build("| stats count min(n) as nmin max(n) as nmax values(n) as ns dc(n) as dn count(n) as cn "
                 "min(_time) as t0 by h");
  ASSERT_EQ(p.error, "");
  auto* op = dynamic_cast<ir::MergeableOperator*>(p.ops[0].get());
  ASSERT_NE(op, nullptr);
  TestCtx ctx;
  // a: n 5 (t 100), 10 (t 200), 9 (t 50): all numeric -> min 5, max 10 (as text "10" < "5").
  // b: n 7 (t 300), abc (t 400): not all numeric -> compared as text: min 7, max abc.
  Table rows = {row({{"h", Value("a")}, {"n", Value("5")}, {"_time", Value(100.0)}}),
                row({{"h", Value("a")}, {"n", Value("10")}, {"_time", Value(200.0)}}),
                row({{"h", Value("a")}, {"n", Value("9")}, {"_time", Value(50.0)}}),
                row({{"h", Value("b")}, {"n", Value("7")}, {"_time", Value(300.0)}}),
                row({{"h", Value("b")}, {"n", Value("abc")}, {"_time", Value(400.0)}})};
  auto all = op->make_state();
  op->add(*all, rows, ctx);
  Table want = op->finish(*all, ctx);

  // The first two rows of a and both of b as groups computed elsewhere, the third row of a here.
  auto part = [](double count, std::vector<std::string> values) {
    ir::PreGroup::Part x;
    x.count = count;
    x.values = std::move(values);
    return x;
  };
  ir::PreGroup a{{Value("a")},
                 {part(2, {}), part(0, {"5", "10"}), part(0, {"5", "10"}), part(0, {"5", "10"}), part(0, {"5", "10"}),
                  part(2, {}), part(0, {"100"})}};
  ir::PreGroup b{{Value("b")},
                 {part(2, {}), part(0, {"7", "abc"}), part(0, {"7", "abc"}), part(0, {"7", "abc"}),
                  part(0, {"7", "abc"}), part(2, {}), part(0, {"300"})}};
  auto mixed = op->make_state();
  ASSERT_TRUE(op->add_group(*mixed, a));
  ASSERT_TRUE(op->add_group(*mixed, b));
  auto local = op->make_state();
  op->add(*local, {rows[2]}, ctx);
  op->merge(*mixed, *local);
  Table got = op->finish(*mixed, ctx);

  ASSERT_EQ(got.size(), 2u);
  ASSERT_EQ(want.size(), 2u);
  for (size_t i = 0; i < 2; ++i)
    for (auto& [k, v] : want[i].entries()) EXPECT_EQ(text(got[i], k), v.to_string()) << "group " << i << " " << k;
  EXPECT_EQ(text(got[0], "count"), "3");
  EXPECT_EQ(text(got[0], "nmin"), "5");
  EXPECT_EQ(text(got[0], "nmax"), "10");
  EXPECT_EQ(text(got[0], "dn"), "3");
  EXPECT_EQ(text(got[0], "cn"), "3");
  EXPECT_EQ(text(got[0], "t0"), "50");
  EXPECT_EQ(text(got[1], "nmin"), "7");
  EXPECT_EQ(text(got[1], "nmax"), "abc");
  // A group whose shape does not fit the operator is refused.
  ir::PreGroup bad{{Value("a"), Value("x")}, {}};
  EXPECT_FALSE(op->add_group(*mixed, bad));
}

}  // namespace
}  // namespace vigil::spl::testing
