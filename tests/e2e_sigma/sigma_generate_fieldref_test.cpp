// Sigma correlations' `generate` and `fieldref` with string modifiers, end to end on real EVTX.
//
// Data: ../shared/data/evtx-attack-samples/Execution (Sysmon process creation among others).
// Expected counts are computed here from the records as the readers deliver them (independently of
// the IR and the matcher): Sysmon EventID 1 events whose CommandLine contains / starts with / ends
// with their Image, case-insensitively (Sigma's default).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <unistd.h>

#include "core/strings.h"
#include "engine/rule_set.h"
#include "engine/run.h"
#include "ingest/reader.h"
#include "normalize/normalizer.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;
const std::string kShared = VIGIL_SHARED_DIR;
const std::string kExec = kShared + "/data/evtx-attack-samples/Execution";

fs::path write(const std::string& name, const std::string& text) {
  fs::path dir = fs::temp_directory_path() / ("vigil_sigma_gen_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / name) << text;
  return dir / name;
}

std::string base_rule(const std::string& id, const std::string& key) {
  return "title: Base " + id + "\nid: " + id + "\nname: base_" + id.substr(0, 8) +
         "\nstatus: test\nlevel: medium\nlogsource:\n  product: windows\n  category: process_creation\n"
         "detection:\n  selection:\n    " + key + ": Image\n  condition: selection\n";
}

struct Out {
  std::map<std::string, size_t> by_rule;
  size_t total = 0;
};

Out hunt(const std::vector<std::string>& rules) {
  DiagnosticSink diags(nullptr);
  RuleSet rs({"", VIGIL_DATA_DIR, false});
  rs.load(rules, diags);
  auto norm = Normalizer::load(std::string(VIGIL_DATA_DIR) + "/normalize");
  EXPECT_TRUE(norm.ok());
  RunOptions ro;
  ro.engine.now = 1.7e9;
  RunResult res = run_rules(executable_rules(rs), rs.atoms(), norm.value(), {kExec}, ro, diags);
  Out o;
  for (auto& f : res.findings) ++o.by_rule[f.rule->info.name], ++o.total;
  return o;
}

// Sysmon EID 1 records whose CommandLine relates to their Image as `how` says, case-insensitively.
size_t expected(const std::string& how) {
  size_t n = 0;
  DiagnosticSink diags(nullptr);
  ReadStats stats;
  read_inputs({kExec}, ReadOptions{}, [&](const Record& r) {
    if (r.system_value(sys::Channel) != "Microsoft-Windows-Sysmon/Operational" || r.system_value(sys::EventID) != "1")
      return;
    std::string cmd = to_lower(r.data_value("CommandLine")), img = to_lower(r.data_value("Image"));
    if (!r.find_data("CommandLine") || !r.find_data("Image")) return;
    bool ok = how == "contains"     ? cmd.find(img) != std::string::npos
              : how == "startswith" ? cmd.rfind(img, 0) == 0
                                    : cmd.size() >= img.size() && cmd.compare(cmd.size() - img.size(), img.size(), img) == 0;
    n += ok;
  }, diags, stats);
  return n;
}

TEST(SigmaFieldref, StringModifiersCompareWithTheOtherFieldsValue) {
  for (std::string how : {"contains", "startswith", "endswith"}) {
    size_t want = expected(how);
    fs::path rule = write("fieldref_" + how + ".yml", base_rule("11111111-1111-4111-8111-11111111111" + std::to_string(how.size() % 10),
                                                              "CommandLine|fieldref|" + how));
    Out o = hunt({rule.string()});
    EXPECT_EQ(o.total, want) << how;
    if (how != "endswith") {
      EXPECT_GT(want, 0u) << how;  // the data exercises the modifier
    }
  }
  // The modifier order `contains|fieldref` means the same.
  fs::path rev = write("fieldref_rev.yml", base_rule("22222222-2222-4222-8222-222222222222", "CommandLine|contains|fieldref"));
  EXPECT_EQ(hunt({rev.string()}).total, expected("contains"));
}

TEST(SigmaCorrelationGenerate, ReferencedRulesGiveFindingsOnlyWithGenerateTrue) {
  const std::string id = "33333333-3333-4333-8333-333333333333";
  fs::path base = write("gen_base.yml", base_rule(id, "CommandLine|fieldref|contains"));
  auto correlation = [&](const std::string& generate_line) {
    return write("gen_corr" + std::to_string(generate_line.size()) + ".yml",
                 "title: Many Image Runs\nid: 44444444-4444-4444-8444-44444444444" + std::to_string(generate_line.size() % 10) +
                     "\nstatus: test\nlevel: high\ncorrelation:\n  type: event_count\n  rules:\n    - " + id +
                     "\n  group-by:\n    - Computer\n  timespan: 1d\n  condition:\n    gte: 1\n" + generate_line);
  };
  Out alone = hunt({base.string()});
  const size_t n = alone.by_rule["Base " + id];
  ASSERT_GT(n, 0u);
  ASSERT_EQ(alone.total, n);

  Out gen_false = hunt({base.string(), correlation("  generate: false\n").string()});
  EXPECT_EQ(gen_false.by_rule.count("Base " + id), 0u);
  const size_t corr = gen_false.by_rule["Many Image Runs"];
  EXPECT_GT(corr, 0u);

  Out gen_default = hunt({base.string(), correlation("").string()});  // the specification's default: false
  EXPECT_EQ(gen_default.by_rule.count("Base " + id), 0u);
  EXPECT_EQ(gen_default.by_rule["Many Image Runs"], corr);

  Out gen_true = hunt({base.string(), correlation("  generate: true\n").string()});
  EXPECT_EQ(gen_true.by_rule["Base " + id], n);
  EXPECT_EQ(gen_true.by_rule["Many Image Runs"], corr);
}

}  // namespace
}  // namespace vigil
