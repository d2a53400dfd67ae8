// Lowering tests: expected atoms are spelled out from the Splunk semantics in
// ../shared/docs/spl.md §5 (wildcards, != vs NOT, case rules, IN) and the
// lowering table in src/spl/lower.h.
#include <gtest/gtest.h>

#include "core/intern.h"
#include "ir/atom_table.h"
#include "spl/lower.h"
#include "spl/parser.h"

using namespace vigil;
using namespace vigil::spl;
using ir::AtomKind;

namespace {

struct Lowered {
  ir::AtomTable atoms;
  ir::Predicate pred;
  std::vector<std::string> warnings;
  std::string str() const { return pred.to_string(atoms); }
  std::vector<ir::Atom> list() const {
    std::vector<ir::AtomId> ids;
    pred.collect_atoms(ids);
    std::vector<ir::Atom> out;
    for (auto id : ids) out.push_back(atoms.get(id));
    return out;
  }
};

std::unique_ptr<Lowered> lower(std::string_view search) {
  auto l = std::make_unique<Lowered>();
  auto r = parse_pipeline(search);
  EXPECT_FALSE(r.error) << search;
  if (r.error) return l;
  const auto& s = std::get<SearchCmd>(r.pipeline->commands[0].body);
  l->pred = s.expr ? lower_search(*s.expr, l->atoms, &l->warnings) : ir::Predicate::always_true();
  return l;
}

ir::Atom one(std::string_view search) {
  auto l = lower(search);
  auto v = l->list();
  EXPECT_EQ(v.size(), 1u) << search << " -> " << l->str();
  return v.empty() ? ir::Atom{} : v[0];
}

std::string fname(const ir::Atom& a) { return std::string(field_names().name(a.field)); }

}  // namespace

TEST(SplLower, WildcardShapes) {
  auto a = one("process_name=cmd.exe");
  EXPECT_EQ(a.kind, AtomKind::eq);
  EXPECT_EQ(a.value, "cmd.exe");
  EXPECT_FALSE(a.case_sensitive);  // search is case-insensitive
  EXPECT_EQ(fname(a), "process_name");

  a = one(R"(Processes.process="*\\AppData\\*")");
  EXPECT_EQ(a.kind, AtomKind::contains);
  EXPECT_EQ(a.value, R"(\AppData\)");
  EXPECT_EQ(fname(a), "Processes.process");  // field kept exactly as written

  a = one(R"(p="C:\\Windows*")");
  EXPECT_EQ(a.kind, AtomKind::starts_with);
  EXPECT_EQ(a.value, R"(C:\Windows)");

  a = one(R"(p="*\\cmd.exe")");
  EXPECT_EQ(a.kind, AtomKind::ends_with);
  EXPECT_EQ(a.value, R"(\cmd.exe)");

  a = one("p=**x**");  // runs of stars collapse
  EXPECT_EQ(a.kind, AtomKind::contains);
  EXPECT_EQ(a.value, "x");

  a = one("p=a*b");
  EXPECT_EQ(a.kind, AtomKind::wildcard);
  EXPECT_EQ(a.value, "a*b");

  // SPL has no `?` wildcard and a backslash cannot escape `*`: in the ir glob syntax the
  // `?` and the backslash before `*` are escaped so they stay literal.
  a = one(R"(p="*\\x?\\*.exe")");
  EXPECT_EQ(a.kind, AtomKind::wildcard);
  EXPECT_EQ(a.value, R"(*\x\?\\*.exe)");

  a = one("p=*");
  EXPECT_EQ(a.kind, AtomKind::exists);
}

TEST(SplLower, NotEqualVersusNot) {
  // f!=v only matches events that have f (spl.md §5).
  EXPECT_EQ(lower("f!=v")->str(), "f exists AND NOT f = v");
  EXPECT_EQ(lower("NOT f=v")->str(), "NOT f = v");
  EXPECT_EQ(lower("f!=\"*x*\"")->str(), "f exists AND NOT f contains x");
}

TEST(SplLower, BooleanStructureAndIn) {
  EXPECT_EQ(lower("sourcetype=A OR source=B EventCode=1")->str(), "(sourcetype = A OR source = B) AND EventCode = 1");
  EXPECT_EQ(lower("x IN (a, \"*b\")")->str(), "x = a OR x ends_with b");
  EXPECT_EQ(lower("NOT x IN (a, b) y=1")->str(), "NOT (x = a OR x = b) AND y = 1");
}

TEST(SplLower, NumbersKeywordsCase) {
  auto a = one("count>5");
  EXPECT_EQ(a.kind, AtomKind::gt);
  EXPECT_EQ(a.value, "5");
  EXPECT_EQ(one("n<=2").kind, AtomKind::le);

  a = one("*powershell*");
  EXPECT_EQ(a.kind, AtomKind::keyword);
  EXPECT_EQ(a.value, "powershell");
  EXPECT_EQ(a.field, kNoSymbol);

  a = one("CASE(original_file_name=CertUtil.exe)");
  EXPECT_TRUE(a.case_sensitive);
  EXPECT_EQ(a.value, "CertUtil.exe");

  EXPECT_EQ(lower("search *")->str(), "true");
}

TEST(SplLower, CaseInsensitiveAtomsIntern) {
  // `Cmd.Exe` and `cmd.exe` are one atom when case-insensitive (ir Atom::key()).
  auto l = lower("original_file_name=Cmd.Exe OR original_file_name=cmd.exe");
  EXPECT_EQ(l->atoms.size(), 1u);
}

namespace {

std::string where(std::string_view expr, bool expect_complete = true) {
  auto r = parse_expression(expr);
  EXPECT_FALSE(r.error) << expr;
  if (r.error) return "<error>";
  ir::AtomTable atoms;
  bool complete = false;
  auto p = lower_where(*r.expr, atoms, complete);
  EXPECT_EQ(complete, expect_complete) << expr;
  std::vector<ir::AtomId> ids;
  p.collect_atoms(ids);
  for (auto id : ids)
    if (atoms.get(id).kind != AtomKind::exists && atoms.get(id).kind != AtomKind::lt &&
        atoms.get(id).kind != AtomKind::le && atoms.get(id).kind != AtomKind::gt &&
        atoms.get(id).kind != AtomKind::ge && atoms.get(id).kind != AtomKind::cidr) {
      EXPECT_TRUE(atoms.get(id).case_sensitive) << expr;  // where is case-sensitive
    }
  return p.to_string(atoms);
}

}  // namespace

TEST(SplLowerWhere, SimpleSubset) {
  EXPECT_EQ(where("user=\"admin\""), "user = admin");
  EXPECT_EQ(where("\"admin\"==user"), "user = admin");
  EXPECT_EQ(where("user!=\"admin\""), "user exists AND NOT user = admin");
  EXPECT_EQ(where("count > 5 AND x < 2"), "count > 5 AND x < 2");
  EXPECT_EQ(where("5 < count"), "count > 5");
  EXPECT_EQ(where("n = 3"), "n >= 3 AND n <= 3");
  EXPECT_EQ(where("src_user=user"), "src_user field_eq user");
  EXPECT_EQ(where("SChannelName!=src"), "SChannelName exists AND src exists AND NOT SChannelName field_eq src");
  EXPECT_EQ(where("isnotnull(a) OR isnull(b)"), "a exists OR NOT b exists");
  EXPECT_EQ(where("x IN (\"a\", \"b\")"), "x = a OR x = b");
  EXPECT_EQ(where("NOT in(x, \"a\")"), "NOT x = a");
  EXPECT_EQ(where("match(process, \"(?i)mimikatz\")"), "process regex (?i)mimikatz");
  EXPECT_EQ(where("cidrmatch(\"10.0.0.0/8\", src)"), "src cidr 10.0.0.0/8");
}

TEST(SplLowerWhere, Like) {
  EXPECT_EQ(where("like(process, \"%\\\\AppData\\\\%\")"), "process contains \\AppData\\");
  EXPECT_EQ(where("process LIKE \"C:%\""), "process starts_with C:");
  EXPECT_EQ(where("like(p, \"%.exe\")"), "p ends_with .exe");
  EXPECT_EQ(where("like(p, \"abc\")"), "p = abc");
  EXPECT_EQ(where("like(p, \"a_c%d\")"), "p regex (?s)^a.c.*d$");
  EXPECT_EQ(where("like(p, \"%a%b%\")"), "p regex (?s)^.*a.*b.*$");
}

TEST(SplLowerWhere, IncompleteIsASoundOverApproximation) {
  // Unlowerable leaves become true (positive) or false (under NOT): the result never rejects a row the where keeps.
  EXPECT_EQ(where("len(x) > 5 AND y=\"a\"", false), "y = a");
  // NOT (A AND B) with A unknown admits any row: only `true` is sound.
  EXPECT_EQ(where("NOT (len(x) > 5 AND y=\"a\")", false), "true");
  // NOT (A OR B) implies NOT B.
  EXPECT_EQ(where("NOT (len(x) > 5 OR y=\"a\")", false), "NOT y = a");
  EXPECT_EQ(where("NOT (len(x) > 5) AND y=\"a\"", false), "y = a");
  EXPECT_EQ(where("a > b", false), "true");
}
