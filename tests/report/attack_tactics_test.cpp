// A rule's techniques with names and tactics (content::rule_techniques), over the shared ATT&CK
// table (a 2025-11 snapshot) and real Sigma rules that tag techniques and a tactic newer than it.
// Expected values read by hand from the rule files and the table's JSON.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "content/attack.h"

namespace vigil::content {
namespace {

const std::string kAttackJson = std::string(VIGIL_SHARED_DIR) + "/data/attack/enterprise-attack.json";

const AttackTable& table() {
  static const AttackTable t = [] {
    auto r = AttackTable::load(kAttackJson);
    if (!r) {
      ADD_FAILURE() << r.error().message;
      return AttackTable{};
    }
    return std::move(r.value());
  }();
  return t;
}

using Names = std::vector<std::string>;

// The premise of these tests: the table knows T1047 (execution) and T1556.004 (credential-access,
// defense-evasion, persistence), and has neither T1685 nor a `defense-impairment` tactic.
TEST(RuleTechniques, TheTableIsOlderThanTheRules) {
  ASSERT_FALSE(table().empty());
  ASSERT_NE(table().find("T1047"), nullptr);
  EXPECT_EQ(table().find("T1047")->tactics, Names{"Execution"});
  ASSERT_NE(table().find("t1556.004"), nullptr);
  EXPECT_EQ(table().find("T1556.004")->tactics, (Names{"Persistence", "Defense Evasion", "Credential Access"}));
  EXPECT_EQ(table().find("T1685"), nullptr);
  EXPECT_EQ(table().find_tactic("defense-impairment"), nullptr);
  ASSERT_NE(table().find_tactic("command-and-control"), nullptr);
  EXPECT_EQ(table().find_tactic("command-and-control")->id, "TA0011");
}

// proc_creation_win_wmic_service_startup_change.yml: tags execution, defense-impairment, t1047,
// t1685. T1047 has Execution from the table; T1685 the tag no known technique explains.
TEST(RuleTechniques, ANewerTechniqueTakesTheTacticTheRuleTagsAndNoKnownTechniqueHas) {
  auto t = rule_techniques(&table(), {"T1047", "T1685"}, {"execution", "defense-impairment"});
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].id, "T1047");
  EXPECT_EQ(t[0].name, "Windows Management Instrumentation");
  EXPECT_EQ(t[0].tactics, Names{"Execution"});
  EXPECT_EQ(t[1].id, "T1685");
  EXPECT_EQ(t[1].name, "");
  EXPECT_EQ(t[1].tactics, Names{"Defense Impairment"});
}

// cisco_cli_dot1x_disabled.yml: tags persistence, credential-access, defense-impairment, t1685,
// t1556.004. T1556.004 explains persistence and credential-access.
TEST(RuleTechniques, TacticsAKnownTechniqueHasAreNotGivenToTheNewerOne) {
  auto t = rule_techniques(&table(), {"T1685", "T1556.004"}, {"persistence", "credential-access", "defense-impairment"});
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].tactics, Names{"Defense Impairment"});
  EXPECT_EQ(t[1].tactics, (Names{"Persistence", "Defense Evasion", "Credential Access"}));
}

// Every tag explained by a known technique: the newer one takes all of the rule's tags (it belongs
// to one of them; which, the rule does not say).
TEST(RuleTechniques, WhenKnownTechniquesExplainEveryTagTheNewerOneTakesThemAll) {
  auto t = rule_techniques(&table(), {"t1685", "T1047", "T1685"}, {"execution"});
  ASSERT_EQ(t.size(), 2u);  // listed once, upper case
  EXPECT_EQ(t[0].id, "T1685");
  EXPECT_EQ(t[0].tactics, Names{"Execution"});
  EXPECT_EQ(t[1].tactics, Names{"Execution"});
}

// No tactic tags (ESCU rules have none): a technique the table lacks has no tactic, as before.
TEST(RuleTechniques, NoTagsNoGuess) {
  auto t = rule_techniques(&table(), {"T1685"}, {});
  ASSERT_EQ(t.size(), 1u);
  EXPECT_TRUE(t[0].tactics.empty());
}

// No table (vigil run without --attack): every technique takes the rule's tags, in title case.
TEST(RuleTechniques, WithoutATableTheTagsAreTheTactics) {
  auto t = rule_techniques(nullptr, {"T1047"}, {"execution", "command-and-control", "defense-impairment"});
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].name, "");
  EXPECT_EQ(t[0].tactics, (Names{"Execution", "Command and Control", "Defense Impairment"}));
}

TEST(TacticNames, DisplayNameAndShortnameGoBothWays) {
  EXPECT_EQ(tactic_display_name(&table(), "command-and-control"), "Command and Control");
  EXPECT_EQ(tactic_display_name(nullptr, "command-and-control"), "Command and Control");
  EXPECT_EQ(tactic_display_name(&table(), "defense-impairment"), "Defense Impairment");
  EXPECT_EQ(tactic_display_name(nullptr, "stealth"), "Stealth");
  EXPECT_EQ(tactic_shortname(&table(), "Command and Control"), "command-and-control");
  EXPECT_EQ(tactic_shortname(&table(), "Defense Impairment"), "defense-impairment");
  EXPECT_EQ(tactic_shortname(nullptr, "Privilege Escalation"), "privilege-escalation");
}

}  // namespace
}  // namespace vigil::content
