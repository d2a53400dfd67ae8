// libFuzzer target for the native EVTX reader (ingest/evtx).
//
// Properties checked on every input, besides the sanitizers' own (no out of
// bounds read, no leak, no UB): the reader returns (no hang), every delivered
// view is readable, and the accounting invariant holds, with and without
// recovery; recovery never changes the live records (same count and content
// hash, unless a chunk beyond a clean header's count turned them recovered).
// Inputs above 64 KiB also run with 2 threads to exercise the decode-ahead
// pipeline.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ingest/evtx/evtx_reader.h"

namespace {

struct Outcome {
  uint64_t live = 0, recovered = 0;
  size_t live_hash = 0;
};

Outcome run(std::string_view bytes, unsigned threads, bool recover) {
  vigil::DiagnosticSink diags(nullptr);
  diags.set_keep(false);
  vigil::ReadStats stats;
  vigil::ReadOptions opts;
  opts.threads = threads;
  opts.recover = recover;
  Outcome o;
  uint64_t delivered = 0;
  vigil::evtx::read_evtx("fuzz.evtx", bytes, opts,
                         [&](const vigil::Record& r) {
                           ++delivered;
                           // Touch every byte so ASan checks the views.
                           size_t h = r.offset;
                           for (auto& f : r.system)
                             for (char c : f.value) h = h * 31 + uint8_t(c);
                           for (auto& f : r.data) {
                             for (char c : f.name) h = h * 31 + uint8_t(c);
                             for (char c : f.value) h = h * 31 + uint8_t(c);
                           }
                           if (r.recovered) {
                             ++o.recovered;
                           } else {
                             ++o.live;
                             o.live_hash = o.live_hash * 131 + h;
                           }
                         },
                         diags, stats);
  if (stats.records_read != delivered + stats.records_skipped) std::abort();
  if (stats.records_recovered != o.recovered) std::abort();
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Outcome plain = run(bytes, 1, false);
  Outcome rec = run(bytes, 1, true);
  // Records of chunks a clean header no longer counts turn from live into
  // recovered; otherwise the live records are exactly the same.
  if (plain.recovered != 0 || rec.live > plain.live) std::abort();
  if (rec.live == plain.live && rec.live_hash != plain.live_hash) std::abort();
  if (size > 4096 + 65536) {
    Outcome two = run(bytes, 2, true);
    if (two.live != rec.live || two.live_hash != rec.live_hash || two.recovered != rec.recovered) std::abort();
  }
  return 0;
}
