// The input dispatcher: paths -> bytes -> (archive members ->) format readers.
#include "ingest/reader.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cerrno>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <system_error>
#include <utility>

#include "core/strings.h"
#include "core/time.h"
#include "ingest/evtx/evtx_reader.h"
#include "ingest/ingest_internal.h"

namespace vigil {

void ReadStats::merge(const ReadStats& o) {
  files += o.files;
  files_skipped += o.files_skipped;
  bytes += o.bytes;
  records_read += o.records_read;
  records_skipped += o.records_skipped;
  records_recovered += o.records_recovered;
  for (const auto& [k, v] : o.skip_reasons) skip_reasons[k] += v;
  for (const auto& [k, v] : o.file_skip_reasons) file_skip_reasons[k] += v;
  for (const auto& [k, v] : o.formats) formats[k] += v;
}

namespace ingest {

// ---- StringArena -----------------------------------------------------------

char* StringArena::alloc(size_t n) {
  if (used_ + n > cap_) {
    size_t size = std::max(kBlock, n);
    blocks_.push_back(std::make_unique<char[]>(size));
    sizes_.push_back(size);
    used_ = 0;
    cap_ = size;
  }
  char* p = blocks_.back().get() + used_;
  used_ += n;
  return p;
}

std::string_view StringArena::copy(std::string_view s) {
  if (s.empty()) return {};
  char* p = alloc(s.size());
  std::memcpy(p, s.data(), s.size());
  return {p, s.size()};
}

void StringArena::reset() {
  // Keep the first block for the next record unless it is oversized (it
  // would pin the memory of one huge value for the rest of the run).
  size_t keep = (!blocks_.empty() && sizes_[0] <= (1u << 20)) ? 1 : 0;
  blocks_.resize(keep);
  sizes_.resize(keep);
  used_ = 0;
  cap_ = keep ? sizes_[0] : 0;
}

// ---- times -----------------------------------------------------------------

static bool is_canonical_time(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SS[.fff…]Z: what Windows writes in SystemTime.
  if (t.size() < 20 || t.back() != 'Z') return false;
  static constexpr std::string_view shape = "dddd-dd-ddTdd:dd:dd";
  for (size_t i = 0; i < shape.size(); ++i) {
    char c = t[i];
    if (shape[i] == 'd' ? (c < '0' || c > '9') : c != shape[i]) return false;
  }
  size_t i = shape.size();
  if (t[i] == '.') {
    ++i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
  }
  return i == t.size() - 1;
}

std::string_view epoch_to_time(double epoch, StringArena& arena) {
  return arena.copy(format_iso8601(epoch, 6));
}

std::string_view canonical_time(std::string_view text, StringArena& arena) {
  if (is_canonical_time(text)) return text;
  auto t = parse_time(text);
  if (!t) return {};
  return epoch_to_time(*t, arena);
}

// ---- ReadContext -----------------------------------------------------------

void ReadContext::progress_now(uint64_t done) {
  if (!opts.progress) return;
  last_progress = done;
  opts.progress(done, std::max(done, progress_total));
}

void ReadContext::progress_within(uint64_t pos) {
  if (!opts.progress || archive_depth > 0) return;
  uint64_t done = progress_base + pos;
  if (done - last_progress < (8u << 20)) return;  // every 8 MiB: cheap, still smooth
  progress_now(done);
}

void ReadContext::bad_record(std::string_view file, uint64_t line, uint64_t offset, std::string_view reason,
                             std::string message, std::string_view source_line) {
  stats.records_read++;
  stats.records_skipped++;
  stats.skip_reasons[std::string(reason)]++;
  Diagnostic d;
  d.severity = Severity::error;
  d.location.file = std::string(file);
  d.location.line = static_cast<uint32_t>(std::min<uint64_t>(line, UINT32_MAX));
  d.location.offset = offset;
  d.message = std::move(message);
  d.reason = std::string(reason);
  d.source_line = std::string(source_line.substr(0, 240));
  diags.report(std::move(d));
}

void ReadContext::skip_input(std::string_view file, std::string_view reason, std::string message,
                             DiagnosticSink* tell) {
  DiagnosticSink& diags = tell ? *tell : this->diags;
  stats.files_skipped++;
  stats.skip_reasons[std::string(reason)]++;
  stats.file_skip_reasons[std::string(reason)]++;
  // A file that is not a log at all (a README, a pcap next to the EVTX samples) is skipped and
  // counted, not an error: directories of evidence hold such files.
  if (reason == "unrecognised-format") {
    diags.note({std::string(file)}, "skipped: " + message, std::string(reason));
    return;
  }
  diags.error({std::string(file)}, std::move(message), std::string(reason));
}

void ReadContext::input_cut(std::string_view file, uint64_t offset, std::string message) {
  stats.file_skip_reasons["truncated-input"]++;
  SourceLocation loc{std::string(file)};
  loc.offset = offset;
  diags.error(std::move(loc), std::move(message), "truncated-input");
}

// ---- dispatch --------------------------------------------------------------

static bool all_space(std::string_view s) {
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  return true;
}

void dispatch(std::string_view name, std::string_view bytes, LogFormat format, ReadContext& ctx) {
  if (format == LogFormat::unknown && is_archive(bytes)) {
    // The archive itself is not an input: each member counts as one.
    read_archive(name, bytes, ctx);
    return;
  }
  ctx.stats.files++;
  if (format == LogFormat::unknown && evtx::is_evtx(bytes)) format = LogFormat::evtx;
  if (format == LogFormat::evtx) {
    // evtx::read_evtx does its own byte and skip accounting (it is also
    // called directly); the dispatcher only counts the input and its format.
    ctx.stats.formats[log_format_name(format)]++;
    evtx::read_evtx(name, bytes, ctx.opts, ctx.visit, ctx.diags, ctx.stats);
    return;
  }
  ctx.stats.bytes += bytes.size();
  if (all_space(bytes)) {
    ctx.skip_input(name, "empty-file", "empty input");
    return;
  }
  if (format == LogFormat::unknown) format = sniff_format(bytes.substr(0, 64 << 10));
  if (format == LogFormat::unknown) {
    ctx.skip_input(name, "unrecognised-format", "unrecognised format (not EVTX, Windows XML or JSON events)");
    return;
  }
  ctx.stats.formats[log_format_name(format)]++;
  read_format(name, bytes, format, ctx);
}

void read_format(std::string_view name, std::string_view bytes, LogFormat format, ReadContext& ctx) {
  if (format == LogFormat::xml_wineventlog) read_xml(name, bytes, ctx);
  else if (format == LogFormat::wineventlog) read_wineventlog(name, bytes, ctx);
  else read_json(name, bytes, format, ctx);
}

// ---- streams ---------------------------------------------------------------
//
// Inputs that are not regular files (stdin, pipes, devices) and archive
// members are read in bounded blocks: memory is one block plus the record in
// progress, whatever the input's length. Text records are handed on as they
// complete; EVTX (which needs random access to its chunks) and formats
// without a block reader are collected whole up to kMaxWhole.

namespace {

constexpr size_t kHead = 64u << 10;      // what sniffing looks at
constexpr size_t kMaxRecord = 64u << 20;  // one text record (line, document, <Event>) at most
constexpr size_t kMaxWhole = 512u << 20;  // an EVTX (or other whole-input format) read from a stream at most

std::unique_ptr<TextReader> make_text_reader(std::string_view name, LogFormat format, ReadContext& ctx) {
  switch (format) {
    case LogFormat::xml_wineventlog: return make_xml_reader(name, ctx);
    case LogFormat::json_evtx:
    case LogFormat::json_winlogbeat:
    case LogFormat::json_crowdstrike:
    case LogFormat::json_nxlog:
    case LogFormat::json_otrf: return make_json_reader(name, format, ctx);
    default: return nullptr;
  }
}

// Replays the bytes already read for sniffing, then the rest of the source.
class PrefixedSource final : public ByteSource {
 public:
  PrefixedSource(std::string prefix, ByteSource& rest) : prefix_(std::move(prefix)), rest_(rest) {}
  long next(const char** data) override {
    if (!prefix_done_) {
      prefix_done_ = true;
      if (!prefix_.empty()) {
        *data = prefix_.data();
        return static_cast<long>(prefix_.size());
      }
    }
    return rest_.next(data);
  }
  std::string error() const override { return rest_.error(); }
  bool paused() override { return prefix_done_ && rest_.paused(); }
  void stop_pausing() override { rest_.stop_pausing(); }

 private:
  std::string prefix_;
  ByteSource& rest_;
  bool prefix_done_ = false;
};

class Stream {
 public:
  Stream(ByteSource& src, ReadContext& ctx) : src_(src), ctx_(ctx) {}
  /// Appends the next block to `buf`; false at the end or on an error.
  bool fill(std::string& buf) {
    if (eof_) return false;
    const char* data = nullptr;
    long n = src_.next(&data);
    if (n <= 0) {
      eof_ = true;
      failed_ = n < 0;
      return false;
    }
    buf.append(data, static_cast<size_t>(n));
    total_ += static_cast<uint64_t>(n);
    ctx_.stats.bytes += static_cast<uint64_t>(n);
    return true;
  }
  bool eof() const { return eof_; }
  bool failed() const { return failed_; }
  uint64_t total() const { return total_; }

 private:
  ByteSource& src_;
  ReadContext& ctx_;
  bool eof_ = false, failed_ = false;
  uint64_t total_ = 0;
};

}  // namespace

// True when the head already decides the input's format and holds its first record whole, so a live
// stream that paused need not be waited on for a fuller head: an archive or EVTX by its magic, XML
// with a complete first <Event>, JSON with a complete first object (of an array too). A bare `{` or
// `[`, or Splunk's framing, decides nothing yet.
static bool head_settled(std::string_view h) {
  if (is_archive(h) || evtx::is_evtx(h)) return true;
  size_t i = h.find_first_not_of(" \t\r\n");
  if (i == std::string_view::npos) return false;
  if (h[i] == '<') return h.find("</Event>") != std::string_view::npos;
  if (h[i] == '[') i = h.find_first_not_of(" \t\r\n", i + 1);
  if (i == std::string_view::npos || h[i] != '{') return false;
  size_t restart = std::string_view::npos;
  return balanced_end(h, i, &restart) != std::string_view::npos;
}

bool read_source(std::string_view name, ByteSource& src, ReadContext& ctx) {
  Stream in(src, ctx);
  std::string buf;
  // Sniffing wants a full head; a live stream that paused is sniffed on less once that decides (only
  // a live source's paused() can say yes, so no other source has its head looked at per block).
  while (buf.size() < kHead && !(src.paused() && head_settled(buf)) && in.fill(buf)) {}
  auto report_cut = [&] {
    ctx.input_cut(name, in.total(), "input cut short after " + std::to_string(in.total()) +
                                        " bytes (" + src.error() + "); the records before the cut were read");
    return false;
  };

  if (is_archive(buf)) {
    ctx.stats.bytes -= buf.size();  // counted again, decompressed, by the members
    src.stop_pausing();  // no hook runs inside libarchive's read callbacks
    PrefixedSource rest(std::move(buf), src);
    read_archive(name, rest, ctx);
    return true;  // the archive reader reports its own damage
  }
  if (evtx::is_evtx(buf) || make_text_reader(name, sniff_format(buf), ctx) == nullptr) {
    // Whole-input formats (and unrecognised ones, which dispatch reports).
    const bool evtx_input = evtx::is_evtx(buf);
    if (evtx_input || sniff_format(buf) != LogFormat::unknown) {
      while (buf.size() <= kMaxWhole && in.fill(buf)) {}
    }
    if (buf.size() > kMaxWhole) {
      ctx.stats.files++;
      ctx.skip_input(name, "too-large", "input larger than " + std::to_string(kMaxWhole >> 20) +
                                            " MiB in a stream or archive (decompression bomb?); extract it to a file");
      return true;
    }
    ctx.stats.bytes -= buf.size();  // dispatch (or the EVTX reader) counts them
    dispatch(name, buf, LogFormat::unknown, ctx);
    return in.failed() ? report_cut() : true;
  }

  ctx.stats.files++;
  const LogFormat format = sniff_format(buf);
  ctx.stats.formats[log_format_name(format)]++;
  auto reader = make_text_reader(name, format, ctx);
  uint64_t base = 0;  // stream offset of buf[0]
  bool resync = false;  // dropping the rest of an oversized line
  while (true) {
    if (resync) {
      size_t nl = buf.find('\n');
      size_t drop = nl == std::string::npos ? buf.size() : nl + 1;
      buf.erase(0, drop);
      base += drop;
      resync = nl == std::string::npos;
    }
    const bool final = in.eof();
    if (!resync) {
      size_t used = reader->feed(buf, base, final);
      if (final || ctx.stopped()) break;
      buf.erase(0, used);
      base += used;
      if (buf.size() > kMaxRecord) {
        ctx.bad_record(name, 0, base, "record-too-large",
                       "record longer than " + std::to_string(kMaxRecord >> 20) + " MiB: skipped to the next line",
                       std::string_view(buf).substr(0, 120));
        base += buf.size();
        buf.clear();
        resync = format != LogFormat::xml_wineventlog;  // XML resynchronizes at the next <Event
      }
    } else if (final) {
      break;
    }
    // Feed again only once the pending bytes have grown enough (doubled, or
    // by 64 KiB): a record arriving in many small reads (a slow pipe) is then
    // rescanned O(log n) times, not once per read.
    // A paused stream is fed what it has, so its complete records are evaluated now.
    const size_t want = resync ? 1 : std::min(std::max(buf.size() * 2, buf.size() + (64u << 10)), kMaxRecord + 1);
    while (in.fill(buf) && buf.size() < want && !src.paused()) {}
  }
  return in.failed() ? report_cut() : true;
}

// ---- files -----------------------------------------------------------------

// A file descriptor read in blocks (stdin, pipes, devices such as /dev/zero).
class FdSource final : public ByteSource {
 public:
  /// `on_pause` (may be empty): called before a read that would wait on a paused writer.
  FdSource(int fd, std::function<void()> on_pause = {})
      : fd_(fd), buf_(1u << 20, '\0'), on_pause_(std::move(on_pause)) {}
  long next(const char** data) override {
    if (on_pause_ && (paused_ || paused())) {
      // Every record before this read has been handed on: they are evaluated and written now.
      on_pause_();
      unflushed_ = false;
    }
    paused_ = false;
    while (true) {
      ssize_t n = ::read(fd_, buf_.data(), buf_.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        error_ = std::strerror(errno);
        return -1;
      }
      if (n > 0 && on_pause_ && !unflushed_) {
        unflushed_ = true;
        since_ = std::chrono::steady_clock::now();
      }
      *data = buf_.data();
      return static_cast<long>(n);
    }
  }
  std::string error() const override { return error_; }
  bool paused() override {
    if (!on_pause_) return false;
    if (paused_) return true;
    // Waits at most until bytes read kStreamPauseMs ago are due out.
    int wait = kStreamPauseMs;
    if (unflushed_) {
      const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - since_);
      wait = int(std::max<long long>(0, kStreamPauseMs - waited.count()));
    }
    pollfd p{fd_, POLLIN, 0};
    int n;
    do n = ::poll(&p, 1, wait);
    while (n < 0 && errno == EINTR);
    // End of input and errors are ready to read: not a pause. Bytes due out are one, ready or not.
    paused_ = n == 0 || (unflushed_ && wait == 0);
    return paused_;
  }
  void stop_pausing() override {
    on_pause_ = nullptr;
    paused_ = false;
  }

 private:
  int fd_;
  std::string buf_;
  std::string error_;
  std::function<void()> on_pause_;
  bool paused_ = false;    // the last look found the writer paused (or bytes due), nothing read since
  bool unflushed_ = false;  // bytes were read since the last on_pause_, the first at since_
  std::chrono::steady_clock::time_point since_;
};

// A regular file mapped read-only: no copy and no freshly zeroed pages, which
// dominate the cost of reading a 100 MB JSON file into a heap buffer. A small
// file is read into a buffer kept from file to file instead: a triage folder of
// thousands of EVTX files otherwise pays a page fault per page and a TLB
// shootdown on every worker thread per unmap.
class MappedFile {
 public:
  MappedFile() = default;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile() { close(); }

  /// False with `error` set when the file cannot be opened. A regular
  /// file is mapped; anything else (a pipe, a device, an empty file) is left
  /// open as `fd()` for the caller to stream. `on_cold` (when set) is called
  /// before the read waits on the disk: the file is not all in the page cache.
  bool open(const std::string& path, std::string& error, const std::function<void()>& on_cold = {}) {
    close();
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      error = std::strerror(errno);
      return false;
    }
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 && st.st_size <= kReadWhole) {
      const size_t want = static_cast<size_t>(st.st_size);
      if (want > cap_) {
        buf_ = std::make_unique<char[]>(want);
        cap_ = want;
      }
      size_t got = on_cold ? read_cached(fd, want, on_cold) : 0;
      // At offsets (pread): the descriptor's position stays at the start whatever was read.
      while (got < want) {
        ssize_t n = ::pread(fd, buf_.get() + got, want - got, static_cast<off_t>(got));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += static_cast<size_t>(n);
      }
      if (got == want) {  // else (shrunk, or an error): streamed from the start below
        data_ = buf_.get();
        size_ = got;
        ::close(fd);
        return true;
      }
    } else if (S_ISREG(st.st_mode) && st.st_size > 0) {
      void* p = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
      if (p != MAP_FAILED) {
        ::madvise(p, static_cast<size_t>(st.st_size), MADV_SEQUENTIAL);
        data_ = static_cast<const char*>(p);
        size_ = static_cast<size_t>(st.st_size);
        owned_map_ = true;
        ::close(fd);
        return true;
      }
    }
    fd_ = fd;
    return true;
  }

  int fd() const { return fd_; }
  std::string_view view() const { return {data_, size_}; }
  bool mapped() const { return data_ != nullptr; }
  void close() {
    if (data_ && owned_map_) ::munmap(const_cast<char*>(data_), size_);
    if (fd_ >= 0) ::close(fd_);
    data_ = nullptr;
    size_ = 0;
    fd_ = -1;
    owned_map_ = false;
  }

 private:
  // What of the file's first `want` bytes the page cache holds, read without waiting (RWF_NOWAIT);
  // when that is not all of them, on_cold() is told before the caller's read waits for the rest.
  // A file system that cannot read so (an error other than EAGAIN: some FUSE mounts, older
  // kernels) is read as before, file by file, with nothing told.
  size_t read_cached(int fd, size_t want, const std::function<void()>& on_cold) {
    iovec v{buf_.get(), want};
    ssize_t n;
    do n = ::preadv2(fd, &v, 1, 0, RWF_NOWAIT);
    while (n < 0 && errno == EINTR);
    if (n < 0 && errno != EAGAIN) return 0;
    const size_t got = n > 0 ? static_cast<size_t>(n) : 0;
    if (n != 0 && got < want) on_cold();  // 0: shrunk to nothing since its stat, the caller finds out
    return got;
  }

  static constexpr off_t kReadWhole = 8 << 20;  // files up to this size are read, not mapped
  int fd_ = -1;
  const char* data_ = nullptr;
  size_t size_ = 0;
  bool owned_map_ = false;  // data_ is a mapping (else it points into buf_)
  std::unique_ptr<char[]> buf_;
  size_t cap_ = 0;
};

// A triage collection may link directories and files together: links are followed (a linked
// directory is walked like a real one), a directory already walked is not walked again (a link
// cycle ends there, with a warning), and a file reached by two paths is read once.
namespace {

using TakeInput = std::function<void(InputFile&&)>;

void warn_unopened(DiagnosticSink& diags, const std::string& path, int err) {
  diags.warning({path}, std::string("cannot open directory: ") + std::strerror(err) + "; not read", "unreadable");
}

// A directory tree's files, handed to `take` one by one in the order of their paths (so the first
// units of a triage folder are read while the rest is still being walked), each looked up relative
// to its directory's open descriptor (fstatat) rather than by its full path. Links are followed; a
// directory reached twice (a link cycle, or a second link to it) is walked once. What the walk has
// to say goes to `diags`.
class TreeWalk {
 public:
  TreeWalk(DiagnosticSink& diags, const TakeInput& take) : diags_(diags), take_(take) {}

  /// Walks the directory `path`, open as `fd` (which it closes), whose identity is `dev`/`ino`:
  /// from here it counts as walked.
  void dir(const std::string& path, int fd, dev_t dev, ino_t ino) {
    // Closed on every way out: `take` may throw (a visitor's error ends the run).
    std::unique_ptr<DIR, int (*)(DIR*)> open_dir(::fdopendir(fd), ::closedir);
    DIR* d = open_dir.get();
    if (!d) {
      const int err = errno;
      ::close(fd);
      return stopped(path, err);
    }
    walked_.emplace(dev, ino);
    const std::string prefix = path.empty() || path.back() == '/' ? path : path + "/";
    std::vector<Entry> entries;
    for (;;) {
      errno = 0;
      const dirent* e = ::readdir(d);
      if (!e) {
        if (errno != 0) stopped(path, errno);
        break;
      }
      const char* name = e->d_name;
      if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
      Entry en{name, {}, e->d_type == DT_LNK || (e->d_type == DT_UNKNOWN && is_link(::dirfd(d), name)), 0};
      if (::fstatat(::dirfd(d), name, &en.st, 0) != 0) {
        en.err = errno;  // told in its place below
        entries.push_back(std::move(en));
      } else if (S_ISDIR(en.st.st_mode)) {
        en.key += '/';
        entries.push_back(std::move(en));
      } else if (S_ISREG(en.st.st_mode)) {
        entries.push_back(std::move(en));
      }
    }
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.key < b.key; });
    for (auto& en : entries) {
      if (en.err) {
        // Not an input, but not dropped in silence: a link to nothing, or an entry that cannot be
        // looked at (a folder listed but not searchable, a link loop).
        if (en.link && en.err == ENOENT)
          diags_.warning({prefix + en.key}, "link to a missing file or directory; not read", "dangling-link");
        else
          diags_.warning({prefix + en.key}, std::string("cannot look at it: ") + std::strerror(en.err) + "; not read",
                         "unreadable");
        continue;
      }
      if (S_ISREG(en.st.st_mode)) {
        take_({prefix + en.key, static_cast<uint64_t>(en.st.st_size), false, en.st.st_dev, en.st.st_ino, true});
        continue;
      }
      en.key.pop_back();
      if (walked_.count({en.st.st_dev, en.st.st_ino})) {
        if (en.link)
          diags_.warning({prefix + en.key},
                         "links to a directory already walked (a link cycle or a second path to it); not walked again",
                         "link-cycle");
        continue;
      }
      const int sub = ::openat(::dirfd(d), en.key.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (sub < 0) {
        const int err = errno;  // before the path is built
        warn_unopened(diags_, prefix + en.key, err);
        continue;
      }
      dir(prefix + en.key, sub, en.st.st_dev, en.st.st_ino);
    }
  }

 private:
  struct Entry {
    std::string key;  // the name, and "/" after a directory's: sorted by key, the entries come in
                      // the order their full paths sort in ("a.json" before "a/x.json")
    struct stat st;
    bool link;
    int err;  // fstatat failed with it: only told, in its place
  };

  static bool is_link(int dfd, const char* name) {
    struct stat ls {};
    return ::fstatat(dfd, name, &ls, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(ls.st_mode);
  }

  void stopped(const std::string& path, int err) {
    diags_.warning({path}, std::string("directory walk stopped early: ") + std::strerror(err), "unreadable");
  }

  DiagnosticSink& diags_;
  const TakeInput& take_;
  std::set<std::pair<dev_t, ino_t>> walked_;
};

// One input path's files, in order, to `take`: a file as it is, a directory's files by path. What
// the directory walk has to say goes to `walk_diags`.
void expand_path(const std::string& path, const TakeInput& take, DiagnosticSink& walk_diags, ReadContext& ctx) {
  if (path == "-") return take({path, 0, true});
  struct stat sb {};
  if (::stat(path.c_str(), &sb) != 0) {
    // Counted as an input so that files_skipped <= files; told with what the walk says (it comes
    // in its place among the units' diagnostics).
    const int err = errno;  // before the message is built
    ctx.stats.files++;
    ctx.skip_input(path, "unreadable", std::string("cannot open: ") + std::strerror(err), &walk_diags);
    return;
  }
  if (!S_ISDIR(sb.st_mode))
    return take({path, static_cast<uint64_t>(sb.st_size), false, sb.st_dev, sb.st_ino, S_ISREG(sb.st_mode)});
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return warn_unopened(walk_diags, path, errno);
  TreeWalk(walk_diags, take).dir(path, fd, sb.st_dev, sb.st_ino);
}

}  // namespace

bool starts_as_archive(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;  // not for here to say: the reader reports it
  char head[512];
  ssize_t n = ::pread(fd, head, sizeof head, 0);
  ::close(fd);
  return n > 0 && is_archive({head, size_t(n)});
}

namespace {

// Asks the kernel to fetch files[from…] into the page cache (POSIX_FADV_WILLNEED); does not wait for
// the data (read_unit, when one of a unit's files is not in the cache).
void ask_ahead(const std::vector<std::string>& files, size_t from) {
  // The kernel fetches at most its readahead window per call (128 KB by default): a longer file is
  // asked for a window at a time. O_NONBLOCK: a path that became a FIFO since the walk cannot block.
  constexpr off_t kWindow = 128 << 10;
  for (size_t i = from; i < files.size(); ++i) {
    const int fd = ::open(files[i].c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) continue;  // told when it is read
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
      for (off_t at = 0; at < st.st_size; at += kWindow) ::posix_fadvise(fd, at, kWindow, POSIX_FADV_WILLNEED);
    ::close(fd);
  }
}

}  // namespace

void read_input(const InputFile& in, ReadContext& ctx) {
  thread_local MappedFile mapped;  // its read buffer is reused from file to file
  struct CloseAfter {  // also when a visitor throws: no descriptor or mapping is left for later
    MappedFile& m;
    ~CloseAfter() { m.close(); }
  } close_after{mapped};
  std::string error;
  const std::string name = in.stdin_input ? std::string("<stdin>") : in.path;
  if (in.stdin_input) {
    FdSource src(STDIN_FILENO, ctx.opts.on_pause);
    read_source(name, src, ctx);
  } else if (!mapped.open(in.path, error, ctx.on_cold_read)) {
    ctx.stats.files++;
    ctx.skip_input(name, "unreadable", "cannot read: " + error);
  } else if (mapped.mapped()) {
    dispatch(name, mapped.view(), LogFormat::unknown, ctx);
  } else {
    FdSource src(mapped.fd(), ctx.opts.on_pause);  // a named pipe, a device
    read_source(name, src, ctx);
  }
}

}  // namespace ingest

void read_inputs(const std::vector<std::string>& paths, const ReadOptions& opts, const RecordVisitor& visit,
                 DiagnosticSink& diags, ReadStats& stats) {
  ingest::ReadContext ctx{opts, visit, diags, stats};
  // Inputs are taken as the walk finds them, so the workers have units to read while a large
  // folder is still being walked; the progress total grows with the walk.
  // The same file reached by two paths (a link beside its target, a hard link, or one input named
  // twice) is read at its first path only: its events would otherwise be hunted twice and every
  // finding doubled.
  std::map<std::pair<dev_t, ino_t>, std::string> first;  // the file's identity -> the path it is read at
  // What the walk says goes with the next unit handed on (InputUnit::notes), so that it comes in
  // the same place among the units' diagnostics, which a worker's unit reports when its turn comes;
  // before a file read here, or at the end, it is told as it is.
  HoldingSink walk_diags;
  auto tell_walk_diags = [&] {
    for (auto& d : walk_diags.take_kept()) diags.report(std::move(d));
  };
  InputUnit unit;
  bool undrained = false;  // units were handed on since the last drain
  // What the walk said so far goes with the unit, before the file that comes next.
  auto note = [&] {
    for (auto& d : walk_diags.take_kept()) unit.notes.push_back({unit.files.size(), std::move(d)});
  };
  auto hand_on = [&] {
    if (unit.files.empty()) return;
    ctx.progress_base += unit.bytes;
    note();
    opts.defer(std::exchange(unit, {}));
    undrained = true;
    ctx.progress_now(ctx.progress_base);
  };
  // Before this thread says anything itself: the units handed on have said theirs.
  auto drain = [&] {
    if (undrained && opts.drain) opts.drain();
    undrained = false;
  };
  // A triage folder is thousands of small .evtx files: they are taken for what they are named
  // rather than opened here once more (an archive named .evtx is still read right, elsewhere).
  auto maybe_archive = [](const std::string& path) {
    return !iends_with(path, ".evtx") && ingest::starts_as_archive(path);
  };
  const ingest::TakeInput take = [&](ingest::InputFile&& in) {
    if (ctx.stopped()) return;  // the caller needs no more records: the rest is not opened
    if (!in.stdin_input) {
      auto [at, fresh] = first.try_emplace({in.dev, in.ino}, in.path);
      if (!fresh) {
        walk_diags.warning({in.path}, "the same file as " + at->second + "; read once", "repeated-input");
        return;
      }
    }
    ctx.progress_total += in.size;
    // A small file may be read elsewhere; it is handed on with the small files next to it.
    if (opts.defer && in.regular && in.size <= opts.unit_bytes &&
        (opts.defer_archives || !maybe_archive(in.path))) {
      note();
      unit.files.push_back(std::move(in.path));
      unit.bytes += in.size;
      if (unit.bytes >= opts.unit_bytes) hand_on();
      return;
    }
    hand_on();
    uint64_t before = stats.bytes;
    const bool long_read = !in.regular || in.size > opts.unit_bytes;  // stdin is not regular
    if (!long_read && undrained && opts.defer) {
      // A small archive `dump` reads here (defer_archives) while units handed on before it may
      // still be pending. Waiting for them (drain) cost `dump --threads 2` 30% on a folder of plain
      // and gzipped logs: instead, what the walk and the reading say goes on after them, as a unit
      // with no files whose notes are told in its turn.
      HoldingSink held;
      InputUnit told;
      for (auto& d : walk_diags.take_kept()) told.notes.push_back({0, std::move(d)});
      ingest::ReadContext here{opts, visit, held, stats};
      here.progress_base = ctx.progress_base;
      here.progress_total = ctx.progress_total;
      here.last_progress = ctx.last_progress;
      ingest::read_input(in, here);
      ctx.last_progress = here.last_progress;
      for (auto& d : held.take_kept()) told.notes.push_back({0, std::move(d)});
      if (!told.notes.empty()) opts.defer(std::move(told));
    } else {
      // Waiting for the units costs the overlap with them: paid before a large file or a stream,
      // whose reading is long.
      if (long_read) drain();
      tell_walk_diags();
      ingest::read_input(in, ctx);
    }
    ctx.progress_base += in.stdin_input ? stats.bytes - before : in.size;
    ctx.progress_now(ctx.progress_base);
  };
  for (const auto& p : paths) ingest::expand_path(p, take, walk_diags, ctx);
  hand_on();
  auto trailing = walk_diags.take_kept();
  if (!trailing.empty()) drain();
  for (auto& d : trailing) diags.report(std::move(d));
}

UnitReport read_unit(const InputUnit& unit, const ReadOptions& opts, const RecordVisitor& visit,
                     HoldingSink* given) {
  ReadOptions own;
  own.threads = 1;
  own.recover = opts.recover;
  own.stop = opts.stop;
  HoldingSink own_sink;
  HoldingSink& held = given ? *given : own_sink;
  UnitReport report;
  size_t at = 0;  // the file being read (ctx.on_cold_read)
  bool asked = false;
  ingest::ReadContext ctx{own, visit, held, report.stats};
  size_t n = 0;  // notes told
  auto tell_notes = [&](size_t before) {
    for (; n < unit.notes.size() && unit.notes[n].before <= before; ++n) held.report(unit.notes[n].diag);
  };
  // A unit's files are mostly a folder's: when one of them has to come from the disk, so do the
  // others, most likely. They are all asked for at once then, so that the disk fetches them while
  // this file is read and evaluated, rather than one after another as each is opened.
  ctx.on_cold_read = [&] {
    if (!std::exchange(asked, true)) ingest::ask_ahead(unit.files, at + 1);
  };
  for (; at < unit.files.size() && !ctx.stopped(); ++at) {
    tell_notes(at);
    ingest::read_input({unit.files[at]}, ctx);
  }
  tell_notes(SIZE_MAX);
  report.diags = held.take_kept();
  return report;
}

void UnitReport::replay(DiagnosticSink& sink, ReadStats& total) {
  for (auto& d : diags) sink.report(std::move(d));
  diags.clear();
  total.merge(stats);
  stats = {};
}

void read_buffer(std::string_view name, std::string_view bytes, LogFormat format, const ReadOptions& opts,
                 const RecordVisitor& visit, DiagnosticSink& diags, ReadStats& stats) {
  ingest::ReadContext ctx{opts, visit, diags, stats};
  ctx.progress_total = bytes.size();
  ingest::dispatch(name, bytes, format, ctx);
  ctx.progress_now(bytes.size());
}

}  // namespace vigil
