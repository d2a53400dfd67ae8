#include "engine/run.h"

#include <algorithm>
#include <cstdlib>

namespace vigil {

RunResult run_rules(const std::vector<const ir::CompiledRule*>& rules, const ir::AtomTable& atoms,
                    const Normalizer& normalizer, const std::vector<std::string>& inputs, const RunOptions& opts,
                    DiagnosticSink& diags) {
  RunResult res;
  res.engine = std::make_unique<Engine>(normalizer, atoms, rules, opts.engine, diags);
  Engine& eng = *res.engine;
  read_inputs(inputs, opts.read, [&](const Record& r) {
    if (opts.accept && !opts.accept(r)) {
      ++res.filtered;
      return;
    }
    eng.process(r);
  }, diags, res.read);
  res.findings = eng.finish();
  res.evaluated = eng.evaluated();
  return res;
}

std::vector<const ir::CompiledRule*> executable_rules(const RuleSet& rs) {
  std::vector<const ir::CompiledRule*> out;
  for (auto& r : rs.rules())
    if (r.parsed && r.executable) out.push_back(&r);
  return out;
}

std::string default_data_dir() {
  if (const char* d = std::getenv("VIGIL_DATA"); d && *d) return d;
  return VIGIL_DATA_DIR;
}

}  // namespace vigil
