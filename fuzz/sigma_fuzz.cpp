// libFuzzer target for the Sigma loader: YAML -> detection, modifiers,
// condition parser, correlation -> compiled rules or located errors; the
// rules that compile then run over the bundled sample logs (sample_events.h):
// their atoms compiled (regexes, prefilter literals) and matched, correlations
// aggregated.
#include <cstdlib>
#include <string>

#include "fuzz_entry.h"
#include "ir/atom_table.h"
#include "sample_events.h"
#include "sigma/sigma.h"

namespace {

// Inputs whose rules ran (the replay test checks how many of the Sigma rules it feeds do).
size_t sigma_runs = 0;

const vigil::sigma::Logsources& logsources() {
  static const vigil::sigma::Logsources ls = [] {
    auto r = vigil::sigma::Logsources::load(VIGIL_DATA_DIR);
    if (!r) std::abort();
    return std::move(r.value());
  }();
  return ls;
}

}  // namespace

extern "C" int VIGIL_FUZZ_ENTRY(const uint8_t* data, size_t size) {
  if (size > 256 * 1024) return 0;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  vigil::DiagnosticSink diags(nullptr);
  diags.set_keep(false);
  vigil::ir::AtomTable atoms;
  uint32_t next = 0;
  auto rules = vigil::sigma::load_file("fuzz.yml", text, atoms, logsources(), next, diags);
  std::vector<const vigil::ir::CompiledRule*> runnable;  // as executable_rules() picks them
  for (auto& r : rules) {
    if (!r.parsed && r.reasons.empty()) std::abort();  // a rejection always says why
    if (r.parsed && r.executable && r.info.generate) runnable.push_back(&r);
  }
  if (runnable.empty()) return 0;
  vigil::fuzzing::run_over_samples(atoms, std::move(runnable), diags);
  ++sigma_runs;
  return 0;
}
