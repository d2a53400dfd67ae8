// libFuzzer target for the native EVTX reader (ingest/evtx).
//
// Properties checked on every input, besides the sanitizers' own (no out of
// bounds read, no leak, no UB): the reader returns (no hang), every delivered
// view is readable, and the accounting invariant holds. Inputs above 64 KiB
// also run with 2 threads to exercise the decode-ahead pipeline.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ingest/evtx/evtx_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (unsigned threads : {1u, 2u}) {
    if (threads == 2 && size <= 4096 + 65536) break;
    vigil::DiagnosticSink diags(nullptr);
    diags.set_keep(false);
    vigil::ReadStats stats;
    vigil::ReadOptions opts;
    opts.threads = threads;
    uint64_t delivered = 0;
    size_t checksum = 0;
    vigil::evtx::read_evtx("fuzz.evtx", bytes, opts,
                           [&](const vigil::Record& r) {
                             ++delivered;
                             // Touch every byte so ASan checks the views.
                             for (auto& f : r.system) for (char c : f.value) checksum += uint8_t(c);
                             for (auto& f : r.data) {
                               for (char c : f.name) checksum += uint8_t(c);
                               for (char c : f.value) checksum += uint8_t(c);
                             }
                           },
                           diags, stats);
    if (stats.records_read != delivered + stats.records_skipped) std::abort();
    (void)checksum;
  }
  return 0;
}
