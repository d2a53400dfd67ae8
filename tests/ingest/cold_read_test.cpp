// A unit of files that are not in the page cache: once its first file has to come from the disk,
// read_unit asks the kernel for the unit's other files at once (posix_fadvise WILLNEED), so that
// they are fetched while the first one is read and evaluated, and what it delivers is what a
// read of the same files from the cache delivers.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "ingest_test_util.h"

namespace vigil::test {
namespace {

constexpr long kTmpfsMagic = 0x01021994;

// Pages of `path` in the page cache (mincore over a mapping of it); -1 when it cannot be told.
long cached_pages(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat st {};
  long n = -1;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) {
    const size_t size = static_cast<size_t>(st.st_size);
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    if (p != MAP_FAILED) {
      const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
      std::vector<unsigned char> in((size + page - 1) / page);
      if (::mincore(p, size, in.data()) == 0) {
        n = 0;
        for (unsigned char c : in) n += c & 1;
      }
      ::munmap(p, size);
    }
  }
  ::close(fd);
  return n;
}

// Drops the file's clean pages from the page cache.
void evict(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

TEST(ColdRead, AUnitWhoseFilesAreOnDiskAsksForThemAllOnceItsFirstIsNotCached) {
  namespace fs = std::filesystem;
  const std::string dir = temp_dir("cold_read");
  struct statfs sf {};
  if (::statfs(dir.c_str(), &sf) == 0 && static_cast<long>(sf.f_type) == kTmpfsMagic) {
    fs::remove_all(dir);
    GTEST_SKIP() << "the temporary directory is on tmpfs: its files cannot leave the page cache";
  }
  // Six real EVTX files of the attack samples, copied so that their pages are this test's to drop.
  const std::string samples = shared("data/evtx-attack-samples/Lateral Movement");
  std::vector<std::string> files;
  std::vector<fs::path> sources;
  for (auto& e : fs::directory_iterator(samples))
    if (e.path().extension() == ".evtx" && e.file_size() > 64 * 1024) sources.push_back(e.path());
  std::sort(sources.begin(), sources.end());
  ASSERT_GE(sources.size(), 6u) << samples;
  sources.resize(6);
  for (size_t i = 0; i < sources.size(); ++i) {
    files.push_back(dir + "/" + std::to_string(i) + ".evtx");
    fs::copy_file(sources[i], files.back());
  }
  // What a read of the same files from the page cache gives, one by one, on the walk's thread.
  Collected warm = read_paths(files);
  ASSERT_GT(warm.records.size(), 0u);
  ASSERT_EQ(warm.stats.records_skipped, 0u);

  for (auto& f : files) evict(f);
  const std::string& last = files.back();
  if (cached_pages(last) != 0) {
    fs::remove_all(dir);
    GTEST_SKIP() << "this file system keeps the files in the page cache (" << cached_pages(last) << " pages)";
  }
  InputUnit unit;
  unit.files = files;
  std::vector<OwnedRecord> got;
  bool last_came_early = false;  // some of the last file was in the cache while the first was read
  bool looked = false;
  const UnitReport r = read_unit(unit, ReadOptions{}, [&](const Record& rec) {
    got.push_back(own(rec));
    if (looked || rec.file != files.front()) return;
    looked = true;
    // The kernel fetches it in the background: waited for a while, never read by this test.
    for (int i = 0; i < 200 && !last_came_early; ++i) {
      last_came_early = cached_pages(last) > 0;
      if (!last_came_early) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  fs::remove_all(dir);
  EXPECT_TRUE(looked);
  EXPECT_TRUE(last_came_early) << "the unit's last file was not asked for while its first was read";
  EXPECT_EQ(r.stats.records_read, warm.stats.records_read);
  EXPECT_EQ(r.stats.records_skipped, 0u);
  ASSERT_EQ(got.size(), warm.records.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].file, warm.records[i].file) << i;
    EXPECT_EQ(got[i].sys("EventRecordID"), warm.records[i].sys("EventRecordID")) << i;
    EXPECT_EQ(got[i].data, warm.records[i].data) << i;
  }
}

}  // namespace
}  // namespace vigil::test
