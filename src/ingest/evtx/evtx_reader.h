// Native EVTX reader: file header, 64 KiB chunks, BinXML with per-chunk
// template caching, chunk-parallel decoding with in-order delivery.
#pragma once
#include <string_view>

#include "ingest/reader.h"

namespace vigil::evtx {

/// Decode every record of an EVTX image. Bad chunks/records are reported with
/// the byte offset and skipped; every other chunk is still read.
void read_evtx(std::string_view name, std::string_view bytes, const ReadOptions& opts, const RecordVisitor& visit,
               DiagnosticSink& diags, ReadStats& stats);

/// True when `head` starts with the EVTX file signature "ElfFile\0".
bool is_evtx(std::string_view head);

}  // namespace vigil::evtx
