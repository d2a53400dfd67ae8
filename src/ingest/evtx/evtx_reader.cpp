// File level of the EVTX reader: file header, chunk slicing, and the
// decode-ahead pipeline. Worker threads decode chunks into a ring of
// ChunkResults at most `window` chunks ahead of delivery; the calling thread
// delivers them strictly in file order, so output and diagnostics are
// deterministic whatever the thread count.
//
// Chunks are taken from the file size, not from the header's chunk count: a
// file copied while Windows had it open ("dirty") often has a stale count, and
// unused chunk space is zero-filled (skipped silently).
//
// Accounting: read_evtx adds the input size to stats.bytes, every record found
// (good or bad) to records_read, every bad record to records_skipped and
// skip_reasons; an unusable file counts in files_skipped. The caller
// (read_inputs/read_buffer) counts files and formats.
//
// Recovery (ReadOptions::recover): chunks also yield records carved from
// slack, from slots without a chunk signature, and from chunks a clean file
// header no longer counts. Those are held back until the call's live records
// are delivered, then delivered in file order with Record::recovered set,
// except copies of a record already delivered (the same decoded fields, or
// the same record id and bytes: slack often keeps a byte copy of a live
// record, which may decode differently when its nested template is gone).
// Duplicates are counted in one note per file. Good recovered records count in
// records_read and records_recovered when delivered; unreadable or partial
// ones are skipped with their own reasons.
//
// Dirty files: the chunk count and free-space offsets of a header written
// before its data are not trusted (see ChunkDecoder); only in a clean header
// does a chunk beyond the count mean "dropped from the log".
#include "ingest/evtx/evtx_reader.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>

#include <fmt/format.h>

#include "ingest/evtx/chunk_decoder.h"
#include "ingest/evtx/crc32.h"
#include "ingest/evtx/le.h"

namespace vigil::evtx {

bool is_evtx(std::string_view head) { return head.size() >= 8 && head.substr(0, 8) == std::string_view("ElfFile\0", 8); }

namespace {

// Moves one decoded chunk's records and problems into the caller's world.
class Deliverer {
 public:
  Deliverer(std::string_view name, const ReadOptions& opts, const RecordVisitor& visit, DiagnosticSink& diags,
            ReadStats& stats, uint64_t total)
      : name_(name), opts_(opts), visit_(visit), diags_(diags), stats_(stats), total_(total) {
    rec_.format = LogFormat::evtx;
    rec_.file = name;
    rec_.line = 0;
  }
  /// ReadOptions::stop is set: no further chunk is delivered.
  bool stopped() const { return opts_.stop && opts_.stop->load(std::memory_order_relaxed); }

  // Same record id and the same bytes.
  static uint64_t raw_key(const DecodedRecord& dr) { return dr.raw_key * 1099511628211ull ^ dr.record_id; }

  // The same decoded fields (FNV-1a over them), EventRecordID included. Not
  // the header's record id: a log re-exported by Windows renumbers its
  // headers while the events, EventRecordID and all, stay the same.
  static uint64_t content_key(const Field* sys, size_t nsys, const Field* data, size_t ndata) {
    uint64_t h = 1469598103934665603ull;
    auto mix = [&](std::string_view s) {
      for (unsigned char ch : s) h = (h ^ ch) * 1099511628211ull;
      h = (h ^ 0xFF) * 1099511628211ull;  // separator: "ab","c" differs from "a","bc"
    };
    for (size_t i = 0; i < nsys; ++i) mix(sys[i].name), mix(sys[i].value);
    h = (h ^ 0xFE) * 1099511628211ull;
    for (size_t i = 0; i < ndata; ++i) mix(data[i].name), mix(data[i].value);
    return h;
  }

  void deliver(const ChunkResult& r, uint64_t bytes_done) {
    for (const ChunkIssue& is : r.issues) {
      Diagnostic d;
      d.severity = is.severity;
      d.location.file = std::string(name_);
      d.location.offset = is.offset;
      d.message = is.message;
      d.reason = is.reason;
      diags_.report(std::move(d));
      if (is.record_skipped) {
        ++stats_.records_skipped;
        ++stats_.skip_reasons[is.reason];
      }
    }
    stats_.records_read += r.records_found;
    for (const DecodedRecord& dr : r.records) {
      const Field* sys = r.sys.data() + dr.sys_begin;
      const Field* data = r.data.data() + dr.data_begin;
      const size_t nsys = dr.sys_end - dr.sys_begin, ndata = dr.data_end - dr.data_begin;
      if (dr.recovered) {
        hold(dr, sys, nsys, data, ndata);
        continue;
      }
      if (opts_.recover) {
        seen_.insert(content_key(sys, nsys, data, ndata));
        seen_raw_.insert(raw_key(dr));
      }
      rec_.offset = dr.offset;
      // assign() reuses the vectors' capacity: no allocation in steady state.
      rec_.system.assign(sys, sys + nsys);
      rec_.data.assign(data, data + ndata);
      visit_(rec_);
    }
    if (opts_.progress) opts_.progress(bytes_done, total_);
  }

  /// Delivers the held recovered records that copy nothing already delivered.
  void flush_recovered() {
    uint64_t duplicates = 0;
    rec_.recovered = true;
    for (const Held& h : held_) {
      bool copy = !seen_raw_.insert(h.raw).second;
      if (!seen_.insert(h.key).second || copy) {
        ++duplicates;
        continue;
      }
      rec_.offset = h.offset;
      rec_.system.clear();
      rec_.data.clear();
      for (size_t i = 0; i < h.fields.size(); ++i) {
        const auto& [n, v] = h.fields[i];
        (i < h.nsys ? rec_.system : rec_.data).push_back({n, v});
      }
      ++stats_.records_read;
      ++stats_.records_recovered;
      visit_(rec_);
    }
    rec_.recovered = false;
    if (duplicates)
      diags_.note({std::string(name_)},
                  fmt::format("{} recovered record(s) are copies of records already read; not repeated", duplicates),
                  "evtx-recovered-duplicate");
    held_.clear();
  }

 private:
  // A recovered record, owned: it outlives its ChunkResult.
  struct Held {
    uint64_t offset, key, raw;
    size_t nsys;
    std::vector<std::pair<std::string, std::string>> fields;  // system fields, then data fields
  };

  void hold(const DecodedRecord& dr, const Field* sys, size_t nsys, const Field* data, size_t ndata) {
    Held h{dr.offset, content_key(sys, nsys, data, ndata), raw_key(dr), nsys, {}};
    h.fields.reserve(nsys + ndata);
    for (size_t i = 0; i < nsys; ++i) h.fields.emplace_back(sys[i].name, sys[i].value);
    for (size_t i = 0; i < ndata; ++i) h.fields.emplace_back(data[i].name, data[i].value);
    held_.push_back(std::move(h));
  }

 public:

 private:
  std::string_view name_;
  const ReadOptions& opts_;
  const RecordVisitor& visit_;
  DiagnosticSink& diags_;
  ReadStats& stats_;
  uint64_t total_;
  Record rec_;
  std::vector<Held> held_;
  std::unordered_set<uint64_t> seen_;      // content keys delivered (recovery only)
  std::unordered_set<uint64_t> seen_raw_;  // raw keys delivered (recovery only)
};

struct ChunkSpan {
  uint64_t offset;
  size_t size;
  DecodeMode mode;
};

// A thread's decoder and result, kept from file to file: a triage folder is thousands of small
// files, and a fresh pair per file allocated (and freed) its 64 KB arena blocks and tables each
// time; with the workers' threads on one jemalloc arena those large blocks met on its lock.
// Every chunk resets both, so what the last file left in them is never read.
struct SerialDecoder {
  ChunkDecoder dec;
  ChunkResult res;
  bool busy = false;
};

void decode_serial(std::string_view bytes, const std::vector<ChunkSpan>& chunks, Deliverer& out) {
  thread_local SerialDecoder kept;
  std::optional<SerialDecoder> own;  // a read nested in a visitor on this thread gets its own
  SerialDecoder& d = kept.busy ? own.emplace() : kept;
  d.busy = true;
  struct Release {
    SerialDecoder& d;
    ~Release() { d.busy = false; }
  } release{d};
  for (const ChunkSpan& ch : chunks) {
    if (out.stopped()) break;
    d.dec.decode(reinterpret_cast<const unsigned char*>(bytes.data()) + ch.offset, ch.size, ch.offset, d.res, ch.mode);
    out.deliver(d.res, ch.offset + ch.size);
  }
}

// Workers claim chunk i only when i < delivered + window, decode into slot
// i % window, and mark it ready; the calling thread delivers slot by slot and,
// while the slot it needs is not ready, decodes claimable chunks itself, so
// `threads` threads decode (threads - 1 workers plus the caller).
void decode_parallel(std::string_view bytes, const std::vector<ChunkSpan>& chunks, unsigned threads,
                     Deliverer& out) {
  const size_t n = chunks.size();
  const size_t window = std::min<size_t>(n, size_t(threads) * 4);
  std::vector<ChunkResult> slots(window);
  std::vector<char> ready(window, 0);
  std::mutex mu;
  std::condition_variable work_cv, done_cv;
  size_t next_claim = 0, delivered = 0;
  bool stop = false;
  auto claimable = [&] { return next_claim < n && next_claim < delivered + window; };
  auto decode_one = [&](ChunkDecoder& dec, size_t i) {
    const ChunkSpan& ch = chunks[i];
    dec.decode(reinterpret_cast<const unsigned char*>(bytes.data()) + ch.offset, ch.size, ch.offset,
               slots[i % window], ch.mode);
    {
      std::lock_guard lock(mu);
      ready[i % window] = 1;
    }
    done_cv.notify_all();
  };

  auto worker = [&] {
    ChunkDecoder dec;
    for (;;) {
      size_t i;
      {
        std::unique_lock lock(mu);
        work_cv.wait(lock, [&] { return stop || claimable() || next_claim >= n; });
        if (stop || next_claim >= n) return;
        i = next_claim++;
      }
      decode_one(dec, i);
    }
  };

  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  // Joins the workers even when the visitor throws.
  struct Joiner {
    std::vector<std::thread>& pool;
    std::mutex& mu;
    bool& stop;
    std::condition_variable& cv;
    ~Joiner() {
      {
        std::lock_guard lock(mu);
        stop = true;
      }
      cv.notify_all();
      for (auto& t : pool) t.join();
    }
  } joiner{pool, mu, stop, work_cv};
  for (unsigned t = 0; t + 1 < threads; ++t) pool.emplace_back(worker);

  ChunkDecoder own;
  for (size_t i = 0; i < n && !out.stopped(); ++i) {
    for (;;) {
      std::unique_lock lock(mu);
      if (ready[i % window]) break;
      if (claimable()) {
        size_t k = next_claim++;
        lock.unlock();
        decode_one(own, k);
        continue;
      }
      done_cv.wait(lock, [&] { return ready[i % window] != 0 || claimable(); });
    }
    out.deliver(slots[i % window], chunks[i].offset + chunks[i].size);
    {
      std::lock_guard lock(mu);
      ready[i % window] = 0;
      ++delivered;
    }
    work_cv.notify_all();
  }
}

}  // namespace

size_t chunk_slots(std::string_view bytes) {
  if (bytes.size() <= kFileHeaderSize) return 0;
  return (bytes.size() - kFileHeaderSize + kChunkSize - 1) / kChunkSize;
}

void read_evtx(std::string_view name, std::string_view bytes, const ReadOptions& opts, const RecordVisitor& visit,
               DiagnosticSink& diags, ReadStats& stats, ChunkRange range) {
  const bool first_part = range.first == 0;
  if (first_part) stats.bytes += bytes.size();
  auto file_error = [&](std::string reason, std::string msg) {
    if (!first_part) return;
    diags.error({std::string(name), 0, 0, 0}, std::move(msg), reason);
    ++stats.files_skipped;
    ++stats.skip_reasons[reason];
  };
  if (!is_evtx(bytes)) return file_error("evtx-bad-header", "not an EVTX file (missing \"ElfFile\" signature)");
  if (bytes.size() < 128) return file_error("evtx-truncated", "EVTX file header truncated");
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const uint32_t stored_crc = rd32(p + 124);
  if (first_part && crc32(p, 120) != stored_crc)
    diags.warning({std::string(name), 0, 0, 0}, "EVTX file header checksum mismatch; reading the chunks anyway",
                  "evtx-header-checksum");

  // File header: u16 chunk count at 42, u32 flags at 120 (bit 0: dirty). A
  // clean header with a good checksum is the only one whose count we trust to
  // say which chunks were dropped from the log.
  const uint16_t header_chunks = rd16(p + 42);
  const uint32_t flags = rd32(p + 120);
  const bool count_trusted = crc32(p, 120) == stored_crc && !(flags & 1u);

  std::vector<ChunkSpan> chunks;
  const size_t slots = chunk_slots(bytes);
  for (size_t i = range.first; i < std::min(range.last, slots); ++i) {
    uint64_t off = kFileHeaderSize + uint64_t(i) * kChunkSize;
    DecodeMode mode;
    mode.recover = opts.recover;
    mode.unlisted = opts.recover && count_trusted && i >= header_chunks;
    chunks.push_back({off, size_t(std::min<uint64_t>(kChunkSize, bytes.size() - off)), mode});
  }
  if (chunks.empty()) return;

  unsigned threads = opts.threads ? opts.threads : std::max(1u, std::thread::hardware_concurrency());
  threads = unsigned(std::min<size_t>(threads, chunks.size()));
  Deliverer out(name, opts, visit, diags, stats, bytes.size());
  if (threads <= 1) {
    decode_serial(bytes, chunks, out);
  } else {
    decode_parallel(bytes, chunks, threads, out);
  }
  if (opts.recover) out.flush_recovered();
}

}  // namespace vigil::evtx
