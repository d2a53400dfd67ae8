// Loads every Sigma rule under ../shared/corpus/sigma/rules* and asserts that
// at least 99% compile (the floor); prints the counts and each rejected
// rule's located reason. The rule count (3,777 files, one document each) was
// measured with `find ../shared/corpus/sigma/rules* -name '*.yml' | wc -l`.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "sigma/sigma.h"

namespace vigil::sigma {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(SigmaCorpus, AllRuleFoldersLoad) {
  auto ls = Logsources::load(VIGIL_DATA_DIR);
  ASSERT_TRUE(ls.ok()) << ls.error().message;
  const fs::path root = fs::path(VIGIL_SHARED_DIR) / "corpus" / "sigma";
  if (!fs::exists(root)) GTEST_SKIP() << "no shared corpus at " << root;

  ir::AtomTable atoms;
  DiagnosticSink diags(nullptr);
  diags.set_quiet(true);
  uint32_t next = 0;
  std::vector<ir::CompiledRule> rules;
  size_t files = 0;
  for (const auto& dir : fs::directory_iterator(root)) {
    if (!dir.is_directory() || dir.path().filename().string().rfind("rules", 0) != 0) continue;
    for (const auto& f : fs::recursive_directory_iterator(dir.path())) {
      if (!f.is_regular_file() || f.path().extension() != ".yml") continue;
      ++files;
      auto loaded = load_file(f.path().string(), slurp(f.path()), atoms, *ls, next, diags);
      for (auto& r : loaded) rules.push_back(std::move(r));
    }
  }
  LinkStats links = link_correlations(rules, atoms, diags);

  size_t parsed = 0, executable = 0, unmapped = 0, placeholder = 0;
  std::vector<const ir::CompiledRule*> rejected;
  for (const auto& r : rules) {
    if (!r.parsed) {
      rejected.push_back(&r);
      continue;
    }
    ++parsed;
    if (r.executable) ++executable;
    for (const auto& why : r.reasons) {
      if (why.find("no logsource mapping") != std::string::npos) ++unmapped;
      if (why.find("placeholder") != std::string::npos) ++placeholder;
    }
  }
  std::printf("sigma corpus: %zu files, %zu rules, %zu loaded (%.2f%%), %zu rejected; %zu executable, "
              "%zu without a logsource mapping, %zu reasons naming unconfigured placeholders; %zu atoms; "
              "%zu correlations\n",
              files, rules.size(), parsed, 100.0 * double(parsed) / double(rules.size()), rejected.size(), executable,
              unmapped, placeholder, atoms.size(), links.correlations);
  for (const auto* r : rejected)
    for (const auto& why : r->reasons) std::printf("  rejected: %s\n", why.c_str());

  EXPECT_EQ(files, 3777u);
  EXPECT_EQ(rules.size(), files);  // one rule document per file in this corpus
  EXPECT_GE(double(parsed), 0.99 * double(rules.size()));
  for (const auto* r : rejected) {
    EXPECT_FALSE(r->reasons.empty());
    EXPECT_GT(r->location.line, 0u) << r->info.file;  // every rejection is located
  }
}

// RuleSet compiles Sigma files on its parsing threads, each against atoms of its own, and adopts
// them into the corpus' table in file order (sigma::adopt). Over the whole corpus that must give
// what compiling every file straight into one table gives: the same atoms in the same order, each
// counted for as many rules, and the same predicates under the same rule indexes.
TEST(SigmaCorpus, RulesCompiledApartThenAdoptedAreThoseCompiledInPlace) {
  auto ls = Logsources::load(VIGIL_DATA_DIR);
  ASSERT_TRUE(ls.ok()) << ls.error().message;
  const fs::path root = fs::path(VIGIL_SHARED_DIR) / "corpus" / "sigma" / "rules";
  if (!fs::exists(root)) GTEST_SKIP() << "no shared corpus at " << root;
  std::vector<fs::path> files;
  for (const auto& f : fs::recursive_directory_iterator(root))
    if (f.is_regular_file() && f.path().extension() == ".yml") files.push_back(f.path());
  std::sort(files.begin(), files.end());

  DiagnosticSink diags(nullptr);
  diags.set_quiet(true);
  ir::AtomTable in_place, adopted;
  uint32_t next_in_place = 0, next_adopted = 0;
  std::vector<ir::CompiledRule> a, b;
  for (const auto& f : files) {
    const std::string text = slurp(f);
    for (auto& r : load_file(f.string(), text, in_place, *ls, next_in_place, diags)) a.push_back(std::move(r));
    ir::AtomTable own;
    uint32_t first = 0;
    auto apart = load_file(f.string(), text, own, *ls, first, diags);
    for (auto& r : adopt(std::move(apart), own, adopted, next_adopted)) b.push_back(std::move(r));
  }
  ASSERT_EQ(a.size(), files.size());  // one rule document per file in this corpus
  ASSERT_EQ(b.size(), a.size());
  EXPECT_EQ(next_adopted, next_in_place);
  ASSERT_EQ(adopted.size(), in_place.size());
  for (ir::AtomId id = 0; id < in_place.size(); ++id) {
    ASSERT_TRUE(adopted.get(id) == in_place.get(id)) << in_place.describe(id) << " vs " << adopted.describe(id);
    EXPECT_EQ(adopted.counts(id).sigma, in_place.counts(id).sigma) << in_place.describe(id);
  }
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(b[i].plan.streams.size(), a[i].plan.streams.size()) << a[i].info.file;
    for (size_t s = 0; s < a[i].plan.streams.size(); ++s) {
      std::vector<ir::AtomId> x, y;
      a[i].plan.streams[s].filter.collect_atoms(x);
      b[i].plan.streams[s].filter.collect_atoms(y);
      EXPECT_EQ(y, x) << a[i].info.file;
    }
  }
}

}  // namespace
}  // namespace vigil::sigma
