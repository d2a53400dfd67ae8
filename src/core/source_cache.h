// The texts of a rule corpus kept in one bundle file between runs. The two
// corpora are ~4,600 small files (rules, macros, lookup descriptors); read with
// a cold page cache they cost more than parsing them. With the bundle, a cold
// start reads one file and stats the others (no open: on a network file system
// a stat may answer from the client's attribute cache, for up to its timeout,
// where an open would revalidate).
//
// A file's text is taken from the bundle only while the file's size, mtime,
// ctime, inode and device are what they were when it was bundled; anything
// else is read from disk. A file changed in the 2 s before it was read is not
// bundled (like git's racy-clean check: a second change within one clock tick
// would leave the stamp as it was). A damaged or foreign bundle is ignored. The bundle
// is rewritten when a run read anything from disk, left entries unused, or parsed a
// bundled file again (its tree could not be read back).
//
// Beside each text the bundle keeps the YAML tree parsed from it (yaml::load_source), so a
// later run neither reads nor parses the corpus; a tree is used only for the very text it was
// parsed from.
#pragma once
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

struct stat;

namespace vigil {

class SourceCache {
 public:
  /// Maps the bundle at `bundle_path` if there is a valid one; otherwise every read misses.
  explicit SourceCache(std::string bundle_path);
  ~SourceCache();
  SourceCache(const SourceCache&) = delete;
  SourceCache& operator=(const SourceCache&) = delete;

  /// The whole text of `path`, from the bundle when it is current, else from disk.
  /// False when the file cannot be read. Safe to call from several threads.
  bool read(const std::string& path, std::string& out);

  /// Rewrites the bundle (atomically) when this run read files from disk or left
  /// bundled files unread. Empty on success or when nothing had to be written;
  /// otherwise why the bundle could not be written (the run goes on without it).
  std::string save();

  /// Where the bundle of a rule-path list lives: `dir`/sources-<hash of the paths and the working directory>.bin.
  static std::string bundle_for(const std::string& dir, const std::vector<std::string>& rule_paths,
                                const std::string& content_root);
  /// The per-user cache directory: $XDG_CACHE_HOME/vigil, else $HOME/.cache/vigil; empty if neither.
  static std::string default_dir();

  /// Hands `use` the tree bundled with `path` when its bundled text is `text` (byte for byte);
  /// true when there was one and `use` took it (trees_used counts those). Safe to call from
  /// several threads.
  bool use_tree(const std::string& path, std::string_view text, const std::function<bool(std::string_view)>& use);
  /// Keeps `tree`, parsed from `text`, for the next run, when `text` is what this run read of
  /// `path` (from disk, or from the bundle whose tree was missing or unreadable: the bundle is
  /// then rewritten). Safe to call from several threads.
  void keep_tree(const std::string& path, std::string_view text, std::string tree);

  size_t hits() const { return hits_; }
  size_t trees_used() const { return trees_used_; }
  size_t misses() const { return misses_; }
  const std::string& path() const { return bundle_path_; }

 private:
  struct Stamp {
    uint64_t size = 0, ino = 0, dev = 0;
    int64_t mtime_ns = 0, ctime_ns = 0;
    bool operator==(const Stamp&) const = default;
  };
  struct Entry {
    Stamp stamp;
    std::string_view text;  ///< into the mapped bundle
    std::string_view tree;  ///< yaml::encode_tree of the text's parse; empty: none
    bool used = false;      ///< read this run (guarded by mu_)
  };
  static Stamp stamp_of(const struct stat& st);
  /// The bundled text of a current entry, counted as a hit.
  void take_bundled(Entry& e, std::string& out);
  struct Fresh {
    Stamp stamp;
    std::string text;
    std::string tree;
    bool racy = false;  ///< changed in the last 2 s: a change within the same clock tick would keep its stamp
  };

  void map_bundle();

  std::string bundle_path_;
  const char* map_ = nullptr;
  size_t map_size_ = 0;
  // Files are keyed by the path as the loader names them; the bundle's name covers the working
  // directory, so a relative path means one file.
  std::unordered_map<std::string_view, Entry> bundled_;  // keys and texts point into the mapping
  std::mutex mu_;
  std::unordered_map<std::string, Fresh> read_;  // files read from disk this run
  std::unordered_map<std::string_view, std::string> retreed_;  // bundled files parsed again this run
  size_t hits_ = 0, misses_ = 0, trees_used_ = 0;
};

/// Reads a corpus file through the installed cache, or from disk when none is installed.
bool read_source_file(const std::string& path, std::string& out);

/// Whether a SourceCache is installed (SourceCacheScope).
bool source_cache_installed();
/// SourceCache::use_tree / keep_tree of the installed cache (empty / nothing when none is installed).
bool use_cached_tree(const std::string& path, std::string_view text, const std::function<bool(std::string_view)>& use);
void keep_parsed_tree(const std::string& path, std::string_view text, std::string tree);

/// Installs `cache` for read_source_file while alive (one at a time; loading is not reentrant).
class SourceCacheScope {
 public:
  explicit SourceCacheScope(SourceCache* cache);
  ~SourceCacheScope();
  SourceCacheScope(const SourceCacheScope&) = delete;
  SourceCacheScope& operator=(const SourceCacheScope&) = delete;

 private:
  SourceCache* previous_;
};

}  // namespace vigil
