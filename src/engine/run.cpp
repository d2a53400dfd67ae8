#include "engine/run.h"

#include <algorithm>
#include <cstdlib>

namespace vigil {

RunResult run_rules(const std::vector<const ir::CompiledRule*>& rules, const ir::AtomTable& atoms,
                    const Normalizer& normalizer, const std::vector<std::string>& inputs, const RunOptions& opts,
                    DiagnosticSink& diags) {
  RunResult res;
  FindingSink sink = opts.on_finding;
  if (!sink) sink = [&res](Finding&& f) { res.findings.push_back(std::move(f)); };
  res.engine = std::make_unique<Engine>(normalizer, atoms, rules, opts.engine, diags, std::move(sink));
  Engine& eng = *res.engine;
  // The engine's workers are the parallel part; the reader decodes on this thread.
  ReadOptions ro = opts.read;
  if (opts.engine.threads != 1) ro.threads = 1;
  read_inputs(inputs, ro, [&](const Record& r) {
    if (opts.accept && !opts.accept(r)) {
      ++res.filtered;
      return;
    }
    eng.process(r);
  }, diags, res.read);
  if (opts.on_read_done) opts.on_read_done();
  eng.finish();
  res.evaluated = eng.evaluated();
  return res;
}

std::vector<const ir::CompiledRule*> executable_rules(const RuleSet& rs) {
  std::vector<const ir::CompiledRule*> out;
  for (auto& r : rs.rules())
    if (r.parsed && r.executable && r.info.generate) out.push_back(&r);
  return out;
}

std::string default_data_dir() {
  if (const char* d = std::getenv("VIGIL_DATA"); d && *d) return d;
  return VIGIL_DATA_DIR;
}

}  // namespace vigil
