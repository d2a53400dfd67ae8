// libFuzzer target for a query's whole path, as `vigil search` takes a user's query and a hunt a
// rule's search: macro expansion, parsing, lowering to filters and operators, then evaluation over
// the bundled sample logs with one worker (sample_events.h). The SPL target (spl_fuzz) stops at the
// parser; the operators, the functions and the engine's plans run here. Checked on every input: no
// crash or hang (and, in the fuzz build, no memory error); a query that does not compile says why;
// every record handed in is evaluated; writes stay refused (no --allow-writes).
#include <cstdlib>
#include <string>

#include "engine/rule_set.h"
#include "fuzz_entry.h"
#include "sample_events.h"

namespace {

// Inputs that compiled and ran (the replay test checks how many of the ESCU searches it feeds do).
size_t search_runs = 0;

}  // namespace

extern "C" int VIGIL_FUZZ_ENTRY(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;  // a query, not a document: long inputs only slow the campaign down
  const std::string query(reinterpret_cast<const char*>(data), size);
  vigil::DiagnosticSink diags(nullptr);
  diags.set_keep(false);
  // A set of its own per input: the atoms a query interns do not pile up over the campaign.
  vigil::RuleSet rs({"", VIGIL_DATA_DIR, false});
  vigil::ir::CompiledRule rule = rs.compile_query(query, diags);
  if (!rule.parsed || !rule.executable) {
    if (diags.errors() == 0 && rule.reasons.empty()) std::abort();  // refused without a reason
    return 0;
  }
  vigil::fuzzing::run_over_samples(rs.atoms(), {&rule}, diags);
  ++search_runs;
  return 0;
}
