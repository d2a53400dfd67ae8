// libFuzzer target for a query's whole path, as `vigil search` takes a user's query and a hunt a
// rule's search: macro expansion, parsing, lowering to filters and operators, then evaluation over
// the bundled sample logs (samples/logs: Sysmon and Security XML, NXLog JSON) with one worker.
// The SPL target (spl_fuzz) stops at the parser; the operators, the functions and the engine's
// plans run here. Checked on every input: no crash or hang (and, in the fuzz build, no memory
// error); a query that does not compile says why; every record handed in is evaluated; writes
// stay refused (allow_writes off: `outputlookup`, `collect`, `map` … are compile errors or no-ops).
#include <cstdlib>
#include <string>

#include "engine/engine.h"
#include "engine/rule_set.h"
#include "engine/run.h"
#include "fuzz_entry.h"
#include "ingest/reader.h"
#include "ingest/record_batch.h"
#include "normalize/normalizer.h"

namespace {

struct Fixture {
  vigil::Normalizer norm;
  vigil::RecordBatch records;
};

const Fixture& fixture() {
  static const Fixture f = [] {
    auto norm = vigil::Normalizer::load(VIGIL_DATA_DIR "/normalize");
    if (!norm.ok()) std::abort();
    Fixture out{std::move(norm.value()), {}};
    vigil::DiagnosticSink diags(nullptr);
    diags.set_keep(false);
    vigil::ReadStats read;
    vigil::ReadOptions ro;
    ro.threads = 1;
    vigil::read_inputs({VIGIL_SOURCE_DIR "/samples/logs"}, ro, [&](const vigil::Record& r) { out.records.add(r); },
                       diags, read);
    if (out.records.size() == 0) std::abort();
    return out;
  }();
  return f;
}

// Inputs that compiled and ran (the replay test checks that the ESCU searches it feeds mostly do).
size_t search_runs = 0;

}  // namespace

extern "C" int VIGIL_FUZZ_ENTRY(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;  // a query, not a document: long inputs only slow the campaign down
  const Fixture& fx = fixture();
  const std::string query(reinterpret_cast<const char*>(data), size);
  vigil::DiagnosticSink diags(nullptr);
  diags.set_keep(true);
  // A set of its own per input: the atoms a query interns do not pile up over the campaign.
  vigil::RuleSet rs({"", VIGIL_DATA_DIR, false});
  vigil::ir::CompiledRule rule = rs.compile_query(query, diags);
  if (!rule.parsed || !rule.executable) {
    if (diags.errors() == 0 && rule.reasons.empty()) std::abort();  // refused without a reason
    return 0;
  }
  vigil::EngineOptions eo;
  eo.now = 1.7e9;
  eo.threads = 1;
  eo.max_kept_rows = 10'000;
  uint64_t findings = 0;
  {
    vigil::Engine eng(fx.norm, rs.atoms(), {&rule}, eo, diags, [&](vigil::Finding&&) { ++findings; });
    vigil::Record rec;
    for (size_t i = 0; i < fx.records.size(); ++i) {
      fx.records.get(i, rec);
      eng.process(rec);
    }
    eng.finish();
    if (eng.evaluated() != fx.records.size()) std::abort();  // every record evaluated
  }
  (void)findings;
  ++search_runs;
  return 0;
}
