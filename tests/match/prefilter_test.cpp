// match/: the multi-pattern prefilter and the EventMatcher that uses it.
// The prefilter is only a necessary condition, so the contract checked here is:
// an EventMatcher with the prefilter gives exactly the results of one without it
// (the reference path, which tests every atom). Hand-written expectations follow
// the atom semantics of ir/atom.h and core/strings.h (ASCII-only case folding,
// whole-value globs with Sigma `*`/`?`); each is derived in the comment beside it.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "ir/atom_table.h"
#include "ir/predicate.h"
#include "match/event_matcher.h"
#include "match/prefilter.h"

namespace vigil::match {
namespace {

using ir::Atom;
using ir::AtomKind;
using ir::Predicate;

Atom atom(std::string_view field, AtomKind k, std::string value, bool cs = false) {
  Atom a;
  a.field = field.empty() ? kNoSymbol : field_id(field);
  a.kind = k;
  a.value = std::move(value);
  a.case_sensitive = cs;
  return a;
}

PrefilterPattern lit_of(const Atom& a) {
  auto c = CompiledAtom::compile(a);
  EXPECT_TRUE(c.has_value());
  auto p = necessary_literal(*c);
  EXPECT_TRUE(p.has_value()) << a.value;
  return p.value_or(PrefilterPattern{});
}

// The literal chosen per atom kind (ir/atom.h semantics): eq is anchored both ends,
// starts/ends_with at one end, contains/keyword nowhere; a glob's longest literal piece,
// anchored when it is the glob's first/last token.
TEST(NecessaryLiteral, PerKind) {
  auto p = lit_of(atom("Image", AtomKind::eq, "CMD.exe"));
  EXPECT_EQ(p.literal, "cmd.exe");  // case-insensitive atoms compare lower-cased
  EXPECT_TRUE(p.caseless && p.at_start && p.at_end);
  p = lit_of(atom("Image", AtomKind::eq, "CMD.exe", true));
  EXPECT_EQ(p.literal, "CMD.exe");
  EXPECT_FALSE(p.caseless);
  p = lit_of(atom("Image", AtomKind::starts_with, "C:\\"));
  EXPECT_TRUE(p.at_start && !p.at_end);
  p = lit_of(atom("Image", AtomKind::ends_with, "\\cmd.exe"));
  EXPECT_TRUE(!p.at_start && p.at_end);
  p = lit_of(atom("", AtomKind::keyword, "mimikatz"));
  EXPECT_TRUE(!p.at_start && !p.at_end);
  // `*\cmd.exe`: tokens [*, "\cmd.exe"] -> last piece, anchored at the end.
  p = lit_of(atom("Image", AtomKind::wildcard, "*\\cmd.exe"));
  EXPECT_EQ(p.literal, "\\cmd.exe");
  EXPECT_TRUE(!p.at_start && p.at_end);
  // `abc*de*f`: pieces abc(3, first), de(2), f(1) -> "abc" at the start.
  p = lit_of(atom("Image", AtomKind::wildcard, "abc*de*f"));
  EXPECT_EQ(p.literal, "abc");
  EXPECT_TRUE(p.at_start && !p.at_end);
  // `*a?bcd*`: pieces a, bcd; "bcd" is neither first nor last token.
  p = lit_of(atom("Image", AtomKind::wildcard, "*a?bcd*"));
  EXPECT_EQ(p.literal, "bcd");
  EXPECT_TRUE(!p.at_start && !p.at_end);
  // `\*x*`: the escaped star is literal, so the first piece is "*x" at the start.
  p = lit_of(atom("Image", AtomKind::wildcard, "\\*x*"));
  EXPECT_EQ(p.literal, "*x");
  EXPECT_TRUE(p.at_start);
}

TEST(NecessaryLiteral, NoneWhenNothingToFilterOn) {
  for (auto a : {atom("f", AtomKind::wildcard, "*"), atom("f", AtomKind::wildcard, "*?*"),
                 atom("f", AtomKind::contains, ""), atom("f", AtomKind::eq, ""), atom("f", AtomKind::regex, "a.c"),
                 atom("f", AtomKind::gt, "5"), atom("f", AtomKind::cidr, "10.0.0.0/8"), atom("f", AtomKind::exists, "")}) {
    auto c = CompiledAtom::compile(a);
    ASSERT_TRUE(c.has_value());
    EXPECT_FALSE(necessary_literal(*c).has_value()) << a.value;
  }
}

// Direct scans: which pattern ids occur in a value (expected sets worked out by hand).
TEST(Prefilter, ScanReportsExactlyTheOccurringLiterals) {
  if (!Prefilter::available()) GTEST_SKIP() << "built without Hyperscan";
  std::vector<PrefilterPattern> pats = {
      {0, "cmd.exe", true, false, true},           // ends with, caseless
      {1, "C:\\", false, true, false},              // starts with, case-sensitive
      {2, "-enc", true, false, false},              // anywhere
      {3, std::string("a\0b", 3), false, false, false},  // contains a NUL byte
      {4, "\xC3\x84", true, false, false},          // UTF-8 'Ä': ASCII folding leaves it alone
      {5, "exact", false, true, true},              // whole value
      {6, "x\n", false, false, true},               // ends with a newline
  };
  auto pf = Prefilter::build(pats);
  ASSERT_TRUE(pf);
  EXPECT_EQ(pf->pattern_count(), 7u);
  PrefilterScratch scratch;
  ASSERT_TRUE(pf->prepare(scratch));
  auto hits = [&](std::string_view v) {
    std::set<uint32_t> s;
    EXPECT_TRUE(pf->scan(v, scratch, [](void* ctx, uint32_t id) { static_cast<std::set<uint32_t>*>(ctx)->insert(id); },
                         &s));
    return s;
  };
  using S = std::set<uint32_t>;
  EXPECT_EQ(hits("C:\\Windows\\System32\\CMD.EXE"), (S{0, 1}));
  EXPECT_EQ(hits("c:\\windows\\cmd.exe"), (S{0}));           // "C:\" is case-sensitive
  EXPECT_EQ(hits("cmd.exe /c whoami"), (S{}));                // cmd.exe not at the end
  EXPECT_EQ(hits("cmd.exe\n"), (S{}));                        // \z: a trailing newline is not the end
  EXPECT_EQ(hits("cmd.exe\\cmd.exe"), (S{0}));                // the second occurrence is at the end
  EXPECT_EQ(hits("xC:\\ C:\\"), (S{}));                     // "C:\" occurs, never at offset 0
  EXPECT_EQ(hits("exactexact"), (S{}));                       // whole value only
  EXPECT_EQ(hits("powershell -ENC aGk="), (S{2}));
  EXPECT_EQ(hits(std::string_view("xa\0by", 5)), (S{3}));
  EXPECT_EQ(hits("ab"), (S{}));
  EXPECT_EQ(hits("\xC3\xA4"), (S{}));                         // 'ä' is not 'Ä' under ASCII folding
  EXPECT_EQ(hits("x\xC3\x84y"), (S{4}));
  EXPECT_EQ(hits("exact"), (S{5}));
  EXPECT_EQ(hits("exact "), (S{}));
  EXPECT_EQ(hits("EXACT"), (S{}));
  EXPECT_EQ(hits("ax\n"), (S{6}));
  EXPECT_EQ(hits(""), (S{}));
}

// A compiled database kept in the cache directory is loaded, not compiled, the next time the same
// patterns are built, and finds the same literals; a damaged file is compiled again and replaced;
// other patterns get their own file.
TEST(Prefilter, CachedDatabaseIsReusedAndADamagedOneIsRebuilt) {
  if (!Prefilter::available()) GTEST_SKIP() << "built without Hyperscan";
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("vigil_hsdb_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  std::vector<PrefilterPattern> pats = {
      {0, "cmd.exe", true, false, true},
      {1, "-enc", true, false, false},
      {2, "exact", false, true, true},
  };
  auto hits = [](const Prefilter& pf, std::string_view v) {
    PrefilterScratch scratch;
    EXPECT_TRUE(pf.prepare(scratch));
    std::set<uint32_t> s;
    pf.scan(v, scratch, [](void* ctx, uint32_t id) { static_cast<std::set<uint32_t>*>(ctx)->insert(id); }, &s);
    return s;
  };
  auto files = [&] {
    std::vector<fs::path> out;
    if (fs::is_directory(dir / "hyperscan"))
      for (auto& e : fs::directory_iterator(dir / "hyperscan")) out.push_back(e.path());
    return out;
  };
  using S = std::set<uint32_t>;
  auto first = Prefilter::build(pats, nullptr, dir.string());
  ASSERT_TRUE(first);
  auto kept = files();
  ASSERT_EQ(kept.size(), 1u);
  auto written = fs::last_write_time(kept[0]);
  auto second = Prefilter::build(pats, nullptr, dir.string());
  ASSERT_TRUE(second);
  EXPECT_EQ(fs::last_write_time(kept[0]), written) << "loaded, not compiled and stored again";
  EXPECT_EQ(hits(*second, "C:\\Windows\\CMD.EXE"), (S{0}));
  EXPECT_EQ(hits(*second, "powershell -ENC aGk="), (S{1}));
  EXPECT_EQ(hits(*second, "exact"), (S{2}));
  EXPECT_EQ(hits(*second, "exact cmd.exe"), (S{0}));
  // Damage the payload: the file no longer checks out, so the patterns are compiled and stored anew.
  {
    std::fstream f(kept[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(40);
    f.put('\x5a');
  }
  auto size_before = fs::file_size(kept[0]);
  std::string damaged = [&] { std::ifstream in(kept[0], std::ios::binary); return std::string(std::istreambuf_iterator<char>(in), {}); }();
  auto third = Prefilter::build(pats, nullptr, dir.string());
  ASSERT_TRUE(third);
  std::string rewritten = [&] { std::ifstream in(kept[0], std::ios::binary); return std::string(std::istreambuf_iterator<char>(in), {}); }();
  EXPECT_EQ(fs::file_size(kept[0]), size_before);
  EXPECT_NE(rewritten, damaged);
  EXPECT_EQ(hits(*third, "powershell -ENC aGk="), (S{1}));
  // Same literals, one flag different (case-sensitive): another database.
  pats[1].caseless = false;
  auto other = Prefilter::build(pats, nullptr, dir.string());
  ASSERT_TRUE(other);
  EXPECT_EQ(files().size(), 2u);
  EXPECT_EQ(hits(*other, "powershell -ENC aGk="), (S{}));
  EXPECT_EQ(hits(*other, "powershell -enc aGk="), (S{1}));
  fs::remove_all(dir);
}

// ---- EventMatcher: prefilter on vs off -------------------------------------------------

struct Fixture {
  ir::AtomTable table;
  std::vector<ir::AtomId> ids;
  void add(const Atom& a) { ids.push_back(table.intern(a)); }
};

EventMatcher::Options on(size_t min_atoms = 1, uint32_t warmup = 0) {
  EventMatcher::Options o;
  o.prefilter = true;
  o.min_group_atoms = min_atoms;
  o.warmup_events = warmup;
  return o;
}
EventMatcher::Options off() {
  EventMatcher::Options o;
  o.prefilter = false;
  return o;
}

// Hand cases with their expected results, evaluated through both paths.
TEST(EventMatcherPrefilter, TrickyCasesMatchSpec) {
  Fixture fx;
  const std::string nul_lit("a\0b", 3);
  fx.add(atom("Image", AtomKind::ends_with, "\\cmd.exe"));             // 0
  fx.add(atom("Image", AtomKind::eq, "C:\\Windows\\cmd.exe", true));   // 1 case-sensitive eq
  fx.add(atom("Image", AtomKind::starts_with, "c:\\windows"));         // 2
  // 3 several pieces: Sigma `*\windows\\*\cmd.exe` = star, "\windows\", star, "\cmd.exe"
  // (`\\` is an escaped backslash; a lone `\*` would be a literal star).
  fx.add(atom("Image", AtomKind::wildcard, "*\\windows\\\\*\\cmd.exe"));
  fx.add(atom("CommandLine", AtomKind::contains, nul_lit));            // 4 NUL inside
  fx.add(atom("CommandLine", AtomKind::contains, "\xC3\x84"));         // 5 non-ASCII
  fx.add(atom("CommandLine", AtomKind::eq, ""));                       // 6 empty value (not prefiltered)
  fx.add(atom("CommandLine", AtomKind::wildcard, "a?c*"));             // 7 `?` + star
  fx.add(atom("", AtomKind::keyword, "mimikatz"));                     // 8 keyword: any raw field
  fx.add(atom("CommandLine", AtomKind::regex, "^x+$"));                // 9 never prefiltered
  EventMatcher ref(fx.table, off());
  EventMatcher pf(fx.table, on(1));
  if (Prefilter::available()) {
    EXPECT_EQ(pf.prefilter_groups(), 3u);   // Image, CommandLine, keyword
    EXPECT_EQ(pf.prefiltered_atoms(), 8u);  // all but the empty eq and the regex
  }
  const Symbol image = field_id("Image"), cmd = field_id("CommandLine"), user = field_id("User");
  Record rec;
  Event ev;
  struct Case {
    std::vector<std::pair<Symbol, std::string>> fields;
    std::vector<bool> expect;  // per atom 0..9
  };
  std::vector<Case> cases = {
      // ends_with/starts_with/glob fold ASCII case; the cs eq does not.
      {{{image, "C:\\WINDOWS\\System32\\CMD.EXE"}, {cmd, ""}},
       {true, false, true, true, false, false, true, false, false, false}},
      {{{image, "C:\\Windows\\cmd.exe"}, {cmd, "abc"}},
       // glob `*\windows\*\cmd.exe` needs a directory between: false; `a?c*` matches "abc".
       {true, true, true, false, false, false, false, true, false, false}},
      {{{image, "C:\\Windows\\cmd.exe\n"}, {cmd, std::string("xa\0bx", 5)}},
       // trailing newline: not an ending \cmd.exe; the NUL literal is found.
       {false, false, true, false, true, false, false, false, false, false}},
      {{{cmd, "\xC3\xA4 \xC3\x84"}, {user, "MIMIKATZ.exe"}},
       // only the exact Ä bytes match; the keyword searches User, case-insensitively.
       {false, false, false, false, false, true, false, false, true, false}},
      // multivalue: the second CommandLine value carries the match.
      {{{cmd, "zzz"}, {cmd, "ab"}, {cmd, "xxx"}, {image, "d:\\tools\\cmd.exe"}},
       {true, false, false, false, false, false, false, false, false, true}},
  };
  for (size_t ci = 0; ci < cases.size(); ++ci) {
    ev.reset(&rec);
    for (auto& [f, v] : cases[ci].fields) ev.add(f, v, 0);
    ref.begin(ev);
    pf.begin(ev);
    for (size_t i = 0; i < fx.ids.size(); ++i) {
      auto p = Predicate::make_atom(fx.ids[i]);
      EXPECT_EQ(ref.eval(p), bool(cases[ci].expect[i])) << "reference, case " << ci << " atom " << i;
      EXPECT_EQ(pf.eval(p), bool(cases[ci].expect[i])) << "prefilter, case " << ci << " atom " << i;
    }
  }
}

// Keyword atoms search raw-view fields only (view 0); a dataset view copy must not count.
TEST(EventMatcherPrefilter, KeywordIgnoresDatasetViews) {
  Fixture fx;
  for (int i = 0; i < 8; ++i) fx.add(atom("", AtomKind::keyword, "kw" + std::to_string(i)));
  EventMatcher ref(fx.table, off()), pf(fx.table, on(8));
  Record rec;
  Event ev;
  ev.reset(&rec);
  ev.add(field_id("Processes.process"), "run kw3", 1);
  ev.add(field_id("CommandLine"), "run KW5", 0);
  for (auto* m : {&ref, &pf}) {
    m->begin(ev);
    for (int i = 0; i < 8; ++i) EXPECT_EQ(m->eval(Predicate::make_atom(fx.ids[i])), i == 5) << i;
  }
}

// Keyword gates open from a scan for the gates' own literals; the scan for every keyword literal
// happens only in an event that tests a keyword atom, and then finds what the gate scan did not.
TEST(EventMatcherPrefilter, KeywordGatesScanForTheirLiteralsOnly) {
  if (!Prefilter::available()) GTEST_SKIP() << "built without Hyperscan";
  Fixture fx;
  for (int i = 0; i < 10; ++i) fx.add(atom("", AtomKind::keyword, "keyword" + std::to_string(i)));
  fx.add(atom("CommandLine", AtomKind::regex, "^x$"));
  EventMatcher pf(fx.table, on(8));
  // A rule of keywords 0 and 1 (gated on them), and one that tests keyword 5 or a regex: no gate.
  const auto gated = Predicate::make_or({Predicate::make_atom(fx.ids[0]), Predicate::make_atom(fx.ids[1])});
  const auto ungated = Predicate::make_or({Predicate::make_atom(fx.ids[5]), Predicate::make_atom(fx.ids.back())});
  const uint32_t gate = pf.add_gate(gated);
  ASSERT_NE(gate, EventMatcher::kNoGate);
  EXPECT_EQ(pf.add_gate(ungated), EventMatcher::kNoGate);
  Record rec;
  Event ev;
  auto event = [&](std::string_view text) {
    ev.reset(&rec);
    ev.add(field_id("Payload"), text, 0);
    pf.begin(ev);
    pf.open_gates();
  };
  // The first event builds the keyword group (the warm-up is 0 events), by scanning it whole.
  event("keyword0");
  EXPECT_TRUE(pf.gate_open(gate));
  EXPECT_EQ(pf.stats().keyword_scans, 1u);
  // Keyword 5 only: the gate stays shut, and no event-wide scan for all ten literals was made.
  event("a KEYWORD5 b");
  EXPECT_FALSE(pf.gate_open(gate));
  EXPECT_EQ(pf.stats().keyword_scans, 1u);
  // The ungated rule tests keyword 5: the whole group is scanned now, and keyword 5 is found.
  EXPECT_TRUE(pf.eval(ungated));
  EXPECT_EQ(pf.stats().keyword_scans, 2u);
  EXPECT_EQ(pf.stats().atom_tests, 1u);  // keyword 5 confirmed; the regex was not needed
  // Keyword 1: the gate opens, the rule matches; keyword 0's atom is ruled out without a test.
  event("xx keyword1");
  EXPECT_TRUE(pf.gate_open(gate));
  EXPECT_TRUE(pf.eval(gated));
  EXPECT_EQ(pf.stats().keyword_scans, 3u);
  EXPECT_EQ(pf.stats().atom_tests, 2u);
  // Neither: nothing opens, nothing is scanned for all keywords, nothing tested.
  event("keyword");
  EXPECT_FALSE(pf.gate_open(gate));
  EXPECT_EQ(pf.stats().keyword_scans, 3u);
  EXPECT_EQ(pf.stats().atom_tests, 2u);
  // A gate added later (a rule of keyword 7) is in the database from then on.
  const uint32_t later = pf.add_gate(Predicate::make_atom(fx.ids[7]));
  event("keyword7!");
  EXPECT_TRUE(pf.gate_open(later));
  EXPECT_FALSE(pf.gate_open(gate));
  EXPECT_EQ(pf.stats().keyword_scans, 3u);
}

// When no literal of a group occurs, the prefilter decides every atom without a test.
TEST(EventMatcherPrefilter, SkipsTestsWhenNothingCanMatch) {
  if (!Prefilter::available()) GTEST_SKIP() << "built without Hyperscan";
  Fixture fx;
  for (int i = 0; i < 10; ++i) fx.add(atom("CommandLine", AtomKind::contains, "needle" + std::to_string(i)));
  EventMatcher ref(fx.table, off()), pf(fx.table, on(8));
  Record rec;
  Event ev;
  ev.reset(&rec);
  ev.add(field_id("CommandLine"), "a long command line with no such word ... needle", 0);
  ref.begin(ev);
  pf.begin(ev);
  for (auto id : fx.ids) {
    EXPECT_FALSE(ref.eval(Predicate::make_atom(id)));
    EXPECT_FALSE(pf.eval(Predicate::make_atom(id)));
  }
  EXPECT_EQ(ref.stats().atom_tests, 10u);
  EXPECT_EQ(pf.stats().atom_tests, 0u);
  EXPECT_EQ(pf.stats().prefilter_rejects, 10u);
  EXPECT_EQ(pf.stats().scans, 1u);  // one value, scanned once for the ten atoms
  // needle7 present: exactly that atom is confirmed by a test.
  ev.reset(&rec);
  ev.add(field_id("CommandLine"), "x NEEDLE7 y", 0);
  pf.begin(ev);
  for (size_t i = 0; i < fx.ids.size(); ++i) EXPECT_EQ(pf.eval(Predicate::make_atom(fx.ids[i])), i == 7);
  EXPECT_EQ(pf.stats().atom_tests, 1u);
}

// Before the warm-up is over every atom is tested; afterwards only the prefilter's hits.
TEST(EventMatcherPrefilter, WarmUpThenFilter) {
  if (!Prefilter::available()) GTEST_SKIP() << "built without Hyperscan";
  Fixture fx;
  for (int i = 0; i < 8; ++i) fx.add(atom("Image", AtomKind::ends_with, "\\tool" + std::to_string(i) + ".exe"));
  EventMatcher pf(fx.table, on(8, 3));
  Record rec;
  Event ev;
  ev.reset(&rec);
  ev.add(field_id("Image"), "C:\\tool3.exe", 0);
  std::vector<uint64_t> tests;
  for (int e = 0; e < 5; ++e) {
    pf.begin(ev);
    for (size_t i = 0; i < fx.ids.size(); ++i) EXPECT_EQ(pf.eval(Predicate::make_atom(fx.ids[i])), i == 3);
    tests.push_back(pf.stats().atom_tests);
  }
  // Events 1-3: 8 tests each (warm-up); events 4-5: only tool3's hit is tested.
  EXPECT_EQ(tests, (std::vector<uint64_t>{8, 16, 24, 25, 26}));
}

// The matchers of one engine's workers share their groups: the warm-up counts the events of all of
// them, and a group one of them had built filters at once in the others.
TEST(EventMatcherPrefilter, WorkersShareOneWarmUp) {
  if (!Prefilter::available()) GTEST_SKIP() << "built without Hyperscan";
  Fixture fx;
  for (int i = 0; i < 8; ++i) fx.add(atom("Image", AtomKind::ends_with, "\\tool" + std::to_string(i) + ".exe"));
  auto shared = EventMatcher::share(fx.table, on(8, 3));
  EventMatcher a(shared), b(shared), c(shared);
  Record rec;
  Event ev;
  ev.reset(&rec);
  ev.add(field_id("Image"), "C:\\tool3.exe", 0);
  auto event_in = [&](EventMatcher& m) {
    m.begin(ev);
    for (size_t i = 0; i < fx.ids.size(); ++i) EXPECT_EQ(m.eval(Predicate::make_atom(fx.ids[i])), i == 3);
    return m.stats().atom_tests;
  };
  // Three events of the warm-up, spread over two workers: 8 tests each.
  EXPECT_EQ(event_in(a), 8u);
  EXPECT_EQ(event_in(b), 8u);
  EXPECT_EQ(event_in(a), 16u);
  // The fourth event, on b, ends the engine's warm-up: built, only tool3's hit is tested.
  EXPECT_EQ(event_in(b), 9u);
  EXPECT_EQ(event_in(a), 17u);
  // A worker with no event so far filters from its first.
  EXPECT_EQ(event_in(c), 1u);
  EXPECT_EQ(c.stats().scans, 1u);
}

// Below the threshold a group is tested directly; VIGIL_NO_PREFILTER turns it off, the
// other two variables override the numbers.
TEST(EventMatcherPrefilter, ThresholdAndEnvironmentSwitch) {
  Fixture fx;
  for (int i = 0; i < 5; ++i) fx.add(atom("Image", AtomKind::contains, "x" + std::to_string(i)));
  EXPECT_EQ(EventMatcher(fx.table, on(8)).prefilter_groups(), 0u);
  EXPECT_EQ(EventMatcher(fx.table, on(5)).prefilter_groups(), Prefilter::available() ? 1u : 0u);
  setenv("VIGIL_NO_PREFILTER", "1", 1);
  EXPECT_FALSE(EventMatcher::Options::from_env().prefilter);
  setenv("VIGIL_NO_PREFILTER", "0", 1);
  EXPECT_TRUE(EventMatcher::Options::from_env().prefilter);
  unsetenv("VIGIL_NO_PREFILTER");
  EXPECT_TRUE(EventMatcher::Options::from_env().prefilter);
  setenv("VIGIL_PREFILTER_MIN_ATOMS", "5", 1);
  setenv("VIGIL_PREFILTER_WARMUP", "0", 1);
  EXPECT_EQ(EventMatcher::Options::from_env().min_group_atoms, 5u);
  EXPECT_EQ(EventMatcher::Options::from_env().warmup_events, 0u);
  unsetenv("VIGIL_PREFILTER_MIN_ATOMS");
  unsetenv("VIGIL_PREFILTER_WARMUP");
  EXPECT_EQ(EventMatcher::Options::from_env().min_group_atoms, 8u);  // the documented defaults
  EXPECT_EQ(EventMatcher::Options::from_env().warmup_events, 256u);
}

// A verdict, a pattern found or an open gate is of one event: an atom tested, or a gate opened, in
// the first event and not again until many events later says nothing of those events, and a
// literal found again later is found again. (The matcher stamps verdicts and gates with a counter
// that wraps every 127 events: event 127 is where the first event's stamps would be read as new.)
// Expected by hand: "C:\\tool.exe" contains "tool" (events 0, 128, 300); "C:\\other.exe" does not.
TEST(EventMatcherPrefilter, VerdictsAndGatesLastOneEventHoweverManyFollow) {
  Fixture fx;
  fx.add(atom("Image", AtomKind::contains, "tool"));
  const auto rule = Predicate::make_atom(fx.ids[0]);
  for (bool prefilter : {true, false}) {
    EventMatcher m(fx.table, prefilter ? on(1) : off());
    const uint32_t gate = m.add_gate(rule);
    const bool gated = gate != EventMatcher::kNoGate;
    if (prefilter && Prefilter::available()) {
      EXPECT_TRUE(gated);
    }
    Record rec;
    Event ev;
    for (int k = 0; k <= 300; ++k) {
      const bool tool = k == 0 || k == 128 || k == 300;
      ev.reset(&rec);
      ev.add(field_id("Image"), tool ? "C:\\tool.exe" : "C:\\other.exe", 0);
      m.begin(ev);
      if (m.gates()) m.open_gates();
      if (gated) {
        EXPECT_EQ(m.gate_open(gate), tool) << "event " << k;
      }
      // Tested only now and then, so that a verdict would have to last to be read again.
      if (tool || k % 127 == 0 || k == 254) {
        EXPECT_EQ(m.eval(rule), tool) << "event " << k << " prefilter " << prefilter;
      }
    }
  }
}

// The keyword text (every raw value joined, for the keyword gates' scan) copies short values
// sixteen bytes at a time: a value is read only within its own memory page, the bytes read past a
// value's end are never part of the text, and the text grows past its first room keeping what it
// had. Values here end right against a page no read may touch.
TEST(EventMatcherPrefilter, KeywordTextIsTheValuesJoinedAndReadsOnlyThem) {
  if (!Prefilter::available()) GTEST_SKIP() << "built without Hyperscan";
  const size_t page = size_t(sysconf(_SC_PAGESIZE));
  char* map = static_cast<char*>(mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(map, MAP_FAILED);
  struct Unmap {
    char* at;
    size_t size;
    ~Unmap() { munmap(at, size); }
  } unmap{map, 2 * page};
  ASSERT_EQ(mprotect(map + page, page, PROT_NONE), 0);
  // A text ending where the readable page ends.
  auto at_edge = [&](std::string_view text) {
    char* p = map + page - text.size();
    std::memcpy(p, text.data(), text.size());
    return std::string_view(p, text.size());
  };
  Fixture fx;
  fx.add(atom("", AtomKind::keyword, "mimikatz"));
  fx.add(atom("", AtomKind::keyword, "sekurlsa"));
  EventMatcher pf(fx.table, on(1));
  const auto mimikatz = Predicate::make_atom(fx.ids[0]), sekurlsa = Predicate::make_atom(fx.ids[1]);
  const uint32_t g_mimi = pf.add_gate(mimikatz), g_seku = pf.add_gate(sekurlsa);
  ASSERT_NE(g_mimi, EventMatcher::kNoGate);
  ASSERT_NE(g_seku, EventMatcher::kNoGate);
  Record rec;
  Event ev;
  auto check = [&](const std::vector<std::string_view>& values, bool mimi, bool seku, const std::string& what) {
    ev.reset(&rec);
    for (size_t i = 0; i < values.size(); ++i) ev.add(field_id("F" + std::to_string(i)), values[i], 0);
    pf.begin(ev);
    pf.open_gates();
    EXPECT_EQ(pf.gate_open(g_mimi), mimi) << what;
    EXPECT_EQ(pf.gate_open(g_seku), seku) << what;
    EXPECT_EQ(pf.eval(mimikatz), mimi) << what;
    EXPECT_EQ(pf.eval(sekurlsa), seku) << what;
  };
  // Every length from 0 to 40 against the edge, alone and after another value: no fault.
  for (size_t n = 0; n <= 40; ++n) {
    const std::string text = n >= 8 ? std::string(n - 8, 'x') + "mimikatz" : std::string(n, 'm');
    check({at_edge(text)}, n >= 8, false, "alone, length " + std::to_string(n));
    check({"a", at_edge(text)}, n >= 8, false, "second, length " + std::to_string(n));
  }
  // The bytes after a value's end are not its: "mimik" viewed out of "mimikatz", then "sekurlsa"
  // whose first bytes a copy of sixteen would have written over had the text not moved past "mimik".
  const std::string backing = "mimikatz sekurlsa";
  check({std::string_view(backing).substr(0, 5), std::string_view(backing).substr(5, 3)}, false, false,
        "a literal whose pieces are two values");
  check({std::string_view(backing).substr(0, 5), at_edge("sekurlsa")}, false, true, "a view's tail is not read");
  // Several pages of values, the literal in the last: the text grows and keeps its start.
  std::vector<std::string> many(400, std::string(29, 'v'));
  many.back() = "then sekurlsa::logonpasswords";
  many[0] = "mimikatz first";
  std::vector<std::string_view> views(many.begin(), many.end());
  check(views, true, true, "400 values, the literals first and last");
  many[0] = "nothing first";
  views.assign(many.begin(), many.end());
  check(views, false, true, "the next event's text is its own");
  check({}, false, false, "no values");
}

// open_gates() reaches a group that filters through the event's fields, and looks at the others
// (still warming up) every event: the gates say the same before and after a group starts to filter,
// with its field absent, present or repeated, and for gates added once it filters, on its field or
// on a new one. (That an absent field now costs no call is what the instruction counts measure.)
TEST(EventMatcherPrefilter, GatesOpenAlikeBeforeAndAfterTheirGroupFilters) {
  if (!Prefilter::available()) GTEST_SKIP() << "built without Hyperscan";
  Fixture fx;
  fx.add(atom("Image", AtomKind::contains, "tool"));
  fx.add(atom("Image", AtomKind::contains, "other"));
  fx.add(atom("CommandLine", AtomKind::contains, "-enc"));
  EventMatcher pf(fx.table, on(1, 2));  // a group filters once it has been asked about in 2 events
  const uint32_t g_tool = pf.add_gate(Predicate::make_atom(fx.ids[0]));
  ASSERT_NE(g_tool, EventMatcher::kNoGate);
  uint32_t g_other = EventMatcher::kNoGate, g_enc = EventMatcher::kNoGate;
  Record rec;
  Event ev;
  int n = 0;
  // (field, value) pairs; then whether each gate is open (a gate not made yet is not asked).
  auto event = [&](std::vector<std::pair<const char*, const char*>> fields, bool tool, bool other, bool enc) {
    ++n;
    ev.reset(&rec);
    for (auto& [f, v] : fields) ev.add(field_id(f), v, 0);
    pf.begin(ev);
    pf.open_gates();
    EXPECT_EQ(pf.gate_open(g_tool), tool) << "event " << n;
    if (g_other != EventMatcher::kNoGate) {
      EXPECT_EQ(pf.gate_open(g_other), other) << "event " << n;
    }
    if (g_enc != EventMatcher::kNoGate) {
      EXPECT_EQ(pf.gate_open(g_enc), enc) << "event " << n;
    }
  };
  // Warming up, the Image group filters nothing: its gate is open whatever the event.
  event({{"User", "x"}}, true, false, false);
  event({{"Image", "C:\\else.exe"}}, true, false, false);
  // From the third event it filters: closed without Image, open when one of two Images has it.
  event({{"User", "x"}}, false, false, false);
  event({{"User", "y"}}, false, false, false);
  event({{"Image", "C:\\x.exe"}, {"Image", "C:\\tool.exe"}}, true, false, false);
  event({{"Image", "C:\\else.exe"}}, false, false, false);
  // Gates added now: on the Image group (filtering already) and on a new CommandLine group.
  g_other = pf.add_gate(Predicate::make_atom(fx.ids[1]));
  g_enc = pf.add_gate(Predicate::make_atom(fx.ids[2]));
  ASSERT_NE(g_other, EventMatcher::kNoGate);
  ASSERT_NE(g_enc, EventMatcher::kNoGate);
  event({{"Image", "other.exe"}, {"CommandLine", "plain"}}, false, true, true);  // CommandLine warming up
  event({{"Image", "tool.exe"}}, true, false, true);
  event({{"CommandLine", "x -enc y"}}, false, false, true);  // CommandLine filters from here
  event({{"CommandLine", "plain"}, {"Image", "other"}}, false, true, false);
  event({{"User", "z"}}, false, false, false);
}

// Streams whose filters need the same literals share one gate, so that a literal found stamps it
// once, not once per stream (both corpora: 3,822 gates where there were 6,195, and the common
// literals' gates were the shared ones: 19 times fewer stamps per event).
// The same literals in another order, or reached by another atom kind with the same literal
// (contains "tool" and the glob *tool*), are the same gate; one literal more or less is another
// gate. Each opens exactly as before.
TEST(EventMatcherPrefilter, FiltersNeedingTheSameLiteralsShareAGate) {
  if (!Prefilter::available()) GTEST_SKIP() << "built without Hyperscan";
  Fixture fx;
  fx.add(atom("Image", AtomKind::contains, "tool"));       // 0
  fx.add(atom("Image", AtomKind::wildcard, "*tool*"));     // 1: the same literal as 0
  fx.add(atom("CommandLine", AtomKind::contains, "-enc"));  // 2
  fx.add(atom("Image", AtomKind::ends_with, "tool"));       // 3: anchored, another pattern
  EventMatcher pf(fx.table, on(1, 0));
  auto a = [&](size_t i) { return Predicate::make_atom(fx.ids[i]); };
  const uint32_t g_either = pf.add_gate(Predicate::make_or({a(0), a(2)}));
  ASSERT_NE(g_either, EventMatcher::kNoGate);
  EXPECT_EQ(pf.add_gate(Predicate::make_or({a(2), a(0)})), g_either);
  EXPECT_EQ(pf.add_gate(Predicate::make_or({a(2), a(1)})), g_either);
  const uint32_t g_tool = pf.add_gate(a(0));
  EXPECT_NE(g_tool, g_either);
  EXPECT_EQ(pf.add_gate(a(1)), g_tool);
  const uint32_t g_end = pf.add_gate(a(3));
  EXPECT_NE(g_end, g_tool);
  EXPECT_NE(g_end, g_either);
  EXPECT_EQ(pf.gates(), 3u);
  Record rec;
  Event ev;
  // (field, value) pairs; then whether each of the three gates is open.
  auto event = [&](std::vector<std::pair<const char*, const char*>> fields, bool either, bool tool, bool end) {
    ev.reset(&rec);
    for (auto& [f, v] : fields) ev.add(field_id(f), v, 0);
    pf.begin(ev);
    pf.open_gates();
    EXPECT_EQ(pf.gate_open(g_either), either) << fields.size();
    EXPECT_EQ(pf.gate_open(g_tool), tool);
    EXPECT_EQ(pf.gate_open(g_end), end);
  };
  event({{"Image", "C:\\tool.exe"}}, true, true, false);
  event({{"Image", "C:\\mytool"}}, true, true, true);
  event({{"CommandLine", "x -enc y"}}, true, false, false);
  event({{"Image", "C:\\else.exe"}, {"CommandLine", "plain"}}, false, false, false);
}

// A scan's cost grows with the group's database, so a larger group keeps more of the values it
// scanned: 1,000 command lines seen twice are mostly recalled by a group of 3,000 literals (4,096
// slots, two ways per hash: with ~0.5 values per pair, ~3% are pushed out by a third value in the
// first pass and about as many again by the second pass's scans: ~94% expected, 90% asserted), and
// a group of 8 (256 slots) can hold at most 256 of them. Recalled or scanned, every answer is the
// reference's.
TEST(EventMatcherPrefilter, ALargerGroupRecallsMoreOfTheValuesItScanned) {
  if (!Prefilter::available()) GTEST_SKIP() << "built without Hyperscan";
  auto lit = [](int i) { return "word" + std::to_string(i) + "x"; };  // `x` ends it: word1x is not in word12x
  Fixture big, small;
  for (int i = 0; i < 3000; ++i) big.add(atom("CommandLine", AtomKind::contains, lit(i)));
  for (int i = 0; i < 8; ++i) small.add(atom("CommandLine", AtomKind::contains, lit(i)));
  EventMatcher ref(big.table, off()), pf_big(big.table, on(1)), pf_small(small.table, on(1));
  const int kValues = 1000;
  Record rec;
  Event ev;
  auto pass = [&] {
    for (int k = 0; k < kValues; ++k) {
      const std::string cmd = "cmd.exe /c run " + std::to_string(k) + " " + lit(2 * k);
      ev.reset(&rec);
      ev.add(field_id("CommandLine"), cmd, 0);
      ref.begin(ev);
      pf_big.begin(ev);
      pf_small.begin(ev);
      for (int i : {2 * k, 2 * k + 1, 2 * k + 2}) {
        const auto p = Predicate::make_atom(big.ids[size_t(i)]);
        const bool want = ref.eval(p);
        EXPECT_EQ(want, i == 2 * k) << cmd;  // the reference path, against the hand-made value
        EXPECT_EQ(pf_big.eval(p), want) << cmd << " " << lit(i);
      }
      for (int i = 0; i < 8; ++i)
        EXPECT_EQ(pf_small.eval(Predicate::make_atom(small.ids[size_t(i)])), i == 2 * k) << cmd;
    }
  };
  pass();
  EXPECT_EQ(pf_big.stats().values_recalled, 0u);  // every value new
  EXPECT_EQ(pf_big.stats().scans, uint64_t(kValues));
  pass();
  const uint64_t big_recalled = pf_big.stats().values_recalled, small_recalled = pf_small.stats().values_recalled;
  EXPECT_GE(big_recalled, uint64_t(kValues) * 9 / 10) << big_recalled;
  EXPECT_LE(small_recalled, 256u) << small_recalled;  // its capacity
  EXPECT_EQ(pf_big.stats().scans, uint64_t(2 * kValues));
}

// open_gates(need) scans only the groups set in `need` (the engine: those of the streams the event
// can visit): a gate whose groups are all in it opens exactly as without `need`; a gate outside it
// stays closed; an atom of a group left unscanned still tests true when its literal is there.
TEST(EventMatcherPrefilter, OnlyTheNeededGroupsAreScanned) {
  if (!Prefilter::available()) GTEST_SKIP() << "built without Hyperscan";
  Fixture fx;
  fx.add(atom("Image", AtomKind::contains, "tool"));        // 0
  fx.add(atom("CommandLine", AtomKind::contains, "-enc"));  // 1
  fx.add(atom("Image", AtomKind::contains, "other"));       // 2
  fx.add(atom("CommandLine", AtomKind::contains, "-nop"));  // 3
  fx.add(atom("", AtomKind::keyword, "mimikatz"));          // 4
  EventMatcher m(fx.table, on(1));
  auto a = [&](int i) { return Predicate::make_atom(fx.ids[size_t(i)]); };
  const uint32_t g_img = m.add_gate(a(0)), g_cli = m.add_gate(a(1)), g_kw = m.add_gate(a(4));
  const uint32_t g_or = m.add_gate(Predicate::make_or({a(2), a(3)}));  // reads both fields' groups
  for (uint32_t g : {g_img, g_cli, g_kw, g_or}) ASSERT_NE(g, EventMatcher::kNoGate);
  auto bits = [&](std::initializer_list<uint32_t> gates) {
    std::vector<uint64_t> b;
    for (uint32_t g : gates) m.add_gate_groups(g, b);
    return b;
  };
  const auto img = bits({g_img}), cli = bits({g_cli}), kw = bits({g_kw}), both = bits({g_or});
  EXPECT_EQ(img, bits({g_img, g_img}));
  EXPECT_NE(img, cli);
  EXPECT_NE(img, kw);
  EXPECT_EQ(both, bits({g_img, g_cli}));  // g_or's atoms are in the Image and the CommandLine groups
  std::vector<uint64_t> none;
  m.add_gate_groups(m.always_open_gate(), none);
  EXPECT_TRUE(none.empty());
  Record rec;
  Event ev;
  // Per event: whether its Image has "tool", its CommandLine "-enc", a value "mimikatz", its Image
  // "other", its CommandLine "-nop". The gates without `need` first, then with each mask: a gate
  // outside the mask stays closed, except one sharing a scanned group (g_or opens from the Image
  // group's scan when Image has "other", whichever group the mask was asked for).
  auto event = [&](std::vector<std::pair<const char*, const char*>> fields, std::array<bool, 5> has) {
    auto begin = [&] {
      ev.reset(&rec);
      for (auto& [f, v] : fields) ev.add(field_id(f), v, 0);
      m.begin(ev);
    };
    auto gates = [&] {
      return std::array<bool, 4>{m.gate_open(g_img), m.gate_open(g_cli), m.gate_open(g_kw), m.gate_open(g_or)};
    };
    const bool any_or = has[3] || has[4];
    begin();
    m.open_gates();
    EXPECT_EQ(gates(), (std::array<bool, 4>{has[0], has[1], has[2], any_or})) << fields.size();
    const std::vector<std::pair<const std::vector<uint64_t>*, std::array<bool, 4>>> masks = {
        {&img, {has[0], false, false, has[3]}},
        {&cli, {false, has[1], false, has[4]}},
        {&kw, {false, false, has[2], false}},
        {&both, {has[0], has[1], false, any_or}},
    };
    for (auto& [mask, want] : masks) {
      begin();
      m.open_gates(mask->data(), mask->size());
      EXPECT_EQ(gates(), want) << fields.size();
      // The atoms of the groups left unscanned are still tested right (their group scanned lazily).
      EXPECT_EQ(m.eval(a(0)), has[0]);
      EXPECT_EQ(m.eval(a(1)), has[1]);
      EXPECT_EQ(m.eval(a(4)), has[2]);
      EXPECT_EQ(m.eval(Predicate::make_or({a(2), a(3)})), any_or);
    }
    // A mask shorter than the groups counts the groups past its end as needed.
    begin();
    m.open_gates(img.data(), 0);
    EXPECT_EQ(gates(), (std::array<bool, 4>{has[0], has[1], has[2], any_or}));
  };
  event({{"Image", "C:\\tool.exe"}, {"CommandLine", "tool -enc x"}, {"User", "mimikatz"}}, {true, true, true, false, false});
  event({{"Image", "C:\\other.exe"}}, {false, false, false, true, false});
  event({{"CommandLine", "x -nop"}}, {false, false, false, false, true});
  event({{"User", "nobody"}}, {false, false, false, false, false});
  event({{"Image", "tool"}, {"CommandLine", "-nop -enc"}}, {true, true, false, false, true});
}

// Two gated groups (Image "tool", CommandLine "-enc") that filter from their third event on, with
// each gate's mask for open_gates(need).
struct TwoWarmingGroups {
  Fixture fx;
  std::unique_ptr<EventMatcher> m;
  uint32_t g_img = 0, g_cli = 0;
  std::vector<uint64_t> img, cli;
  Record rec;
  Event ev;
  TwoWarmingGroups() {
    fx.add(atom("Image", AtomKind::contains, "tool"));
    fx.add(atom("CommandLine", AtomKind::contains, "-enc"));
    m = std::make_unique<EventMatcher>(fx.table, on(1, 2));
    g_img = m->add_gate(Predicate::make_atom(fx.ids[0]));
    g_cli = m->add_gate(Predicate::make_atom(fx.ids[1]));
    m->add_gate_groups(g_img, img);
    m->add_gate_groups(g_cli, cli);
  }
  // An event of one field, its gates opened for the groups in `need`.
  void event(const char* field, const char* value, const std::vector<uint64_t>& need) {
    ev.reset(&rec);
    ev.add(field_id(field), value, 0);
    m->begin(ev);
    m->open_gates(need.data(), need.size());
  }
};

// A group's warm-up counts the events that did not need it too: with a warm-up of two events, the
// third event filters (its gate closed without the literal) whether or not the first two scanned it.
TEST(EventMatcherPrefilter, WarmUpCountsEventsThatDidNotNeedTheGroup) {
  if (!Prefilter::available()) GTEST_SKIP() << "built without Hyperscan";
  for (bool needed_early : {true, false}) {
    TwoWarmingGroups t;
    auto event = [&](const std::vector<uint64_t>& need) {
      t.event("Image", "C:\\else.exe", need);
      return t.m->gate_open(t.g_img);
    };
    // Warming up, the Image group lets every event through when it is scanned.
    EXPECT_EQ(event(needed_early ? t.img : t.cli), needed_early);
    EXPECT_EQ(event(needed_early ? t.img : t.cli), needed_early);
    EXPECT_FALSE(event(t.img)) << (needed_early ? "needed early" : "not needed early");
  }
  // An event that skipped the group and then tests one of its atoms (the group scanned then) counts
  // once: the second event is still warming up, the third filters.
  TwoWarmingGroups t;
  auto event = [&](const std::vector<uint64_t>& need, bool test_cli) {
    t.event("CommandLine", "plain", need);
    if (test_cli) {
      EXPECT_FALSE(t.m->eval(Predicate::make_atom(t.fx.ids[1])));
    }
    return t.m->gate_open(t.g_cli);
  };
  EXPECT_FALSE(event(t.img, true));  // skipped: closed; its atom still tested (false)
  EXPECT_TRUE(event(t.cli, false));   // the group's second event: still warming up, open
  EXPECT_FALSE(event(t.cli, false));  // its third: filters
}

// A group no event needs is never built, and its warm-up count is shared by the workers (an atomic
// add on one line): counting stops once the count has reached the warm-up, and the group still
// filters from the first event that needs it, however long after.
TEST(EventMatcherPrefilter, WarmUpStopsCountingOnceReached) {
  if (!Prefilter::available()) GTEST_SKIP() << "built without Hyperscan";
  TwoWarmingGroups t;  // a warm-up of two events
  const std::vector<uint64_t> none = {0};
  for (int k = 0; k < 100; ++k) {
    t.event("Image", "C:\\else.exe", none);  // both groups skipped (counted until the warm-up is reached)
    EXPECT_FALSE(t.m->gate_open(t.g_img));
  }
  // Per group, two events reach the warm-up (counts 0 and 1); the third sees 2 and is the last
  // counted: 3 events for each of the two groups, not 100.
  EXPECT_EQ(t.m->stats().warm_up_counts, 6u);
  t.event("Image", "C:\\else.exe", t.img);
  EXPECT_FALSE(t.m->gate_open(t.g_img));  // built now: filters
  t.event("Image", "C:\\tool.exe", t.img);
  EXPECT_TRUE(t.m->gate_open(t.g_img));
}

// The engine gives a stream without a second gate (or without any) the always-open gate, and visits
// a stream when both its gates are open: that gate must be open in every event, from the one it was
// asked for in, across the wraps of the event counter, whatever the other gates do.
TEST(EventMatcherPrefilter, TheAlwaysOpenGateIsOpenInEveryEvent) {
  Fixture fx;
  fx.add(atom("Image", AtomKind::contains, "tool"));
  EventMatcher m(fx.table, on(1));
  const uint32_t tool = m.add_gate(Predicate::make_atom(fx.ids[0]));
  Record rec;
  Event ev;
  uint32_t always = EventMatcher::kNoGate;
  for (int k = 0; k < 400; ++k) {
    ev.reset(&rec);
    ev.add(field_id("Image"), k % 50 == 0 ? "C:\\tool.exe" : "C:\\other.exe", 0);
    m.begin(ev);
    if (m.gates()) m.open_gates();
    if (k == 5) {
      always = m.always_open_gate();
      EXPECT_EQ(m.always_open_gate(), always);  // one gate, however often asked
      EXPECT_NE(always, tool);
    }
    if (always != EventMatcher::kNoGate) {
      EXPECT_TRUE(m.gate_open(always)) << "event " << k;
    }
    if (tool != EventMatcher::kNoGate) {
      EXPECT_EQ(m.gate_open(tool), k % 50 == 0) << "event " << k;
    }
  }
}

// Generated atoms and events over a small alphabet of pieces chosen to collide often
// (case variants, separators, NUL, UTF-8 bytes, newlines): every atom and random
// and/or/not trees must evaluate identically through both paths.
TEST(EventMatcherPrefilter, RandomizedEquivalence) {
  const std::vector<std::string> pieces = {"cmd", "CMD", ".exe", "\\", "/c", " ", "a", "A", std::string(1, '\0'),
                                           "\xC3\x84", "\xC3\xA4", "\xFF", "power", "Shell", "-enc", "\n", "x", "?"};
  std::mt19937 rng(12345);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  auto random_text = [&](size_t max_pieces) {
    std::string s;
    size_t n = pick(max_pieces + 1);
    for (size_t i = 0; i < n; ++i) s += pieces[pick(pieces.size())];
    return s;
  };
  const std::vector<std::string> fields = {"CommandLine", "Image", "ParentImage"};
  Fixture fx;
  const AtomKind kinds[] = {AtomKind::eq, AtomKind::contains, AtomKind::starts_with, AtomKind::ends_with,
                            AtomKind::wildcard, AtomKind::keyword, AtomKind::regex};
  for (int i = 0; i < 400; ++i) {
    AtomKind k = kinds[pick(std::size(kinds))];
    std::string v = random_text(3);
    if (k == AtomKind::wildcard) {  // sprinkle `*` and `?` between pieces
      std::string g;
      size_t n = 1 + pick(4);
      for (size_t j = 0; j < n; ++j) g += (pick(2) ? "*" : pick(2) ? "?" : "") + pieces[pick(pieces.size())];
      if (pick(2)) g += "*";
      v = g;
    } else if (k == AtomKind::regex) {
      v = "(?i)cmd|\\.exe$";
    }
    fx.add(atom(k == AtomKind::keyword ? "" : fields[pick(fields.size())], k, v, pick(4) == 0));
  }
  // Trees over random atoms, exercising the memo + prefilter interplay.
  std::vector<Predicate> trees;
  for (int t = 0; t < 200; ++t) {
    std::vector<Predicate> kids;
    for (size_t j = 0; j < 2 + pick(4); ++j) {
      auto p = Predicate::make_atom(fx.ids[pick(fx.ids.size())]);
      kids.push_back(pick(3) == 0 ? Predicate::make_not(std::move(p)) : std::move(p));
    }
    trees.push_back(pick(2) ? Predicate::make_and(std::move(kids)) : Predicate::make_or(std::move(kids)));
  }
  // Deeper trees of those (an AND of ORs, a NOT of an AND …): the flat form skips whole subtrees.
  for (int t = 0; t < 100; ++t) {
    std::vector<Predicate> kids;
    for (size_t j = 0; j < 2 + pick(3); ++j) {
      Predicate p = trees[pick(trees.size())];
      kids.push_back(pick(4) == 0 ? Predicate::make_not(std::move(p)) : std::move(p));
    }
    trees.push_back(pick(2) ? Predicate::make_and(std::move(kids)) : Predicate::make_or(std::move(kids)));
  }
  // All of them in one flat array, as the engine lays out its streams' filters; evaluated by a
  // matcher of its own, so its verdicts are not the memo of another's.
  vigil::ir::FlatPredicates flat;
  std::vector<uint32_t> roots;
  for (auto& t : trees) roots.push_back(flat.add(t));
  EXPECT_EQ(flat.nodes[roots.back()].end, flat.nodes.size());
  EventMatcher pf_flat(fx.table, on(1));
  EventMatcher ref(fx.table, off());
  EventMatcher pf_all(fx.table, on(1));
  EventMatcher pf_default(fx.table, EventMatcher::Options{});  // threshold 8, warm-up 256 of 3000 events
  // Two matchers sharing compiled atoms and databases (as the engine's workers do): the second
  // finds each group built by the first (it starts at event 100) and only sizes its own scratch.
  auto shared = EventMatcher::share(fx.table, on(1, 5));
  EventMatcher sh_early(shared), sh_second(shared);
  if (Prefilter::available()) {
    EXPECT_EQ(pf_all.prefilter_groups(), 4u);  // three fields + keyword
    EXPECT_GT(pf_all.prefiltered_atoms(), 200u);  // ~3/4 of the non-regex atoms have a non-empty literal
  }
  // Gates: a gate closed in an event means its tree is false there (checked on every event).
  std::vector<uint32_t> gates_all, gates_default;
  // add_gates: one gate per gated operand of a top-level AND (two at most); every one of them
  // closed means the tree is false.
  std::vector<std::vector<uint32_t>> gate_sets;
  for (auto& t : trees) {
    gates_all.push_back(pf_all.add_gate(t));
    gates_default.push_back(pf_default.add_gate(t));
    gate_sets.push_back(pf_all.add_gates(t, 2));
  }
  size_t two_gates = 0, closed_second = 0;
  for (auto& gs : gate_sets) two_gates += gs.size() == 2;
  if (Prefilter::available()) {
    EXPECT_GT(two_gates, 5u);  // ANDs of two or more atoms with literals
  }
  size_t gated = 0, closed = 0;
  for (auto g : gates_all) gated += g != EventMatcher::kNoGate;
  if (Prefilter::available()) {
    EXPECT_GT(gated, 20u);  // ORs of negation-free atoms with literals
  }
  Record rec;
  Event ev;
  std::deque<std::string> values;  // deque: the event's views stay valid as values are added
  size_t positives = 0;
  for (int e = 0; e < 3000; ++e) {
    values.clear();
    ev.reset(&rec);
    for (auto& f : fields) {
      size_t copies = pick(5) == 0 ? 2 + pick(2) : pick(4) == 0 ? 0 : 1;  // absent, single or multivalue
      for (size_t c = 0; c < copies; ++c) {
        values.push_back(random_text(8));
        ev.add(field_id(f), values.back(), pick(5) == 0 ? 1 : 0);
      }
    }
    ref.begin(ev);
    pf_all.begin(ev);
    pf_default.begin(ev);
    sh_early.begin(ev);
    sh_second.begin(ev);
    pf_flat.begin(ev);
    pf_all.open_gates();
    pf_default.open_gates();
    // Interleave trees and single atoms so atoms are first met in varying order.
    for (size_t ti = 0; ti < trees.size(); ++ti) {
      auto& t = trees[ti];
      bool r = ref.eval(t);
      if (gates_all[ti] != EventMatcher::kNoGate && !pf_all.gate_open(gates_all[ti])) {
        ++closed;
        ASSERT_FALSE(r) << "gate closed on a matching event " << e << " tree " << ti;
      }
      if (gates_default[ti] != EventMatcher::kNoGate && !pf_default.gate_open(gates_default[ti])) {
        ASSERT_FALSE(r) << "gate closed on a matching event " << e << " tree " << ti;
      }
      for (size_t k = 0; k < gate_sets[ti].size(); ++k)
        if (!pf_all.gate_open(gate_sets[ti][k])) {
          closed_second += k == 1 && pf_all.gate_open(gate_sets[ti][0]);
          ASSERT_FALSE(r) << "gate " << k << " closed on a matching event " << e << " tree " << ti;
        }
      ASSERT_EQ(pf_flat.eval(flat, roots[ti]), r) << "flat, event " << e << " tree " << ti;
      ASSERT_EQ(pf_all.eval(t), r) << "event " << e;
      ASSERT_EQ(pf_default.eval(t), r) << "event " << e;
    }
    for (auto id : fx.ids) {
      auto p = Predicate::make_atom(id);
      bool r = ref.eval(p);
      positives += r;
      ASSERT_EQ(pf_all.eval(p), r) << "event " << e << " atom " << fx.table.describe(id);
      ASSERT_EQ(pf_default.eval(p), r) << "event " << e << " atom " << fx.table.describe(id);
      // The second shared matcher starts later: every group is already built when it needs it.
      ASSERT_EQ(sh_early.eval(p), r) << "event " << e << " atom " << fx.table.describe(id);
      if (e >= 100) {
        ASSERT_EQ(sh_second.eval(p), r) << "event " << e << " atom " << fx.table.describe(id);
      }
    }
  }
  // The alphabet is small, so matches are frequent; the check is not vacuous.
  EXPECT_GT(positives, 10000u);
  // The second gate decides events the first lets through.
  if (Prefilter::available()) {
    EXPECT_GT(closed_second, 100u);
  }
  if (Prefilter::available()) {
    EXPECT_EQ(sh_second.prefilter_groups(), 4u);
    EXPECT_GT(sh_second.stats().prefilter_rejects, 0u);  // it filtered with databases it did not build
    EXPECT_LT(sh_second.stats().atom_tests, ref.stats().atom_tests);
  }
  if (Prefilter::available()) {
    EXPECT_GT(pf_all.stats().prefilter_rejects, 0u);
    EXPECT_GT(closed, 10000u);  // gates do skip trees; each skip above was checked against the reference
  }
}

}  // namespace
}  // namespace vigil::match
