// Whole Sigma rules: field mapping onto the CIM (one shared atom with SPL),
// logsource selection, metadata, located errors and correlation rules.
// Expected values are worked out by hand from the rule texts below.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/strings.h"
#include "match/row_matcher.h"
#include "sigma/correlation.h"
#include "sigma/sigma.h"

namespace vigil::sigma {
namespace {

const Logsources& repo_logsources() {
  static Logsources ls = [] {
    auto r = Logsources::load(VIGIL_DATA_DIR);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return std::move(r.value());
  }();
  return ls;
}

struct Loaded {
  std::vector<ir::CompiledRule> rules;
  DiagnosticSink diags{nullptr};
};

std::unique_ptr<Loaded> load(const std::string& text, ir::AtomTable& atoms, uint32_t& next) {
  auto l = std::make_unique<Loaded>();
  l->diags.set_quiet(true);
  l->rules = load_file("rule.yml", text, atoms, repo_logsources(), next, l->diags);
  return l;
}

// A Sysmon EID 1 event and a Security 4688 event as the normalizer presents them
// (raw EventData names + the CIM Endpoint.Processes view, data/normalize/windows.yml).
Row sysmon1(const char* image, const char* cmd, const char* parent) {
  Row r;
  r.set("Channel", Value("Microsoft-Windows-Sysmon/Operational"));
  r.set("EventID", Value("1"));
  r.set("Image", Value(image));
  r.set("CommandLine", Value(cmd));
  r.set("ParentImage", Value(parent));
  r.set("Processes.process_path", Value(image));
  r.set("Processes.process_name", Value(path_basename(image)));
  r.set("Processes.process", Value(cmd));
  r.set("Processes.parent_process_path", Value(parent));
  r.set("Processes.parent_process_name", Value(path_basename(parent)));
  return r;
}
Row security4688(const char* image, const char* cmd, const char* parent) {
  Row r;
  r.set("Channel", Value("Security"));
  r.set("EventID", Value("4688"));
  r.set("NewProcessName", Value(image));
  r.set("CommandLine", Value(cmd));
  r.set("ParentProcessName", Value(parent));
  r.set("Processes.process_path", Value(image));
  r.set("Processes.process_name", Value(path_basename(image)));
  r.set("Processes.process", Value(cmd));
  r.set("Processes.parent_process_path", Value(parent));
  r.set("Processes.parent_process_name", Value(path_basename(parent)));
  return r;
}

const char* kWmicRule = R"(title: WMIC Process Call Create
id: 11111111-1111-1111-1111-111111111111
status: test
description: wmic creating a process
author: test
level: high
tags:
  - attack.execution
  - attack.t1047
  - attack.t1059.001
references:
  - https://example.org
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|endswith: '\wmic.exe'
    CommandLine|contains|all:
      - 'process'
      - 'call'
      - 'create'
  filter_parent:
    ParentImage|endswith: '\explorer.exe'
  condition: selection and not filter_parent
falsepositives:
  - admins
)";

TEST(SigmaRules, SigmaAndSplShareOneAtomAfterFieldMapping) {
  ir::AtomTable atoms;
  uint32_t next = 0;
  auto l = load(kWmicRule, atoms, next);
  ASSERT_EQ(l->rules.size(), 1u);
  const auto& r = l->rules[0];
  ASSERT_TRUE(r.parsed) << (r.reasons.empty() ? "" : r.reasons[0]);
  ASSERT_TRUE(r.executable);

  // SPL `Processes.process_name=wmic.exe` lowers (spl/lower.h: f=v without `*` -> eq,
  // case-insensitive in search) to this atom. test_sigma links only vigil_sigma, so the
  // SPL side is constructed by hand here, exactly as spl::lower_search documents it.
  ir::Atom spl{field_id("Processes.process_name"), ir::AtomKind::eq, "wmic.exe", false};
  const size_t before = atoms.size();
  ir::AtomId spl_id = atoms.intern(spl);
  EXPECT_EQ(atoms.size(), before) << "the SPL atom must already exist: interned by the Sigma rule";
  std::vector<ir::AtomId> ids;
  r.plan.streams[0].filter.collect_atoms(ids);
  EXPECT_NE(std::find(ids.begin(), ids.end(), spl_id), ids.end());
  // Case folding: SPL written as WMIC.EXE is still the same atom.
  EXPECT_EQ(atoms.intern({field_id("Processes.process_name"), ir::AtomKind::eq, "WMIC.EXE", false}), spl_id);
  // The corpus count sees one Sigma rule, then one ESCU rule, on the one atom.
  EXPECT_EQ(atoms.counts(spl_id).sigma, 1u);
  atoms.add_reference(spl_id, ir::Language::escu, next++);
  EXPECT_EQ(atoms.counts(spl_id).total(), 2u);
  // ParentImage|endswith '\X' -> Processes.parent_process_name = X.
  ir::AtomId parent = atoms.intern({field_id("Processes.parent_process_name"), ir::AtomKind::eq, "explorer.exe", false});
  EXPECT_NE(std::find(ids.begin(), ids.end(), parent), ids.end());
}

TEST(SigmaRules, ProcessCreationRunsOnSysmonAnd4688) {
  ir::AtomTable atoms;
  uint32_t next = 0;
  auto l = load(kWmicRule, atoms, next);
  match::RowMatcher m(l->rules[0].plan.streams[0].filter, atoms);
  const char* wmic = "C:\\Windows\\System32\\wbem\\WMIC.exe";
  EXPECT_TRUE(m.matches(sysmon1(wmic, "wmic process call create calc", "C:\\Windows\\System32\\cmd.exe")));
  EXPECT_TRUE(m.matches(security4688(wmic, "wmic process call create calc", "C:\\Windows\\System32\\cmd.exe")));
  // filter: parent explorer.exe
  EXPECT_FALSE(m.matches(sysmon1(wmic, "wmic process call create calc", "C:\\Windows\\explorer.exe")));
  // not all of process/call/create
  EXPECT_FALSE(m.matches(sysmon1(wmic, "wmic process list", "C:\\Windows\\System32\\cmd.exe")));
  // wrong channel/event: a Sysmon 3 event with the same fields
  Row net = sysmon1(wmic, "wmic process call create calc", "C:\\x\\cmd.exe");
  net.set("EventID", Value("3"));
  EXPECT_FALSE(m.matches(net));
}

TEST(SigmaRules, EndswithWithoutBackslashStaysEndsWithOnThePath) {
  ir::AtomTable atoms;
  uint32_t next = 0;
  auto l = load(R"(title: t
logsource: {product: windows, category: process_creation}
detection:
  sel:
    Image|endswith: 'mic.exe'
  condition: sel
)", atoms, next);
  ASSERT_TRUE(l->rules[0].parsed);
  ir::AtomId id = atoms.intern({field_id("Processes.process_path"), ir::AtomKind::ends_with, "mic.exe", false});
  EXPECT_EQ(atoms.counts(id).sigma, 1u);
}

TEST(SigmaRules, OtherCategoriesUseRawSysmonNames) {
  ir::AtomTable atoms;
  uint32_t next = 0;
  auto l = load(R"(title: t
logsource: {product: windows, category: image_load}
detection:
  sel:
    ImageLoaded|endswith: '\dbghelp.dll'
    Image|endswith: '\werfault.exe'
  condition: sel
)", atoms, next);
  ASSERT_TRUE(l->rules[0].executable);
  Row r;
  r.set("Channel", Value("Microsoft-Windows-Sysmon/Operational"));
  r.set("EventID", Value("7"));
  r.set("ImageLoaded", Value("C:\\Windows\\System32\\dbghelp.dll"));
  r.set("Image", Value("C:\\Windows\\System32\\WerFault.exe"));
  EXPECT_TRUE(match::RowMatcher(l->rules[0].plan.streams[0].filter, atoms).matches(r));
  // No rewrite to the CIM basename outside process_creation.
  ir::AtomId id = atoms.intern({field_id("Image"), ir::AtomKind::ends_with, "\\werfault.exe", false});
  EXPECT_EQ(atoms.counts(id).sigma, 1u);
}

// The WMIC rule's RuleInfo with its tags replaced by `tags` (YAML list lines).
ir::RuleInfo wmic_info_with_tags(const std::string& tags) {
  std::string text = kWmicRule;
  const std::string own = "  - attack.execution\n  - attack.t1047\n  - attack.t1059.001\n";
  EXPECT_NE(text.find(own), std::string::npos);
  if (text.find(own) != std::string::npos) text.replace(text.find(own), own.size(), tags);
  ir::AtomTable atoms;
  uint32_t next = 0;
  auto l = load(text, atoms, next);
  EXPECT_EQ(l->rules.size(), 1u);
  return l->rules.empty() ? ir::RuleInfo{} : l->rules[0].info;
}

// ATT&CK ids come from tags `attack.tNNNN` and `attack.tNNNN.NNN` in any case (Sigma's tag
// convention), upper-cased; groups, tactics and malformed ids are not techniques.
TEST(SigmaRules, AttackIdsFromTags) {
  auto info = wmic_info_with_tags(
      "  - ATTACK.T1003\n  - attack.t1059.0011\n  - attack.t105\n  - attack.g0016\n  - attack.t1003.00x\n"
      "  - attack.t1021.002\n  - attack.t10210\n  - xattack.t1047\n");
  EXPECT_EQ(info.mitre_attack, (std::vector<std::string>{"T1003", "T1021.002"}));
}

// Tactics come from tags `attack.<shortname>` (letters and hyphens; `_` read as `-`, as older rules
// wrote them), lower-cased, each once; techniques, groups (g0016), software (s0190) and data
// sources (ds0005) are not tactics, and neither is a tag of another namespace.
TEST(SigmaRules, AttackTacticsFromTags) {
  auto info = wmic_info_with_tags(
      "  - attack.Execution\n  - attack.t1047\n  - attack.defense-impairment\n  - attack.g0016\n"
      "  - attack.s0190\n  - attack.ds0005\n  - attack.defense_evasion\n  - attack.execution\n"
      "  - car.2016-04-002\n  - cve.2021-44228\n  - attack.\n");
  EXPECT_EQ(info.attack_tactics, (std::vector<std::string>{"execution", "defense-impairment", "defense-evasion"}));
  EXPECT_EQ(info.mitre_attack, (std::vector<std::string>{"T1047"}));
}

TEST(SigmaRules, Metadata) {
  ir::AtomTable atoms;
  uint32_t next = 5;
  auto l = load(kWmicRule, atoms, next);
  EXPECT_EQ(next, 6u);
  const auto& i = l->rules[0].info;
  EXPECT_EQ(i.language, ir::Language::sigma);
  EXPECT_EQ(i.id, "11111111-1111-1111-1111-111111111111");
  EXPECT_EQ(i.name, "WMIC Process Call Create");
  EXPECT_EQ(i.message, i.name);
  EXPECT_EQ(i.type, "sigma");
  EXPECT_EQ(i.status, "test");
  EXPECT_EQ(i.level, "high");
  EXPECT_EQ(i.risk_score, 70);  // high -> 70 (sigma.h table)
  EXPECT_EQ(i.mitre_attack, (std::vector<std::string>{"T1047", "T1059.001"}));
  EXPECT_EQ(i.tags.size(), 3u);
  EXPECT_EQ(i.references, (std::vector<std::string>{"https://example.org"}));
  EXPECT_EQ(i.data_sources, (std::vector<std::string>{"windows/process_creation"}));
  EXPECT_EQ(i.body, kWmicRule);
  // The detection block as written, up to the next top-level key.
  EXPECT_EQ(i.query.substr(0, 11), "detection:\n");
  EXPECT_NE(i.query.find("condition: selection and not filter_parent"), std::string::npos);
  EXPECT_EQ(i.query.find("falsepositives"), std::string::npos);
  EXPECT_EQ(risk_score_for_level("informational"), 10);
  EXPECT_EQ(risk_score_for_level("low"), 30);
  EXPECT_EQ(risk_score_for_level("medium"), 50);
  EXPECT_EQ(risk_score_for_level("critical"), 90);
}

TEST(SigmaRules, UnknownModifierIsALocatedError) {
  ir::AtomTable atoms;
  uint32_t next = 0;
  // The bad key is on line 5, column 5 (1-based).
  auto l = load("title: t\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel:\n"
                "    Image|endswithh: 'x'\n  condition: sel\n",
                atoms, next);
  ASSERT_EQ(l->rules.size(), 1u);
  const auto& r = l->rules[0];
  EXPECT_FALSE(r.parsed);
  EXPECT_FALSE(r.executable);
  EXPECT_EQ(r.location.line, 5u);
  EXPECT_EQ(r.location.column, 5u);
  ASSERT_EQ(r.reasons.size(), 1u);
  EXPECT_EQ(r.reasons[0], "rule.yml:5:5: unknown modifier 'endswithh' in 'Image|endswithh'");
  EXPECT_EQ(l->diags.errors(), 1u);
  EXPECT_TRUE(r.plan.streams.empty());
}

TEST(SigmaRules, ConditionErrorPointsIntoTheCondition) {
  ir::AtomTable atoms;
  uint32_t next = 0;
  // `condition: sel and nope`: value starts at column 14; `nope` is 8 bytes further -> column 22.
  auto l = load("title: t\nlogsource: {product: windows, service: security}\ndetection:\n  sel:\n"
                "    EventID: 4624\n  condition: sel and nope\n",
                atoms, next);
  const auto& r = l->rules[0];
  EXPECT_FALSE(r.parsed);
  EXPECT_EQ(r.location.line, 6u);
  EXPECT_EQ(r.location.column, 22u);
}

TEST(SigmaRules, YamlSyntaxErrorIsOneRejectedRule) {
  ir::AtomTable atoms;
  uint32_t next = 0;
  auto l = load("title: t\ndetection: [unclosed\n", atoms, next);
  ASSERT_EQ(l->rules.size(), 1u);
  EXPECT_FALSE(l->rules[0].parsed);
  EXPECT_GT(l->rules[0].location.line, 0u);
  EXPECT_EQ(next, 1u);
}

TEST(SigmaRules, UnmappedLogsourceLoadsButIsNotExecutable) {
  ir::AtomTable atoms;
  uint32_t next = 0;
  auto l = load("title: t\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  sel:\n"
                "    eventName: ConsoleLogin\n  condition: sel\n",
                atoms, next);
  const auto& r = l->rules[0];
  EXPECT_TRUE(r.parsed);
  EXPECT_FALSE(r.executable);
  ASSERT_EQ(r.reasons.size(), 1u);
  EXPECT_NE(r.reasons[0].find("no logsource mapping for 'aws/cloudtrail'"), std::string::npos);
}

TEST(SigmaRules, ServiceLogsourceSelectsByChannel) {
  ir::AtomTable atoms;
  uint32_t next = 0;
  auto l = load("title: t\nlogsource: {product: windows, service: system}\ndetection:\n  sel:\n"
                "    Provider_Name: 'Service Control Manager'\n    EventID: 7045\n  condition: sel\n",
                atoms, next);
  match::RowMatcher m(l->rules[0].plan.streams[0].filter, atoms);
  Row r;
  r.set("Channel", Value("System"));
  r.set("EventID", Value("7045"));
  r.set("Provider", Value("Service Control Manager"));  // Provider_Name -> Provider (logsources.yml `fields`)
  EXPECT_TRUE(m.matches(r));
  r.set("Channel", Value("Security"));
  EXPECT_FALSE(m.matches(r));
}

TEST(SigmaRules, SeveralDocumentsInOneFile) {
  ir::AtomTable atoms;
  uint32_t next = 0;
  std::string two = std::string(kWmicRule) + "---\n" +
                    "title: second\nlogsource: {product: windows, category: file_event}\ndetection:\n"
                    "  sel:\n    TargetFilename|endswith: '.lnk'\n  condition: sel\n";
  auto l = load(two, atoms, next);
  ASSERT_EQ(l->rules.size(), 2u);
  EXPECT_EQ(next, 2u);
  EXPECT_TRUE(l->rules[1].executable);
  EXPECT_EQ(l->rules[1].info.name, "second");
}

TEST(SigmaRules, HostileInputIsRejectedNotCrashed) {
  ir::AtomTable atoms;
  uint32_t next = 0;
  std::string deep_list = "title: t\nlogsource: {product: windows}\ndetection:\n  sel: " + std::string(500, '[') +
                          "x" + std::string(500, ']') + "\n  condition: sel\n";
  std::string deep_cond = "title: t\nlogsource: {product: windows}\ndetection:\n  sel: {a: b}\n  condition: " +
                          std::string(5000, '(') + "sel" + std::string(5000, ')') + "\n";
  for (const std::string& text :
       {deep_list, deep_cond, std::string("\x00\xff: [\n"), std::string("detection: 5\nlogsource: 7\n"),
        std::string("detection: {condition: [1, {a: b}]}\nlogsource: {}\n"),
        std::string("detection: {sel: {a: {b: c}}, condition: sel}\nlogsource: {product: windows}\n"),
        std::string("detection: {sel: [], condition: sel}\nlogsource: {product: windows}\n"),
        std::string("correlation: {type: temporal, rules: {a: b}, timespan: [1]}\n")}) {
    auto l = load(text, atoms, next);
    for (const auto& r : l->rules) {
      EXPECT_FALSE(r.parsed && r.executable && r.reasons.empty() && r.plan.streams.empty());
      if (!r.parsed) {
        EXPECT_FALSE(r.reasons.empty());
      }
    }
  }
}

// ---- correlation

class FakeContext : public ir::ExecContext {
 public:
  std::vector<Table> streams;  // index k = stream k
  Table stream_result(size_t k) override { return k < streams.size() ? streams[k] : Table{}; }
};

Row event(double t, const char* user, const char* host = "h1") {
  Row r;
  r.set("_time", Value(t));
  r.set("TargetUserName", Value(user));
  r.set("Computer", Value(host));
  return r;
}

const char* kFailedLogon = R"(title: Failed logon
id: aaaaaaaa-0000-0000-0000-000000000001
name: failed_logon
logsource: {product: windows, service: security}
detection:
  sel:
    EventID: 4625
  condition: sel
level: low
)";

TEST(SigmaCorrelation, EventCountLinksAndGroups) {
  ir::AtomTable atoms;
  uint32_t next = 0;
  std::string text = std::string(kFailedLogon) + R"(---
title: Many failed logons
id: aaaaaaaa-0000-0000-0000-000000000002
correlation:
  type: event_count
  rules:
    - failed_logon
  group-by:
    - TargetUserName
  timespan: 5m
  condition:
    gte: 3
level: high
)";
  auto l = load(text, atoms, next);
  ASSERT_EQ(l->rules.size(), 2u);
  EXPECT_TRUE(l->rules[1].parsed);
  EXPECT_FALSE(l->rules[1].executable);  // not linked yet
  LinkStats st = link_correlations(l->rules, atoms, l->diags);
  EXPECT_EQ(st.correlations, 1u);
  EXPECT_EQ(st.linked, 1u);
  auto& corr = l->rules[1];
  EXPECT_TRUE(corr.executable) << (corr.reasons.empty() ? "" : corr.reasons[0]);
  ASSERT_EQ(corr.plan.streams.size(), 2u);
  EXPECT_EQ(corr.plan.streams[0].source.kind, ir::Source::Kind::none);
  EXPECT_EQ(corr.plan.streams[1].source.kind, ir::Source::Kind::raw);
  // The correlation counts as a second rule referencing the EventID atom.
  ir::AtomId eid = atoms.intern({field_id("EventID"), ir::AtomKind::eq, "4625", false});
  EXPECT_EQ(atoms.counts(eid).sigma, 2u);

  // alice: 3 failures within 5 minutes (t=0, 100, 250) -> one row; bob: 3 spread over 20 min -> none;
  // carol: 2 -> none.
  FakeContext ctx;
  ctx.streams.resize(2);
  ctx.streams[1] = {event(0, "alice"), event(100, "alice"), event(250, "alice"), event(0, "bob"),
                    event(600, "bob"), event(1200, "bob"), event(10, "carol"), event(20, "carol")};
  Table out;
  corr.plan.streams[0].operators[0]->run(out, ctx);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].get("TargetUserName")->to_string(), "alice");
  EXPECT_EQ(out[0].get("count")->number(), 3);
  EXPECT_EQ(out[0].get("firstTime")->number(), 0);
  EXPECT_EQ(out[0].get("lastTime")->number(), 250);
}

TEST(SigmaCorrelation, ValueCountTemporalAndOrdered) {
  auto spec_of = [](const char* yaml) {
    auto s = parse_correlation(yaml::load(yaml));
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    return s.value();
  };
  FakeContext ctx;
  ctx.streams.resize(3);
  // value_count: distinct users per host within 1 minute >= 3 (h1: a,b,c at 0..50 -> hit; h2: a,a,b -> no)
  ctx.streams[1] = {event(0, "a", "h1"), event(20, "b", "h1"), event(50, "c", "h1"),
                    event(0, "a", "h2"), event(10, "a", "h2"), event(20, "b", "h2")};
  CorrelationOperator vc(spec_of("{type: value_count, rules: [r1], group-by: [Computer], timespan: 1m, "
                                 "condition: {field: TargetUserName, gte: 3}}"),
                         0);
  Table out;
  vc.run(out, ctx);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].get("Computer")->to_string(), "h1");
  EXPECT_EQ(out[0].get("value_count")->number(), 3);

  // temporal over r1 and r2 grouped by user within 10 s; r2's user field is aliased.
  ctx.streams[1] = {event(0, "a"), event(100, "b")};
  Row r2a;
  r2a.set("_time", Value(5.0));
  r2a.set("SubjectUserName", Value("a"));
  Row r2b;
  r2b.set("_time", Value(50.0));
  r2b.set("SubjectUserName", Value("b"));
  ctx.streams[2] = {r2a, r2b};
  const char* temporal = "{type: temporal, rules: [r1, r2], group-by: [user], timespan: 10s, "
                         "aliases: {user: {r1: TargetUserName, r2: SubjectUserName}}}";
  CorrelationOperator t(spec_of(temporal), 0);
  out.clear();
  t.run(out, ctx);
  ASSERT_EQ(out.size(), 1u);  // a: 0 and 5 within 10 s; b: 100 and 50 are 50 s apart
  EXPECT_EQ(out[0].get("user")->to_string(), "a");

  // temporal_ordered r2 then r1: for a, r1 (t=0) precedes r2 (t=5) -> no match.
  CorrelationOperator ord(spec_of("{type: temporal_ordered, rules: [r2, r1], group-by: [user], timespan: 10s, "
                                  "aliases: {user: {r1: TargetUserName, r2: SubjectUserName}}}"),
                          0);
  out.clear();
  ord.run(out, ctx);
  EXPECT_TRUE(out.empty());
  CorrelationOperator ord2(spec_of("{type: temporal_ordered, rules: [r1, r2], group-by: [user], timespan: 10s, "
                                   "aliases: {user: {r1: TargetUserName, r2: SubjectUserName}}}"),
                           0);
  ord2.run(out, ctx);
  EXPECT_EQ(out.size(), 1u);
}

TEST(SigmaCorrelation, BadSpecsAndMissingReferences) {
  EXPECT_FALSE(parse_correlation(yaml::load("{type: event_count, rules: [x], timespan: 5m}")).ok());  // no condition
  EXPECT_FALSE(parse_correlation(yaml::load("{type: bogus, rules: [x], timespan: 5m}")).ok());
  EXPECT_FALSE(parse_correlation(yaml::load("{type: temporal, rules: [x], timespan: 5 minutes}")).ok());
  EXPECT_EQ(parse_timespan("90s").value(), 90);
  EXPECT_EQ(parse_timespan("2h").value(), 7200);

  ir::AtomTable atoms;
  uint32_t next = 0;
  auto l = load("title: c\ncorrelation:\n  type: temporal\n  rules: [missing_rule]\n  timespan: 1h\n", atoms, next);
  LinkStats st = link_correlations(l->rules, atoms, l->diags);
  EXPECT_EQ(st.failed, 1u);
  EXPECT_FALSE(l->rules[0].executable);
  ASSERT_FALSE(l->rules[0].reasons.empty());
  EXPECT_NE(l->rules[0].reasons.back().find("unknown rule 'missing_rule'"), std::string::npos);
}

}  // namespace
}  // namespace vigil::sigma
