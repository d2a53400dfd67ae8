// Replays every parser fuzz target (fuzz/*_fuzz.cpp) over its saved corpus
// (fuzz/corpus/<target>/, crash inputs included) and over seeds read from
// ../shared, in the ordinary build: each finding stays a regression test.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#define VIGIL_FUZZ_ENTRY fuzz_spl
#include "../../fuzz/spl_fuzz.cpp"
#undef VIGIL_FUZZ_ENTRY
#define VIGIL_FUZZ_ENTRY fuzz_escu
#include "../../fuzz/escu_fuzz.cpp"
#undef VIGIL_FUZZ_ENTRY
#define VIGIL_FUZZ_ENTRY fuzz_sigma
#include "../../fuzz/sigma_fuzz.cpp"
#undef VIGIL_FUZZ_ENTRY
#define VIGIL_FUZZ_ENTRY fuzz_ingest
#include "../../fuzz/ingest_fuzz.cpp"
#undef VIGIL_FUZZ_ENTRY

namespace {

namespace fs = std::filesystem;
using Entry = int (*)(const uint8_t*, size_t);

size_t replay_dir(const fs::path& dir, Entry entry, size_t limit, const std::string& prefix = {}) {
  std::vector<fs::path> files;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return 0;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (it->is_regular_file()) files.push_back(it->path());
  std::sort(files.begin(), files.end());
  if (files.size() > limit) files.resize(limit);
  for (auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    std::string bytes = prefix + ss.str();
    SCOPED_TRACE(f.string());
    entry(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  }
  return files.size();
}

const fs::path kCorpus = fs::path(VIGIL_SOURCE_DIR) / "fuzz/corpus";
const fs::path kShared = fs::path(VIGIL_SHARED_DIR);

TEST(FuzzReplay, Spl) {
  size_t n = replay_dir(kCorpus / "spl", fuzz_spl, 100000);
  n += replay_dir(kShared / "seeds", fuzz_spl, 1000);
  EXPECT_GT(n, 0u);
}

TEST(FuzzReplay, Escu) {
  size_t n = replay_dir(kCorpus / "escu", fuzz_escu, 100000);
  n += replay_dir(kShared / "corpus/security_content/detections/endpoint", fuzz_escu, 200);
  EXPECT_GT(n, 0u);
}

TEST(FuzzReplay, Sigma) {
  size_t n = replay_dir(kCorpus / "sigma", fuzz_sigma, 100000);
  n += replay_dir(kShared / "corpus/sigma/rules/windows/process_creation", fuzz_sigma, 200);
  EXPECT_GT(n, 0u);
}

TEST(FuzzReplay, Ingest) {
  size_t n = replay_dir(kCorpus / "ingest", fuzz_ingest, 100000);
  // The sample logs whole, and streamed in 7-byte blocks.
  n += replay_dir(fs::path(VIGIL_SOURCE_DIR) / "samples/logs", fuzz_ingest, 100, std::string("\0\0", 2));
  n += replay_dir(fs::path(VIGIL_SOURCE_DIR) / "samples/logs", fuzz_ingest, 100, std::string("\1\6", 2));
  EXPECT_GT(n, 0u);
}

}  // namespace
