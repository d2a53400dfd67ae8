// Archives via libarchive: .gz (raw), .zip, .tar(.gz/.bz2/.xz). Each regular
// member is read into memory once (OTRF members are ~100 MB: memory is
// proportional to one member) and dispatched as `archive:member`.
#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <string>

#include "core/strings.h"
#include "ingest/ingest_internal.h"

namespace vigil::ingest {

namespace {

constexpr int kMaxArchiveDepth = 4;
constexpr uint64_t kMaxMemberBytes = 4ull << 30;  // whole members are held in memory
constexpr la_int64_t kReserveCap = 1ll << 30;  // an archive in an archive in …: enough for real data, bounded for bombs

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

}  // namespace

void read_archive(std::string_view name, std::string_view bytes, ReadContext& ctx) {
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
  archive_read_support_format_zip(h.a);
  archive_read_support_format_7zip(h.a);
  // Lets a single compressed stream through as one member; the formats above bid higher.
  archive_read_support_format_raw(h.a);
  if (archive_read_open_memory(h.a, bytes.data(), bytes.size()) != ARCHIVE_OK) {
    ctx.stats.files++;
    const char* err = archive_error_string(h.a);
    ctx.skip_input(name, "bad-archive", std::string("cannot open archive: ") + (err ? err : "unknown error"));
    return;
  }

  const size_t level = static_cast<size_t>(ctx.archive_depth);
  if (ctx.member_buffers.size() <= level) ctx.member_buffers.resize(level + 1);
  ctx.archive_depth++;
  archive_entry* entry = nullptr;
  int members = 0;
  bool failed = false;
  while (true) {
    int r = archive_read_next_header(h.a, &entry);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      ctx.stats.files++;
      const char* err = archive_error_string(h.a);
      ctx.skip_input(name, "bad-archive", std::string("archive damaged: ") + (err ? err : "unknown error"));
      failed = true;
      break;
    }
    if (archive_entry_filetype(entry) != AE_IFREG) continue;
    const bool raw = archive_format(h.a) == ARCHIVE_FORMAT_RAW;
    const char* path = archive_entry_pathname(entry);
    std::string member_name = std::string(name) + ":" + (raw || !path ? raw_member_name(name) : std::string(path));

    std::string& member = ctx.member_buffers[level];
    member.clear();
    // The declared size is a hint only (hostile headers lie); growth is capped.
    if (archive_entry_size_is_set(entry) && archive_entry_size(entry) > 0)
      member.reserve(static_cast<size_t>(std::min<la_int64_t>(archive_entry_size(entry), kReserveCap)));
    char buf[1 << 16];
    la_ssize_t n;
    while ((n = archive_read_data(h.a, buf, sizeof buf)) > 0) {
      if (member.size() + static_cast<size_t>(n) > kMaxMemberBytes) break;
      member.append(buf, static_cast<size_t>(n));
    }
    if (n > 0) {
      ctx.stats.files++;
      ctx.skip_input(member_name, "bad-archive", "archive member larger than 4 GiB (decompression bomb?)");
      failed = true;
      continue;
    }
    if (n < 0) {
      ctx.stats.files++;
      const char* err = archive_error_string(h.a);
      ctx.skip_input(member_name, "bad-archive", std::string("cannot decompress member: ") + (err ? err : "unknown"));
      failed = true;
      if (n == ARCHIVE_FATAL) break;
      continue;
    }
    ++members;
    dispatch(member_name, ctx.member_buffers[level], LogFormat::unknown, ctx);
    if (ctx.archive_depth == 1) ctx.progress_now(ctx.progress_base + static_cast<uint64_t>(archive_filter_bytes(h.a, -1)));
  }
  ctx.archive_depth--;
  if (members == 0 && !failed) {
    // Nothing readable inside: say so rather than silently yield nothing.
    ctx.diags.warning({std::string(name)}, "archive holds no regular files", "empty-archive");
  }
}

}  // namespace vigil::ingest
