// A regex atom's prefilter literal (core/regex.h required_literal, match/prefilter.h) on real data:
// every pattern of the Sigma corpus against every distinct value of the attack samples' events.
// Where PCRE2 finds a match, the literal is in the value; a literal that a matching value lacked
// would make the prefilter drop a true atom, so a rule would miss the event.
#include <gtest/gtest.h>

#include <set>
#include <utility>
#include <string>
#include <vector>

#include "core/regex.h"
#include "core/strings.h"
#include "engine/rule_set.h"
#include "ingest/reader.h"
#include "match/compiled_atom.h"
#include "match/prefilter.h"

namespace vigil {
namespace {

const std::string kSharedDir = VIGIL_SHARED_DIR;

// The Sigma corpus' regex atoms and every distinct non-empty value (up to 64 KB) of the attack
// samples' events: loaded and read once for the tests of this file.
struct RealData {
  std::vector<ir::Atom> regex_atoms;
  std::set<std::string> values;
};
const RealData& real_data() {
  static const RealData data = [] {
    RealData d;
    DiagnosticSink diags(nullptr);
    RuleSet rs({"", VIGIL_DATA_DIR, false});
    rs.load({kSharedDir + "/corpus/sigma/rules"}, diags);
    for (ir::AtomId id = 0; id < rs.atoms().size(); ++id)
      if (rs.atoms().get(id).kind == ir::AtomKind::regex) d.regex_atoms.push_back(rs.atoms().get(id));
    ReadStats stats;
    read_inputs({kSharedDir + "/data/evtx-attack-samples"}, ReadOptions{}, [&](const Record& r) {
      for (auto& f : r.data)
        if (!f.value.empty() && f.value.size() <= 65536) d.values.emplace(f.value);
    }, diags, stats);
    return d;
  }();
  return data;
}

TEST(RegexPrefilterLiteral, EveryMatchOfACorpusPatternInRealValuesHoldsItsLiteral) {
  struct Pattern {
    std::string text;
    Regex re;
    match::PrefilterPattern lit;
  };
  std::vector<Pattern> pats;
  const size_t regex_atoms = real_data().regex_atoms.size();
  for (const ir::Atom& a : real_data().regex_atoms) {
    auto c = match::CompiledAtom::compile(a);
    if (!c) continue;
    auto lit = match::necessary_literal(*c);
    auto re = Regex::compile(a.value);
    if (!lit || !re.ok()) continue;
    pats.push_back({a.value, std::move(re.value()), *lit});
  }
  // Sigma's windows rules have ~150 `re` values; most hold a run of 3 plain characters.
  ASSERT_GT(regex_atoms, 100u);
  EXPECT_GT(pats.size(), regex_atoms / 2);

  std::vector<std::string> values;
  for (auto& v : real_data().values)
    if (v.size() <= 8192) values.push_back(v);
  ASSERT_GT(values.size(), 5000u);

  size_t matches = 0;
  for (auto& p : pats)
    for (auto& v : values) {
      if (!p.re.search(v)) continue;
      ++matches;
      const std::string hay = p.lit.caseless ? to_lower(v) : v;
      EXPECT_NE(hay.find(p.lit.literal), std::string::npos)
          << "pattern " << p.text << " literal '" << p.lit.literal << "' value '" << v << "'";
    }
  // Real attack data matches some of the corpus' patterns (encoded PowerShell, obfuscation, ...).
  EXPECT_GT(matches, 20u);
}

// Regex::search answers long subjects with the engine its trial found faster (PCRE2 or the linear
// one), so both must answer alike: every regex of the Sigma corpus against every distinct value of
// the attack samples' events (script blocks, command lines, XML), and the values' long ones joined
// into subjects of kilobytes.
TEST(RegexEngines, EveryCorpusPatternGetsOneAnswerFromBothEnginesOnRealValues) {
  if (!Regex::compile("a")->linear()) GTEST_SKIP() << "built without the linear engine (Hyperscan)";
  std::vector<std::pair<std::string, Regex>> pats;
  for (const ir::Atom& a : real_data().regex_atoms) {
    auto re = Regex::compile(a.value);
    if (re.ok() && re->linear()) pats.emplace_back(a.value, std::move(re.value()));
  }
  ASSERT_GT(pats.size(), 100u);

  const std::set<std::string>& values = real_data().values;
  std::vector<std::string> subjects(values.begin(), values.end());
  std::string joined;
  for (auto& v : values)
    if (v.size() >= 64) {
      joined += v;
      joined += '\n';
      if (joined.size() >= 4096) subjects.push_back(std::exchange(joined, {}));
    }
  size_t long_ascii = 0;
  for (auto& v : subjects) long_ascii += v.size() >= Regex::kLongSubject && is_ascii(v);
  ASSERT_GT(long_ascii, 150u);

  size_t compared = 0, matched = 0;
  for (auto& [text, re] : pats)
    for (auto& v : subjects) {
      const auto pcre = re.search_on(Regex::Engine::pcre2, v);
      const auto lin = re.search_on(Regex::Engine::linear, v);
      if (!pcre || !lin) continue;
      ++compared;
      matched += *pcre;
      ASSERT_EQ(*pcre, *lin) << "pattern " << text << " value '" << v << "'";
    }
  EXPECT_GT(compared, pats.size() * 5000);
  EXPECT_GT(matched, 20u);  // real attack data matches some (encoded PowerShell, obfuscation, ...)
}

}  // namespace
}  // namespace vigil
