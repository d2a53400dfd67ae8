// Archives via libarchive: .gz (raw), .zip, .tar(.gz/.bz2/.xz), 7z. Members
// are streamed, never held whole: each regular member is read in bounded
// blocks through read_source() as `archive:member`, so a member that expands
// to gigabytes costs the memory of one block and one record. An archive cut
// short (a truncated .gz or .tar.gz) yields every record before the cut, and
// the cut is reported with the member and the byte where it happened.
#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "core/strings.h"
#include "ingest/ingest_internal.h"

namespace vigil::ingest {

namespace {

constexpr int kMaxArchiveDepth = 4;
constexpr size_t kMemoryBlock = 16u << 20;  // an in-memory archive is handed to libarchive in these pieces

struct ArchiveHandle {
  archive* a = archive_read_new();
  ~ArchiveHandle() { archive_read_free(a); }
};

// A plain .gz has no member names: use the archive's name without `.gz`.
std::string raw_member_name(std::string_view archive_name) {
  std::string base(path_basename(archive_name));
  if (iends_with(base, ".gz") && base.size() > 3) base.resize(base.size() - 3);
  return base;
}

class MemorySource final : public ByteSource {
 public:
  explicit MemorySource(std::string_view bytes) : bytes_(bytes) {}
  long next(const char** data) override {
    size_t n = std::min(kMemoryBlock, bytes_.size() - pos_);
    *data = bytes_.data() + pos_;
    pos_ += n;
    return static_cast<long>(n);
  }
  // Zip's central directory sits at the end: seeking lets libarchive read it.
  int64_t seek(int64_t offset, int whence) {
    int64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? static_cast<int64_t>(pos_) : static_cast<int64_t>(bytes_.size());
    int64_t to = base + offset;
    if (to < 0 || to > static_cast<int64_t>(bytes_.size())) return ARCHIVE_FATAL;
    pos_ = static_cast<size_t>(to);
    return to;
  }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

// The data of the current member, decompressed block by block. Blocks as
// libarchive produces them (not a fixed-size read): a fixed-size read that
// meets the end of a truncated stream returns the error and drops the bytes
// it had, so the last good records would be lost.
class MemberSource final : public ByteSource {
 public:
  explicit MemberSource(archive* a) : a_(a) {}
  long next(const char** data) override {
    const void* block = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    int r = archive_read_data_block(a_, &block, &size, &offset);
    if (r == ARCHIVE_EOF) return 0;
    if (r < ARCHIVE_WARN) {
      status_ = r;
      const char* err = archive_error_string(a_);
      error_ = err ? err : "unknown error";
      return -1;
    }
    *data = static_cast<const char*>(block);
    return static_cast<long>(size);
  }
  std::string error() const override { return error_; }
  int status() const { return status_; }

 private:
  archive* a_;
  std::string error_;
  int status_ = ARCHIVE_OK;
};

la_ssize_t read_callback(archive* a, void* client, const void** out) {
  auto* src = static_cast<ByteSource*>(client);
  const char* data = nullptr;
  long n = src->next(&data);
  if (n < 0) {
    archive_set_error(a, EIO, "%s", src->error().c_str());
    return -1;
  }
  *out = data;
  return static_cast<la_ssize_t>(n);
}

la_int64_t seek_callback(archive*, void* client, la_int64_t offset, int whence) {
  return static_cast<MemorySource*>(static_cast<ByteSource*>(client))->seek(offset, whence);
}

void read_archive_from(std::string_view name, ByteSource& src, MemorySource* memory, ReadContext& ctx);

}  // namespace

void read_archive(std::string_view name, std::string_view bytes, ReadContext& ctx) {
  MemorySource src(bytes);
  read_archive_from(name, src, &src, ctx);
}

void read_archive(std::string_view name, ByteSource& src, ReadContext& ctx) { read_archive_from(name, src, nullptr, ctx); }

namespace {

void read_archive_from(std::string_view name, ByteSource& src, MemorySource* memory, ReadContext& ctx) {
  if (ctx.archive_depth >= kMaxArchiveDepth) {
    ctx.stats.files++;
    ctx.skip_input(name, "bad-archive", "archive nested too deeply");
    return;
  }
  ArchiveHandle h;
  archive_read_support_filter_all(h.a);
  // Only container formats: "all" includes text formats such as mtree that
  // would claim a gzipped JSON-lines file and turn each line into a member.
  archive_read_support_format_tar(h.a);
  // A zip in memory is read from its central directory; a streamed one (a
  // zip inside an archive, or on stdin) from its local headers.
  if (memory) archive_read_support_format_zip(h.a);
  else archive_read_support_format_zip_streamable(h.a);
  archive_read_support_format_7zip(h.a);
  // Lets a single compressed stream through as one member; the formats above bid higher.
  archive_read_support_format_raw(h.a);
  if (memory) archive_read_set_seek_callback(h.a, seek_callback);
  if (archive_read_open(h.a, &src, nullptr, read_callback, nullptr) != ARCHIVE_OK) {
    ctx.stats.files++;
    const char* err = archive_error_string(h.a);
    ctx.skip_input(name, "bad-archive", std::string("cannot open archive: ") + (err ? err : "unknown error"));
    return;
  }

  ctx.archive_depth++;
  archive_entry* entry = nullptr;
  int members = 0;
  bool failed = false;
  while (!ctx.stopped()) {
    int r = archive_read_next_header(h.a, &entry);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      const char* err = archive_error_string(h.a);
      if (members > 0) {
        // The members before the damage were read: a cut, not a lost archive.
        ctx.input_cut(name, static_cast<uint64_t>(archive_filter_bytes(h.a, -1)),
                      std::string("archive damaged after ") + std::to_string(members) +
                          " member(s): " + (err ? err : "unknown error"));
      } else {
        ctx.stats.files++;
        ctx.skip_input(name, "bad-archive", std::string("archive damaged: ") + (err ? err : "unknown error"));
      }
      failed = true;
      break;
    }
    if (archive_entry_filetype(entry) != AE_IFREG) continue;
    const bool raw = archive_format(h.a) == ARCHIVE_FORMAT_RAW;
    const char* path = archive_entry_pathname(entry);
    std::string member_name = std::string(name) + ":" + (raw || !path ? raw_member_name(name) : std::string(path));

    ++members;
    MemberSource member(h.a);
    if (!read_source(member_name, member, ctx)) {
      failed = true;
      if (member.status() == ARCHIVE_FATAL) break;
    }
    if (ctx.archive_depth == 1) ctx.progress_now(ctx.progress_base + static_cast<uint64_t>(archive_filter_bytes(h.a, -1)));
  }
  ctx.archive_depth--;
  if (members == 0 && !failed && !ctx.stopped()) {
    // Nothing readable inside: say so rather than silently yield nothing.
    ctx.diags.warning({std::string(name)}, "archive holds no regular files", "empty-archive");
  }
}

}  // namespace

}  // namespace vigil::ingest
