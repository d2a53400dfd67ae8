// Reading inputs: files, directories (recursively), archives (.gz, .zip,
// .tar.gz, .tgz), and stdin ("-"). The format of each input (or archive
// member) is sniffed from its content, never from its name.
//
// Records are delivered to the visitor on the calling thread, in input order
// (file order, then record order within a file), so output is deterministic
// whatever the thread count. With ReadOptions::defer, small files are handed
// on instead, in that order, for the caller's workers to read (read_unit). A
// malformed record, chunk or file is reported to the DiagnosticSink with file
// and line/offset and counted in ReadStats; the rest of the input is still read.
//
// Accounting: stats.records_read == records delivered + stats.records_skipped.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"
#include "ingest/record.h"

namespace vigil {

/// Whole files read_inputs handed on (ReadOptions::defer), in input order.
struct InputUnit {
  std::vector<std::string> files;
  uint64_t bytes = 0;  ///< their size together
  /// What the walk said since the unit before (a dangling link, a repeated file …), each with the
  /// file it came before (an index into `files`; files.size(): after the last): read_unit reports
  /// it there, so it is told in the same place among the files' own diagnostics whatever the
  /// thread count.
  struct Note {
    size_t before = 0;
    Diagnostic diag;
  };
  std::vector<Note> notes;
};

struct ReadOptions {
  unsigned threads = 0;  ///< 0 = all cores (EVTX chunk decoding)
  /// When set, read_inputs does not read a regular file of at most `unit_bytes` itself: it groups
  /// runs of such files, in input order, into units of about `unit_bytes` and hands each one here
  /// (between the records it delivers), for read_unit on any thread. A folder of many small files
  /// is then read by every core.
  std::function<void(InputUnit&&)> defer;
  uint64_t unit_bytes = uint64_t(1) << 20;
  /// Hand on small archives too (false: read them here). An archive's records can be a hundred
  /// times its size: a caller that holds what a unit yields until its turn says false. (A file
  /// named *.evtx is taken for one without opening it: a triage folder has thousands.)
  bool defer_archives = true;
  /// Optional, with `defer`: called on the reading thread before it reads a file over `unit_bytes`
  /// or a stream itself (or tells what the walk found after the last unit) when units were handed
  /// on since the last call. A caller whose workers report a unit's diagnostics when its turn comes
  /// waits for those units here, so that the file's own diagnostics come after theirs, in input
  /// order, whatever the thread count. (Not before a small archive read here, defer_archives false:
  /// waiting before each would give up most of the overlap in a folder of rotated logs. What its
  /// reading says is handed on instead, to `defer`, as a unit with notes and no files.)
  std::function<void()> drain;
  bool recover = false;  ///< EVTX: also deliver deleted/unlisted records (Record::recovered)
  std::function<void(uint64_t bytes_done, uint64_t bytes_total)> progress;  ///< optional, any thread
  /// Optional: makes stdin and pipes live. Called on the reading thread before a read, when the writer
  /// has been silent for kStreamPauseMs or bytes have waited that long behind a steady trickle. Every
  /// complete record read so far has been delivered: a hunt evaluates them and writes their findings
  /// now, so a live feed (`tail -f … | vigil hunt -`) is answered as it comes, not when it closes.
  std::function<void()> on_pause;
  /// Optional: once set, no further record is read (between records, files and EVTX chunks): what
  /// the caller computes needs no more (a search's `head N` has its rows). Records read so far are
  /// all delivered or counted skipped.
  const std::atomic<bool>* stop = nullptr;
};

/// How long a stream input may be silent before it counts as paused (ReadOptions::on_pause).
inline constexpr int kStreamPauseMs = 200;

struct ReadStats {
  uint64_t files = 0;            ///< inputs opened (archive members count one each)
  uint64_t files_skipped = 0;    ///< unreadable / unrecognised / empty inputs
  uint64_t bytes = 0;            ///< bytes read (decompressed)
  uint64_t records_read = 0;     ///< records found, good or bad
  uint64_t records_skipped = 0;  ///< records found but not delivered (malformed)
  uint64_t records_recovered = 0;  ///< of the delivered records, those recovered (ReadOptions::recover)
  std::map<std::string, uint64_t> skip_reasons;       ///< reason -> records (or inputs) skipped
  std::map<std::string, uint64_t> file_skip_reasons;  ///< the input-level part of skip_reasons, plus inputs cut short (`truncated-input`)
  /// skip_reasons without the input-level ones: why records were skipped.
  std::map<std::string, uint64_t> record_skip_reasons() const {
    auto out = skip_reasons;
    for (const auto& [k, v] : file_skip_reasons)
      if (auto it = out.find(k); it != out.end() && (it->second -= std::min(it->second, v)) == 0) out.erase(it);
    return out;
  }
  std::map<std::string, uint64_t> formats;       ///< format name -> inputs
  void merge(const ReadStats& o);
};

using RecordVisitor = std::function<void(const Record&)>;

/// Reads every path (file, directory, archive, or "-").
void read_inputs(const std::vector<std::string>& paths, const ReadOptions& opts, const RecordVisitor& visit,
                 DiagnosticSink& diags, ReadStats& stats);

/// What reading a unit reported besides its records: its diagnostics and counts, held so that the
/// caller can pass them on in input order (a unit is read on a worker, out of order).
struct UnitReport {
  std::vector<Diagnostic> diags;
  ReadStats stats;
  /// Reports the diagnostics to `sink` and adds the counts to `total`.
  void replay(DiagnosticSink& sink, ReadStats& total);
};

/// Reads a unit read_inputs handed on, on any thread, as read_inputs would have read its files
/// (`opts.threads`, `defer` and `progress` are not used: the caller reports progress per unit).
/// `held`: an empty HoldingSink (it prints nothing and keeps what it is told), which the visitor
/// may report to as well, so that the report holds the unit's diagnostics in the order they happened
/// (the engine's warnings about an event come after the read's about the records before it); the
/// report takes everything it keeps. Null: a sink of its own.
UnitReport read_unit(const InputUnit& unit, const ReadOptions& opts, const RecordVisitor& visit,
                     HoldingSink* held = nullptr);

/// Reads one in-memory input. `name` is used in diagnostics and Record::file.
/// The format is sniffed when `format` is unknown. Archives are expanded.
void read_buffer(std::string_view name, std::string_view bytes, LogFormat format, const ReadOptions& opts,
                 const RecordVisitor& visit, DiagnosticSink& diags, ReadStats& stats);

/// Guess the format from the first bytes of an input (after decompression).
LogFormat sniff_format(std::string_view head);

}  // namespace vigil
