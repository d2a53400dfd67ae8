// libFuzzer target for the Sigma loader: YAML -> detection, modifiers,
// condition parser, correlation -> compiled rules or located errors.
#include <cstdlib>
#include <string>

#include "fuzz_entry.h"
#include "ir/atom_table.h"
#include "sigma/sigma.h"

namespace {

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
  for (auto& r : rules)
    if (!r.parsed && r.reasons.empty()) std::abort();  // a rejection always says why
  return 0;
}
