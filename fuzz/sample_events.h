// The events the search and Sigma fuzz targets run what they compiled over: the bundled sample logs
// (samples/logs: Sysmon and Security XML, NXLog JSON), read once and normalized as a hunt does.
#pragma once
#include <cstdlib>
#include <vector>

#include "engine/engine.h"
#include "ingest/reader.h"
#include "ingest/record_batch.h"
#include "normalize/normalizer.h"

namespace vigil::fuzzing {

struct SampleEvents {
  Normalizer norm;
  RecordBatch records;
};

inline const SampleEvents& sample_events() {
  static const SampleEvents s = [] {
    auto norm = Normalizer::load(VIGIL_DATA_DIR "/normalize");
    if (!norm.ok()) std::abort();
    SampleEvents out{std::move(norm.value()), {}};
    DiagnosticSink diags(nullptr);
    diags.set_keep(false);
    ReadStats read;
    ReadOptions ro;
    ro.threads = 1;
    read_inputs({VIGIL_SOURCE_DIR "/samples/logs"}, ro, [&](const Record& r) { out.records.add(r); }, diags, read);
    if (out.records.size() == 0) std::abort();
    return out;
  }();
  return s;
}

/// Runs `rules` over the sample events on this thread, to the end (aggregations' tails included);
/// aborts unless every record was evaluated. Writes stay refused (EngineOptions::allow_writes off).
inline void run_over_samples(const ir::AtomTable& atoms, std::vector<const ir::CompiledRule*> rules,
                             DiagnosticSink& diags) {
  const SampleEvents& s = sample_events();
  EngineOptions eo;
  eo.now = 1.7e9;
  eo.threads = 1;
  eo.max_kept_rows = 10'000;
  Engine eng(s.norm, atoms, std::move(rules), eo, diags, [](Finding&&) {});
  Record rec;
  for (size_t i = 0; i < s.records.size(); ++i) {
    s.records.get(i, rec);
    eng.process(rec);
  }
  eng.finish();
  if (eng.evaluated() != s.records.size()) std::abort();
}

}  // namespace vigil::fuzzing
