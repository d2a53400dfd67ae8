// A unit of files that are not in the page cache: once its first file has to come from the disk,
// read_unit asks the kernel for the unit's other files at once (posix_fadvise WILLNEED), so that
// they are fetched while the first one is read and evaluated, and what it delivers is what a
// read of the same files from the cache delivers.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
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

// Whether a read that must not wait on the disk (RWF_NOWAIT) is answered on this file system.
bool reads_without_waiting(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char byte;
  iovec v{&byte, 1};
  const ssize_t n = ::preadv2(fd, &v, 1, 0, RWF_NOWAIT);
  const bool answered = n >= 0 || errno == EAGAIN;
  ::close(fd);
  return answered;
}

TEST(ColdRead, AUnitWhoseFilesAreOnDiskAsksForTheRestOnceItsFirstIsNotCached) {
  namespace fs = std::filesystem;
  // In the build tree (ctest's working directory): a temporary directory is tmpfs on many systems.
  const std::string dir = (fs::current_path() / ("cold_read_" + std::to_string(::getpid()))).string();
  fs::remove_all(dir);
  fs::create_directories(dir);
  struct statfs sf {};
  if (::statfs(dir.c_str(), &sf) == 0 && static_cast<long>(sf.f_type) == kTmpfsMagic) {
    fs::remove_all(dir);
    GTEST_SKIP() << dir << " is on tmpfs: its files cannot leave the page cache";
  }
  // Six real EVTX files of the attack samples, copied so that their pages are this test's to drop.
  const std::string samples = shared("data/evtx-attack-samples/Lateral Movement");
  std::vector<std::string> files;
  std::vector<fs::path> sources;
  for (auto& e : fs::directory_iterator(samples))
    if (e.path().extension() == ".evtx") sources.push_back(e.path());
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

  if (!reads_without_waiting(files.front())) {
    fs::remove_all(dir);
    GTEST_SKIP() << "this file system does not answer reads that must not wait (RWF_NOWAIT)";
  }
  for (auto& f : files) evict(f);
  for (auto& f : files)
    if (long pages = cached_pages(f); pages != 0) {
      fs::remove_all(dir);
      GTEST_SKIP() << f << ": " << (pages < 0 ? "its pages in the cache cannot be told" : "stays in the page cache");
    }
  InputUnit unit;
  unit.files = files;
  std::vector<OwnedRecord> got;
  // While the first file's records are delivered, which of the others have come into the cache:
  // nothing else reads them before their turn.
  std::vector<bool> came_early(files.size(), false);
  bool looked = false;
  long long waited_ms = 0;
  const UnitReport r = read_unit(unit, ReadOptions{}, [&](const Record& rec) {
    got.push_back(own(rec));
    if (looked || rec.file != files.front()) return;
    looked = true;
    // The kernel fetches them in the background: waited for a while. Up to 10 s: under ctest -j the
    // disk also serves the other tests (the ClickHouse cluster writes); without the ask nothing reads
    // them before their turn, so a longer wait lets nothing more pass.
    const auto start = std::chrono::steady_clock::now();
    for (int tries = 0; tries < 1000; ++tries) {
      bool all = true;
      for (size_t i = 1; i < files.size(); ++i) all &= came_early[i] = came_early[i] || cached_pages(files[i]) > 0;
      if (all) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    waited_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  });
  fs::remove_all(dir);
  EXPECT_TRUE(looked);
  for (size_t i = 1; i < files.size(); ++i)
    EXPECT_TRUE(came_early[i]) << files[i] << " was not in the page cache " << waited_ms
                               << " ms into the reading of the unit's first file: not asked for";
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
