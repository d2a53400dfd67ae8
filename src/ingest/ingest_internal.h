// Private to src/ingest: the state shared by the dispatcher and the text,
// JSON and archive readers while one call to read_inputs/read_buffer runs.
//
// The dispatcher (reader.cpp) owns accounting at the input level (files,
// bytes, formats, empty/unrecognised inputs); the format readers own the
// record level (records_read, records_skipped, skip_reasons) and report each
// bad record through bad_record() so the counters and the diagnostic agree.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/reader.h"

namespace vigil::ingest {

/// Bump allocator for the few values a reader must synthesize (numbers as
/// text, GUIDs with braces, normalized times). Reset per record; the first
/// block is kept so the steady state allocates nothing.
class StringArena {
 public:
  std::string_view copy(std::string_view s);
  char* alloc(size_t n);
  void reset();

 private:
  static constexpr size_t kBlock = 4096;
  std::vector<std::unique_ptr<char[]>> blocks_;
  std::vector<size_t> sizes_;
  size_t used_ = 0, cap_ = 0;
};

struct ReadContext {
  ReadContext(const ReadOptions& o, const RecordVisitor& v, DiagnosticSink& d, ReadStats& s)
      : opts(o), visit(v), diags(d), stats(s) {}

  const ReadOptions& opts;
  const RecordVisitor& visit;
  DiagnosticSink& diags;
  ReadStats& stats;
  // Progress: bytes of top-level inputs already finished, and their total.
  uint64_t progress_base = 0;
  uint64_t progress_total = 0;
  uint64_t last_progress = 0;
  int archive_depth = 0;  ///< > 0 while expanding an archive member
  /// Optional: told when a file about to be read is not all in the page cache (read_unit asks the
  /// disk for the unit's next files then).
  std::function<void()> on_cold_read;

  /// ReadOptions::stop is set: read no further record.
  bool stopped() const { return opts.stop && opts.stop->load(std::memory_order_relaxed); }

  /// Report progress at `pos` bytes into the current top-level input
  /// (throttled; inside archives the archive reader reports instead).
  void progress_within(uint64_t pos);
  void progress_now(uint64_t done);

  /// Count and report one malformed record; the reader then goes on.
  void bad_record(std::string_view file, uint64_t line, uint64_t offset, std::string_view reason,
                  std::string message, std::string_view source_line = {});
  /// Report an input cut short after `offset` bytes (truncated archive,
  /// read error): the records before the cut were delivered.
  void input_cut(std::string_view file, uint64_t offset, std::string message);
  /// Count and report an input that yields no records (empty, unrecognised, unreadable); the report
  /// goes to `tell` when given (the walk's own sink), else to `diags`.
  void skip_input(std::string_view file, std::string_view reason, std::string message,
                  DiagnosticSink* tell = nullptr);
};

/// A pull source of bytes (stdin, a pipe or device, an archive member):
/// read in bounded blocks so that an endless or decompression-bomb input
/// costs a bounded amount of memory.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  /// Points `*data` at the next block (valid until the next call) and returns
  /// its size; 0 at the end, -1 on a read error (then error() says why).
  virtual long next(const char** data) = 0;
  virtual std::string error() const { return {}; }
  /// Live sources only (those given ReadOptions::on_pause): true when no byte is ready and none
  /// came within kStreamPauseMs (a live stream's writer paused), or when bytes read that long ago
  /// are still waiting for a fuller block (a steady trickle). The reader then hands on what it has.
  virtual bool paused() { return false; }
  /// This source is read by an archive reader (libarchive's callbacks): it no longer pauses.
  virtual void stop_pausing() {}
};

/// End (exclusive) of the JSON value starting at `begin` ('{' or '['), or npos when the input ends
/// first (or, with `*restart` set, when a '{' at a line start shows the value was cut short).
size_t balanced_end(std::string_view s, size_t begin, size_t* restart);

/// A record reader for a text format that takes its input in pieces.
class TextReader {
 public:
  virtual ~TextReader() = default;
  /// Reads the complete records in `bytes` (which starts at stream offset
  /// `base`) and returns how many bytes it consumed; the rest (a record not
  /// yet complete) is passed again, with more bytes after it, on the next
  /// call. With `final` everything is consumed and a cut record is reported.
  virtual size_t feed(std::string_view bytes, uint64_t base, bool final) = 0;
};

std::unique_ptr<TextReader> make_json_reader(std::string_view name, LogFormat format, ReadContext& ctx);
std::unique_ptr<TextReader> make_xml_reader(std::string_view name, ReadContext& ctx);

/// Reads one input from a source in bounded blocks: sniffs its head, expands
/// archives member by member, hands text records on as they complete. A read
/// error after some data is reported as a cut (reason `truncated-input`)
/// after the records before it were delivered. Returns false on such a cut.
bool read_source(std::string_view name, ByteSource& src, ReadContext& ctx);

/// Sniff, then hand `bytes` to the matching reader. Archives recurse into
/// their members; `format` may force a text format (unknown = sniff).
void dispatch(std::string_view name, std::string_view bytes, LogFormat format, ReadContext& ctx);

void read_xml(std::string_view name, std::string_view bytes, ReadContext& ctx);
void read_json(std::string_view name, std::string_view bytes, LogFormat format, ReadContext& ctx);
void read_wineventlog(std::string_view name, std::string_view bytes, ReadContext& ctx);
/// Classic WinEventLog text starts with a `MM/DD/YYYY hh:mm:ss AM` line (wineventlog_text_reader.cpp).
bool looks_like_wineventlog(std::string_view head);

/// One input of read_inputs: a file (as found by the directory walk) or stdin.
struct InputFile {
  std::string path;
  uint64_t size = 0;
  bool stdin_input = false;
  dev_t dev = 0;  // the file's identity: two paths to one file are read once (drop_repeated_files)
  ino_t ino = 0;
  // A regular file: only such a file is handed on (ReadOptions::defer). A pipe or a device named
  // as an input has no size to go by and is read as it streams, where it is named.
  bool regular = false;
};

/// Whether the file's first bytes are an archive's (gzip, zip, tar …); false when unreadable.
bool starts_as_archive(const std::string& path);

/// Reads one input into `ctx`: opens (or maps) it, counts it and dispatches its bytes.
void read_input(const InputFile& in, ReadContext& ctx);

/// gzip, bzip2, xz, zip or tar magic at the start of `head`.
bool is_archive(std::string_view head);
void read_archive(std::string_view name, std::string_view bytes, ReadContext& ctx);
void read_archive(std::string_view name, ByteSource& src, ReadContext& ctx);

/// Hands a whole in-memory input of a known text format to its reader.
void read_format(std::string_view name, std::string_view bytes, LogFormat format, ReadContext& ctx);

/// Normalize a time to the canonical ISO-8601 UTC form with microseconds;
/// an already-canonical `…Z` value is passed through untouched. Empty view
/// when `text` is not a time.
std::string_view canonical_time(std::string_view text, StringArena& arena);
/// Epoch seconds to the canonical form.
std::string_view epoch_to_time(double epoch, StringArena& arena);

}  // namespace vigil::ingest
