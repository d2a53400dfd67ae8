// Placeholder until the native reader lands: every EVTX input is reported as unsupported.
#include "ingest/evtx/evtx_reader.h"

namespace vigil::evtx {

bool is_evtx(std::string_view head) { return head.size() >= 8 && head.substr(0, 8) == std::string_view("ElfFile\0", 8); }

void read_evtx(std::string_view name, std::string_view bytes, const ReadOptions&, const RecordVisitor&,
               DiagnosticSink& diags, ReadStats& stats) {
  diags.error({std::string(name)}, "EVTX reading is not implemented yet", "evtx-unsupported");
  stats.files_skipped++;
}

}  // namespace vigil::evtx
