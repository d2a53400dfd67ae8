// vigil_evtx_bench: native EVTX reader against evtxexport.
//
// Hypothesis: decoding BinXML straight into Record fields, with each template
// compiled once per chunk, is > 50x faster than libevtx's `evtxexport -f xml`
// on one thread, and chunk-parallel decoding scales ~linearly with threads.
//
// Scenario grid, all over the same files in one run:
//   evtxexport -f xml (one process per file, output piped and counted)
//   vigil parse-only, 1 thread    (files in memory, visitor touches nothing)
//   vigil parse-only, 2 threads
//   vigil parse-only, all threads (ReadOptions::threads = 0)
//   vigil + Windows XML rendering of every record (evtx::render_xml), 1 thread
// Reported: events/s and MB/s of record bytes (the bytes of the event records
// themselves: sum of free-space offset - 512 over the chunks), best of 3 for
// vigil; CPU seconds as well, since wall-clock ratios swing with machine load.
//
// Corpus: every in-use chunk of ../shared/data/evtx-attack-samples (chunks are
// self-contained, so they can be re-packed), written as replica files of
// file header + all chunks into a temp dir until >= 200 MB; removed at exit.
// Usage: vigil_evtx_bench [SHARED_DIR] [MIN_MB]
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ingest/evtx/crc32.h"
#include "ingest/evtx/evtx_reader.h"
#include "ingest/evtx/render.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

uint32_t rd32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

struct Corpus {
  std::vector<fs::path> files;
  std::vector<std::string> bytes;
  uint64_t file_bytes = 0, record_bytes = 0;
};

Corpus build_corpus(const fs::path& samples, const fs::path& dir, uint64_t min_bytes) {
  std::vector<fs::path> inputs;
  for (auto& e : fs::recursive_directory_iterator(samples))
    if (e.is_regular_file() && e.path().extension() == ".evtx") inputs.push_back(e.path());
  std::sort(inputs.begin(), inputs.end());
  std::string header, chunks;
  uint64_t chunk_count = 0, record_bytes = 0;
  for (auto& p : inputs) {
    std::string b = slurp(p);
    if (header.empty() && b.size() >= 4096) header = b.substr(0, 4096);
    for (size_t off = 4096; off + 65536 <= b.size(); off += 65536) {
      const char* c = b.data() + off;
      uint32_t free_off = rd32(c + 48);
      if (std::memcmp(c, "ElfChnk\0", 8) != 0 || free_off <= 512 || free_off > 65536) continue;
      chunks.append(c, 65536);
      record_bytes += free_off - 512;
      ++chunk_count;
    }
  }
  // One replica: the header patched to name every chunk (first 0, last n-1,
  // count n, clean flags), with its checksum redone.
  uint64_t first = 0, last = chunk_count - 1;
  std::memcpy(header.data() + 8, &first, 8);
  std::memcpy(header.data() + 16, &last, 8);
  uint16_t n16 = uint16_t(chunk_count);
  std::memcpy(header.data() + 42, &n16, 2);
  uint32_t flags = 0;
  std::memcpy(header.data() + 120, &flags, 4);
  uint32_t crc = vigil::evtx::crc32(header.data(), 120);
  std::memcpy(header.data() + 124, &crc, 4);
  std::string replica = header + chunks;

  Corpus c;
  fs::create_directories(dir);
  for (int i = 0; c.file_bytes < min_bytes; ++i) {
    fs::path p = dir / ("replica_" + std::to_string(i) + ".evtx");
    std::ofstream(p, std::ios::binary).write(replica.data(), std::streamsize(replica.size()));
    c.files.push_back(p);
    c.bytes.push_back(replica);
    c.file_bytes += replica.size();
    c.record_bytes += record_bytes;
  }
  std::printf("corpus: %zu sample files -> %llu in-use chunks; %zu replicas, %.1f MB of files, %.1f MB of records\n",
              inputs.size(), (unsigned long long)chunk_count, c.files.size(), c.file_bytes / 1e6,
              c.record_bytes / 1e6);
  return c;
}

// Runs `evtxexport -f xml FILE` and counts the events it prints.
uint64_t run_evtxexport(const fs::path& file) {
  int fds[2];
  if (pipe(fds) != 0) return 0;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) dup2(devnull, 2);
    execl("/usr/bin/evtxexport", "evtxexport", "-f", "xml", file.c_str(), (char*)nullptr);
    _exit(127);
  }
  close(fds[1]);
  static const std::string needle = "<EventRecordID>";
  std::string carry;
  uint64_t events = 0;
  std::vector<char> buf(1 << 20);
  ssize_t n;
  while ((n = read(fds[0], buf.data(), buf.size())) > 0) {
    carry.append(buf.data(), size_t(n));
    size_t pos = 0;
    while ((pos = carry.find(needle, pos)) != std::string::npos) {
      ++events;
      pos += needle.size();
    }
    carry.erase(0, carry.size() > needle.size() ? carry.size() - needle.size() : 0);
  }
  close(fds[0]);
  int status;
  waitpid(pid, &status, 0);
  return events;
}

struct Figures {
  uint64_t events = 0;
  double seconds = 0;  // wall
  double cpu = 0;      // CPU seconds (all threads / the child processes)
};

double process_cpu() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}
double children_cpu() {
  rusage ru;
  getrusage(RUSAGE_CHILDREN, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

// render_xml: also render every record as Windows XML and write it to
// /dev/null, as `vigil dump --format xml` does (the full-rendering scenario).
Figures run_vigil(const Corpus& c, unsigned threads, bool render_xml = false) {
  Figures best;
  FILE* devnull = std::fopen("/dev/null", "w");
  std::string xml;
  for (int rep = 0; rep < 7; ++rep) {  // best of 7: single runs last ~0.05 s
    uint64_t events = 0;
    auto t0 = Clock::now();
    double c0 = process_cpu();
    for (size_t i = 0; i < c.bytes.size(); ++i) {
      vigil::DiagnosticSink diags(stderr);
      vigil::ReadStats stats;
      vigil::ReadOptions opts;
      opts.threads = threads;
      vigil::evtx::read_evtx(
          c.files[i].string(), c.bytes[i], opts,
          [&](const vigil::Record& r) {
            ++events;
            if (!render_xml) return;
            vigil::evtx::render_xml(r, xml);
            xml += '\n';
            if (xml.size() > (1u << 20)) {
              std::fwrite(xml.data(), 1, xml.size(), devnull);
              xml.clear();
            }
          },
          diags, stats);
    }
    std::fwrite(xml.data(), 1, xml.size(), devnull);
    xml.clear();
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    double cpu = process_cpu() - c0;
    if (rep == 0 || s < best.seconds) best = {events, s, cpu};
  }
  std::fclose(devnull);
  return best;
}

void report(const char* what, const Figures& f, const Corpus& c) {
  std::printf("%-34s %9llu events %8.3f s %10.0f events/s %8.1f MB/s of records | CPU %7.3f s %10.0f events/CPU-s\n",
              what, (unsigned long long)f.events, f.seconds, f.events / f.seconds, c.record_bytes / 1e6 / f.seconds,
              f.cpu, f.events / f.cpu);
}

}  // namespace

int main(int argc, char** argv) {
  fs::path shared = argc > 1 ? fs::path(argv[1]) : fs::path(VIGIL_SHARED_DIR);
  uint64_t min_mb = argc > 2 ? std::stoull(argv[2]) : 200;
  fs::path samples = shared / "data/evtx-attack-samples";
  if (!fs::exists(samples)) {
    std::fprintf(stderr, "no samples at %s\n", samples.c_str());
    return 1;
  }
  fs::path dir = fs::temp_directory_path() / ("vigil-evtx-bench-" + std::to_string(getpid()));
  Corpus c = build_corpus(samples, dir, min_mb * 1000 * 1000);

  Figures ex;
  if (fs::exists("/usr/bin/evtxexport")) {
    auto t0 = Clock::now();
    double c0 = children_cpu();
    for (auto& f : c.files) ex.events += run_evtxexport(f);
    ex.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    ex.cpu = children_cpu() - c0;
    report("evtxexport -f xml (per file)", ex, c);
  }
  Figures one = run_vigil(c, 1);
  report("vigil parse-only, 1 thread", one, c);
  Figures two = run_vigil(c, 2);
  report("vigil parse-only, 2 threads", two, c);
  unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  Figures all = run_vigil(c, 0);
  std::string label = "vigil parse-only, all (" + std::to_string(hw) + ") threads";
  report(label.c_str(), all, c);

  Figures xml = run_vigil(c, 1, true);
  report("vigil + XML rendering, 1 thread", xml, c);
  if (ex.seconds > 0) {
    // CPU-time ratios too: on a shared machine wall-clock ratios swing with load.
    std::printf("speed-up 1 thread vs evtxexport: %.1fx wall, %.1fx CPU (target >= 50x)\n",
                (one.events / one.seconds) / (ex.events / ex.seconds), ex.cpu / one.cpu);
    std::printf("speed-up XML rendering vs evtxexport -f xml: %.1fx wall, %.1fx CPU (target >= 10x)\n",
                (xml.events / xml.seconds) / (ex.events / ex.seconds), ex.cpu / xml.cpu);
  }
  std::printf("scaling 2 threads vs 1: %.2fx (target >= 1.8x)\n", one.seconds / two.seconds);
  if (ex.events && ex.events != one.events)
    std::printf("WARNING: evtxexport printed %llu events, vigil read %llu\n", (unsigned long long)ex.events,
                (unsigned long long)one.events);
  std::error_code ec;
  fs::remove_all(dir, ec);
  return 0;
}
