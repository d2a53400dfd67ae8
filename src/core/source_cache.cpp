#include "core/source_cache.h"

#include "core/bytes.h"
#include "core/files.h"
#include "core/strings.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <ctime>
#include <fstream>

namespace fs = std::filesystem;

namespace vigil {
namespace {

// Bumped whenever the layout changes: a bundle of another version is ignored.
constexpr char kMagic[16] = "vigil-sources-4";
constexpr int64_t kRacyNs = 2'000'000'000;  // see Fresh::racy
constexpr size_t kKeepBundles = 8;  // per cache directory; the least recently written go first

// 64-bit checksum of the bundle body (a damaged bundle is dropped, not trusted): XXH3, in place of a
// multiply-and-shift chain a word at a time, each step waiting on the last (callgrind, a start over a
// 26 MB bundle: mapping and checking it 31.6 M → 19.9 M instructions).
uint64_t checksum(const char* p, size_t n) { return text_hash(std::string_view(p, n)); }

std::atomic<SourceCache*> g_installed{nullptr};

}  // namespace

SourceCache::SourceCache(std::string bundle_path) : bundle_path_(std::move(bundle_path)) {
  if (!bundle_path_.empty()) map_bundle();
}

SourceCache::~SourceCache() {
  if (map_) ::munmap(const_cast<char*>(map_), map_size_);
}

void SourceCache::map_bundle() {
  int fd = ::open(bundle_path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < static_cast<off_t>(sizeof kMagic + 16)) {
    ::close(fd);
    return;
  }
  size_t n = static_cast<size_t>(st.st_size);
  void* m = ::mmap(nullptr, n, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);  // one fault-in, not 2,500
  ::close(fd);
  if (m == MAP_FAILED) return;
  map_ = static_cast<const char*>(m);
  map_size_ = n;
  // Layout: magic, entry count, entries (stamp, path, text, tree), checksum of everything before it.
  size_t body = n - 8;
  uint64_t sum = 0;
  std::memcpy(&sum, map_ + body, 8);
  bool ok = std::memcmp(map_, kMagic, sizeof kMagic) == 0 && checksum(map_, body) == sum;
  const std::string_view in(map_, body);
  size_t pos = sizeof kMagic;
  uint64_t count = 0;
  ok = ok && take_raw(in, pos, count);
  if (ok) bundled_.reserve(count);
  for (uint64_t i = 0; ok && i < count; ++i) {
    Entry e;
    uint32_t path_len = 0;
    uint64_t text_len = 0, tree_len = 0;
    ok = take_raw(in, pos, path_len) && take_raw(in, pos, e.stamp.size) && take_raw(in, pos, e.stamp.ino) &&
         take_raw(in, pos, e.stamp.dev) && take_raw(in, pos, e.stamp.mtime_ns) &&
         take_raw(in, pos, e.stamp.ctime_ns) && take_raw(in, pos, text_len) && take_raw(in, pos, tree_len) &&
         body - pos >= path_len && body - pos - path_len >= text_len && body - pos - path_len - text_len >= tree_len;
    if (!ok) break;
    std::string_view path(map_ + pos, path_len);
    pos += path_len;
    e.text = std::string_view(map_ + pos, text_len);
    pos += text_len;
    e.tree = std::string_view(map_ + pos, tree_len);
    pos += tree_len;
    bundled_.emplace(path, e);
  }
  if (!ok || pos != body) bundled_.clear();  // damaged or foreign: every read goes to disk
}

SourceCache::Stamp SourceCache::stamp_of(const struct stat& st) {
  return {static_cast<uint64_t>(st.st_size), static_cast<uint64_t>(st.st_ino), static_cast<uint64_t>(st.st_dev),
          int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
          int64_t(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec};
}

void SourceCache::take_bundled(Entry& e, std::string& out) {
  out.assign(e.text);
  std::lock_guard lock(mu_);
  if (!e.used) ++hits_;
  e.used = true;
}

bool SourceCache::read(const std::string& path, std::string& out) {
  // A bundled file whose stamp is unchanged is not opened: a stat and an access check, not open,
  // fstat and close (those three for each of ~4,600 files were 6% of a start's perf samples). A
  // change to the file (a write, chmod, chown, a rename over it) changes its ctime or inode, so the
  // stamp no longer matches and the file is opened below; the access check keeps "false when this
  // process cannot read it" true when the file did not change but the process (user, groups) did.
  auto it = bundled_.find(path);
  if (it != bundled_.end()) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && stamp_of(st) == it->second.stamp &&
        ::faccessat(AT_FDCWD, path.c_str(), R_OK, AT_EACCESS) == 0) {
      take_bundled(it->second, out);
      return true;
    }
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return false;
  }
  if (!S_ISREG(st.st_mode)) {  // a pipe or device: read, never bundled
    bool ok = read_all(fd, out, 4096);
    ::close(fd);
    return ok;
  }
  // The stamp is taken before the text is read: a file changed meanwhile gets a new mtime, and
  // the next run reads it again.
  const Stamp s = stamp_of(st);
  if (it != bundled_.end() && it->second.stamp == s) {  // the stat above failed or saw another stamp
    ::close(fd);
    take_bundled(it->second, out);
    return true;
  }
  bool ok = read_all(fd, out, s.size);
  ::close(fd);
  if (!ok) return false;
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  int64_t now_ns = int64_t(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
  bool racy = now_ns - std::max(s.mtime_ns, s.ctime_ns) < kRacyNs;
  std::lock_guard lock(mu_);
  if (read_.insert_or_assign(path, Fresh{s, out, {}, racy}).second) ++misses_;
  return true;
}

bool SourceCache::use_tree(const std::string& path, std::string_view text,
                           const std::function<bool(std::string_view)>& use) {
  auto it = bundled_.find(path);
  if (it == bundled_.end() || it->second.tree.empty() || it->second.text != text || !use(it->second.tree)) return false;
  std::lock_guard lock(mu_);
  ++trees_used_;
  // A file read from disk again (touched, not changed) keeps its tree in the rewritten bundle.
  if (auto fresh = read_.find(path); fresh != read_.end() && fresh->second.text == text)
    fresh->second.tree.assign(it->second.tree);
  return true;
}

void SourceCache::keep_tree(const std::string& path, std::string_view text, std::string tree) {
  std::lock_guard lock(mu_);
  if (auto it = read_.find(path); it != read_.end()) {
    if (it->second.text == text) it->second.tree = std::move(tree);
    return;
  }
  if (auto it = bundled_.find(path); it != bundled_.end() && it->second.text == text && it->second.tree != tree)
    retreed_.insert_or_assign(it->first, std::move(tree));
}

std::string SourceCache::save() {
  if (bundle_path_.empty()) return {};
  // The bundle is exactly this run's files, with their trees.
  if (misses_ == 0 && hits_ == bundled_.size() && retreed_.empty()) return {};
  // This run's files: bundled ones it used, and the ones it read from disk (a path in both was
  // changed: the disk's text wins).
  struct Out {
    std::string_view path;
    const Stamp* stamp;
    std::string_view text, tree;
  };
  std::vector<Out> files;
  for (auto& [p, e] : bundled_)
    if (e.used && !read_.count(std::string(p))) {
      auto again = retreed_.find(p);
      files.push_back({p, &e.stamp, e.text, again != retreed_.end() ? std::string_view(again->second) : e.tree});
    }
  for (auto& [p, f] : read_)
    if (!f.racy) files.push_back({p, &f.stamp, f.text, f.tree});
  std::sort(files.begin(), files.end(), [](auto& a, auto& b) { return a.path < b.path; });
  size_t bytes = sizeof kMagic + 16;
  for (auto& f : files) bytes += f.path.size() + 60 + f.text.size() + f.tree.size();
  std::string buf;
  buf.reserve(bytes);
  buf.append(kMagic, sizeof kMagic);
  put_raw<uint64_t>(buf, files.size());
  for (auto& f : files) {
    const Stamp& st = *f.stamp;
    put_raw<uint32_t>(buf, static_cast<uint32_t>(f.path.size()));
    put_raw(buf, st.size);
    put_raw(buf, st.ino);
    put_raw(buf, st.dev);
    put_raw(buf, st.mtime_ns);
    put_raw(buf, st.ctime_ns);
    put_raw<uint64_t>(buf, f.text.size());
    put_raw<uint64_t>(buf, f.tree.size());
    buf += f.path;
    buf += f.text;
    buf += f.tree;
  }
  put_raw(buf, checksum(buf.data(), buf.size()));

  if (std::string why = write_file_atomically(bundle_path_, buf); !why.empty()) return why;
  // Keep the directory small: one bundle per rule-path list, the most recent few.
  keep_newest(fs::path(bundle_path_).parent_path().string(), "sources-", ".bin", kKeepBundles);
  return {};
}

std::string SourceCache::bundle_for(const std::string& dir, const std::vector<std::string>& rule_paths,
                                    const std::string& content_root) {
  std::error_code ec;
  std::string key = fs::current_path(ec).string() + '\n' + content_root;
  for (auto& p : rule_paths) key += '\n' + p;
  uint64_t h = checksum(key.data(), key.size());
  char name[40];
  std::snprintf(name, sizeof name, "sources-%016llx.bin", static_cast<unsigned long long>(h));
  return (fs::path(dir) / name).string();
}

std::string SourceCache::default_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x == '/') return std::string(x) + "/vigil";
  if (const char* h = std::getenv("HOME"); h && *h == '/') return std::string(h) + "/.cache/vigil";
  return {};
}

bool read_source_file(const std::string& path, std::string& out) {
  if (SourceCache* c = g_installed.load(std::memory_order_acquire)) return c->read(path, out);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  bool ok = ::fstat(fd, &st) == 0 && read_all(fd, out, S_ISREG(st.st_mode) ? static_cast<size_t>(st.st_size) : 4096);
  ::close(fd);
  return ok;
}

bool source_cache_installed() { return g_installed.load(std::memory_order_acquire) != nullptr; }

bool use_cached_tree(const std::string& path, std::string_view text, const std::function<bool(std::string_view)>& use) {
  SourceCache* c = g_installed.load(std::memory_order_acquire);
  return c && c->use_tree(path, text, use);
}

void keep_parsed_tree(const std::string& path, std::string_view text, std::string tree) {
  if (SourceCache* c = g_installed.load(std::memory_order_acquire)) c->keep_tree(path, text, std::move(tree));
}

SourceCacheScope::SourceCacheScope(SourceCache* cache) : previous_(g_installed.exchange(cache)) {}
SourceCacheScope::~SourceCacheScope() { g_installed.store(previous_); }

}  // namespace vigil
