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
#define VIGIL_FUZZ_ENTRY fuzz_search
#include "../../fuzz/search_fuzz.cpp"
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

// An ESCU search with its content macros stubbed, as scripts/fuzz.sh makes the search target's
// seeds: the target compiles with vigil's built-in macros only (a RuleSet per input), so
// `security_content_summariesonly` goes, `security_content_ctime(f)` becomes `convert ctime(f)`,
// `drop_dm_object_name(…)` (built in) stays, and any other (`sysmon`, `<rule>_filter` …) becomes
// `search *`.
std::string stub_content_macros(std::string_view q) {
  std::string out;
  for (size_t i = 0; i < q.size();) {
    const size_t open = q.find('`', i), close = open == std::string_view::npos ? open : q.find('`', open + 1);
    if (close == std::string_view::npos) {
      out.append(q.substr(i));
      break;
    }
    out.append(q.substr(i, open - i));
    const std::string_view name = q.substr(open + 1, close - open - 1);
    if (name.starts_with("security_content_ctime(") && name.ends_with(")"))
      out.append("convert ctime(").append(name.substr(23));
    else if (name.starts_with("drop_dm_object_name"))
      out.append(q.substr(open, close - open + 1));
    else if (!name.starts_with("security_content_summariesonly"))
      out.append("search *");
    i = close + 1;
  }
  return out;
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
  const size_t ran_before = sigma_runs;
  n += replay_dir(kShared / "corpus/sigma/rules/windows/process_creation", fuzz_sigma, 200);
  EXPECT_GT(n, 0u);
  // Each of the 200 process_creation rules compiles and runs: their logsource is mapped
  // (data/sigma/logsources.yml) and they use no modifier vigil lacks.
  EXPECT_EQ(sigma_runs - ran_before, 200u);
}

TEST(FuzzReplay, Search) {
  size_t n = replay_dir(kCorpus / "search", fuzz_search, 100000);
  // The first 150 ESCU endpoint searches (macros stubbed), compiled and run over the sample logs.
  std::vector<fs::path> files;
  for (auto& e : fs::directory_iterator(kShared / "corpus/security_content/detections/endpoint"))
    if (e.path().extension() == ".yml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  size_t searches = 0;
  const size_t ran_before = search_runs;
  for (auto& f : files) {
    if (searches == 150) break;
    std::ifstream in(f, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    std::vector<vigil::yaml::Node> docs;
    try {
      docs = vigil::yaml::load_all(ss.str());
    } catch (const vigil::yaml::Exception&) {
      continue;
    }
    if (docs.empty() || !docs[0]["search"].IsScalar()) continue;
    const std::string q = stub_content_macros(docs[0]["search"].Scalar());
    SCOPED_TRACE(f.string());
    fuzz_search(reinterpret_cast<const uint8_t*>(q.data()), q.size());
    ++searches;
  }
  EXPECT_EQ(searches, 150u);
  // All but the six that read a lookup table (`lookup`/`inputlookup`: no content here) and the one
  // that needs DSDL's `apply` (counted over the same 150 files with python's yaml).
  EXPECT_EQ(search_runs - ran_before, 143u) << "searches that compiled and ran, of 150";
  std::printf("ESCU searches compiled and run over the sample logs: %zu of %zu\n", search_runs - ran_before, searches);
  EXPECT_GE(n, 8u);  // the hand-written seeds at least
}

TEST(FuzzReplay, Ingest) {
  size_t n = replay_dir(kCorpus / "ingest", fuzz_ingest, 100000);
  // The sample logs whole, and streamed in 7-byte blocks.
  n += replay_dir(fs::path(VIGIL_SOURCE_DIR) / "samples/logs", fuzz_ingest, 100, std::string("\0\0", 2));
  n += replay_dir(fs::path(VIGIL_SOURCE_DIR) / "samples/logs", fuzz_ingest, 100, std::string("\1\6", 2));
  EXPECT_GT(n, 0u);
}

}  // namespace
