// --recover: records outside the live ones (chunk slack, chunks a clean file
// header no longer counts, chunk slots whose signature is gone), and dirty
// files whose headers ran ahead of their data.
//
// Oracles (never the code under test):
//  - tests/evtx/tools/slack_scan.py (run here with /usr/bin/python3): every
//    intact record in chunk slack of the EVTX samples, and whether it is a
//    byte-identical copy of a live record with the same id (11,745 found, 753
//    of them copies, when this test was written);
//  - the live records: the reader without --recover, which the corpus test
//    holds equal to evtxexport (7,455 records);
//  - the EVTX layout for the synthetic damage (4096-byte file header, 64 KiB
//    chunks, chunk count u16 at 42, flags u32 at 120, free-space offset u32 at
//    chunk + 48).
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <set>

#include "evtx_test_util.h"
#include "ingest/evtx/crc32.h"

using namespace evtx_test;
namespace fs = std::filesystem;

namespace {

const fs::path kSharedRoot = VIGIL_SHARED_DIR;
const fs::path kSamples = kSharedRoot / "data/evtx-attack-samples";
const fs::path kOpenVpnFile = kSamples / "Command and Control/bits_openvpn.evtx";
const fs::path kScan = fs::path(VIGIL_SOURCE_DIR) / "tests/evtx/tools/slack_scan.py";

uint32_t rd32(const std::string& b, size_t off) {
  uint32_t v;
  std::memcpy(&v, b.data() + off, 4);
  return v;
}

void fix_file_crc(std::string& b) {
  uint32_t crc = vigil::evtx::crc32(reinterpret_cast<const unsigned char*>(b.data()), 120);
  std::memcpy(b.data() + 124, &crc, 4);
}

void fix_chunk_header_crc(std::string& b, size_t chunk) {
  const auto* c = reinterpret_cast<const unsigned char*>(b.data() + chunk);
  uint32_t crc = vigil::evtx::crc32(c, 120);
  crc = vigil::evtx::crc32(c + 128, 512 - 128, crc);
  std::memcpy(b.data() + chunk + 124, &crc, 4);
}

bool reports_reason(const ReadResult& r, std::string_view reason) {
  for (auto& d : r.diags)
    if (d.reason == reason) return true;
  return false;
}

std::vector<OwnedRecord> only(const ReadResult& r, bool recovered) {
  std::vector<OwnedRecord> out;
  for (auto& rec : r.records)
    if (rec.recovered == recovered) out.push_back(rec);
  return out;
}

struct SlackEntry {
  uint64_t record_id;
  bool copy_of_live;
};

// path -> offset -> entry, from the independent scanner.
std::map<std::string, std::map<uint64_t, SlackEntry>> scan_slack(const fs::path& dir) {
  std::map<std::string, std::map<uint64_t, SlackEntry>> out;
  std::string cmd = "/usr/bin/python3 '" + kScan.string() + "' '" + dir.string() + "'";
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return out;
  std::string text;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  EXPECT_EQ(pclose(f), 0);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    size_t t1 = line.find('\t'), t2 = line.find('\t', t1 + 1), t3 = line.find('\t', t2 + 1);
    if (t3 == std::string::npos) continue;
    out[line.substr(0, t1)][std::stoull(line.substr(t1 + 1, t2 - t1 - 1))] = {
        std::stoull(line.substr(t2 + 1, t3 - t2 - 1)), line.substr(t3 + 1) == "same"};
  }
  return out;
}

std::string content(const OwnedRecord& r) {
  std::string s;
  for (auto& [k, v] : r.system) s += k + '\x01' + v + '\x02';
  s += '\x03';
  for (auto& [k, v] : r.data) s += k + '\x01' + v + '\x02';
  return s;
}

}  // namespace

TEST(EvtxRecover, AttackSamplesSlackRecords) {
  auto files = evtx_files(kSamples);
  if (files.empty()) GTEST_SKIP() << kSamples << " not present";
  if (!fs::exists("/usr/bin/python3")) GTEST_SKIP() << "no /usr/bin/python3";
  auto slack = scan_slack(kSamples);
  uint64_t scanned = 0, copies = 0;
  for (auto& [f, m] : slack)
    for (auto& [off, e] : m) ++scanned, copies += e.copy_of_live;
  ASSERT_GE(scanned, 354u);  // the lower bound, by the same method

  uint64_t live = 0, recovered = 0, unreadable = 0, unreadable_copies = 0, duplicates_noted = 0, partial = 0,
           fragments = 0;
  for (const auto& f : files) {
    std::string bytes = slurp(f);
    ReadResult plain = read_bytes(bytes, 1, f.string());
    ReadResult rec = read_bytes(bytes, 1, f.string(), true);
    // Live output is exactly what it is without --recover.
    ASSERT_TRUE(only(rec, false) == plain.records) << f;
    live += plain.records.size();
    EXPECT_EQ(rec.stats.records_read, rec.records.size() + rec.stats.records_skipped) << f;
    EXPECT_EQ(rec.stats.records_recovered, only(rec, true).size()) << f;

    const auto& found = slack[f.string()];
    std::set<std::pair<std::string, std::string>> seen;  // (EventRecordID, fields)
    for (auto& r : rec.records) {
      EXPECT_TRUE(seen.insert({r.sys("EventRecordID"), content(r)}).second)
          << f << ": duplicate record at " << r.offset << (r.recovered ? " (recovered)" : "") << " id " << r.sys("EventRecordID");
      if (!r.recovered) continue;
      ++recovered;
      // Every recovered record is one the scanner found in slack, and not a
      // byte copy of a live record.
      auto it = found.find(r.offset);
      ASSERT_NE(it, found.end()) << f << ": recovered record at " << r.offset << " unknown to the scanner";
      EXPECT_FALSE(it->second.copy_of_live) << f << ": copy of a live record delivered at " << r.offset;
      EXPECT_EQ(r.sys("EventID").empty(), false);
    }
    for (auto& d : rec.diags) {
      if (d.reason == "evtx-recovered-unreadable") {
        ++unreadable;
        if (found.count(d.location.offset) && found.at(d.location.offset).copy_of_live) ++unreadable_copies;
        EXPECT_TRUE(found.count(d.location.offset)) << f << ": unreadable record at " << d.location.offset;
      } else if (d.reason == "evtx-recovered-duplicate") {
        duplicates_noted += std::stoull(d.message);
      } else if (d.reason == "evtx-recovered-partial") {
        ++partial;  // delivered, with a nested fragment missing
        EXPECT_TRUE(found.count(d.location.offset)) << f << ": partial record at " << d.location.offset;
      } else if (d.reason == "evtx-recovered-fragment") {
        ++fragments;  // a record start whose end is gone: not one the scanner counts
      } else {
        ADD_FAILURE() << f << ": unexpected diagnostic " << vigil::render_text(d);
      }
    }
  }
  EXPECT_EQ(live, 7455u);
  EXPECT_GE(recovered, 354u);
  // Every intact slack record is accounted for: delivered, reported as
  // unreadable, or noted as a copy of one already delivered.
  EXPECT_EQ(recovered + unreadable + duplicates_noted, scanned);
  // A byte copy is never delivered (checked above): it is a noted duplicate
  // or, when it sits in another chunk whose templates differ, unreadable.
  EXPECT_GE(duplicates_noted + unreadable_copies, copies);
  RecordProperty("live", std::to_string(live));
  RecordProperty("recovered", std::to_string(recovered));
  std::printf("live %llu, recovered %llu (%llu partial), unreadable %llu, fragments %llu, duplicates %llu, scanner %llu "
              "(%llu copies)\n",
              (unsigned long long)live, (unsigned long long)recovered, (unsigned long long)partial,
              (unsigned long long)unreadable, (unsigned long long)fragments, (unsigned long long)duplicates_noted,
              (unsigned long long)scanned, (unsigned long long)copies);
}

class EvtxRecoverDamage : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kOpenVpnFile)) GTEST_SKIP() << kOpenVpnFile << " not present";
    bytes_ = slurp(kOpenVpnFile);
    intact_ = read_bytes(bytes_);
    // 16 chunks hold records in this file (see evtx_damage_test.cpp).
    ASSERT_GT(intact_.records.size(), 1000u);
    ASSERT_TRUE(intact_.diags.empty());
  }
  std::vector<OwnedRecord> intact_where(uint64_t lo, uint64_t hi, bool recovered) const {
    std::vector<OwnedRecord> out;
    for (auto r : intact_.records)
      if (r.offset >= lo && r.offset < hi) {
        r.recovered = recovered;
        out.push_back(r);
      }
    return out;
  }
  std::string bytes_;
  ReadResult intact_;
};

TEST_F(EvtxRecoverDamage, ChunksBeyondACleanHeaderAreRecovered) {
  // A clean header that counts 2 chunks: the other chunks were dropped from
  // the log (cleared or rolled), so with --recover their records are
  // recovered ones; without it the reader still reads every chunk as before.
  std::string b = bytes_;
  uint16_t two = 2;
  std::memcpy(b.data() + 42, &two, 2);
  uint32_t flags = rd32(b, 120) & ~1u;
  std::memcpy(b.data() + 120, &flags, 4);
  fix_file_crc(b);
  const uint64_t cut = 4096 + 2 * 65536;
  EXPECT_TRUE(read_bytes(b).records == intact_.records);
  ReadResult r = read_bytes(b, 1, "t.evtx", true);
  EXPECT_TRUE(only(r, false) == intact_where(0, cut, false));
  auto rec = only(r, true);
  auto want = intact_where(cut, UINT64_MAX, true);
  ASSERT_GT(want.size(), 100u);
  // The dropped chunks' records first (in file order), then their slack.
  ASSERT_GE(rec.size(), want.size());
  EXPECT_TRUE(std::vector<OwnedRecord>(rec.begin(), rec.begin() + long(want.size())) == want);
  EXPECT_EQ(r.stats.records_read, r.records.size() + r.stats.records_skipped);
  // Same with two threads.
  EXPECT_TRUE(read_bytes(b, 2, "t.evtx", true).records == r.records);
}

TEST_F(EvtxRecoverDamage, DirtyHeaderChunksStayLive) {
  // Dirty flag, stale chunk count and next record id: the header was not
  // flushed, so every chunk is live, with or without --recover.
  std::string b = bytes_;
  uint16_t one = 1;
  std::memcpy(b.data() + 42, &one, 2);
  uint64_t next_id = 1ull << 40;
  std::memcpy(b.data() + 24, &next_id, 8);
  uint32_t flags = rd32(b, 120) | 1u;
  std::memcpy(b.data() + 120, &flags, 4);
  fix_file_crc(b);
  ReadResult r = read_bytes(b);
  EXPECT_TRUE(r.records == intact_.records);
  EXPECT_TRUE(r.diags.empty());
  ReadResult rr = read_bytes(b, 1, "t.evtx", true);
  EXPECT_TRUE(only(rr, false) == intact_.records);
}

TEST_F(EvtxRecoverDamage, ChunkWithoutSignatureIsCarved) {
  // Chunk 3's signature is wiped: without --recover the chunk is reported
  // and skipped; with it, its records come back (offsets inside a chunk are
  // relative to the slot, which still holds them), marked recovered.
  std::string b = bytes_;
  const uint64_t chunk = 4096 + 3 * 65536;
  std::memset(b.data() + chunk, 0, 8);
  auto in_chunk = intact_where(chunk, chunk + 65536, true);
  ASSERT_GT(in_chunk.size(), 10u);
  ReadResult plain = read_bytes(b);
  EXPECT_TRUE(reports_reason(plain, "evtx-bad-chunk"));
  EXPECT_EQ(plain.records.size(), intact_.records.size() - in_chunk.size());
  ReadResult r = read_bytes(b, 1, "t.evtx", true);
  EXPECT_TRUE(only(r, false) == plain.records);
  auto rec = only(r, true);
  ASSERT_GE(rec.size(), in_chunk.size());
  EXPECT_TRUE(std::vector<OwnedRecord>(rec.begin(), rec.begin() + long(in_chunk.size())) == in_chunk);
}

TEST_F(EvtxRecoverDamage, FreeSpaceOffsetAheadOfDataStopsQuietly) {
  // A chunk header written before its last records (dirty): the free-space
  // offset points past zeros. Every record is read, none is reported bad,
  // and a warning locates where the data ends.
  // The unwritten records are zeros: zero 1 KiB after the first chunk's
  // records that has room, and move its free-space offset past them.
  std::string b = bytes_;
  size_t chunk = 0;
  uint32_t free_off = 0;
  for (size_t i = 0; i < 16 && !chunk; ++i) {
    size_t c = 4096 + i * 65536;
    uint32_t f = rd32(b, c + 48);
    if (f + 1024 <= 65536) chunk = c, free_off = f;
  }
  ASSERT_NE(chunk, 0u) << "no chunk with 1 KiB after its records";
  std::memset(b.data() + chunk + free_off, 0, 1024);
  uint32_t ahead = free_off + 1024;
  std::memcpy(b.data() + chunk + 48, &ahead, 4);
  fix_chunk_header_crc(b, chunk);
  ReadResult r = read_bytes(b);
  EXPECT_TRUE(r.records == intact_.records);
  EXPECT_EQ(r.stats.records_skipped, 0u);
  EXPECT_FALSE(reports_reason(r, "evtx-bad-record"));
  bool located = false;
  for (auto& d : r.diags)
    if (d.reason == "evtx-dirty-chunk") located = d.location.offset == chunk + free_off;
  EXPECT_TRUE(located);
}

TEST(EvtxRecover, DumpCommandMarksRecoveredRecords) {
  // The CLI end to end (build/tests/test_evtx -> build/vigil): live lines
  // unchanged and unmarked, recovered ones marked with their offset.
  std::error_code ec;
  const fs::path vigil = fs::read_symlink("/proc/self/exe", ec).parent_path().parent_path() / "vigil";
  if (ec || !fs::exists(vigil)) GTEST_SKIP() << "vigil not built";
  if (!fs::exists(kSamples)) GTEST_SKIP() << kSamples << " not present";
  auto lines = [&](const std::string& flags, uint64_t& marked) {
    std::string cmd = "'" + vigil.string() + "' dump -q " + flags + " '" + kSamples.string() + "' 2>/dev/null";
    FILE* f = popen(cmd.c_str(), "r");
    uint64_t n = 0;
    marked = 0;
    std::string line;
    char buf[1 << 16];
    while (fgets(buf, sizeof buf, f)) {
      line += buf;
      if (line.empty() || line.back() != '\n') continue;
      ++n;
      if (line.find(",\"recovered\":true}}") != std::string::npos) ++marked;
      line.clear();
    }
    pclose(f);
    return n;
  };
  uint64_t marked = 0;
  EXPECT_EQ(lines("", marked), 7455u);
  EXPECT_EQ(marked, 0u);
  uint64_t all = lines("--recover", marked);
  EXPECT_EQ(all - marked, 7455u);
  EXPECT_GE(marked, 354u);
}
