// RuleSet::load expands and parses each ESCU search on its loading threads, then compiles the rules
// in file order on one thread. Every rule of the ESCU endpoint corpus must come out as compiling its
// search alone gives (spl::compile_search over a macro table, lookup registry and atom table of the
// test's own): same parse verdict, reasons, macros, stages, streams, operators and filters.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "content/lookups.h"
#include "content/macros.h"
#include "engine/rule_set.h"
#include "spl/compile.h"

namespace vigil {
namespace {

// A filter as text, with its atoms' identities rather than their ids (the two atom tables number
// them differently).
std::string filter_text(const ir::Predicate& p, const ir::AtomTable& atoms) {
  std::string out(1, char('0' + int(p.op)));
  if (p.op == ir::Predicate::Op::atom) out += "{" + atoms.get(p.atom).key() + "}";
  if (p.children.empty()) return out;
  out += '(';
  for (auto& c : p.children) out += filter_text(c, atoms) + ",";
  return out + ')';
}

TEST(EscuLoadThreads, RulesParsedOnTheLoadingThreadsCompileAsTheirSearchAlone) {
  // Paths joined as paths: GCC 12 warns (-Warray-bounds, a false positive) on `string + "literal"` here.
  const std::filesystem::path corpus = std::filesystem::path(VIGIL_SHARED_DIR) / "corpus/security_content";
  DiagnosticSink diags(nullptr);
  RuleSet rs({corpus.string(), VIGIL_DATA_DIR, false});
  rs.load({(corpus / "detections/endpoint").string()}, diags);

  content::MacroTable macros;
  macros.load_file((std::filesystem::path(VIGIL_DATA_DIR) / "macros.yml").string(), diags);
  macros.load_dir((corpus / "macros").string(), diags);
  content::LookupRegistry lookups;
  lookups.load_dir((corpus / "lookups").string(), diags);
  ir::AtomTable atoms;
  const spl::CompileEnv env{&macros, &lookups, &atoms, false};

  size_t compared = 0, parsed = 0, filtered = 0;
  for (const ir::CompiledRule& r : rs.rules()) {
    if (r.info.language != ir::Language::escu || r.info.query.empty()) continue;
    SCOPED_TRACE(r.info.file);
    const spl::CompiledSearch alone = spl::compile_search(r.info.query, env);
    ++compared;
    ASSERT_EQ(r.parsed, alone.parsed);
    EXPECT_EQ(r.executable, alone.parsed && alone.executable);
    EXPECT_EQ(r.macros_used, alone.macros_used);
    if (!r.parsed) {  // a parse error's reason gains its line and column in the rule
      EXPECT_EQ(r.reasons.size(), alone.reasons.size());
      continue;
    }
    ++parsed;
    EXPECT_EQ(r.reasons, alone.reasons);
    ASSERT_EQ(r.stages.size(), alone.stages.size());
    for (size_t i = 0; i < r.stages.size(); ++i) {
      EXPECT_EQ(r.stages[i].command, alone.stages[i].command);
      EXPECT_EQ(r.stages[i].text, alone.stages[i].text);
      EXPECT_EQ(r.stages[i].has_predicate, alone.stages[i].has_predicate);
      EXPECT_EQ(filter_text(r.stages[i].predicate, rs.atoms()), filter_text(alone.stages[i].predicate, atoms));
    }
    ASSERT_EQ(r.plan.streams.size(), alone.plan.streams.size());
    for (size_t i = 0; i < r.plan.streams.size(); ++i) {
      EXPECT_EQ(r.plan.streams[i].operators.size(), alone.plan.streams[i].operators.size());
      const std::string f = filter_text(r.plan.streams[i].filter, rs.atoms());
      EXPECT_EQ(f, filter_text(alone.plan.streams[i].filter, atoms));
      if (r.plan.streams[i].filter.op == ir::Predicate::Op::atom || !r.plan.streams[i].filter.children.empty())
        ++filtered;
    }
  }
  // The endpoint corpus: ~1,600 ESCU detections, nearly all parsed, most with a filter on events.
  EXPECT_GT(compared, 1000u);
  EXPECT_GT(parsed, compared * 9 / 10);
  EXPECT_GT(filtered, parsed / 2);
}

}  // namespace
}  // namespace vigil
