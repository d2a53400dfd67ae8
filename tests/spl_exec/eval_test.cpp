// eval/where expression semantics and the eval function library.
// Expected values follow Splunk's "Evaluation functions" reference and docs/spl.md §3, §5;
// each case names the rule it checks. Epoch constants were computed with python3
// (calendar.timegm / datetime.utcfromtimestamp), independently of vigil's time code.
#include "spl_exec/helpers.h"

using namespace vigil;
using namespace vigil::spl;
using namespace vigil::spl::testing;

namespace {

TEST(EvalOperators, ArithmeticIsDoubleAndPlusConcatenatesStrings) {
  // spl.md §5: eval numbers are doubles; `+` concatenates when a side is a non-numeric string.
  EXPECT_EQ(eval_text("7 / 2"), "3.5");
  EXPECT_EQ(eval_text("1 + 2 * 3"), "7");
  EXPECT_EQ(eval_text("10 % 4"), "2");
  EXPECT_EQ(eval_text("\"a\" + \"b\""), "ab");
  EXPECT_EQ(eval_text("\"a\" + 1"), "a1");
  EXPECT_EQ(eval_text("x + 1", row({{"x", "41"}})), "42");  // event strings that look numeric are numbers
  EXPECT_EQ(eval_text("\"a\" . 1 . \"b\""), "a1b");        // `.` always concatenates
  EXPECT_EQ(eval_text("1 / 0"), "<null>");                   // division by zero: null, not a crash
  EXPECT_EQ(eval_text("-x", row({{"x", "3"}})), "-3");
}

TEST(EvalOperators, NullPropagates) {
  // Arithmetic/concatenation with a missing field gives null (Splunk: use coalesce()).
  EXPECT_EQ(eval_text("missing + 1"), "<null>");
  EXPECT_EQ(eval_text("\"a\" . missing"), "<null>");
  EXPECT_EQ(eval_text("lower(missing)"), "<null>");
  EXPECT_EQ(eval_text("isnull(missing)"), "true");
  EXPECT_EQ(eval_text("isnotnull(missing)"), "false");
  EXPECT_EQ(eval_text("coalesce(missing, other, \"fallback\")", row({{"other", "o"}})), "o");
  EXPECT_EQ(eval_text("coalesce(missing, null())"), "<null>");
}

TEST(EvalOperators, ComparisonsAreCaseSensitiveAndNumericWhenBothNumeric) {
  // "where" reference: case-sensitive string comparison; numeric when both sides are numbers.
  Row r = row({{"a", "Cmd.exe"}, {"n", "10"}, {"m", "9"}, {"h", "0x10"}});
  EXPECT_EQ(eval_text("a == \"cmd.exe\"", r), "false");
  EXPECT_EQ(eval_text("a = \"Cmd.exe\"", r), "true");
  EXPECT_EQ(eval_text("n > m", r), "true");        // 10 > 9 numerically ("10" < "9" as text)
  EXPECT_EQ(eval_text("n > \"9\"", r), "true");
  EXPECT_EQ(eval_text("h > 9", r), "false");       // hex stays text: "0x10" < "9" bytewise
  EXPECT_EQ(eval_text("missing != \"x\"", r), "false");  // comparisons with null are false
  EXPECT_EQ(eval_text("NOT missing = \"x\"", r), "true");
  EXPECT_EQ(eval_text("a != n", r), "true");       // two fields
}

TEST(EvalOperators, MultivalueComparesAnyValue) {
  Row r;
  r.set("mv", Value::multi({"a", "b", "c"}));
  EXPECT_EQ(eval_text("mv = \"b\"", r), "true");
  EXPECT_EQ(eval_text("mv = \"z\"", r), "false");
  EXPECT_EQ(eval_text("mv IN (\"z\", \"c\")", r), "true");
}

TEST(EvalOperators, BooleanLogic) {
  Row r = row({{"a", "1"}, {"b", "2"}});
  EXPECT_EQ(eval_text("a=1 AND b=2", r), "true");
  EXPECT_EQ(eval_text("a=2 OR b=2", r), "true");
  EXPECT_EQ(eval_text("a=1 XOR b=2", r), "false");
  EXPECT_EQ(eval_text("NOT (a=1)", r), "false");
  EXPECT_EQ(eval_text("a IN (3, 1)", r), "true");
  EXPECT_EQ(eval_text("in(a, \"3\", \"1\")", r), "true");
}

TEST(EvalFunctions, LikeUsesSqlWildcardsCaseSensitively) {
  // like(): `%` any run, `_` one char (Splunk "Comparison and Conditional functions");
  // vigil's documented choice: case-sensitive, backslash literal (Windows paths).
  Row r = row({{"p", "C:\\Windows\\System32\\cmd.exe"}});
  EXPECT_EQ(eval_text("like(p, \"%\\\\System32\\\\%\")", r), "true");
  EXPECT_EQ(eval_text("like(p, \"%\\\\system32\\\\%\")", r), "false");
  EXPECT_EQ(eval_text("like(\"abc\", \"a_c\")", r), "true");
  EXPECT_EQ(eval_text("like(\"abbc\", \"a_c\")", r), "false");
  EXPECT_EQ(eval_text("like(\"abc\", \"%\")", r), "true");
  EXPECT_EQ(eval_text("p LIKE \"C:%.exe\"", r), "true");
  EXPECT_EQ(eval_text("like(missing, \"%\")", r), "false");
}

TEST(EvalFunctions, MatchIsUnanchoredPcre) {
  // match(): TRUE if the regex matches any substring (Quick Reference).
  Row r = row({{"c", "powershell -EncodedCommand ZQB"}});
  EXPECT_EQ(eval_text("match(c, \"-enc\")", r), "false");  // case-sensitive without (?i)
  EXPECT_EQ(eval_text("match(c, \"(?i)-enc\")", r), "true");
  EXPECT_EQ(eval_text("match(c, \"^power\")", r), "true");
  EXPECT_EQ(eval_text("match(c, \"ZQB$\")", r), "true");
  EXPECT_EQ(eval_text("match(c, \"(unclosed\")", r), "false");  // bad regex: false, no throw
}

TEST(EvalFunctions, MatchLikeLowerGiveTheSameAnswersForEveryKindOfArgument) {
  // match(), like() and lower() read a field's value where it is and a quoted pattern as written;
  // any other argument is evaluated first. Each kind of argument, with its answer by the functions'
  // meaning: a pattern from a field or a call, a number's text, each value of a multivalue, a null.
  Row r = row({{"c", "PowerShell -EncodedCommand ZQB"}, {"p", "(?i)encoded"}, {"n", "42"}});
  r.set("mv", Value::multi({"Alpha", "beta"}));
  EXPECT_EQ(eval_text("match(c, p)", r), "true");
  EXPECT_EQ(eval_text("match(c, lower(\"ZQB\"))", r), "false");  // "zqb": case-sensitive
  EXPECT_EQ(eval_text("match(lower(c), lower(\"ZQB\"))", r), "true");
  EXPECT_EQ(eval_text("match(n + 1, \"^43$\")", r), "true");  // the number 43, as its text
  EXPECT_EQ(eval_text("match(mv, \"^b\")", r), "true");       // any value
  EXPECT_EQ(eval_text("match(mv, \"^B\")", r), "false");
  EXPECT_EQ(eval_text("like(mv, \"Al%\")", r), "true");
  EXPECT_EQ(eval_text("like(n * 2, \"8_\")", r), "true");    // 84
  EXPECT_EQ(eval_text("lower(mv)", r), "[alpha|beta]");
  EXPECT_EQ(eval_text("lower(c)", r), "powershell -encodedcommand zqb");
  EXPECT_EQ(eval_text("lower(n * 2)", r), "84");
  EXPECT_EQ(eval_text("match(missing, \".*\")", r), "false");
  EXPECT_EQ(eval_text("match(c, missing)", r), "false");
}

TEST(EvalFunctions, IfCaseTrueNull) {
  Row r = row({{"n", "5"}});
  EXPECT_EQ(eval_text("if(n > 3, \"big\", \"small\")", r), "big");
  EXPECT_EQ(eval_text("case(n=1, \"one\", n=5, \"five\", true(), \"other\")", r), "five");
  EXPECT_EQ(eval_text("case(n=1, \"one\", true(), \"other\")", r), "other");
  EXPECT_EQ(eval_text("case(n=1, \"one\")", r), "<null>");  // no branch: null
  EXPECT_EQ(eval_text("null()"), "<null>");
  EXPECT_EQ(eval_text("if(false(), 1, 2)"), "2");
}

TEST(EvalFunctions, TextFunctions) {
  EXPECT_EQ(eval_text("lower(\"AbC\")"), "abc");
  EXPECT_EQ(eval_text("upper(\"AbC\")"), "ABC");
  EXPECT_EQ(eval_text("len(\"héllo\")"), "5");  // characters, not bytes
  // substr: 1-based; negative start counts from the end (eval reference).
  EXPECT_EQ(eval_text("substr(\"splunk\", 1, 3)"), "spl");
  EXPECT_EQ(eval_text("substr(\"splunk\", -3)"), "unk");
  EXPECT_EQ(eval_text("substr(\"splunk\", 3)"), "lunk");
  EXPECT_EQ(eval_text("trim(\"  x y  \")"), "x y");
  EXPECT_EQ(eval_text("ltrim(\"zzxzz\", \"z\")"), "xzz");
  EXPECT_EQ(eval_text("rtrim(\"zzxzz\", \"z\")"), "zzx");
  // replace(): PCRE with \1 back-references.
  EXPECT_EQ(eval_text("replace(\"2024-01-02\", \"(\\d+)-(\\d+)-(\\d+)\", \"\\3/\\2/\\1\")"), "02/01/2024");
  EXPECT_EQ(eval_text("replace(\"aaa\", \"a\", \"b\")"), "bbb");
  EXPECT_EQ(eval_text("urldecode(\"http%3A%2F%2Fx.com%2Fa+b\")"), "http://x.com/a b");
  EXPECT_EQ(eval_text("tostring(255, \"hex\")"), "0xFF");
  EXPECT_EQ(eval_text("tostring(1234567.891, \"commas\")"), "1,234,567.89");
  EXPECT_EQ(eval_text("tostring(3725, \"duration\")"), "01:02:05");
  EXPECT_EQ(eval_text("tonumber(\"0A4\", 16)"), "164");
  EXPECT_EQ(eval_text("tonumber(\"abc\")"), "<null>");
  EXPECT_EQ(eval_text("tonumber(\"12.5\")"), "12.5");
  EXPECT_EQ(eval_text("printf(\"%s-%04d-%.2f\", \"a\", 7, 3.14159)"), "a-0007-3.14");
}

TEST(EvalFunctions, MathFunctions) {
  EXPECT_EQ(eval_text("round(2.5)"), "3");       // half away from zero
  EXPECT_EQ(eval_text("round(-2.5)"), "-3");
  EXPECT_EQ(eval_text("round(3.14159, 2)"), "3.14");
  EXPECT_EQ(eval_text("floor(1.9)"), "1");
  EXPECT_EQ(eval_text("ceil(1.1)"), "2");
  EXPECT_EQ(eval_text("abs(-4)"), "4");
  EXPECT_EQ(eval_text("pow(2, 10)"), "1024");
  EXPECT_EQ(eval_text("sqrt(9)"), "3");
  EXPECT_EQ(eval_text("sqrt(-1)"), "<null>");
  // min/max: strings are greater than numbers; numbers compare numerically (spl.md §5).
  EXPECT_EQ(eval_text("max(3, \"10\", 2)"), "10");
  EXPECT_EQ(eval_text("max(3, \"abc\", 2)"), "abc");
  EXPECT_EQ(eval_text("min(3, \"abc\", 2)"), "2");
  EXPECT_EQ(eval_text("min(\"b\", \"a\")"), "a");
}

TEST(EvalFunctions, MultivalueFunctions) {
  Row r;
  r.set("mv", Value::multi({"a", "b", "c", "b"}));
  EXPECT_EQ(eval_text("mvcount(mv)", r), "4");
  EXPECT_EQ(eval_text("mvcount(missing)", r), "<null>");
  EXPECT_EQ(eval_text("mvindex(mv, 0)", r), "a");
  EXPECT_EQ(eval_text("mvindex(mv, -1)", r), "b");     // negative: from the end
  EXPECT_EQ(eval_text("mvindex(mv, 1, 2)", r), "[b|c]");  // end inclusive
  EXPECT_EQ(eval_text("mvindex(mv, 9)", r), "<null>");
  EXPECT_EQ(eval_text("mvjoin(mv, \";\")", r), "a;b;c;b");
  EXPECT_EQ(eval_text("mvdedup(mv)", r), "[a|b|c]");
  EXPECT_EQ(eval_text("mvappend(\"x\", mv, missing, \"y\")", r), "[x|a|b|c|b|y]");  // nulls skipped
  EXPECT_EQ(eval_text("mvfind(mv, \"^c\")", r), "2");
  EXPECT_EQ(eval_text("mvfind(mv, \"z\")", r), "<null>");
  EXPECT_EQ(eval_text("mvfilter(mv != \"b\")", r), "[a|c]");  // the expression sees each value
  EXPECT_EQ(eval_text("mvfilter(match(mv, \"^[ab]$\"))", r), "[a|b|b]");
  EXPECT_EQ(eval_text("mvmap(mv, upper(mv))", r), "[A|B|C|B]");
  EXPECT_EQ(eval_text("mvzip(mvindex(mv,0,1), mvindex(mv,2,3), \"=\")", r), "[a=c|b=b]");
  EXPECT_EQ(eval_text("split(\"a,b,,c\", \",\")"), "[a|b||c]");
  EXPECT_EQ(eval_text("mvcount(split(\"abc\", \"\"))"), "3");
  EXPECT_EQ(eval_text("mvsort(split(\"c,a,b\", \",\"))"), "[a|b|c]");
}

TEST(EvalFunctions, TimeFunctions) {
  // now() is the run's ExecContext::now (1700000000 = 2023-11-14T22:13:20Z, a Tuesday).
  EXPECT_EQ(eval_text("now()"), "1700000000");
  EXPECT_EQ(eval_text("relative_time(now(), \"-7d@d\")"), "1699315200");   // 2023-11-07T00:00:00Z
  EXPECT_EQ(eval_text("relative_time(now(), \"@w0\")"), "1699747200");     // Sunday 2023-11-12
  EXPECT_EQ(eval_text("relative_time(now(), \"-1mon@mon\")"), "1696118400");  // 2023-10-01
  EXPECT_EQ(eval_text("relative_time(now(), \"@h\")"), "1699999200");      // 22:00:00
  EXPECT_EQ(eval_text("relative_time(now(), \"bogus\")"), "<null>");
  EXPECT_EQ(eval_text("strftime(1700000000, \"%Y-%m-%dT%H:%M:%S\")"), "2023-11-14T22:13:20");
  EXPECT_EQ(eval_text("strptime(\"2024-01-02 03:04:05\", \"%Y-%m-%d %H:%M:%S\")"), "1704164645");
  EXPECT_EQ(eval_text("strptime(\"nope\", \"%Y\")"), "<null>");
}

TEST(EvalFunctions, Cidrmatch) {
  EXPECT_EQ(eval_text("cidrmatch(\"10.0.0.0/8\", \"10.1.2.3\")"), "true");
  EXPECT_EQ(eval_text("cidrmatch(\"10.0.0.0/8\", \"11.1.2.3\")"), "false");
  EXPECT_EQ(eval_text("cidrmatch(\"10.0.0.0/8\", \"not-an-ip\")"), "false");
}

TEST(EvalValidation, UnknownFunctionsAndArityAreBuildErrors) {
  auto e = parse_expression("nosuchfn(1)");
  ASSERT_TRUE(e.expr);
  EXPECT_NE(validate_expression(*e.expr), "");
  auto f = parse_expression("if(1, 2)");
  ASSERT_TRUE(f.expr);
  EXPECT_NE(validate_expression(*f.expr), "");
  auto g = parse_expression("if(a=1, mvcount(b), 0)");
  ASSERT_TRUE(g.expr);
  EXPECT_EQ(validate_expression(*g.expr), "");
}

TEST(EvalHelpers, SpansAndLike) {
  EXPECT_EQ(parse_span_seconds("1h").value_or(-1), 3600);
  EXPECT_EQ(parse_span_seconds("5m").value_or(-1), 300);
  EXPECT_EQ(parse_span_seconds("1d").value_or(-1), 86400);
  EXPECT_EQ(parse_span_seconds("30s").value_or(-1), 30);
  EXPECT_FALSE(parse_span_seconds("1mon").has_value());  // months are not a fixed length
  EXPECT_FALSE(parse_span_seconds("").has_value());
  EXPECT_TRUE(like_match("", "%"));
  EXPECT_FALSE(like_match("", "_"));
}

}  // namespace
