// Whole-file reads and crash-safe writes for the files vigil keeps between runs
// (the rule bundle, compiled matcher databases).
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace vigil {

/// Reads all of the open descriptor `fd` into `out` (`size_hint`: expected length). False on a read error.
bool read_all(int fd, std::string& out, size_t size_hint);

/// Writes `bytes` to `path` through a temporary file renamed over it, so a concurrent reader sees
/// the old file or the new one, never half; the parent directory is created (owner-only). Empty
/// on success, else why not.
std::string write_file_atomically(const std::string& path, std::string_view bytes);

/// Keeps the `keep` most recently written files of `dir` whose names start with `prefix` and end
/// with `suffix`; removes the others.
void keep_newest(const std::string& dir, std::string_view prefix, std::string_view suffix, size_t keep);

}  // namespace vigil
