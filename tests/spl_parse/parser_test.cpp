// Grammar tests for the SPL parser. Expected trees are spelled out from the
// Splunk rules in ../shared/docs/spl.md §4-§5 (precedence, quoting, IN, NOT).
#include <gtest/gtest.h>

#include "spl/lexer.h"
#include "spl/parser.h"

using namespace vigil::spl;

namespace {

// Compact rendering of a search tree: and(...), or(...), not(...), f=v, f IN [a|b], kw:"v".
std::string show(const SearchExpr* e) {
  if (!e) return "<all>";
  std::string s;
  auto kids = [&](const char* name) {
    s = std::string(name) + "(";
    for (size_t i = 0; i < e->children.size(); ++i) s += (i ? ", " : "") + show(e->children[i].get());
    s += ")";
  };
  switch (e->kind) {
    case SearchKind::and_: kids("and"); break;
    case SearchKind::or_: kids("or"); break;
    case SearchKind::not_: kids("not"); break;
    case SearchKind::compare: s = e->field + e->op + (e->quoted[0] ? "\"" + e->values[0] + "\"" : e->values[0]); break;
    case SearchKind::in_list:
      s = e->field + " IN [";
      for (size_t i = 0; i < e->values.size(); ++i) s += (i ? "|" : "") + e->values[i];
      s += "]";
      break;
    case SearchKind::keyword: s = e->subsearch ? "[sub]" : "kw:" + e->values[0]; break;
  }
  if (e->case_sensitive) s = "CASE:" + s;
  if (e->term) s = "TERM:" + s;
  return s;
}

std::string show(const Expr* e) {
  if (!e) return "<null>";
  switch (e->kind) {
    case ExprKind::string: return "\"" + e->text + "\"";
    case ExprKind::number: return "#" + e->text;
    case ExprKind::field: return e->text;
    case ExprKind::null_lit: return "null";
    case ExprKind::call:
    case ExprKind::in_list: {
      std::string s = (e->kind == ExprKind::in_list ? "IN" : e->text) + std::string("(");
      for (size_t i = 0; i < e->args.size(); ++i) s += (i ? ", " : "") + show(e->args[i].get());
      return s + ")";
    }
    case ExprKind::unary: return "(" + e->text + " " + show(e->args[0].get()) + ")";
    case ExprKind::binary: return "(" + show(e->args[0].get()) + " " + e->text + " " + show(e->args[1].get()) + ")";
  }
  return "?";
}

std::unique_ptr<Pipeline> parse_ok(std::string_view text) {
  ParseResult r = parse_pipeline(text);
  EXPECT_FALSE(r.error) << text << "\n  error: " << (r.error ? r.error->message : "");
  return std::move(r.pipeline);
}

std::string search_of(std::string_view text) {
  auto p = parse_ok(text);
  if (!p) return "<error>";
  return show(std::get<SearchCmd>(p->commands.at(0).body).expr.get());
}

std::string expr_of(std::string_view text) {
  ExprResult r = parse_expression(text);
  EXPECT_FALSE(r.error) << text << "\n  error: " << (r.error ? r.error->message : "");
  return show(r.expr.get());
}

template <class T>
const T& body(const Pipeline& p, size_t i) {
  return std::get<T>(p.commands.at(i).body);
}

}  // namespace

// ------------------------------------------------------------ search precedence

TEST(SplSearch, OrBindsTighterThanImplicitAnd) {
  // spl.md §5: in search, precedence is (), NOT, OR, AND. `a OR b c` = (a OR b) AND c.
  EXPECT_EQ(search_of("sourcetype=A OR source=B EventCode=1"), "and(or(sourcetype=A, source=B), EventCode=1)");
  EXPECT_EQ(search_of("a=1 b=2 OR c=3"), "and(a=1, or(b=2, c=3))");
  EXPECT_EQ(search_of("a=1 AND b=2 OR c=3"), "and(a=1, or(b=2, c=3))");
  EXPECT_EQ(search_of("(a=1 b=2) OR c=3"), "or(and(a=1, b=2), c=3)");
}

TEST(SplSearch, NotBindsTightest) {
  EXPECT_EQ(search_of("NOT a=1 OR b=2"), "or(not(a=1), b=2)");
  EXPECT_EQ(search_of("NOT (a=1 OR b=2) c=3"), "and(not(or(a=1, b=2)), c=3)");
  EXPECT_EQ(search_of("x NOT y"), "and(kw:x, not(kw:y))");
}

TEST(SplSearch, LowercaseBooleansAreTerms) {
  // spl.md §5: operators must be uppercase; lowercase and/or/not are plain terms.
  EXPECT_EQ(search_of("a or b"), "and(kw:a, kw:or, kw:b)");
}

TEST(SplSearch, InListsIncludingAfterNotAndInParens) {
  EXPECT_EQ(search_of("Processes.process_name IN (\"cmd.exe\", powershell.exe,\"*\\\\x\")"),
            "Processes.process_name IN [cmd.exe|powershell.exe|*\\x]");
  EXPECT_EQ(search_of("NOT f IN (a, b)"), "not(f IN [a|b])");
  EXPECT_EQ(search_of("(f IN (a) OR g=1)"), "or(f IN [a], g=1)");
}

TEST(SplSearch, ComparisonOperators) {
  EXPECT_EQ(search_of("a!=1 b<2 c<=3 d>4 e>=5"), "and(a!=1, b<2, c<=3, d>4, e>=5)");
  EXPECT_EQ(search_of("f = \"v w\""), "f=\"v w\"");
}

TEST(SplSearch, QuotingAndBackslashes) {
  // spl.md §5: in search values `\\` -> `\`, `\"` -> `"`, any other backslash is literal.
  EXPECT_EQ(search_of(R"(process_path="*\\AppData\\*")"), R"(process_path="*\AppData\*")");
  EXPECT_EQ(search_of(R"(process="*\sam *")"), R"(process="*\sam *")");
  EXPECT_EQ(search_of(R"(x="a \"q\" b")"), R"(x="a "q" b")");
  EXPECT_EQ(search_of(R"(x=C:\\Windows\\*.exe)"), R"(x=C:\Windows\*.exe)");
  // Unquoted `\"` stays inside the term (2 kubernetes detections).
  EXPECT_EQ(search_of(R"(verb=\"create\" ok)"), R"(and(verb="create", kw:ok))");
  // A pipe inside quotes does not split the pipeline.
  auto p = parse_ok(R"(x="a|b" | stats count)");
  ASSERT_EQ(p->commands.size(), 2u);
}

TEST(SplSearch, CaseAndTerm) {
  EXPECT_EQ(search_of("CASE(Foo) x=1"), "and(CASE:kw:Foo, x=1)");
  EXPECT_EQ(search_of("f=CASE(Bar)"), "CASE:f=Bar");
  EXPECT_EQ(search_of("TERM(sudoedit)"), "TERM:kw:sudoedit");
}

TEST(SplSearch, SearchStarIsMatchAll) {
  auto p = parse_ok("| tstats count | search *");
  ASSERT_EQ(p->commands.size(), 2u);
  EXPECT_EQ(p->commands[1].name, "search");
  EXPECT_EQ(body<SearchCmd>(*p, 1).expr, nullptr);
  EXPECT_EQ(search_of("\"*\""), "kw:*");  // a quoted star is a value, not the match-all form
}

TEST(SplSearch, SubsearchTerm) {
  auto p = parse_ok("search City=* [search Country=* | fields Country]");
  const auto& s = body<SearchCmd>(*p, 0);
  EXPECT_EQ(show(s.expr.get()), "and(City=*, [sub])");
  ASSERT_TRUE(s.expr->children[1]->subsearch);
  EXPECT_EQ(s.expr->children[1]->subsearch->commands.size(), 2u);
}

TEST(SplSearch, Spans) {
  std::string text = "EventCode=4104 | stats count";
  auto p = parse_ok(text);
  EXPECT_FALSE(p->leading_pipe);
  EXPECT_EQ(p->commands[0].span.begin, 0u);
  EXPECT_EQ(p->commands[0].span.end, 14u);
  EXPECT_EQ(p->commands[1].span.begin, 17u);  // "stats count" starts after "| "
  EXPECT_EQ(body<SearchCmd>(*p, 0).expr->span.end, 14u);
}

// ------------------------------------------------------------ eval / where precedence

TEST(SplEval, AndBindsTighterThanOr) {
  EXPECT_EQ(expr_of("a=1 OR b=2 AND c=3"), "((a = #1) OR ((b = #2) AND (c = #3)))");
  EXPECT_EQ(expr_of("a+b*c-d . \"x\""), "(((a + (b * c)) - d) . \"x\")");
  EXPECT_EQ(expr_of("-x * 2"), "((- x) * #2)");
  EXPECT_EQ(expr_of("a XOR b OR c"), "((a XOR b) OR c)");
}

TEST(SplEval, NotNegatesAComparison) {
  // `where NOT new_values IN (…) AND match(…)` (corpus) means (NOT (x IN …)) AND match(…).
  EXPECT_EQ(expr_of("NOT x IN (a,\"b\") AND match(x, \"^\\{\")"), "((NOT IN(x, a, \"b\")) AND match(x, \"^\\{\"))");
  EXPECT_EQ(expr_of("NOT a=\"b\""), "(NOT (a = \"b\"))");
}

TEST(SplEval, LiteralsFieldsAndCalls) {
  EXPECT_EQ(expr_of("'my field'=\"x\""), "(my field = \"x\")");
  EXPECT_EQ(expr_of("if(isnull(x), null(), Processes.process_name)"), "if(isnull(x), null, Processes.process_name)");
  EXPECT_EQ(expr_of("LIKE(process, \"%x%\")"), "like(process, \"%x%\")");
  EXPECT_EQ(expr_of("p like \"%\""), "(p LIKE \"%\")");
  EXPECT_EQ(expr_of("in(x, \"a\", \"b\")"), "IN(x, \"a\", \"b\")");
  EXPECT_EQ(expr_of("x==1.5e3"), "(x == #1.5e3)");
  EXPECT_EQ(expr_of("split(process,\"`\")"), "split(process, \"`\")");
}

TEST(SplEval, StringEscapes) {
  // Documented: "C:\\windows\temp" yields a TAB (Search Manual, "Types of expressions").
  EXPECT_EQ(expr_of(R"("C:\\windows\temp")"), "\"C:\\windows\temp\"");
  // Regex escapes other than \t \n \r \\ \" are kept for PCRE.
  EXPECT_EQ(expr_of(R"(match(x, "\d+\.\b"))"), R"(match(x, "\d+\.\b"))");
  EXPECT_EQ(expr_of(R"("a\"b")"), "\"a\"b\"");
}

TEST(SplEval, EvalCommandAssignments) {
  auto p = parse_ok("| makeresults | eval a=1, b=if(a>0,\"y\",\"n\"), 'c d'=a.\"x\"");
  const auto& ev = body<EvalCmd>(*p, 1);
  ASSERT_EQ(ev.assignments.size(), 3u);
  EXPECT_EQ(ev.assignments[1].first, "b");
  EXPECT_EQ(show(ev.assignments[1].second.get()), "if((a > #0), \"y\", \"n\")");
  EXPECT_EQ(ev.assignments[2].first, "c d");
  EXPECT_EQ(show(ev.assignments[2].second.get()), "(a . \"x\")");
}

TEST(SplEval, WhereCommand) {
  auto p = parse_ok("search x | where count > 5 AND like(process, \"%a%\")");
  EXPECT_EQ(show(body<WhereCmd>(*p, 1).expr.get()), "((count > #5) AND like(process, \"%a%\"))");
}

// ------------------------------------------------------------ tstats

TEST(SplTstats, FromDatamodelForms) {
  const char* texts[] = {
      "| tstats count from datamodel=Endpoint.Processes where Processes.process_name=x by Processes.dest",
      "| tstats count from datamodel=\"Endpoint.Processes\" where Processes.process_name=x by Processes.dest",
      "| tstats count from datamodel Endpoint.Processes where Processes.process_name=x by Processes.dest",
  };
  for (auto* t : texts) {
    auto p = parse_ok(t);
    ASSERT_TRUE(p) << t;
    EXPECT_TRUE(p->leading_pipe);
    EXPECT_EQ(p->commands[0].name, "tstats");
    const auto& ts = body<TstatsCmd>(*p, 0);
    EXPECT_EQ(ts.datamodel, "Endpoint") << t;
    EXPECT_EQ(ts.dataset, "Processes") << t;
    EXPECT_EQ(show(ts.where.get()), "Processes.process_name=x") << t;
    ASSERT_EQ(ts.by.size(), 1u);
    EXPECT_EQ(ts.by[0].field, "Processes.dest");
  }
}

TEST(SplTstats, FullEscuShape) {
  auto p = parse_ok(
      "| tstats summariesonly=false allow_old_summaries=true fillnull_value=null count min(_time) as firstTime "
      "max(_time) as lastTime from datamodel=Endpoint.Processes where (Processes.process_name=wmic.exe OR "
      "Processes.original_file_name=wmic.exe) Processes.process=\"*shadowcopy*\" by Processes.dest "
      "Processes.user, Processes.process _time span=1h");
  const auto& ts = body<TstatsCmd>(*p, 0);
  EXPECT_EQ(ts.options.at("summariesonly"), "false");
  EXPECT_EQ(ts.options.at("allow_old_summaries"), "true");
  EXPECT_EQ(ts.options.at("fillnull_value"), "null");
  ASSERT_EQ(ts.aggregates.size(), 3u);
  EXPECT_EQ(ts.aggregates[0].output_name(), "count");
  EXPECT_EQ(ts.aggregates[1].func, "min");
  EXPECT_EQ(ts.aggregates[1].field, "_time");
  EXPECT_EQ(ts.aggregates[1].output_name(), "firstTime");
  EXPECT_EQ(show(ts.where.get()),
            "and(or(Processes.process_name=wmic.exe, Processes.original_file_name=wmic.exe), "
            "Processes.process=\"*shadowcopy*\")");
  ASSERT_EQ(ts.by.size(), 4u);
  EXPECT_EQ(ts.by[1].field, "Processes.user");
  EXPECT_EQ(ts.by[3].field, "_time");
  EXPECT_EQ(ts.by[3].span, "1h");
}

TEST(SplTstats, NodenameAndFromCommand) {
  auto p = parse_ok("| tstats count from datamodel=Network_Resolution where nodename=DNS DNS.query=x by DNS.src");
  const auto& ts = body<TstatsCmd>(*p, 0);
  EXPECT_EQ(ts.datamodel, "Network_Resolution");
  EXPECT_EQ(ts.dataset, "");
  EXPECT_EQ(ts.nodename, "DNS");
  EXPECT_EQ(show(ts.where.get()), "DNS.query=x");

  auto f = parse_ok("| from datamodel Risk.All_Risk | search risk_score>10");
  EXPECT_EQ(f->commands[0].name, "from");
  const auto& fr = body<TstatsCmd>(*f, 0);
  EXPECT_TRUE(fr.from_form);
  EXPECT_EQ(fr.datamodel, "Risk");
  EXPECT_EQ(fr.dataset, "All_Risk");
}

// ------------------------------------------------------------ other commands

TEST(SplCommands, StatsAggregatesAndBy) {
  auto p = parse_ok(
      "search x | stats count, dc(eval(upper(dest))) as n values(Processes.process) count(eval(a>1)) by a, b c");
  const auto& st = body<StatsCmd>(*p, 1);
  ASSERT_EQ(st.aggregates.size(), 4u);
  EXPECT_EQ(st.aggregates[1].func, "dc");
  EXPECT_EQ(show(st.aggregates[1].eval.get()), "upper(dest)");
  EXPECT_EQ(st.aggregates[1].output_name(), "n");
  EXPECT_EQ(st.aggregates[2].output_name(), "values(Processes.process)");
  EXPECT_EQ(st.aggregates[3].output_name(), "count(eval(a>1))");
  ASSERT_EQ(st.by.size(), 3u);
  EXPECT_EQ(st.by[2].field, "c");
}

TEST(SplCommands, RenameWildcardsAndQuotedNames) {
  auto p = parse_ok("search x | rename Processes.* AS *, \"Processes\".* as *, a as \"b c\" user as src_user");
  const auto& rn = body<RenameCmd>(*p, 1);
  ASSERT_EQ(rn.renames.size(), 4u);
  EXPECT_EQ(rn.renames[0], (std::pair<std::string, std::string>{"Processes.*", "*"}));
  // drop_dm_object_name("Processes") expands to `rename "Processes".* AS *` (spl.md §4).
  EXPECT_EQ(rn.renames[1], (std::pair<std::string, std::string>{"Processes.*", "*"}));
  EXPECT_EQ(rn.renames[2], (std::pair<std::string, std::string>{"a", "b c"}));
  EXPECT_EQ(rn.renames[3], (std::pair<std::string, std::string>{"user", "src_user"}));
}

TEST(SplCommands, ConvertTableFields) {
  auto p = parse_ok(
      "search x | convert timeformat=\"%Y-%m-%dT%H:%M:%S\" ctime(firstTime) | table _time, a b | fields - a, b");
  const auto& cv = body<ConvertCmd>(*p, 1);
  EXPECT_EQ(cv.timeformat, "%Y-%m-%dT%H:%M:%S");
  ASSERT_EQ(cv.conversions.size(), 1u);
  EXPECT_EQ(cv.conversions[0].func, "ctime");
  EXPECT_EQ(cv.conversions[0].field, "firstTime");
  const auto& tb = body<FieldsCmd>(*p, 2);
  EXPECT_FALSE(tb.remove);
  EXPECT_EQ(tb.fields, (std::vector<std::string>{"_time", "a", "b"}));
  const auto& fl = body<FieldsCmd>(*p, 3);
  EXPECT_TRUE(fl.remove);
  EXPECT_EQ(fl.fields, (std::vector<std::string>{"a", "b"}));
}

TEST(SplCommands, RexAndRegex) {
  auto p = parse_ok(
      R"X(search x | rex field=ObjectDN max_match=0 "CN=(?P<guid>\{.*?\})" | rex mode=sed field=a "s/\\\\/\//g")X"
      R"X( | regex _raw="[jJ]{4}(\:|\%3A)" | regex process!="\\temp\\")X");
  const auto& r1 = body<RexCmd>(*p, 1);
  EXPECT_EQ(r1.field, "ObjectDN");
  EXPECT_EQ(r1.max_match, 0);
  EXPECT_EQ(r1.regex, R"(CN=(?P<guid>\{.*?\}))");
  const auto& r2 = body<RexCmd>(*p, 2);
  EXPECT_EQ(r2.mode, "sed");
  EXPECT_EQ(r2.regex, R"(s/\\/\//g)");
  const auto& g1 = body<RegexCmd>(*p, 3);
  EXPECT_EQ(g1.field, "_raw");
  EXPECT_FALSE(g1.negate);
  EXPECT_EQ(g1.regex, R"([jJ]{4}(\:|\%3A))");
  const auto& g2 = body<RegexCmd>(*p, 4);
  EXPECT_EQ(g2.field, "process");
  EXPECT_TRUE(g2.negate);
  EXPECT_EQ(g2.regex, R"(\temp\)");
}

TEST(SplCommands, Lookup) {
  auto p = parse_ok(
      "search x | lookup update=true remote_access_software remote_utility AS process_name, x OUTPUT isutility "
      "AS is_remote, category");
  const auto& lk = body<LookupCmd>(*p, 1);
  EXPECT_EQ(lk.table, "remote_access_software");
  EXPECT_EQ(lk.options.at("update"), "true");
  ASSERT_EQ(lk.inputs.size(), 2u);
  EXPECT_EQ(lk.inputs[0], (std::pair<std::string, std::string>{"remote_utility", "process_name"}));
  EXPECT_EQ(lk.inputs[1], (std::pair<std::string, std::string>{"x", "x"}));
  EXPECT_EQ(lk.output_mode, "OUTPUT");
  ASSERT_EQ(lk.outputs.size(), 2u);
  EXPECT_EQ(lk.outputs[0], (std::pair<std::string, std::string>{"isutility", "is_remote"}));
}

TEST(SplCommands, JoinAppendAppendpipe) {
  auto p = parse_ok(
      "search x | join type=outer max=0 process_guid, _time [| tstats count from datamodel=Endpoint.Filesystem by "
      "Filesystem.process_guid | rename Filesystem.* as *] | append [search y] | appendpipe [stats count | where "
      "count=0]");
  const auto& j = body<JoinCmd>(*p, 1);
  EXPECT_EQ(j.options.at("type"), "outer");
  EXPECT_EQ(j.options.at("max"), "0");
  EXPECT_EQ(j.fields, (std::vector<std::string>{"process_guid", "_time"}));
  ASSERT_TRUE(j.subsearch);
  EXPECT_TRUE(j.subsearch->leading_pipe);
  EXPECT_EQ(j.subsearch->commands[0].name, "tstats");
  EXPECT_EQ(j.subsearch->commands[1].name, "rename");
  const auto& ap = body<AppendCmd>(*p, 3);
  ASSERT_TRUE(ap.subsearch);
  // Inside a subsearch a leading known command word is that command, not search terms.
  EXPECT_EQ(ap.subsearch->commands[0].name, "stats");
  EXPECT_EQ(ap.subsearch->commands[1].name, "where");
}

TEST(SplCommands, BinDedupFillnullMvexpandSort) {
  auto p = parse_ok(
      "search x | bucket _time span=1h | bin span=5m _time as t | dedup host,process_name keepempty=true | "
      "fillnull value=NULL a b | fillnull | mvexpand parts limit=5 | sort 0 - count, +name, num(size) desc");
  const auto& b1 = body<BinCmd>(*p, 1);
  EXPECT_EQ(b1.field, "_time");
  EXPECT_EQ(b1.span, "1h");
  const auto& b2 = body<BinCmd>(*p, 2);
  EXPECT_EQ(b2.field, "_time");
  EXPECT_EQ(b2.span, "5m");
  EXPECT_EQ(b2.alias, "t");
  const auto& dd = body<DedupCmd>(*p, 3);
  EXPECT_EQ(dd.fields, (std::vector<std::string>{"host", "process_name"}));
  EXPECT_EQ(dd.options.at("keepempty"), "true");
  const auto& f1 = body<FillnullCmd>(*p, 4);
  EXPECT_EQ(f1.value, "NULL");
  EXPECT_EQ(f1.fields, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(body<FillnullCmd>(*p, 5).value, "0");
  const auto& mv = body<MvexpandCmd>(*p, 6);
  EXPECT_EQ(mv.field, "parts");
  EXPECT_EQ(mv.limit, 5);
  const auto& so = body<SortCmd>(*p, 7);
  EXPECT_EQ(so.limit, 0);
  ASSERT_EQ(so.keys.size(), 3u);
  EXPECT_EQ(so.keys[0], (std::pair<std::string, bool>{"count", true}));
  EXPECT_EQ(so.keys[1], (std::pair<std::string, bool>{"name", false}));
  EXPECT_EQ(so.keys[2], (std::pair<std::string, bool>{"size", true}));
}

TEST(SplCommands, ForeachKeepsBodyText) {
  auto p = parse_ok("search x | foreach stdev_* [ eval anomalies = if('<<MATCHSTR>>' > 3, 1, 0) ]");
  const auto& fe = body<ForeachCmd>(*p, 1);
  EXPECT_EQ(fe.patterns, (std::vector<std::string>{"stdev_*"}));
  EXPECT_EQ(fe.body_text, "eval anomalies = if('<<MATCHSTR>>' > 3, 1, 0)");
  // A malformed body is reported at its position in the text.
  std::string bad = "search x | foreach * [ eval <<FIELD>> = ) ]";
  auto r = parse_pipeline(bad);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->span.begin, bad.find(')'));
}

TEST(SplCommands, GenericAndMap) {
  auto p = parse_ok("search x | spath input=a output=b path=c.d | map search=\"search `wineventlog_security` "
                    "EventCode=4624 TargetLogonId=$TargetLogonId$\" maxsearches=10 | iplocation src");
  const auto& sp = body<GenericCmd>(*p, 1);
  EXPECT_EQ(p->commands[1].name, "spath");
  EXPECT_EQ(sp.options.at("path"), "c.d");
  const auto& mp = body<GenericCmd>(*p, 2);
  ASSERT_EQ(mp.subsearches.size(), 1u);
  EXPECT_EQ(mp.options.at("maxsearches"), "10");
  EXPECT_EQ(show(std::get<SearchCmd>(mp.subsearches[0]->commands[0].body).expr.get()),
            "and(kw:`wineventlog_security`, EventCode=4624, TargetLogonId=$TargetLogonId$)");
  EXPECT_EQ(body<GenericCmd>(*p, 3).words, (std::vector<std::string>{"src"}));
}

// ------------------------------------------------------------ errors

TEST(SplErrors, PreciseSpans) {
  struct Case {
    std::string text;
    std::string at;  // the text the error span must start at
  };
  const Case cases[] = {
      {"search x=\"abc", "\"abc"},                 // unterminated string
      {"search x | stats count by a [", "["},      // unclosed subsearch
      {"search x ] y", "]"},                       // stray bracket
      {"search x | | stats count", "|"},           // empty command
      {"search (a=1 b=2", "("},                    // missing ')'
      {"search a= ", "="},                         // missing value
      {"search x | rename a b", "b"},              // missing AS
      {"search x | where a = = 1", "= 1"},         // bad operand
      {"search x | eval a=(1", "("},               // missing ')'
      {"search x | join fieldz", "fieldz"},        // join without subsearch (whole args)
      {"search a OR", "OR"},
  };
  for (const auto& c : cases) {
    auto r = parse_pipeline(c.text);
    ASSERT_TRUE(r.error) << c.text;
    EXPECT_EQ(r.error->span.begin, c.text.find(c.at)) << c.text << " -> " << r.error->message;
    EXPECT_LE(r.error->span.end, c.text.size());
  }
}

TEST(SplErrors, LineCol) {
  std::string t = "a\nbc\nd";
  EXPECT_EQ(line_col(t, 0), (std::pair<uint32_t, uint32_t>{1, 1}));
  EXPECT_EQ(line_col(t, 3), (std::pair<uint32_t, uint32_t>{2, 2}));
  EXPECT_EQ(line_col(t, 5), (std::pair<uint32_t, uint32_t>{3, 1}));
}
