// Native EVTX reader: file header, 64 KiB chunks, BinXML with per-chunk
// template caching, chunk-parallel decoding with in-order delivery.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ingest/reader.h"

namespace vigil::evtx {

/// A slice of a file's chunk slots, so that the chunks of one large file can be
/// decoded by several workers (chunks are independent of each other).
struct ChunkRange {
  size_t first = 0;          ///< first chunk slot (0 = the one after the file header)
  size_t last = SIZE_MAX;    ///< one past the last slot
};

/// Number of 64 KiB chunk slots in an EVTX image (from its size, not its header).
size_t chunk_slots(std::string_view bytes);

/// Decode every record of an EVTX image (or of the chunk slots in `range`).
/// Bad chunks/records are reported with the byte offset and skipped; every
/// other chunk is still read. File-level work (header checks, stats.bytes) is
/// done by the range that starts at slot 0. With `opts.recover`, records found
/// outside the live ones follow the range's live records (Record::recovered);
/// recovery is chunk-local, so it works per range, but copies are recognised
/// only within one call (one range).
void read_evtx(std::string_view name, std::string_view bytes, const ReadOptions& opts, const RecordVisitor& visit,
               DiagnosticSink& diags, ReadStats& stats, ChunkRange range = {});

/// True when `head` starts with the EVTX file signature "ElfFile\0".
bool is_evtx(std::string_view head);

}  // namespace vigil::evtx
