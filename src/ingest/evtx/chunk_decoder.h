// ChunkDecoder: one 64 KiB EVTX chunk -> Records (internal to ingest/evtx).
//
// A chunk is self-contained: every offset inside it (names, template
// definitions) is relative to the chunk start, so chunks decode independently
// and in parallel. Each template definition is compiled once per chunk into a
// flat list of ops; a record is then its template's ops run against the
// record's substitution values, streamed straight into field extraction with
// no XML text in between.
//
// Everything a decoded chunk's Records point to lives in its ChunkResult, which
// the reader delivers and then recycles (so steady state allocates nothing).
//
// Damage handling: the header CRC and the record-data CRC are checked and
// reported as warnings; records are then validated one by one (signature,
// size, trailing size copy, BinXML structure with bounds checks on every read,
// template recursion and element-nesting limits). A bad record is reported and
// skipped; decoding resumes at the next valid record signature. Records stop
// silently where the record signature is zero and nothing valid follows (a
// header written before its records were flushed: "dirty" files).
//
// Recovery (DecodeMode::recover) carves record-shaped bytes (signature, size,
// the size repeated at the end) outside the live records and decodes them
// with the same code; a recovered record whose template instance names a
// template that is no longer at its offset is reported, not misread.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"
#include "ingest/evtx/arena.h"
#include "ingest/record.h"

namespace vigil::evtx {

inline constexpr size_t kFileHeaderSize = 4096;
inline constexpr size_t kChunkSize = 65536;
inline constexpr size_t kChunkHeaderSize = 512;

struct DecodedRecord {
  uint64_t offset = 0;     ///< byte offset of the record in the file
  uint64_t record_id = 0;  ///< from the record header
  bool recovered = false;  ///< found outside the live records (slack, unlisted or unallocated chunk)
  uint64_t raw_key = 0;    ///< hash of the record's bytes after signature and size (recovery only)
  uint32_t sys_begin = 0, sys_end = 0, data_begin = 0, data_end = 0;  ///< ranges in ChunkResult::sys/data
};

struct ChunkIssue {
  uint64_t offset = 0;  ///< byte offset in the file
  Severity severity = Severity::error;
  bool record_skipped = false;  ///< counts as one skipped record
  std::string reason;
  std::string message;
};

/// How a chunk slot is read. Recovery looks past the live records: the slack
/// after a chunk's free-space offset, chunk slots whose signature is gone, and
/// (when `unlisted`) a whole chunk the file header no longer counts.
struct DecodeMode {
  bool recover = false;   ///< also carve records outside the live ones
  bool unlisted = false;  ///< slot beyond a clean file header's chunk count: all its records are recovered
};

struct ChunkResult {
  Arena values;  ///< rendered values (built in place)
  Arena names;   ///< element/attribute names and template literals
  std::vector<Field> sys, data;
  std::vector<DecodedRecord> records;
  std::vector<ChunkIssue> issues;
  uint64_t records_found = 0;  ///< good + bad, except good recovered ones (counted when delivered)
  uint64_t record_bytes = 0;   ///< bytes of the records found
  void reset();
};

class ChunkDecoder {
 public:
  ChunkDecoder();
  ~ChunkDecoder();
  ChunkDecoder(const ChunkDecoder&) = delete;
  ChunkDecoder& operator=(const ChunkDecoder&) = delete;

  /// Decode `size` bytes (kChunkSize, or less for a truncated file) found at
  /// `file_offset`. All-zero chunks (preallocated, never used) yield nothing.
  void decode(const unsigned char* chunk, size_t size, uint64_t file_offset, ChunkResult& out,
              DecodeMode mode = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::evtx
