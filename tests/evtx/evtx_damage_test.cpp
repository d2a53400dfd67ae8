// Damaged input: truncated files, zeroed chunks, zeroed record ranges and bit
// flips. Expected records are derived from an intact read of the same file
// plus the EVTX layout (4096-byte file header, 65536-byte chunks, record size
// at record offset + 4), so "intact" means: bytes untouched by the damage.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <set>

#include "evtx_test_util.h"

using namespace evtx_test;
namespace fs = std::filesystem;

namespace {

const fs::path kFile = fs::path(VIGIL_SHARED_DIR) / "data/evtx-attack-samples/Command and Control/bits_openvpn.evtx";

uint32_t record_size(const std::string& bytes, uint64_t offset) {
  uint32_t v;
  std::memcpy(&v, bytes.data() + offset + 4, 4);
  return v;
}

std::vector<OwnedRecord> records_where(const ReadResult& r, const std::function<bool(const OwnedRecord&)>& keep) {
  std::vector<OwnedRecord> out;
  for (auto& rec : r.records)
    if (keep(rec)) out.push_back(rec);
  return out;
}

bool has_reason(const ReadResult& r, std::string_view reason) {
  for (auto& d : r.diags)
    if (d.reason == reason) return true;
  return false;
}

void expect_accounting(const ReadResult& r) {
  EXPECT_EQ(r.stats.records_read, r.records.size() + r.stats.records_skipped);
}

class EvtxDamage : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kFile)) GTEST_SKIP() << kFile << " not present";
    bytes_ = slurp(kFile);
    intact_ = read_bytes(bytes_);
    // 16 chunks hold records in this file (counted with a Python scan of the
    // chunk headers' free-space offsets); it has no damage of its own.
    ASSERT_GT(intact_.records.size(), 1000u);
    ASSERT_TRUE(intact_.diags.empty());
  }
  // True when record i's template instance points at a definition stored
  // before it (not inline): its bytes define nothing later records use.
  // Layout: record header 24 bytes, fragment header 4 bytes, then token 0x0C,
  // u8, u32 template id, u32 definition offset (chunk-relative); an inline
  // definition starts right after those 10 bytes.
  bool uses_earlier_template(size_t i) const {
    uint64_t off = intact_.records[i].offset;
    uint64_t chunk = 4096 + (off - 4096) / 65536 * 65536;
    const char* p = bytes_.data() + off + 24;
    if (uint8_t(p[4]) != 0x0C) return false;
    uint32_t def;
    std::memcpy(&def, p + 10, 4);
    return def != off - chunk + 24 + 4 + 10;
  }
  size_t first_self_contained(uint64_t chunk_index, size_t from) const {
    uint64_t lo = 4096 + chunk_index * 65536;
    for (size_t i = from; i < intact_.records.size(); ++i)
      if (intact_.records[i].offset >= lo && intact_.records[i].offset < lo + 65536 && uses_earlier_template(i))
        return i;
    return intact_.records.size();
  }
  std::string bytes_;
  ReadResult intact_;
};

TEST_F(EvtxDamage, TruncatedFileKeepsCompleteRecords) {
  // Cut inside the third chunk, mid-record: every record that ends before the
  // cut must come back unchanged; the partial chunk is reported.
  const uint64_t cut = 4096 + 2 * 65536 + 30000;
  ReadResult r = read_bytes(std::string_view(bytes_).substr(0, cut));
  auto want = records_where(intact_, [&](auto& rec) { return rec.offset + record_size(bytes_, rec.offset) <= cut; });
  ASSERT_GT(want.size(), 100u);
  EXPECT_TRUE(r.records == want);
  EXPECT_TRUE(has_reason(r, "evtx-truncated"));
  expect_accounting(r);
}

TEST_F(EvtxDamage, TruncatedAnywhereNeverCrashes) {
  // Every 10,007 bytes, including inside the file header and chunk headers.
  for (uint64_t cut = 0; cut < bytes_.size(); cut += 10007) {
    ReadResult r = read_bytes(std::string_view(bytes_).substr(0, cut));
    auto want = records_where(intact_, [&](auto& rec) { return rec.offset + record_size(bytes_, rec.offset) <= cut; });
    EXPECT_TRUE(r.records == want) << "cut at " << cut;
    expect_accounting(r);
  }
}

TEST_F(EvtxDamage, ZeroedChunkSkipsOnlyThatChunk) {
  std::string b = bytes_;
  const uint64_t chunk = 4096 + 1 * 65536;
  std::memset(b.data() + chunk, 0, 65536);
  ReadResult r = read_bytes(b);
  auto want = records_where(intact_, [&](auto& rec) { return rec.offset < chunk || rec.offset >= chunk + 65536; });
  EXPECT_LT(want.size(), intact_.records.size());
  EXPECT_TRUE(r.records == want);
  expect_accounting(r);
}

TEST_F(EvtxDamage, ZeroedRecordRangeIsReportedAndSkipped) {
  // Zero from the middle of record k to the middle of record k+1 in chunk 0:
  // the chunk header still holds, the data checksum fails, both records are
  // reported and skipped, and decoding resumes with record k+2. Records k and
  // k+1 only reference templates defined earlier (see uses_earlier_template),
  // so no other record depends on their bytes.
  size_t k = first_self_contained(0, 10);
  ASSERT_TRUE(k + 2 < intact_.records.size() && uses_earlier_template(k + 1));
  const auto& a = intact_.records[k];
  const auto& c = intact_.records[k + 1];
  const uint64_t lo = a.offset + record_size(bytes_, a.offset) / 2;
  const uint64_t hi = c.offset + record_size(bytes_, c.offset) / 2;
  std::string b = bytes_;
  std::memset(b.data() + lo, 0, hi - lo);
  ReadResult r = read_bytes(b);
  auto want = records_where(intact_, [&](auto& rec) { return rec.offset != a.offset && rec.offset != c.offset; });
  EXPECT_TRUE(r.records == want);
  EXPECT_TRUE(has_reason(r, "evtx-chunk-checksum"));
  EXPECT_TRUE(has_reason(r, "evtx-bad-record"));
  EXPECT_GE(r.stats.records_skipped, 1u);
  expect_accounting(r);
}

TEST_F(EvtxDamage, FlippedChunkHeaderStillReadsRecords) {
  // A flipped byte in an unused header field (offset 60, inside the reserved
  // area) breaks the header checksum only: the records are all still there.
  std::string b = bytes_;
  b[4096 + 60] ^= 0x5A;
  ReadResult r = read_bytes(b);
  EXPECT_TRUE(r.records == intact_.records);
  EXPECT_TRUE(has_reason(r, "evtx-chunk-checksum"));
}

TEST_F(EvtxDamage, FlippedFileHeaderStillReadsRecords) {
  std::string b = bytes_;
  b[16] ^= 0x01;  // last-chunk number: only the file header checksum notices
  ReadResult r = read_bytes(b);
  EXPECT_TRUE(r.records == intact_.records);
  EXPECT_TRUE(has_reason(r, "evtx-header-checksum"));
}

TEST_F(EvtxDamage, BitFlipsInOneRecordLeaveOthersIntact) {
  // Flip bytes inside one record of chunk 0 that defines no template (its
  // instance points at an earlier definition), so every other record of the
  // file is intact and must be returned unchanged.
  size_t k = first_self_contained(0, 5);
  ASSERT_LT(k, intact_.records.size());
  const OwnedRecord* last = &intact_.records[k];
  const uint64_t lo = last->offset, hi = lo + record_size(bytes_, lo);
  std::mt19937 rng(12345);
  for (int trial = 0; trial < 80; ++trial) {
    std::string b = bytes_;
    int flips = 1 + int(rng() % 4);
    for (int k = 0; k < flips; ++k) b[lo + rng() % (hi - lo)] ^= char(1u << (rng() % 8));
    ReadResult r = read_bytes(b);
    auto others = records_where(r, [&](auto& rec) { return rec.offset != lo; });
    auto want = records_where(intact_, [&](auto& rec) { return rec.offset != lo; });
    ASSERT_TRUE(others == want) << "trial " << trial;
    expect_accounting(r);
  }
}

TEST_F(EvtxDamage, RandomFlipsAnywhereNeverCrash) {
  // No expectation on content beyond accounting: a flip inside a template
  // definition legitimately damages the records that use it.
  std::mt19937 rng(987);
  for (int trial = 0; trial < 100; ++trial) {
    std::string b = bytes_;
    for (int k = 0; k < 16; ++k) b[rng() % b.size()] ^= char(1u << (rng() % 8));
    ReadResult r = read_bytes(b, 1 + trial % 3);
    expect_accounting(r);
  }
}

TEST(EvtxInput, NotEvtxIsReportedAndSkipped) {
  ReadResult r = read_bytes("this is not an evtx file");
  EXPECT_TRUE(r.records.empty());
  EXPECT_EQ(r.stats.files_skipped, 1u);
  EXPECT_TRUE(has_reason(r, "evtx-bad-header"));
  ReadResult e = read_bytes("");
  EXPECT_EQ(e.stats.files_skipped, 1u);
}

TEST(EvtxInput, SignatureDetection) {
  EXPECT_TRUE(vigil::evtx::is_evtx(std::string_view("ElfFile\0xyz", 11)));
  EXPECT_FALSE(vigil::evtx::is_evtx("ElfFile"));
  EXPECT_FALSE(vigil::evtx::is_evtx(std::string_view("ElfChnk\0", 8)));
}

}  // namespace (the tests too: their fixture is of this file only)
