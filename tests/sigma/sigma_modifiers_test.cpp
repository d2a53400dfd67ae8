// Sigma modifiers, values and condition precedence, evaluated with
// match::RowMatcher over hand-made rows. Every expected value comes from the
// Sigma specification (sigma-specification v2: "Modifiers", "Condition",
// "Wildcards/escaping") worked by hand, or from Python where an encoding is
// involved (noted at the test).
#include <gtest/gtest.h>

#include "core/yaml.h"

#include "match/row_matcher.h"
#include "sigma/condition.h"
#include "sigma/detection.h"
#include "sigma/sigma.h"

namespace vigil::sigma {
namespace {

Logsources empty_logsources() {
  auto ls = Logsources::parse("logsources: []\nplaceholders: {admins: [alice, 'bob*']}\n");
  EXPECT_TRUE(ls.ok());
  return std::move(ls.value());
}

struct Lowered {
  ir::Predicate pred;
  std::vector<Problem> errors, unresolved;
};

class SigmaModifiers : public ::testing::Test {
 protected:
  // Lower `key: <yaml value>` with no field mapping.
  Lowered lower(const std::string& key, const std::string& yaml_value) {
    LowerContext cx{atoms, ls, nullptr, {}, {}};
    yaml::Node v = yaml::load(yaml_value);
    Lowered l;
    l.pred = lower_item(key, v, yaml::Mark(), cx);
    l.errors = cx.errors;
    l.unresolved = cx.unresolved;
    return l;
  }
  bool match(const std::string& key, const std::string& yaml_value, const Row& row) {
    Lowered l = lower(key, yaml_value);
    EXPECT_TRUE(l.errors.empty()) << key << ": " << (l.errors.empty() ? "" : l.errors[0].message);
    return match::RowMatcher(l.pred, atoms).matches(row);
  }
  static Row row(std::initializer_list<std::pair<const char*, const char*>> fields) {
    Row r;
    for (auto& [k, v] : fields) r.set(k, Value(v));
    return r;
  }
  ir::AtomTable atoms;
  Logsources ls = empty_logsources();
};

TEST_F(SigmaModifiers, PlainValueIsCaseInsensitiveWholeValueEquality) {
  // Spec: values match the whole field value, case-insensitively.
  EXPECT_TRUE(match("Image", "'C:\\Windows\\System32\\cmd.exe'", row({{"Image", "c:\\windows\\system32\\CMD.EXE"}})));
  EXPECT_FALSE(match("Image", "'cmd.exe'", row({{"Image", "C:\\Windows\\System32\\cmd.exe"}})));
  EXPECT_FALSE(match("Image", "'cmd.exe'", row({{"Other", "cmd.exe"}})));  // absent field never matches
}

TEST_F(SigmaModifiers, WildcardsAndEscapes) {
  // `*` any run, `?` one char; `\*` `\?` `\\` are literals; other backslashes are literal.
  EXPECT_TRUE(match("Image", "'*\\cmd.exe'", row({{"Image", "C:\\x\\cmd.exe"}})));
  // `C:\\*\\?md.exe` in Sigma = `C:\` + any run + `\` + one char + `md.exe`.
  EXPECT_TRUE(match("Image", "'C:\\\\*\\\\?md.exe'", row({{"Image", "C:\\dir\\Xmd.exe"}})));
  EXPECT_FALSE(match("Image", "'C:\\\\*\\\\?md.exe'", row({{"Image", "C:\\dir\\md.exe"}})));
  // Whereas `C:\*` escapes the star: the literal text `C:*`.
  EXPECT_TRUE(match("Image", "'C:\\*x'", row({{"Image", "C:*x"}})));
  EXPECT_FALSE(match("Image", "'C:\\*x'", row({{"Image", "C:\\dir\\x"}})));
  EXPECT_TRUE(match("F", "'a\\*b'", row({{"F", "a*b"}})));
  EXPECT_FALSE(match("F", "'a\\*b'", row({{"F", "axxb"}})));
  EXPECT_TRUE(match("F", "'a\\?b'", row({{"F", "a?b"}})));
  EXPECT_FALSE(match("F", "'a\\?b'", row({{"F", "axb"}})));
  // `\\*`: escaped backslash then a real wildcard.
  EXPECT_TRUE(match("F", "'share\\\\*'", row({{"F", "share\\anything"}})));
  // Trailing single backslash stays literal.
  EXPECT_TRUE(match("F", "'C:\\Windows\\'", row({{"F", "c:\\windows\\"}})));
  // A pattern that is a plain ends-with is lowered to ends_with, not a glob.
  Lowered l = lower("F", "'*\\cmd.exe'");
  ASSERT_EQ(l.pred.op, ir::Predicate::Op::atom);
  EXPECT_EQ(atoms.get(l.pred.atom).kind, ir::AtomKind::ends_with);
  EXPECT_EQ(atoms.get(l.pred.atom).value, "\\cmd.exe");
}

TEST_F(SigmaModifiers, ContainsStartswithEndswith) {
  Row r = row({{"CommandLine", "C:\\Windows\\System32\\WHOAMI.exe /all"}});
  EXPECT_TRUE(match("CommandLine|contains", "'whoami'", r));
  EXPECT_FALSE(match("CommandLine|contains", "'who ami'", r));
  EXPECT_TRUE(match("CommandLine|startswith", "'c:\\windows'", r));
  EXPECT_FALSE(match("CommandLine|startswith", "'whoami'", r));
  EXPECT_TRUE(match("CommandLine|endswith", "'/ALL'", r));
  EXPECT_FALSE(match("CommandLine|endswith", "'whoami'", r));
  // A trailing literal backslash stays literal when contains/startswith add `*` after it.
  EXPECT_TRUE(match("F|contains", "':\\Users\\Public\\'", row({{"F", "C:\\Users\\Public\\x.exe"}})));
  EXPECT_TRUE(match("F|startswith", "'C:\\Temp\\'", row({{"F", "C:\\Temp\\a"}})));
  EXPECT_FALSE(match("F|startswith", "'C:\\Temp\\'", row({{"F", "C:\\Temp*"}})));
  // Wildcards inside a contains value keep working: `*a*b*`.
  EXPECT_TRUE(match("CommandLine|contains", "'System32*/all'", r));
  EXPECT_FALSE(match("CommandLine|contains", "'/all*System32'", r));
}

TEST_F(SigmaModifiers, ListIsOrAndAllModifierIsAnd) {
  Row r = row({{"CommandLine", "net user admin /add"}});
  EXPECT_TRUE(match("CommandLine|contains", "[' /add', ' /delete']", r));
  EXPECT_FALSE(match("CommandLine|contains", "[' /x', ' /y']", r));
  EXPECT_TRUE(match("CommandLine|contains|all", "['net ', ' /add']", r));
  EXPECT_FALSE(match("CommandLine|contains|all", "['net ', ' /delete']", r));
}

TEST_F(SigmaModifiers, NullAndEmptyValues) {
  // null: the field does not exist (an empty value counts as absent, see detection.cpp).
  EXPECT_TRUE(match("User", "null", row({{"Other", "x"}})));
  EXPECT_TRUE(match("User", "null", row({{"User", ""}})));
  EXPECT_FALSE(match("User", "null", row({{"User", "bob"}})));
  // '' matches only an empty value.
  EXPECT_TRUE(match("User", "''", row({{"User", ""}})));
  EXPECT_FALSE(match("User", "''", row({{"User", "bob"}})));
  EXPECT_FALSE(match("User", "''", row({{"Other", "x"}})));
}

TEST_F(SigmaModifiers, RegexIsCaseSensitiveWithIMSFlags) {
  Row r = row({{"F", "C:\\Windows\\x.exe"}});
  EXPECT_TRUE(match("F|re", "'^C:\\\\Windows\\\\.*\\.exe$'", r));
  EXPECT_FALSE(match("F|re", "'^c:\\\\windows'", r));
  EXPECT_TRUE(match("F|re|i", "'^c:\\\\windows'", r));
  Row ml = row({{"F", "foo\nbar"}});
  EXPECT_FALSE(match("F|re", "'^bar'", ml));
  EXPECT_TRUE(match("F|re|m", "'^bar'", ml));
  EXPECT_FALSE(match("F|re", "'foo.bar'", ml));
  EXPECT_TRUE(match("F|re|s", "'foo.bar'", ml));
  // Regexes are not case-folded or escaped; a bad one is a located error.
  Lowered bad = lower("F|re", "'(unclosed'");
  EXPECT_EQ(bad.errors.size(), 1u);
}

TEST_F(SigmaModifiers, Cidr) {
  EXPECT_TRUE(match("DestinationIp|cidr", "'10.0.0.0/8'", row({{"DestinationIp", "10.1.2.3"}})));
  EXPECT_FALSE(match("DestinationIp|cidr", "'10.0.0.0/8'", row({{"DestinationIp", "11.0.0.1"}})));
  EXPECT_TRUE(match("DestinationIp|cidr", "['192.168.0.0/16', '172.16.0.0/12']", row({{"DestinationIp", "172.31.255.1"}})));
  EXPECT_TRUE(match("DestinationIp|cidr", "'fe80::/10'", row({{"DestinationIp", "fe80::1"}})));
  EXPECT_FALSE(match("DestinationIp|cidr", "'fe80::/10'", row({{"DestinationIp", "2001:db8::1"}})));
}

TEST_F(SigmaModifiers, Base64AndBase64Offset) {
  // python3: base64.b64encode(b"http://") == b"aHR0cDovLw=="
  EXPECT_EQ(base64_encode("http://"), "aHR0cDovLw==");
  EXPECT_TRUE(match("F|base64", "'http://'", row({{"F", "aHR0cDovLw=="}})));
  EXPECT_TRUE(match("F|base64|contains", "'http://'", row({{"F", "x aHR0cDovLw== y"}})));
  // The specification's own base64offset example for '/bin/bash'.
  EXPECT_EQ(base64_offsets("/bin/bash"), (std::vector<std::string>{"L2Jpbi9iYXNo", "9iaW4vYmFza", "vYmluL2Jhc2"}));
  // python3: base64 of b"echo /bin/bash here" with prefixes "", "x", "xy" (one offset each).
  EXPECT_TRUE(match("F|base64offset|contains", "'/bin/bash'", row({{"F", "ZWNobyAvYmluL2Jhc2ggaGVyZQ=="}})));
  EXPECT_TRUE(match("F|base64offset|contains", "'/bin/bash'", row({{"F", "eGVjaG8gL2Jpbi9iYXNoIGhlcmU="}})));
  EXPECT_TRUE(match("F|base64offset|contains", "'/bin/bash'", row({{"F", "eHllY2hvIC9iaW4vYmFzaCBoZXJl"}})));
  EXPECT_FALSE(match("F|base64offset|contains", "'/bin/bash'", row({{"F", "L2Jpbi9zaA=="}})));
}

TEST_F(SigmaModifiers, Utf16AndWide) {
  // python3: base64.b64encode("ping".encode("utf-16le")) == b"cABpAG4AZwA="
  EXPECT_TRUE(match("F|wide|base64", "'ping'", row({{"F", "cABpAG4AZwA="}})));
  EXPECT_TRUE(match("F|utf16le|base64", "'ping'", row({{"F", "cABpAG4AZwA="}})));
  // python3: base64.b64encode("ping".encode("utf-16-be")) == b"AHAAaQBuAGc="
  EXPECT_TRUE(match("F|utf16be|base64", "'ping'", row({{"F", "AHAAaQBuAGc="}})));
  // python3: base64.b64encode(b"\xff\xfe" + "ping".encode("utf-16le")) == b"//5wAGkAbgBnAA=="
  EXPECT_TRUE(match("F|utf16|base64", "'ping'", row({{"F", "//5wAGkAbgBnAA=="}})));
  // python3 (pySigma base64offset of utf-16le "ping"): cABpAG4AZw, AAaQBuAGcA, wAGkAbgBnA
  EXPECT_TRUE(match("F|wide|base64offset|contains", "'ping'", row({{"F", "xxAAaQBuAGcAyy"}})));
  EXPECT_FALSE(match("F|wide|base64offset|contains", "'pong'", row({{"F", "xxAAaQBuAGcAyy"}})));
}

TEST_F(SigmaModifiers, Windash) {
  // Every word-initial `-` or `/` takes each of - / – — ― (pySigma: \B[-/]\b).
  auto v = windash_variants(" -exec ");
  EXPECT_EQ(v, (std::vector<std::string>{" -exec ", " /exec ", " \xE2\x80\x93" "exec ", " \xE2\x80\x94" "exec ",
                                         " \xE2\x80\x95" "exec "}));
  EXPECT_EQ(windash_variants("a-b").size(), 1u);  // not word-initial
  EXPECT_EQ(windash_variants("-a -b").size(), 25u);
  EXPECT_TRUE(match("CommandLine|windash|contains", "' -exec '", row({{"CommandLine", "tool /exec x"}})));
  EXPECT_TRUE(match("CommandLine|windash|contains", "' -exec '", row({{"CommandLine", "tool \xE2\x80\x93" "exec x"}})));
  EXPECT_FALSE(match("CommandLine|windash|contains", "' -exec '", row({{"CommandLine", "tool exec x"}})));
}

TEST_F(SigmaModifiers, Exists) {
  EXPECT_TRUE(match("F|exists", "true", row({{"F", ""}})));
  EXPECT_FALSE(match("F|exists", "true", row({{"G", "x"}})));
  EXPECT_TRUE(match("F|exists", "false", row({{"G", "x"}})));
  EXPECT_FALSE(match("F|exists", "false", row({{"F", "x"}})));
}

TEST_F(SigmaModifiers, Cased) {
  EXPECT_TRUE(match("F|cased", "'Foo'", row({{"F", "Foo"}})));
  EXPECT_FALSE(match("F|cased", "'Foo'", row({{"F", "foo"}})));
  EXPECT_TRUE(match("F|contains|cased", "'Bar'", row({{"F", "xBarx"}})));
  EXPECT_FALSE(match("F|contains|cased", "'Bar'", row({{"F", "xbarx"}})));
}

TEST_F(SigmaModifiers, NumericComparisons) {
  Row r = row({{"Count", "10"}});
  EXPECT_TRUE(match("Count|gt", "9", r));
  EXPECT_FALSE(match("Count|gt", "10", r));
  EXPECT_TRUE(match("Count|gte", "10", r));
  EXPECT_TRUE(match("Count|lt", "11", r));
  EXPECT_FALSE(match("Count|lt", "10", r));
  EXPECT_TRUE(match("Count|lte", "10", r));
  EXPECT_FALSE(match("Count|gt", "5", row({{"Count", "abc"}})));
  EXPECT_EQ(lower("Count|gt", "'abc'").errors.size(), 1u);  // not a number: located error
}

TEST_F(SigmaModifiers, Fieldref) {
  EXPECT_TRUE(match("TargetFilename|fieldref", "Image", row({{"TargetFilename", "C:\\a.exe"}, {"Image", "C:\\a.exe"}})));
  EXPECT_FALSE(match("TargetFilename|fieldref", "Image", row({{"TargetFilename", "C:\\a.exe"}, {"Image", "C:\\b.exe"}})));
  EXPECT_FALSE(match("TargetFilename|fieldref", "Image", row({{"TargetFilename", "C:\\a.exe"}})));
  // With the string modifiers: the other field's value as a substring, prefix or suffix,
  // case-insensitively unless `cased`.
  Row r = row({{"CommandLine", "C:\\Tools\\A.EXE -x"}, {"Image", "c:\\tools\\a.exe"}, {"Arg", "-X"}});
  EXPECT_TRUE(lower("CommandLine|fieldref|contains", "Image").errors.empty());
  EXPECT_TRUE(match("CommandLine|fieldref|contains", "Image", r));
  EXPECT_TRUE(match("CommandLine|contains|fieldref", "Arg", r));
  EXPECT_TRUE(match("CommandLine|fieldref|startswith", "Image", r));
  EXPECT_FALSE(match("CommandLine|fieldref|endswith", "Image", r));
  EXPECT_TRUE(match("CommandLine|fieldref|endswith", "Arg", r));
  EXPECT_FALSE(match("CommandLine|fieldref|contains|cased", "Image", r));
  EXPECT_FALSE(match("CommandLine|fieldref|contains", "Missing", r));
}

TEST_F(SigmaModifiers, ExpandPlaceholders) {
  // Configured placeholder: each value is an alternative (values are literals, `*` escaped).
  EXPECT_TRUE(match("User|expand", "'%admins%'", row({{"User", "ALICE"}})));
  EXPECT_TRUE(match("User|expand", "'%admins%'", row({{"User", "bob*"}})));
  EXPECT_FALSE(match("User|expand", "'%admins%'", row({{"User", "bobby"}})));
  // Unconfigured: compiled, but reported as unresolved with a clear message.
  Lowered l = lower("User|expand", "'%nobody%'");
  EXPECT_TRUE(l.errors.empty());
  ASSERT_EQ(l.unresolved.size(), 1u);
  EXPECT_NE(l.unresolved[0].message.find("%nobody%"), std::string::npos);
}

TEST_F(SigmaModifiers, UnknownAndConflictingModifiersAreErrors) {
  EXPECT_EQ(lower("F|containz", "'x'").errors.size(), 1u);
  EXPECT_EQ(lower("F|contains|startswith", "'x'").errors.size(), 1u);
  EXPECT_EQ(lower("F|i", "'x'").errors.size(), 1u);  // regex flag without re
  EXPECT_EQ(lower("F", "{a: b}").errors.size(), 1u);   // a map is not a value
}

TEST_F(SigmaModifiers, KeywordSearches) {
  LowerContext cx{atoms, ls, nullptr, {}, {}};
  ir::Predicate p = lower_search(yaml::load("['mimikatz', 'sekurlsa']"), cx);
  match::RowMatcher m(p, atoms);
  EXPECT_TRUE(m.matches(row({{"CommandLine", "run SEKURLSA::logonpasswords"}})));
  EXPECT_FALSE(m.matches(row({{"CommandLine", "notepad"}})));
}

TEST_F(SigmaModifiers, SearchMapIsAndListOfMapsIsOr) {
  LowerContext cx{atoms, ls, nullptr, {}, {}};
  ir::Predicate and_map = lower_search(yaml::load("{A: '1', B: '2'}"), cx);
  ir::Predicate or_list = lower_search(yaml::load("[{A: '1'}, {B: '2'}]"), cx);
  ASSERT_TRUE(cx.errors.empty());
  Row only_a = row({{"A", "1"}, {"B", "x"}});
  Row both = row({{"A", "1"}, {"B", "2"}});
  EXPECT_FALSE(match::RowMatcher(and_map, atoms).matches(only_a));
  EXPECT_TRUE(match::RowMatcher(and_map, atoms).matches(both));
  EXPECT_TRUE(match::RowMatcher(or_list, atoms).matches(only_a));
}

// ---- condition

class SigmaConditions : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* n : {"a", "b", "c", "sel_1", "sel_2", "filter", "_hidden"})
      searches[n] = ir::Predicate::make_atom(atoms.intern(ir::Atom{field_id(n), ir::AtomKind::eq, "1", false}));
  }
  // Truth of `cond` when the named identifiers are true and all others false.
  bool eval(const std::string& cond, std::initializer_list<const char*> true_ids) {
    ConditionResult r = parse_condition(cond, searches);
    EXPECT_FALSE(r.error) << cond << ": " << (r.error ? r.error->message : "");
    Row row;
    for (auto* id : true_ids) row.set(id, Value("1"));
    return match::RowMatcher(r.predicate, atoms).matches(row);
  }
  std::optional<ConditionError> error(const std::string& cond) { return parse_condition(cond, searches).error; }
  ir::AtomTable atoms;
  std::map<std::string, ir::Predicate> searches;
};

TEST_F(SigmaConditions, AndBindsTighterThanOr) {
  // a or b and c == a or (b and c)
  EXPECT_TRUE(eval("a or b and c", {"a"}));
  EXPECT_FALSE(eval("a or b and c", {"b"}));
  EXPECT_TRUE(eval("a or b and c", {"b", "c"}));
  // (a or b) and c
  EXPECT_FALSE(eval("(a or b) and c", {"a"}));
  EXPECT_TRUE(eval("(a or b) and c", {"a", "c"}));
}

TEST_F(SigmaConditions, NotBindsTighterThanAnd) {
  // not a and b == (not a) and b
  EXPECT_TRUE(eval("not a and b", {"b"}));
  EXPECT_FALSE(eval("not a and b", {"a", "b"}));
  EXPECT_FALSE(eval("not a and b", {}));
  // not (a and b)
  EXPECT_TRUE(eval("not (a and b)", {"a"}));
  EXPECT_TRUE(eval("not not a", {"a"}));
  EXPECT_TRUE(eval("a and not b or c", {"c"}));  // (a and not b) or c
}

TEST_F(SigmaConditions, Quantifiers) {
  EXPECT_TRUE(eval("1 of sel_*", {"sel_2"}));
  EXPECT_FALSE(eval("1 of sel_*", {"a"}));
  EXPECT_FALSE(eval("all of sel_*", {"sel_1"}));
  EXPECT_TRUE(eval("all of sel_*", {"sel_1", "sel_2"}));
  // `x of` binds tighter than not: not 1 of sel_* == not (sel_1 or sel_2)
  EXPECT_TRUE(eval("a and not 1 of sel_*", {"a"}));
  EXPECT_FALSE(eval("a and not 1 of sel_*", {"a", "sel_1"}));
  // them: every identifier except those starting with `_`
  EXPECT_TRUE(eval("1 of them", {"filter"}));
  EXPECT_FALSE(eval("1 of them", {"_hidden"}));
  EXPECT_TRUE(eval("all of them", {"a", "b", "c", "sel_1", "sel_2", "filter"}));
  // N of: at least N
  EXPECT_FALSE(eval("2 of sel_* ", {"sel_1"}));
  EXPECT_TRUE(eval("2 of them", {"a", "c"}));
  EXPECT_TRUE(eval("ALL OF sel_* AND NOT filter", {"sel_1", "sel_2"}));  // keywords are case-insensitive
}

TEST_F(SigmaConditions, ErrorsAreLocated) {
  auto e = error("a and nope");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->offset, 6u);
  EXPECT_TRUE(error("(a or b"));
  EXPECT_TRUE(error("a or"));
  EXPECT_TRUE(error("a b"));
  EXPECT_TRUE(error("1 of zzz*"));
  EXPECT_TRUE(error(""));
  EXPECT_TRUE(error("a | count() > 5"));
  std::string deep(200, '(');
  EXPECT_TRUE(error(deep + "a" + std::string(200, ')')));  // depth-limited, no stack exhaustion
}

}  // namespace
}  // namespace vigil::sigma
