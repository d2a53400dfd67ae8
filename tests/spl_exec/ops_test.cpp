// Pipeline operators, from SPL text: parse -> make_operator -> run over rows.
// Expected values follow the Splunk Search Reference entry of each command
// (cited per test) or the documented choices in spl/operators.h.
#include "spl_exec/helpers.h"

using namespace vigil;
using namespace vigil::spl;
using namespace vigil::spl::testing;

namespace {

TEST(WhereOp, FiltersWithEvalSemantics) {
  Table in = {row({{"a", "x"}, {"b", "x"}, {"n", "5"}}), row({{"a", "x"}, {"b", "y"}, {"n", "50"}}),
              row({{"a", "X"}, {"n", "7"}})};
  // `where a!=b`: bare identifier on the right is a field (spl.md §3.1); null compares false.
  auto out = run("| where a!=b", in);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(text(out[0], "b"), "y");
  // numeric comparison: 5 and 7 < 10, 50 is not (string order would keep "50" < "7")
  EXPECT_EQ(run("| where n < 10", in).size(), 2u);
  // case-sensitive equality ("where" reference)
  EXPECT_EQ(run("| where a=\"x\"", in).size(), 2u);
  EXPECT_EQ(run("| where like(a, \"X\")", in).size(), 1u);
  EXPECT_EQ(run("| where isnull(b)", in).size(), 1u);
}

TEST(WhereOp, UnknownFunctionIsABuildError) {
  Pipe p = build("| where nosuch(a)");
  EXPECT_NE(p.error, "");
}

TEST(SearchOp, MidPipelineSearchIsCaseInsensitiveWildcard) {
  // search: case-insensitive values, `*` wildcards (Search Manual, "Use CASE() and TERM()").
  ir::AtomTable atoms;
  OperatorEnv env;
  env.atoms = &atoms;
  Table in = {row({{"isIOC", "TRUE"}, {"p", "a"}}), row({{"isIOC", "false"}, {"p", "b"}}), row({{"p", "c"}})};
  auto out = run("| search isIOC=true", in, env);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(text(out[0], "p"), "a");
  // `f!=v` needs the field; `NOT f=v` also keeps rows without it (Search Manual, != vs NOT).
  EXPECT_EQ(run("| search isIOC!=true", in, env).size(), 1u);
  EXPECT_EQ(run("| search NOT isIOC=true", in, env).size(), 2u);
  EXPECT_EQ(run("| search p=*", in, env).size(), 3u);
  EXPECT_EQ(run("| search *", in, env).size(), 3u);  // the filter-macro stub
}

TEST(EvalOp, AssignmentsSeeEarlierOnesAndNullRemoves) {
  Table in = {row({{"a", "2"}, {"gone", "x"}})};
  auto out = run("| eval b=a*10, c=b+1, gone=null(), s=\"v=\" . c", in);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(text(out[0], "b"), "20");
  EXPECT_EQ(text(out[0], "c"), "21");
  EXPECT_EQ(text(out[0], "s"), "v=21");
  EXPECT_FALSE(out[0].has("gone"));
}

TEST(RenameOp, WildcardsAndOverwrite) {
  // rename: `X.* AS *`, same number of wildcards on both sides (Search Reference, rename).
  Table in = {row({{"Processes.process_name", "cmd.exe"}, {"Processes.dest", "h1"}, {"dest", "old"}, {"x", "1"}})};
  auto out = run("| rename Processes.* as *", in);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(text(out[0], "process_name"), "cmd.exe");
  EXPECT_EQ(text(out[0], "dest"), "h1");  // the existing `dest` is replaced
  EXPECT_FALSE(out[0].has("Processes.dest"));
  EXPECT_EQ(out[0].size(), 3u);
  // quoted prefix from drop_dm_object_name("Processes") behaves the same (spl.md §4)
  auto out2 = run("| rename \"Processes\".* as *", {row({{"Processes.user", "u"}})});
  EXPECT_EQ(text(out2[0], "user"), "u");
  auto out3 = run("| rename x as y, missing as z", {row({{"x", "1"}})});
  EXPECT_EQ(text(out3[0], "y"), "1");
  EXPECT_FALSE(out3[0].has("z"));
  EXPECT_NE(build("| rename a* as b").error, "");  // wildcard count mismatch
}

// Renamed fields keep their places; a new name already taken replaces that field, which goes.
// Orders worked by hand from the rename steps (each: take the old field out, drop the one holding
// the new name, put the value back where the old field stood).
TEST(RenameOp, WildcardRenameKeepsFieldOrder) {
  auto names = [](const Row& r) {
    std::vector<std::string> n;
    for (auto& e : r.entries()) n.push_back(e.first);
    return n;
  };
  auto out = run("| rename Processes.* as *", {row({{"Processes.a", "1"}, {"x", "2"}, {"Processes.b", "3"}})});
  EXPECT_EQ(names(out[0]), (std::vector<std::string>{"a", "x", "b"}));
  out = run("| rename Processes.* as *", {row({{"dest", "old"}, {"Processes.dest", "h1"}, {"Processes.user", "u"}})});
  EXPECT_EQ(names(out[0]), (std::vector<std::string>{"dest", "user"}));
  EXPECT_EQ(text(out[0], "dest"), "h1");
  out = run("| rename Processes.* as *", {row({{"Processes.dest", "h1"}, {"x", "2"}, {"dest", "old"}})});
  EXPECT_EQ(names(out[0]), (std::vector<std::string>{"dest", "x"}));
  EXPECT_EQ(text(out[0], "dest"), "h1");
  // A star before the last takes as little as lets the rest match: "1", then "2b3".
  out = run("| rename a*b*c as x*y*z, *_name as *", {row({{"a1b2b3c", "v"}, {"process_name", "p"}, {"keep", "k"}})});
  EXPECT_EQ(names(out[0]), (std::vector<std::string>{"x1y2b3z", "process", "keep"}));
}

// sort: numbers first by value, then texts by their bytes; numbers of equal value keep their input
// order (stable). By hand: 2, 9, 9.0, 10, then "$x" < "1a" < "b"; rows without the field last.
TEST(SortOp, NumbersThenTextsWhenMixed) {
  Table in;
  for (const char* k : {"b", "10", "9.0", "$x", "9", "1a", "2"}) in.push_back(row({{"k", Value(std::string(k))}}));
  in.push_back(row({{"other", Value(std::string("x"))}}));
  auto out = run("| sort 0 k", in);
  std::vector<std::string> keys;
  for (auto& r : out) keys.push_back(r.has("k") ? text(r, "k") : "-");
  EXPECT_EQ(keys, (std::vector<std::string>{"2", "9.0", "9", "10", "$x", "1a", "b", "-"}));
  out = run("| sort 0 -k", in);
  keys.clear();
  for (auto& r : out) keys.push_back(r.has("k") ? text(r, "k") : "-");
  EXPECT_EQ(keys, (std::vector<std::string>{"b", "1a", "$x", "10", "9.0", "9", "2", "-"}));
}

TEST(ConvertOp, CtimeWithTimeformatAndDefault) {
  // security_content_ctime: convert timeformat="%Y-%m-%dT%H:%M:%S" ctime(f) (spl.md §4).
  // 1700000000 = 2023-11-14T22:13:20Z (python3 datetime.utcfromtimestamp).
  Row r;
  r.set("firstTime", Value(1700000000.0));
  r.set("lastTime", Value("1700000000"));
  r.set("text", Value("not a time"));
  auto out = run("| convert timeformat=\"%Y-%m-%dT%H:%M:%S\" ctime(firstTime) ctime(text)", {r});
  EXPECT_EQ(text(out[0], "firstTime"), "2023-11-14T22:13:20");
  EXPECT_EQ(text(out[0], "text"), "not a time");  // ctime of a non-number leaves the value
  // default format %m/%d/%Y %H:%M:%S, and `as` keeps the source
  auto out2 = run("| convert ctime(lastTime) as lt", {r});
  EXPECT_EQ(text(out2[0], "lt"), "11/14/2023 22:13:20");
  EXPECT_EQ(text(out2[0], "lastTime"), "1700000000");
}

TEST(FieldsOp, TableOrdersAndFieldsRemoves) {
  Table in = {row({{"_time", "1"}, {"b", "2"}, {"a", "1"}, {"c1", "x"}, {"c2", "y"}})};
  auto t = run("| table a c* b", in);
  ASSERT_EQ(t[0].size(), 4u);
  EXPECT_EQ(t[0].entries()[0].first, "a");
  EXPECT_EQ(t[0].entries()[1].first, "c1");
  EXPECT_EQ(t[0].entries()[3].first, "b");
  auto f = run("| fields a", in);  // `fields` keeps internal fields such as _time
  EXPECT_EQ(f[0].size(), 2u);
  EXPECT_TRUE(f[0].has("_time"));
  auto rm = run("| fields - c* _time", in);
  EXPECT_EQ(rm[0].size(), 2u);
  EXPECT_FALSE(rm[0].has("c1"));
}

TEST(RexOp, NamedGroupsMaxMatchAndSed) {
  Row r = row({{"_raw", "user=alice user=bob"}, {"cmd", "a.exe -p SECRET"}});
  // (?<n>…) and (?P<n>…) named groups become fields (rex reference)
  auto out = run("| rex \"user=(?<u>\\w+)\" | rex field=cmd \"(?P<exe>\\S+) -p\"", {r});
  EXPECT_EQ(text(out[0], "u"), "alice");
  EXPECT_EQ(text(out[0], "exe"), "a.exe");
  // max_match=0: unlimited, multivalue
  auto out2 = run("| rex max_match=0 \"user=(?<u>\\w+)\"", {r});
  ASSERT_TRUE(out2[0].get("u")->is_multi());
  EXPECT_EQ(out2[0].get("u")->values().size(), 2u);
  // mode=sed s/re/repl/g
  auto out3 = run("| rex field=cmd mode=sed \"s/-p \\S+/-p ***/g\"", {r});
  EXPECT_EQ(text(out3[0], "cmd"), "a.exe -p ***");
  EXPECT_NE(build("| rex \"(?<bad\"").error, "");  // bad regex: build error
}

TEST(RegexOp, KeepsOrDropsOnMatch) {
  Table in = {row({{"_raw", "GET /admin"}}), row({{"_raw", "GET /index"}}), row({{"x", "1"}})};
  EXPECT_EQ(run("| regex \"admin\"", in).size(), 1u);
  EXPECT_EQ(run("| regex _raw!=\"admin\"", in).size(), 2u);
}

TEST(DedupOp, KeepsFirstPerCombination) {
  Table in = {row({{"h", "a"}, {"p", "1"}, {"i", "1"}}), row({{"h", "a"}, {"p", "1"}, {"i", "2"}}),
              row({{"h", "a"}, {"p", "2"}, {"i", "3"}}), row({{"p", "1"}, {"i", "4"}})};
  auto out = run("| dedup h,p", in);
  ASSERT_EQ(out.size(), 2u);  // rows without a dedup field are removed (keepempty=false default)
  EXPECT_EQ(text(out[0], "i"), "1");
  EXPECT_EQ(text(out[1], "i"), "3");
}

TEST(FillnullOp, DefaultsToZeroOverAllFields) {
  // fillnull: default value 0, all fields when no list (Search Reference, fillnull).
  Table in = {row({{"a", "1"}}), row({{"b", "2"}})};
  auto out = run("| fillnull", in);
  EXPECT_EQ(text(out[0], "b"), "0");
  EXPECT_EQ(text(out[1], "a"), "0");
  auto out2 = run("| fillnull value=NULL c", in);
  EXPECT_EQ(text(out2[0], "c"), "NULL");
  EXPECT_FALSE(out2[0].has("b"));
}

TEST(MvexpandAndMakemv, SplitAndExpand) {
  Table in = {row({{"s", "a b c"}, {"k", "1"}})};
  auto out = run("| makemv delim=\" \" s | mvexpand s", in);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(text(out[2], "s"), "c");
  EXPECT_EQ(text(out[2], "k"), "1");
}

TEST(SortOp, NumericAwareAndDescending) {
  Table in = {row({{"n", "10"}}), row({{"n", "9"}}), row({{"n", "100"}}), row({{"x", "1"}})};
  auto out = run("| sort - n", in);
  EXPECT_EQ(text(out[0], "n"), "100");
  EXPECT_EQ(text(out[2], "n"), "9");
  EXPECT_FALSE(out[3].has("n"));  // rows without the key last
}

TEST(BinOp, TimeSpanFloors) {
  // bin/bucket span=1h _time: floor to the span. 1700000000 -> 1699999200 (22:00:00Z, python3).
  Row r;
  r.set("_time", Value(1700000000.0));
  auto out = run("| bucket _time span=1h", {r});
  EXPECT_EQ(text(out[0], "_time"), "1699999200");
  auto out2 = run("| bin span=5m _time", {r});
  EXPECT_EQ(text(out2[0], "_time"), "1699999800");  // 1700000000 - (1700000000 % 300)
  // another epoch field with a time span floors the same way; a plain number makes ranges
  auto out3 = run("| bin firstTime span=1h | bin n span=10", {row({{"firstTime", "1700000000"}, {"n", "37"}})});
  EXPECT_EQ(text(out3[0], "firstTime"), "1699999200");
  EXPECT_EQ(text(out3[0], "n"), "30-40");
}

TEST(SpathOp, JsonPathsAndAutoExtract) {
  Row r = row({{"_raw", R"({"a":{"b":"x","n":3},"l":[{"k":"v1"},{"k":"v2"}]})"}});
  auto out = run("| spath", {r});
  EXPECT_EQ(text(out[0], "a.b"), "x");
  EXPECT_EQ(text(out[0], "a.n"), "3");
  EXPECT_EQ(text(out[0], "l{}.k"), "v1\nv2");
  auto out2 = run("| spath input=_raw output=first path=l{1}.k", {r});
  EXPECT_EQ(text(out2[0], "first"), "v1");
  auto bad = run("| spath", {row({{"_raw", "{not json"}})});
  EXPECT_EQ(bad[0].size(), 1u);
}

TEST(XmlkvOp, InnermostTags) {
  Row r = row({{"Message", "<Task><Actions><Exec><Command>rundll32.exe</Command><Arguments>x,y</Arguments></Exec></Actions></Task>"}});
  auto out = run("| xmlkv Message", {r});
  EXPECT_EQ(text(out[0], "Command"), "rundll32.exe");
  EXPECT_EQ(text(out[0], "Arguments"), "x,y");
  EXPECT_FALSE(out[0].has("Task"));
}

TEST(AddtotalsOp, SumsNumericFields) {
  Table in = {row({{"a", "1"}, {"b", "2.5"}, {"c", "x"}})};
  auto out = run("| addtotals fieldname=Score a b c", in);
  EXPECT_EQ(text(out[0], "Score"), "3.5");
}

// Row totals touch one row at a time, so a stats after them still aggregates per batch and the
// rows keep only the named fields (ESCU "PowerShell 4104 Hunting" held every 4104 event whole).
// The column total adds a row over all of them, and unnamed fields mean "every field".
TEST(AddtotalsOp, RowTotalsArePerRowAndReadTheNamedFields) {
  Pipe named = build("| addtotals fieldname=Score a, b");
  ASSERT_EQ(named.error, "");
  EXPECT_EQ(named.ops[0]->shape(), ir::OpShape::per_row);
  std::vector<std::string> reads;
  ASSERT_TRUE(named.ops[0]->reads(reads));
  EXPECT_EQ(reads, (std::vector<std::string>{"a", "b"}));
  Pipe col = build("| addtotals col=t a");
  ASSERT_EQ(col.error, "");
  EXPECT_EQ(col.ops[0]->shape(), ir::OpShape::whole);
  Pipe all = build("| addtotals");
  ASSERT_EQ(all.error, "");
  std::vector<std::string> any;
  EXPECT_FALSE(all.ops[0]->reads(any));
}

TEST(JoinOp, InnerLeftAndMax) {
  TestCtx ctx;
  ctx.streams.push_back({row({{"process_guid", "g1"}, {"file", "f1"}}), row({{"process_guid", "g1"}, {"file", "f2"}}),
                         row({{"process_guid", "g3"}, {"file", "f3"}})});
  size_t next = 0;
  OperatorEnv env;
  env.add_subsearch = [&](const Pipeline&, std::string*) -> std::optional<size_t> { return next++ % 1; };
  Table left = {row({{"process_guid", "g1"}, {"p", "a"}}), row({{"process_guid", "g2"}, {"p", "b"}})};
  // default: type=inner, max=1 (documented choice; spl.md §5)
  auto inner = run("| join process_guid [| tstats count from datamodel=Endpoint.Filesystem by process_guid]", left, env, &ctx);
  ASSERT_EQ(inner.size(), 1u);
  EXPECT_EQ(text(inner[0], "file"), "f1");
  auto all = run("| join max=0 process_guid [| tstats count from datamodel=Endpoint.Filesystem by process_guid]", left, env, &ctx);
  EXPECT_EQ(all.size(), 2u);
  auto lj = run("| join type=left process_guid [| tstats count from datamodel=Endpoint.Filesystem by process_guid]", left, env, &ctx);
  ASSERT_EQ(lj.size(), 2u);
  EXPECT_FALSE(lj[1].has("file"));
  // no subsearch support in this environment: not executable
  EXPECT_NE(build("| join process_guid [| tstats count from datamodel=Endpoint.Filesystem by process_guid]").error, "");
}

TEST(AppendOps, AppendAndAppendpipe) {
  TestCtx ctx;
  ctx.streams.push_back({row({{"x", "sub"}})});
  OperatorEnv env;
  env.add_subsearch = [](const Pipeline&, std::string*) -> std::optional<size_t> { return 0; };
  auto out = run("| append [| inputlookup whatever]", {row({{"x", "main"}})}, env, &ctx);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(text(out[1], "x"), "sub");
  auto ap = run("| appendpipe [stats count]", {row({{"x", "1"}}), row({{"x", "2"}})});
  ASSERT_EQ(ap.size(), 3u);
  EXPECT_EQ(text(ap[2], "count"), "2");
}

TEST(ForeachOp, TemplatesPerField) {
  Table in = {row({{"c_a", "1"}, {"c_b", "2"}, {"d", "5"}})};
  auto out = run("| foreach c_* [eval <<FIELD>> = '<<FIELD>>' * 10, m_<<MATCHSTR>> = 1]", in);
  EXPECT_EQ(text(out[0], "c_a"), "10");
  EXPECT_EQ(text(out[0], "c_b"), "20");
  EXPECT_EQ(text(out[0], "m_b"), "1");
  EXPECT_EQ(text(out[0], "d"), "5");
  auto out2 = run("| foreach d [eval <<FIELD>> = <<FIELD>> + 1]", in);
  EXPECT_EQ(text(out2[0], "d"), "6");
}

TEST(RefusedCommands, WritesAndGeoip) {
  EXPECT_EQ(build("| outputlookup x.csv").error, "outputlookup: refused: writes/executes; enable with --allow-writes");
  EXPECT_EQ(build("| iplocation src").error, "iplocation: unavailable: no local GeoIP database");
  EXPECT_NE(build("| sendemail to=a@b").error, "");
  OperatorEnv env;
  env.allow_writes = true;
  EXPECT_EQ(build("| outputlookup x.csv", env).error, "");
  EXPECT_NE(build("| outputlookup ../x.csv", env).error, "");  // never outside writes_dir
  EXPECT_TRUE(is_supported_command("stats"));
  EXPECT_TRUE(is_supported_command("foreach"));
  EXPECT_TRUE(is_supported_command("top"));
  EXPECT_TRUE(is_supported_command("rare"));
  EXPECT_FALSE(is_supported_command("iplocation"));
}

TEST(HostileInput, NoCrashes) {
  // Operators never throw on odd rows: multivalues where scalars are expected, huge regex loops.
  Row r;
  r.set("_raw", Value(std::string(20000, 'a')));
  r.set("mv", Value::multi({"1", "x"}));
  auto out = run("| rex max_match=0 \"(?<c>a)\" | eval y=mv+1, z=substr(mv, -100, 5) | where y > 0", {r});
  EXPECT_TRUE(out.empty());  // y is null (multivalue arithmetic), so where drops the row
}

}  // namespace

namespace {

TEST(ReplaceOp, WholeValueWithWildcards) {
  // replace reference: whole-value substitution, `*` carries the matched text, `in` limits fields.
  Table in = {row({{"OperationType", "%%14674"}, {"other", "%%14674"}}), row({{"OperationType", "x%%14675y"}})};
  auto out = run("| replace \"%%14674\" with \"Value Added\", \"x*y\" with \"<*>\" in OperationType", in);
  EXPECT_EQ(text(out[0], "OperationType"), "Value Added");
  EXPECT_EQ(text(out[0], "other"), "%%14674");
  EXPECT_EQ(text(out[1], "OperationType"), "<%%14675>");
}

TEST(TransactionOp, StartsEndsAndMaxspan) {
  ir::AtomTable atoms;
  OperatorEnv env;
  env.atoms = &atoms;
  auto ev = [](double t, const char* task, const char* code) {
    Row r;
    r.set("_time", Value(t));
    r.set("Task_Name", Value(task));
    r.set("EventCode", Value(code));
    return r;
  };
  // Task A: created at 10, deleted at 70 -> one closed transaction (duration 60, 2 events).
  // Task B: created at 20, never deleted -> evicted (endswith given).
  Table in = {ev(70, "A", "4699"), ev(10, "A", "4698"), ev(20, "B", "4698"), ev(5, "A", "4699")};
  auto out = run("| transaction Task_Name startswith=(EventCode=4698) endswith=(EventCode=4699)", in, env);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(text(out[0], "Task_Name"), "A");
  EXPECT_EQ(text(out[0], "duration"), "60");
  EXPECT_EQ(text(out[0], "eventcount"), "2");
  EXPECT_EQ(text(out[0], "EventCode"), "4698\n4699");
  // maxspan splits: events 0s, 100s, 500s of one user with maxspan=5m -> {0,100} and {500}
  Table users = {ev(0, "u", "1"), ev(100, "u", "1"), ev(500, "u", "1")};
  auto out2 = run("| transaction Task_Name maxspan=5m", users, env);
  ASSERT_EQ(out2.size(), 2u);
  EXPECT_EQ(text(out2[0], "eventcount"), "2");
}

}  // namespace
