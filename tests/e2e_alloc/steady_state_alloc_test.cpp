// The engine's hot path in steady state (issue 9: "allocation-free hot path"). Most events of a
// hunt reach no rule: no stream's filter holds for them (Engine::admits). Once the engine is warm
// (its literal databases built, its buffers grown), evaluating such an event against both corpora
// allocates nothing: the record's copy into a batch, normalizing, the gates and the filters reuse
// what the events before them left. An event that some filter admits still allocates for what the
// rule's per-row operators make of it (eval, lookup, rex results) and for its captured row; the
// test prints that count, and the README gives it. The EVTX decoder, before them, is counted on its
// own (the first test hands the engine records already read): decoding a chunk again allocates nothing.
//
// This binary replaces the global operator new/delete to count allocations (a binary of its own,
// so that no other suite runs under the counting). C allocations (Hyperscan, PCRE2) are not counted.
// ALLOC_TRACE=idle, =admitted or =evtx prints the stacks of that pass's allocations (symbolize the
// addresses with `addr2line -f -C -i -e build/tests/test_e2e_alloc`).
#include <execinfo.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <new>
#include <string_view>
#include <vector>

#include "engine/engine.h"
#include "engine/rule_set.h"
#include "engine/run.h"
#include "ingest/evtx/chunk_decoder.h"
#include "ingest/reader.h"
#include "ingest/record_batch.h"
#include "normalize/normalizer.h"
#include "support/cli_run.h"

namespace {
std::atomic<uint64_t> g_allocs{0};
// The stacks of the traced allocations (ALLOC_TRACE): a fixed table, so tracing allocates nothing.
bool g_trace = false;
struct Stack {
  void* frames[14];
  int n;
};
Stack g_stacks[20000];
size_t g_traced = 0;

void* counted(size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (g_trace && g_traced < std::size(g_stacks)) {
    g_stacks[g_traced].n = backtrace(g_stacks[g_traced].frames, 14);
    ++g_traced;
  }
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* counted_aligned(size_t n, std::align_val_t a) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  const size_t al = static_cast<size_t>(a);
  if (void* p = std::aligned_alloc(al, (n + al - 1) / al * al)) return p;
  throw std::bad_alloc();
}

// Before a counted pass: backtrace() loads what it needs on its first call (that is not the pass's).
void before_counting() {
  void* frames[4];
  backtrace(frames, 4);
}
// Whether ALLOC_TRACE names this pass (idle, admitted, evtx).
bool trace_asked(std::string_view pass) {
  const char* t = std::getenv("ALLOC_TRACE");
  return t && pass == t;
}

void print_traced_stacks() {
  std::map<std::vector<void*>, int> by;
  for (size_t i = 0; i < g_traced; ++i) by[std::vector<void*>(g_stacks[i].frames + 1, g_stacks[i].frames + g_stacks[i].n)]++;
  std::vector<std::pair<int, std::vector<void*>>> top;
  for (auto& [frames, count] : by) top.push_back({count, frames});
  std::sort(top.begin(), top.end(), [](auto& a, auto& b) { return a.first > b.first; });
  for (size_t i = 0; i < top.size() && i < 15; ++i) {
    std::printf("== %d allocations\n", top[i].first);
    std::fflush(stdout);
    backtrace_symbols_fd(top[i].second.data(), int(top[i].second.size()), 1);
  }
}
}  // namespace

void* operator new(size_t n) { return counted(n); }
void* operator new[](size_t n) { return counted(n); }
void* operator new(size_t n, std::align_val_t a) { return counted_aligned(n, a); }
void* operator new[](size_t n, std::align_val_t a) { return counted_aligned(n, a); }
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}
void* operator new[](size_t n, const std::nothrow_t&) noexcept {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { std::free(p); }

namespace vigil {
namespace {

const std::string kShared = VIGIL_SHARED_DIR;

TEST(SteadyState, EventsNoRuleAdmitsAllocateNothingOnceWarm) {
  DiagnosticSink diags(nullptr);
  diags.set_keep(false);
  RuleSet rs({kShared + "/corpus/security_content", VIGIL_DATA_DIR, false});
  rs.load({kShared + "/corpus/sigma/rules", kShared + "/corpus/security_content/detections/endpoint"}, diags);
  auto norm = Normalizer::load(VIGIL_DATA_DIR "/normalize");
  ASSERT_TRUE(norm.ok());
  // Every record of the EVTX samples (7,455, as evtxexport finds), copied out of the reader.
  RecordBatch all;
  ReadStats read;
  ReadOptions ro;
  ro.threads = 1;
  read_inputs({kShared + "/data/evtx-attack-samples"}, ro, [&](const Record& r) { all.add(r); }, diags, read);
  ASSERT_EQ(all.size(), 7455u);

  uint64_t findings = 0;
  EngineOptions eo;
  eo.now = 1.7e9;
  eo.threads = 1;  // on this thread
  Engine eng(norm.value(), rs.atoms(), executable_rules(rs), eo, diags, [&](Finding&&) { ++findings; });
  // One record at a time: which records some stream's filter admits, and which of those make a
  // finding as they pass (those are left out below: a finding's row is the caller's to keep).
  std::vector<size_t> idle, admitted;
  Record rec;
  for (size_t i = 0; i < all.size(); ++i) {
    all.get(i, rec);
    const bool admits = eng.admits(rec);
    const uint64_t before = findings;
    eng.process(rec);
    eng.flush();
    if (!admits) {
      EXPECT_EQ(findings, before) << "record " << i << " made a finding that no filter admitted";
      idle.push_back(i);
    } else if (findings == before) {
      admitted.push_back(i);
    }
  }
  auto pass = [&](const std::vector<size_t>& which) {
    for (size_t i : which) {
      all.get(i, rec);
      eng.process(rec);
    }
    eng.flush();
  };
  // Warm-up, in batches as a hunt evaluates them: a literal database is built once the events
  // that need it pass a count (EventMatcher::scan_group), which takes some groups a few passes.
  for (int k = 0; k < 3; ++k) {
    pass(idle);
    pass(admitted);
  }
  before_counting();
  g_trace = trace_asked("idle");
  const uint64_t findings_before = findings;
  uint64_t at = g_allocs.load();
  pass(idle);
  const uint64_t idle_allocs = g_allocs.load() - at;
  g_trace = trace_asked("admitted");
  at = g_allocs.load();
  pass(admitted);
  const uint64_t admitted_allocs = g_allocs.load() - at;
  g_trace = false;
  EXPECT_EQ(findings, findings_before);
  std::printf("records %zu: no filter holds %zu (%llu allocations); some filter holds, no finding %zu (%llu)\n",
              all.size(), idle.size(), (unsigned long long)idle_allocs, admitted.size(),
              (unsigned long long)admitted_allocs);
  if (g_traced) print_traced_stacks();
  EXPECT_GT(idle.size(), 3000u);
  EXPECT_EQ(idle_allocs, 0u);
  eng.finish();
}

// The EVTX decoder in steady state: decoding chunks again allocates nothing. A chunk's names and
// templates go into tables reused from chunk to chunk, its records' texts into the result's arenas.
TEST(SteadyState, EvtxChunksDecodeWithoutAllocatingOnceWarm) {
  std::vector<std::string> files;
  for (auto& e : std::filesystem::recursive_directory_iterator(kShared + "/data/evtx-attack-samples"))
    if (e.is_regular_file() && e.path().extension() == ".evtx") files.push_back(test::slurp(e.path()));
  ASSERT_GT(files.size(), 250u);
  evtx::ChunkDecoder dec;
  evtx::ChunkResult res;
  uint64_t records = 0;
  auto pass = [&] {
    records = 0;
    for (const std::string& f : files)
      for (size_t off = evtx::kFileHeaderSize; off < f.size(); off += evtx::kChunkSize) {
        dec.decode(reinterpret_cast<const unsigned char*>(f.data()) + off, std::min(evtx::kChunkSize, f.size() - off),
                   off, res);
        records += res.records.size();
      }
  };
  pass();
  pass();
  before_counting();
  g_trace = trace_asked("evtx");
  const uint64_t at = g_allocs.load();
  pass();
  const uint64_t allocs = g_allocs.load() - at;
  g_trace = false;
  std::printf("EVTX: %zu files, %llu records, %llu allocations\n", files.size(), (unsigned long long)records,
              (unsigned long long)allocs);
  if (g_traced) print_traced_stacks();
  EXPECT_EQ(records, 7455u);  // as evtxexport finds (EvtxCorpus.AttackSamplesMatchEvtxexport)
  EXPECT_EQ(allocs, 0u);
}

}  // namespace
}  // namespace vigil
