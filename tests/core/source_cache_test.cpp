// The rule-text bundle (core/source_cache.h): a file's text comes from the
// bundle only while the file is unchanged; a damaged bundle is ignored.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/source_cache.h"
#include "core/yaml.h"

namespace fs = std::filesystem;
using vigil::SourceCache;

// Not in an anonymous namespace: the TEST_F classes derived from it are not (-Wsubobject-linkage).
struct SourceCacheTest : ::testing::Test {
  fs::path dir;
  std::string bundle;
  void SetUp() override {
    dir = fs::temp_directory_path() / ("vigil_srccache_" + std::to_string(::getpid()) + "_" +
                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir / "rules");
    bundle = (dir / "cache" / "sources-test.bin").string();
    write("a.yml", "title: a\n");
    write("b.yml", "title: b\nlevel: high\n");
    write("c.yml", std::string(100000, 'x'));  // larger than one read
    // A file changed within the same clock tick as its last write keeps its stamp: the bundle
    // leaves out files changed in the last 2 s. These are older.
    backdate("a.yml"), backdate("b.yml"), backdate("c.yml");
  }
  void TearDown() override { fs::remove_all(dir); }
  std::string path(const std::string& name) { return (dir / "rules" / name).string(); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(path(name), std::ios::binary | std::ios::trunc) << text;
  }
  // Sets mtime an hour back; ctime cannot be set, so the test waits out the racy window instead.
  void backdate(const std::string& name) {
    auto t = fs::last_write_time(path(name));
    fs::last_write_time(path(name), t - std::chrono::hours(1));
  }
  // Waits out the racy window (the files' ctime is now), then bundles `names` as a first run would.
  void bundle_aged(std::initializer_list<const char*> names) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));
    SourceCache c(bundle);
    for (auto* n : names) read(c, n);
    EXPECT_EQ(c.save(), "");
  }
  std::string read(SourceCache& c, const std::string& name) {
    std::string out;
    EXPECT_TRUE(c.read(path(name), out)) << name;
    return out;
  }
};

TEST_F(SourceCacheTest, FirstRunReadsTheDiskLaterRunsTheBundle) {
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));  // ctime out of the racy window
  {
    SourceCache c(bundle);
    EXPECT_EQ(read(c, "a.yml"), "title: a\n");
    EXPECT_EQ(read(c, "c.yml"), std::string(100000, 'x'));
    EXPECT_EQ(c.hits(), 0u);
    EXPECT_EQ(c.misses(), 2u);
    EXPECT_EQ(c.save(), "");
  }
  ASSERT_TRUE(fs::exists(bundle));
  auto written = fs::last_write_time(bundle);
  {
    SourceCache c(bundle);
    EXPECT_EQ(read(c, "a.yml"), "title: a\n");
    EXPECT_EQ(read(c, "c.yml"), std::string(100000, 'x'));
    EXPECT_EQ(c.hits(), 2u);
    EXPECT_EQ(c.misses(), 0u);
    EXPECT_EQ(c.save(), "");
  }
  EXPECT_EQ(fs::last_write_time(bundle), written) << "an exact bundle is not rewritten";
  {
    // One more file: read from disk and added; the bundle now holds three.
    SourceCache c(bundle);
    read(c, "a.yml"), read(c, "b.yml"), read(c, "c.yml");
    EXPECT_EQ(c.hits(), 2u);
    EXPECT_EQ(c.misses(), 1u);
    c.save();
  }
  {
    SourceCache c(bundle);
    EXPECT_EQ(read(c, "b.yml"), "title: b\nlevel: high\n");
    EXPECT_EQ(c.hits(), 1u);
  }
}

TEST_F(SourceCacheTest, AFileChangedSinceItWasBundledIsReadAgainEvenWithItsOldMtimeAndSize) {
  bundle_aged({"a.yml", "b.yml"});
  // Same size, and the old mtime put back: only the ctime tells.
  auto old = fs::last_write_time(path("a.yml"));
  write("a.yml", "title: A\n");
  fs::last_write_time(path("a.yml"), old);
  SourceCache c(bundle);
  EXPECT_EQ(read(c, "a.yml"), "title: A\n");
  EXPECT_EQ(read(c, "b.yml"), "title: b\nlevel: high\n");
  EXPECT_EQ(c.misses(), 1u);
  EXPECT_EQ(c.hits(), 1u);
  c.save();
  // The fresh text was just written: it stays out of the bundle until it is 2 s old.
  SourceCache again(bundle);
  EXPECT_EQ(read(again, "a.yml"), "title: A\n");
  EXPECT_EQ(again.misses(), 1u);
}

// A bundled file is checked with a stat, not opened (SourceCache::read): one that is gone, or was
// replaced (here by a directory: a new inode, so its stamp differs), must fail as it would without
// a bundle, not be answered from it.
TEST_F(SourceCacheTest, ABundledFileThatIsGoneOrReplacedIsNotAnsweredFromTheBundle) {
  bundle_aged({"a.yml", "b.yml", "c.yml"});
  fs::remove(path("a.yml"));
  fs::remove(path("b.yml"));
  fs::create_directory(path("b.yml"));
  SourceCache c(bundle);
  std::string out;
  EXPECT_FALSE(c.read(path("a.yml"), out));
  EXPECT_FALSE(c.read(path("b.yml"), out));
  EXPECT_EQ(read(c, "c.yml"), std::string(100000, 'x'));
  EXPECT_EQ(c.hits(), 1u);
}

TEST_F(SourceCacheTest, ADamagedOrTruncatedBundleIsIgnored) {
  bundle_aged({"a.yml", "b.yml", "c.yml"});
  auto size = fs::file_size(bundle);
  {
    // One byte of c.yml's text flipped inside the bundle.
    std::fstream f(bundle, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size - 5000));
    f.put('y');
  }
  {
    SourceCache c(bundle);
    EXPECT_EQ(read(c, "c.yml"), std::string(100000, 'x'));
    EXPECT_EQ(read(c, "a.yml"), "title: a\n");
    EXPECT_EQ(c.hits(), 0u);
    EXPECT_EQ(c.misses(), 2u);
  }
  fs::resize_file(bundle, size / 2);
  {
    SourceCache c(bundle);
    EXPECT_EQ(read(c, "b.yml"), "title: b\nlevel: high\n");
    EXPECT_EQ(c.hits(), 0u);
  }
  std::ofstream(bundle, std::ios::trunc) << "not a bundle";
  SourceCache c(bundle);
  EXPECT_EQ(read(c, "a.yml"), "title: a\n");
  EXPECT_EQ(c.hits(), 0u);
}

TEST_F(SourceCacheTest, MissingFilesFailAndTheBundleNameDependsOnThePathsGiven) {
  SourceCache c(bundle);
  std::string out;
  EXPECT_FALSE(c.read(path("missing.yml"), out));
  EXPECT_FALSE(c.read((dir / "rules").string(), out));  // a directory
  auto one = SourceCache::bundle_for("/c", {path("a.yml")}, "");
  EXPECT_EQ(one, SourceCache::bundle_for("/c", {path("a.yml")}, ""));
  EXPECT_NE(one, SourceCache::bundle_for("/c", {path("b.yml")}, ""));
  EXPECT_NE(one, SourceCache::bundle_for("/c", {path("a.yml")}, "/content"));
  EXPECT_EQ(fs::path(one).parent_path(), "/c");
}

// The parsed tree of a file rides in the bundle beside its text (yaml::load_source): a later run
// takes it instead of parsing, only for the very text it was parsed from.
TEST_F(SourceCacheTest, ParsedTreesAreBundledAndUsedOnlyForTheirOwnText) {
  namespace yaml = vigil::yaml;
  auto load = [&](SourceCache& c, const std::string& name) {
    vigil::SourceCacheScope scope(&c);
    std::string text;
    EXPECT_TRUE(vigil::read_source_file(path(name), text));
    return yaml::load_source(path(name), text);
  };
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));  // ctime out of the racy window
  {
    SourceCache c(bundle);
    EXPECT_EQ(load(c, "b.yml").at(0)["level"].Scalar(), "high");
    EXPECT_EQ(c.trees_used(), 0u);
    EXPECT_EQ(c.save(), "");
  }
  {
    SourceCache c(bundle);
    auto docs = load(c, "b.yml");
    EXPECT_EQ(c.trees_used(), 1u) << "the second run takes the tree";
    EXPECT_EQ(docs.at(0)["level"].Scalar(), "high");
    EXPECT_EQ(docs.at(0)["level"].Mark().line, 1);
    // Asked for another text than the bundled one (the caller's own), the tree is not used.
    bool used = false;
    EXPECT_FALSE(c.use_tree(path("b.yml"), "title: other\n", [&](std::string_view) { return used = true; }));
    EXPECT_FALSE(used);
    EXPECT_EQ(c.save(), "");
  }
  // The file changes (same size): its new text is read and parsed, and its new tree bundled.
  write("b.yml", "title: b\nlevel: lowz\n");
  backdate("b.yml");
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  {
    SourceCache c(bundle);
    EXPECT_EQ(load(c, "b.yml").at(0)["level"].Scalar(), "lowz");
    EXPECT_EQ(c.trees_used(), 0u);
    EXPECT_EQ(c.misses(), 1u);
    c.save();
  }
  {
    SourceCache c(bundle);
    EXPECT_EQ(load(c, "b.yml").at(0)["level"].Scalar(), "lowz");
    EXPECT_EQ(c.trees_used(), 1u);
    // A bundled tree its user cannot read (another build's layout) is parsed again and replaced.
    EXPECT_FALSE(c.use_tree(path("b.yml"), "title: b\nlevel: lowz\n", [](std::string_view) { return false; }));
    c.keep_tree(path("b.yml"), "title: b\nlevel: lowz\n", "replaced");
    EXPECT_EQ(c.save(), "");
  }
  {
    SourceCache c(bundle);
    std::string seen;
    EXPECT_TRUE(c.use_tree(path("b.yml"), "title: b\nlevel: lowz\n", [&](std::string_view t) {
      seen = t;
      return true;
    }));
    EXPECT_EQ(seen, "replaced") << "the bundle was rewritten with the new tree";
  }
  // A file touched but not changed is read from disk again; its bundled tree is still its own,
  // and stays in the bundle rewritten for the new stamp.
  write("d.yml", "d: [1, 2]\n");
  backdate("d.yml");
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  for (int run = 0; run < 3; ++run) {
    if (run == 1) {
      backdate("d.yml");  // a new mtime and ctime, the same text
      std::this_thread::sleep_for(std::chrono::milliseconds(2100));
    }
    SourceCache c(bundle);
    EXPECT_EQ(load(c, "d.yml").at(0)["d"][1].Scalar(), "2");
    EXPECT_EQ(c.misses(), run == 2 ? 0u : 1u) << run;
    EXPECT_EQ(c.trees_used(), run == 0 ? 0u : 1u) << run;
    c.save();
  }
  // A file that does not parse keeps no tree and parses (and fails) again each run.
  write("a.yml", "a: [\n");
  backdate("a.yml");
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  for (int run = 0; run < 2; ++run) {
    SourceCache c(bundle);
    EXPECT_THROW(load(c, "a.yml"), yaml::Exception);
    EXPECT_EQ(c.trees_used(), 0u);
    c.save();
  }
}
