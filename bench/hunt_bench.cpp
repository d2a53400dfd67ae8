// Hypothesis: with the shared atom memo and EventID/dataset bucketing, evaluating the whole
// endpoint corpus costs a small multiple of reading the logs, and adding Sigma's ~2,800
// executable Windows rules does not multiply the cost by the rule count.
// Scenario grid (one run, same input): ingest only | ingest + normalize | + 1,160 ESCU endpoint
// rules | + 2,800 Sigma rules | both. Input: ../shared/data/otrf (572,750 JSON events) by
// default, or the paths given. Reports events/s and each stage's ratio to ingest.
#include <chrono>
#include <cstdio>

#include "engine/rule_set.h"
#include "engine/run.h"
#include "normalize/normalizer.h"

using namespace vigil;

static double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int main(int argc, char** argv) {
  std::vector<std::string> inputs;
  for (int i = 1; i < argc; ++i) inputs.push_back(argv[i]);
  const std::string shared = VIGIL_SHARED_DIR;
  if (inputs.empty()) inputs.push_back(shared + "/data/otrf");
  DiagnosticSink diags(nullptr);
  diags.set_keep(false);
  auto norm = Normalizer::load(std::string(VIGIL_DATA_DIR) + "/normalize");
  if (!norm) return 1;

  double t = now();
  ReadStats rs0;
  uint64_t n = 0;
  read_inputs(inputs, {}, [&](const Record&) { ++n; }, diags, rs0);
  double ingest = now() - t;

  t = now();
  ReadStats rs1;
  Event ev;
  read_inputs(inputs, {}, [&](const Record& r) { norm->normalize(r, ev); }, diags, rs1);
  double normalize = now() - t;

  auto run = [&](const std::vector<std::string>& rule_paths, size_t& rule_count) {
    RuleSet set({shared + "/corpus/security_content", VIGIL_DATA_DIR, false});
    set.load(rule_paths, diags);
    auto rules = executable_rules(set);
    rule_count = rules.size();
    RunOptions ro;
    ro.engine.now = 1.7e9;
    double t0 = now();
    auto res = run_rules(rules, set.atoms(), norm.value(), inputs, ro, diags);
    return std::pair<double, size_t>(now() - t0, res.findings.size());
  };
  size_t escu_n = 0, sigma_n = 0, both_n = 0;
  auto [escu, escu_f] = run({shared + "/corpus/security_content/detections/endpoint"}, escu_n);
  auto [sigma, sigma_f] = run({shared + "/corpus/sigma/rules"}, sigma_n);
  auto [both, both_f] = run({shared + "/corpus/security_content/detections/endpoint", shared + "/corpus/sigma/rules"},
                            both_n);

  std::printf("input: %llu events\n", static_cast<unsigned long long>(n));
  std::printf("%-34s %10s %12s %10s\n", "scenario", "seconds", "events/s", "x ingest");
  auto line = [&](const char* name, double s) {
    std::printf("%-34s %10.2f %12.0f %10.2f\n", name, s, n / s, s / ingest);
  };
  line("ingest only", ingest);
  line("ingest + normalize", normalize);
  std::string e = "hunt ESCU endpoint (" + std::to_string(escu_n) + " rules)";
  std::string g = "hunt Sigma (" + std::to_string(sigma_n) + " rules)";
  std::string b = "hunt both (" + std::to_string(both_n) + " rules)";
  line(e.c_str(), escu);
  line(g.c_str(), sigma);
  line(b.c_str(), both);
  std::printf("findings: escu %zu, sigma %zu, both %zu\n", escu_f, sigma_f, both_f);
  return 0;
}
