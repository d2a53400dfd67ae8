// One indicator, two languages, one atom: a Sigma `Image|endswith: '\wmic.exe'` (process_creation,
// mapped to CIM) and an SPL `Processes.process_name=wmic.exe` (tstats WHERE) loaded into one RuleSet
// intern to the same AtomId, which then counts one reference per language.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "engine/rule_set.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

std::vector<ir::AtomId> atoms_of(const ir::CompiledRule& r) {
  std::vector<ir::AtomId> ids;
  for (auto& s : r.plan.streams) s.filter.collect_atoms(ids);
  return ids;
}

TEST(SharedAtom, SigmaEndswithAndSplProcessNameAreOneAtom) {
  fs::path dir = fs::temp_directory_path() / ("vigil_atoms_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "sigma.yml") << "title: WMIC\nid: 11111111-1111-1111-1111-111111111111\nlogsource:\n"
                                      "  category: process_creation\n  product: windows\ndetection:\n"
                                      "  sel:\n    Image|endswith: '\\wmic.exe'\n  condition: sel\nlevel: low\n";
  std::ofstream(dir / "escu.yml") << "name: WMIC SPL\nid: 2\ntype: TTP\ntags: {risk_score: 10}\n"
                                     "search: '| tstats count from datamodel=Endpoint.Processes "
                                     "where Processes.process_name=WMIC.EXE by Processes.dest'\n";
  DiagnosticSink diags(nullptr);
  RuleSet rs({"", VIGIL_DATA_DIR, false});
  rs.load({dir.string()}, diags);
  ASSERT_EQ(rs.rules().size(), 2u);
  ASSERT_EQ(rs.loaded(), 2u);
  const ir::CompiledRule* sigma = nullptr;
  const ir::CompiledRule* spl = nullptr;
  for (auto& r : rs.rules()) (r.info.language == ir::Language::sigma ? sigma : spl) = &r;
  auto spl_atoms = atoms_of(*spl);
  ASSERT_EQ(spl_atoms.size(), 1u);
  const ir::Atom& a = rs.atoms().get(spl_atoms[0]);
  EXPECT_EQ(field_names().name(a.field), "Processes.process_name");
  EXPECT_EQ(a.kind, ir::AtomKind::eq);
  EXPECT_FALSE(a.case_sensitive);
  auto sigma_atoms = atoms_of(*sigma);
  EXPECT_NE(std::find(sigma_atoms.begin(), sigma_atoms.end(), spl_atoms[0]), sigma_atoms.end());
  auto counts = rs.atoms().counts(spl_atoms[0]);
  EXPECT_EQ(counts.escu, 1u);
  EXPECT_EQ(counts.sigma, 1u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace vigil
