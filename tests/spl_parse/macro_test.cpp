// Macro expansion tests. Definitions used here are written inline; the corpus
// facts they mirror (sysmon OR chain, security_content_ctime, filter stubs,
// drop_dm_object_name) are from ../shared/docs/spl.md §4.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>

#include "content/macros.h"
#include "core/diagnostic.h"
#include "spl/macro_expand.h"
#include "spl/parser.h"

using namespace vigil;
using namespace vigil::spl;

namespace {

content::MacroTable table() {
  content::MacroTable t;
  auto add = [&](std::string name, std::vector<std::string> args, std::string def) {
    t.add(content::Macro{std::move(name), std::move(args), std::move(def), "<test>"});
  };
  add("sysmon", {}, "sourcetype=A OR source=B");
  add("security_content_ctime", {"field"}, "convert timeformat=\"%Y-%m-%dT%H:%M:%S\" ctime($field$)");
  add("drop_dm_object_name", {"object"}, "rename $object$.* AS *");
  add("security_content_summariesonly", {}, "summariesonly=`summariesonly_config` fillnull_value=null");
  add("summariesonly_config", {}, "false");
  add("names", {}, "\"a.exe\", \"b.exe\"");
  add("two", {"x", "y"}, "$x$=$y$");
  add("loop_a", {}, "`loop_b`");
  add("loop_b", {}, "`loop_a`");
  add("terms", {}, "a=1 b=2");
  add("filter_like", {}, "search *");
  return t;
}

MacroExpansion expand(std::string_view s) {
  static content::MacroTable t = table();
  return expand_macros(s, t);
}

}  // namespace

TEST(SplMacros, LeadingSearchMacroIsParenthesised) {
  auto e = expand("`sysmon` EventCode=1");
  EXPECT_FALSE(e.error);
  EXPECT_EQ(e.text, "(sourcetype=A OR source=B) EventCode=1");
  EXPECT_EQ(e.used, (std::vector<std::string>{"sysmon"}));
}

TEST(SplMacros, ExpressionPositionIsParenthesised) {
  // After OR, an implicit-AND definition must stay one term: x OR (a=1 b=2).
  EXPECT_EQ(expand("x OR `terms`").text, "x OR (a=1 b=2)");
  EXPECT_EQ(expand("| tstats count where `sysmon` by x").text, "| tstats count where (sourcetype=A OR source=B) by x");
}

TEST(SplMacros, CommandMacrosAreBare) {
  auto e = expand("`sysmon` | `drop_dm_object_name(\"Processes\")` | `security_content_ctime(firstTime)` | `x_filter`");
  EXPECT_FALSE(e.error);
  EXPECT_EQ(e.text,
            "(sourcetype=A OR source=B) | rename \"Processes\".* AS * | "
            "convert timeformat=\"%Y-%m-%dT%H:%M:%S\" ctime(firstTime) | search *");
  // The missing `x_filter` resolves to the generated `search *` stub, so it is not "missing".
  EXPECT_TRUE(e.missing.empty());
  auto p = parse_pipeline(e.text);
  ASSERT_FALSE(p.error) << p.error->message;
  EXPECT_EQ(p.pipeline->commands.size(), 4u);
}

TEST(SplMacros, ArgumentPositionsAndNesting) {
  // Options after a command word and values after `=` stay bare (depth-2 nesting as in the corpus).
  EXPECT_EQ(expand("| tstats `security_content_summariesonly` count").text,
            "| tstats summariesonly=false fillnull_value=null count");
  EXPECT_EQ(expand("x IN (`names`)").text, "x IN (\"a.exe\", \"b.exe\")");
  EXPECT_EQ(expand("`two(f, \"v,w\")`").text, "(f=\"v,w\")");
}

TEST(SplMacros, FilterMacroInsideASearchExpressionBecomesItsTerms) {
  // `search *` inside the base search is the match-all term, not the keyword "search".
  EXPECT_EQ(expand("a=1 `filter_like`").text, "a=1 (*)");
}

TEST(SplMacros, QuotedBackticksAndCommentsAreNotMacros) {
  auto e = expand("x | eval p=split(process,\"`\") ```a `sysmon` comment``` | stats count");
  EXPECT_FALSE(e.error);
  EXPECT_EQ(e.text, "x | eval p=split(process,\"`\")   | stats count");
  EXPECT_TRUE(e.used.empty());
}

TEST(SplMacros, MissingCycleAndUnterminated) {
  auto m = expand("`nope` x | `nope2`");
  EXPECT_EQ(m.missing, (std::vector<std::string>{"nope", "nope2"}));
  // In command position a missing macro becomes `search *` so the pipeline stays well formed.
  EXPECT_EQ(m.text, "search * x | search *");

  auto c = expand("x `loop_a`");
  ASSERT_TRUE(c.error);
  EXPECT_NE(c.error->message.find("cycle"), std::string::npos);
  EXPECT_EQ(c.error->span.begin, 2u);  // the top-level call site

  auto u = expand("x `sysmon");
  ASSERT_TRUE(u.error);
  EXPECT_EQ(u.error->span.begin, 2u);

  auto k = expand("x ```never closed");
  ASSERT_TRUE(k.error);
  EXPECT_EQ(k.error->span.begin, 2u);
}

TEST(SplMacros, ArityIsPartOfTheKey) {
  // `security_content_ctime` exists only with one argument.
  auto e = expand("x | `security_content_ctime`");
  EXPECT_EQ(e.missing, (std::vector<std::string>{"security_content_ctime"}));
}

TEST(SplMacros, MissingFilterMacrosLookedUpOnTwoThreadsAtOnce) {
  // A rule loader expands ESCU searches on several threads; each search's missing `<rule>_filter`
  // comes back as a generated stub, which must be the one that thread asked for while it reads it.
  content::MacroTable t = table();
  std::atomic<bool> go{false};
  std::atomic<int> wrong{0};
  auto look = [&](std::string name) {
    while (!go.load()) std::this_thread::yield();
    for (int i = 0; i < 200000; ++i) {
      const content::Macro* m = t.find(name, 0);
      if (!m || m->name != name || m->definition != "search *") wrong.fetch_add(1);
    }
  };
  std::thread a(look, "first_rule_filter"), b(look, "second_rule_with_a_longer_name_filter");
  go = true;
  a.join();
  b.join();
  EXPECT_EQ(wrong.load(), 0);
}
