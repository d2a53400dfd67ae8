// Loads every Sigma rule under ../shared/corpus/sigma/rules* and asserts that
// at least 99% compile (the floor); prints the counts and each rejected
// rule's located reason. The rule count (3,777 files, one document each) was
// measured with `find ../shared/corpus/sigma/rules* -name '*.yml' | wc -l`.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace vigil::sigma
