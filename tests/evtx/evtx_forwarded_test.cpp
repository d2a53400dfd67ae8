// EVTX stored without templates (forwarded events, WEC): element starts
// without the u16 dependency identifier, values as typed text tokens.
//
// Oracles (never the code under test):
//  - tests/evtx/tools/forwarded_oracle.py, an independent walker over the
//    bytes of template-less records (run here with /usr/bin/python3): every
//    System field and every EventData name/value of every record;
//  - hand-checked values: `strings -el` on the sample (threat names, paths),
//    EventRecordIDs and SystemTime read off a hex dump of each record;
//  - evtxexport for the templated record of the mixed-layout file;
//  - hand-computed renderings for the synthetic value-type record below.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <map>
#include <unistd.h>

#include "evtx_test_util.h"
#include "ingest/evtx/crc32.h"

using namespace evtx_test;
namespace fs = std::filesystem;

namespace {

const fs::path kSample = fs::path(VIGIL_SHARED_DIR) / "data/evtx-forwarded/defender_1116_1117_forwarded.evtx";
const fs::path kMixed = fs::path(VIGIL_SOURCE_DIR) / "fuzz/corpus/evtx/mixed_templated_forwarded.evtx";
const fs::path kOracle = fs::path(VIGIL_SOURCE_DIR) / "tests/evtx/tools/forwarded_oracle.py";

struct OracleRecord {
  uint64_t offset = 0;
  bool templated = false;
  std::map<std::string, std::string> system;
  std::vector<std::pair<std::string, std::string>> data;
};

std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      char c = s[++i];
      out += c == 't' ? '\t' : c == 'n' ? '\n' : c;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool have_python() { return fs::exists("/usr/bin/python3"); }

std::vector<OracleRecord> run_oracle(const fs::path& file) {
  std::string cmd = "/usr/bin/python3 '" + kOracle.string() + "' '" + file.string() + "'";
  std::vector<OracleRecord> out;
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return out;
  std::string text;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  EXPECT_EQ(pclose(f), 0) << "oracle failed on " << file;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string_view line(text.data() + pos, eol - pos);
    pos = eol + 1;
    size_t t1 = line.find('\t'), t2 = line.find('\t', t1 + 1);
    if (t1 == std::string_view::npos || t2 == std::string_view::npos) continue;
    std::string_view kind = line.substr(0, t1), a = line.substr(t1 + 1, t2 - t1 - 1), b = line.substr(t2 + 1);
    if (kind == "R" || kind == "T") {
      OracleRecord r;
      r.offset = std::stoull(std::string(a));
      r.templated = kind == "T";
      out.push_back(std::move(r));
    } else if (kind == "S" && !out.empty()) {
      out.back().system[unescape(a)] = unescape(b);
    } else if (kind == "D" && !out.empty()) {
      out.back().data.emplace_back(unescape(a), unescape(b));
    }
  }
  return out;
}

// vigil's records of `bytes` against the oracle's template-less ones.
void expect_matches_oracle(const ReadResult& r, const std::vector<OracleRecord>& want) {
  ASSERT_EQ(r.records.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    const auto& got = r.records[i];
    EXPECT_EQ(got.offset, want[i].offset);
    if (want[i].templated) continue;  // checked against evtxexport by the caller
    std::map<std::string, std::string> sys(got.system.begin(), got.system.end());
    EXPECT_EQ(sys, want[i].system) << "record at " << want[i].offset;
    EXPECT_EQ(got.data, want[i].data) << "record at " << want[i].offset;
  }
}

std::string data_value(const OwnedRecord& r, std::string_view name) {
  for (auto& [k, v] : r.data)
    if (k == name) return v;
  return "<absent>";
}

}  // namespace

TEST(EvtxForwarded, DefenderSampleEqualsIndependentWalker) {
  if (!fs::exists(kSample)) GTEST_SKIP() << kSample << " not present";
  if (!have_python()) GTEST_SKIP() << "no /usr/bin/python3";
  std::string bytes = slurp(kSample);
  ReadResult r = read_bytes(bytes, 1, kSample.string());
  for (auto& d : r.diags) ADD_FAILURE() << "unexpected diagnostic: " << vigil::render_text(d);
  auto want = run_oracle(kSample);
  ASSERT_EQ(want.size(), 6u);
  expect_matches_oracle(r, want);
  // Every record has 42 EventData pairs (Product Name ... Engine Version),
  // counted with `strings -el` between two "Product Name" occurrences.
  for (auto& w : want) EXPECT_EQ(w.data.size(), 42u);
  EXPECT_EQ(r.stats.records_read, 6u);
  EXPECT_EQ(r.stats.records_skipped, 0u);
  // The decode-ahead pipeline gives the same records.
  EXPECT_TRUE(read_bytes(bytes, 2, kSample.string()).records == r.records);
}

TEST(EvtxForwarded, DefenderSampleHandCheckedValues) {
  if (!fs::exists(kSample)) GTEST_SKIP() << kSample << " not present";
  ReadResult r = read_bytes(slurp(kSample), 1, kSample.string());
  ASSERT_EQ(r.records.size(), 6u);
  // From a hex dump: the EventID text of each record ("1116" x4, "1117", "1116")
  // and the EventRecordID text (174 is not in the file).
  const char* ids[] = {"1116", "1116", "1116", "1116", "1117", "1116"};
  const char* recids[] = {"171", "172", "173", "175", "176", "177"};
  // `strings -el` on the file, in file order.
  const char* threats[] = {"HackTool:Win64/Mikatz!dha", "HackTool:Win32/Mimikatz.D", "HackTool:Win64/Mikatz!dha",
                           "HackTool:Win32/Mimikatz.D", "HackTool:Win32/Mimikatz.D", "HackTool:Win32/Mimikatz.D"};
  for (size_t i = 0; i < 6; ++i) {
    const auto& rec = r.records[i];
    EXPECT_EQ(rec.sys("EventID"), ids[i]);
    EXPECT_EQ(rec.sys("EventRecordID"), recids[i]);
    EXPECT_EQ(rec.sys("Provider"), "Microsoft-Windows-Windows Defender");
    EXPECT_EQ(rec.sys("Channel"), "Microsoft-Windows-Windows Defender/Operational");
    EXPECT_EQ(rec.sys("Computer"), "WIN10-client01.offsec.lan");
    EXPECT_EQ(data_value(rec, "Threat Name"), threats[i]);
  }
  // Record 1 stores SystemTime as the text "2020-12-11T12:28:01.2990045Z":
  // Record's canonical form keeps 6 digits, truncated.
  EXPECT_EQ(r.records[0].sys("TimeCreated"), "2020-12-11T12:28:01.299004Z");
  EXPECT_EQ(data_value(r.records[0], "Path"), "file:_C:\\Users\\admmig\\Documents\\mimidrv.sys");
  EXPECT_EQ(data_value(r.records[2], "Path"),
            "file:_C:\\Users\\admmig\\Documents\\mimidrv.sys; file:_C:\\Users\\admmig\\Documents\\mimilib.dll");
  EXPECT_EQ(data_value(r.records[0], "Detection User"), "OFFSEC\\admmig");
  // FWLink is split around entity references (&amp;) in the BinXML.
  EXPECT_EQ(data_value(r.records[1], "FWLink"),
            "https://go.microsoft.com/fwlink/?linkid=37020&name=HackTool:Win32/Mimikatz.D&threatid=2147729891&enterprise=0");
  // Empty elements stay as empty values (<Data Name="Unused"></Data>).
  EXPECT_EQ(data_value(r.records[0], "Unused"), "");
}

TEST(EvtxForwarded, TemplatedAndTemplateLessRecordsInOneChunk) {
  // fuzz/make_evtx_seeds.py builds this file: a Security 4985 record (with
  // templates) followed by forwarded record 1, moved into the same chunk.
  if (!fs::exists(kMixed)) GTEST_SKIP() << kMixed << " not present";
  if (!have_python()) GTEST_SKIP() << "no /usr/bin/python3";
  std::string bytes = slurp(kMixed);
  ReadResult r = read_bytes(bytes, 1, kMixed.string());
  for (auto& d : r.diags) ADD_FAILURE() << "unexpected diagnostic: " << vigil::render_text(d);
  auto want = run_oracle(kMixed);
  ASSERT_EQ(want.size(), 2u);
  EXPECT_TRUE(want[0].templated);
  EXPECT_FALSE(want[1].templated);
  expect_matches_oracle(r, want);
  if (have_evtxexport()) {
    // evtxexport reads the templated record (and gives up on the other).
    auto ids = evtxexport_record_ids(kMixed);
    ASSERT_GE(ids.size(), 1u);
    EXPECT_EQ(r.records[0].sys("EventRecordID"), ids[0]);
  }
  EXPECT_EQ(r.records[0].sys("EventID"), "4985");
  EXPECT_EQ(r.records[1].sys("EventID"), "1116");
}

namespace {

// A one-chunk EVTX file around one record body (BinXML after the 24-byte
// record header), with valid checksums.
std::string make_file(const std::string& body) {
  std::string rec(24, '\0');
  uint32_t size = uint32_t(24 + body.size() + 4);
  std::memcpy(rec.data(), "**\0\0", 4);
  std::memcpy(rec.data() + 4, &size, 4);
  uint64_t id = 1;
  std::memcpy(rec.data() + 8, &id, 8);
  rec += body;
  rec.append(reinterpret_cast<const char*>(&size), 4);
  std::string chunk(512, '\0');
  std::memcpy(chunk.data(), "ElfChnk\0", 8);
  uint32_t free_off = uint32_t(512 + rec.size()), last = 512;
  std::memcpy(chunk.data() + 44, &last, 4);
  std::memcpy(chunk.data() + 48, &free_off, 4);
  chunk += rec;
  chunk.resize(65536, '\0');
  const auto* c = reinterpret_cast<const unsigned char*>(chunk.data());
  uint32_t data_crc = vigil::evtx::crc32(c + 512, free_off - 512);
  std::memcpy(chunk.data() + 52, &data_crc, 4);
  uint32_t hcrc = vigil::evtx::crc32(c, 120);
  hcrc = vigil::evtx::crc32(c + 128, 512 - 128, hcrc);
  std::memcpy(chunk.data() + 124, &hcrc, 4);
  std::string hdr(4096, '\0');
  std::memcpy(hdr.data(), "ElfFile\0", 8);
  uint16_t one = 1;
  std::memcpy(hdr.data() + 42, &one, 2);
  uint32_t fcrc = vigil::evtx::crc32(reinterpret_cast<const unsigned char*>(hdr.data()), 120);
  std::memcpy(hdr.data() + 124, &fcrc, 4);
  return hdr + chunk;
}

// Template-less BinXML writer: element starts without dependency id, names
// defined inline the first time and referenced by chunk offset after.
struct Bare {
  std::string b;
  std::map<std::string, uint32_t> names;
  static constexpr uint32_t kBase = 512 + 24;  // chunk offset of the body
  void u8(uint8_t v) { b += char(v); }
  void u16(uint16_t v) { b.append(reinterpret_cast<const char*>(&v), 2); }
  void u32(uint32_t v) { b.append(reinterpret_cast<const char*>(&v), 4); }
  void name_ref(const std::string& n) {
    auto it = names.find(n);
    uint32_t here = kBase + uint32_t(b.size()) + 4;
    if (it != names.end()) return u32(it->second);
    u32(here);
    names[n] = here;
    u32(0), u16(0), u16(uint16_t(n.size()));
    for (char ch : n) u16(uint8_t(ch));
    u16(0);
  }
  void open(const std::string& n, bool attrs) {
    u8(attrs ? 0x41 : 0x01), u32(0);  // data size: not needed by readers
    name_ref(n);
    if (attrs) u32(0);
  }
  void attr(const std::string& n, const std::string& v) {
    u8(0x06), name_ref(n), text(v);
  }
  void text(const std::string& v) {
    u8(0x05), u8(0x01), u16(uint16_t(v.size()));
    for (char ch : v) u16(uint8_t(ch));
  }
  void typed(uint8_t type, const std::string& raw) { u8(0x05), u8(type), b += raw; }
};

std::string le(uint64_t v, size_t n) { return std::string(reinterpret_cast<const char*>(&v), n); }

}  // namespace

TEST(EvtxForwarded, TypedValueTextTokens) {
  // Value text tokens of other types, as forwarded records carry them. The
  // expected strings are computed by hand: 0x01D6CFB8FDB462CB (the record
  // header timestamp of the sample's first record, bytes cb62b4fdb8cfd601) is
  // 132521632491397835 ticks = 2020-12-11 12:27:29.139783 (python3:
  // datetime(1601,1,1)+timedelta(microseconds=132521632491397835//10)).
  Bare x;
  x.b = std::string("\x0f\x01\x01\x00", 4);
  x.open("Event", false), x.u8(0x02);
  x.open("System", false), x.u8(0x02);
  x.open("EventID", false), x.u8(0x02), x.typed(0x06, le(4104, 2)), x.u8(0x04);  // UInt16
  x.open("TimeCreated", true), x.attr("SystemTime", "2020-12-11T12:28:01Z"), x.u8(0x03);
  x.u8(0x04);  // </System>
  x.open("EventData", false), x.u8(0x02);
  auto data = [&](const std::string& n, uint8_t type, const std::string& raw) {
    x.open("Data", true), x.attr("Name", n), x.u8(0x02), x.typed(type, raw), x.u8(0x04);
  };
  data("u32", 0x08, le(3221225506u, 4));                  // UInt32
  data("ft", 0x11, le(0x01D6CFB8FDB462CBull, 8));         // FILETIME
  data("null", 0x00, "");                                 // NULL: no bytes
  data("hex64", 0x15, le(0x3e7, 8));                      // HexInt64, Windows: unpadded
  data("sid", 0x13, le(12, 2) + std::string("\x01\x01\x00\x00\x00\x00\x00\x05\x12\x00\x00\x00", 12));  // u16 size + S-1-5-18
  data("i64", 0x09, le(uint64_t(-5), 8));                 // Int64
  x.u8(0x04), x.u8(0x04), x.u8(0x00);                     // </EventData></Event> EOF
  ReadResult r = read_bytes(make_file(x.b));
  for (auto& d : r.diags) ADD_FAILURE() << vigil::render_text(d);
  ASSERT_EQ(r.records.size(), 1u);
  const auto& rec = r.records[0];
  EXPECT_EQ(rec.sys("EventID"), "4104");
  EXPECT_EQ(rec.sys("TimeCreated"), "2020-12-11T12:28:01.000000Z");  // no fraction: padded to 6 digits
  EXPECT_EQ(data_value(rec, "u32"), "3221225506");
  EXPECT_EQ(data_value(rec, "ft"), "2020-12-11T12:27:29.139783Z");
  EXPECT_EQ(data_value(rec, "null"), "");
  EXPECT_EQ(data_value(rec, "hex64"), "0x3e7");
  EXPECT_EQ(data_value(rec, "sid"), "S-1-5-18");
  EXPECT_EQ(data_value(rec, "i64"), "-5");
}

TEST(EvtxForwarded, UnknownValueTextTypeIsReportedNotGuessed) {
  Bare x;
  x.b = std::string("\x0f\x01\x01\x00", 4);
  x.open("Event", false), x.u8(0x02);
  x.typed(0x21, le(0, 2));  // BinXML inside a value text token: not a thing
  x.u8(0x04), x.u8(0x00);
  ReadResult r = read_bytes(make_file(x.b));
  EXPECT_TRUE(r.records.empty());
  ASSERT_EQ(r.diags.size(), 1u);
  EXPECT_EQ(r.diags[0].reason, "evtx-bad-record");
  EXPECT_EQ(r.diags[0].location.offset, 4096u + 512u);  // the record's file offset
  EXPECT_EQ(r.stats.records_read, 1u);
  EXPECT_EQ(r.stats.records_skipped, 1u);
}

namespace {

// The vigil binary of the same build (build/tests/test_evtx -> build/vigil).
fs::path vigil_binary() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  return self.parent_path().parent_path() / "vigil";
}

std::string run(const std::string& cmd) {
  std::string out;
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return out;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  pclose(f);
  return out;
}

size_t count(const std::string& s, std::string_view needle) {
  size_t n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace

TEST(EvtxForwarded, SigmaHuntOnDefenderFields) {
  // A Sigma rule on two Defender EventData fields (Sigma's names ThreatName
  // and Path, mapped by data/sigma/logsources.yml to "Threat Name" and
  // "Path"): only record 3 (EventRecordID 173) names mimilib.dll, per
  // `strings -el` on the sample.
  const fs::path vigil = vigil_binary();
  if (!fs::exists(kSample)) GTEST_SKIP() << kSample << " not present";
  if (!fs::exists(vigil)) GTEST_SKIP() << vigil << " not built";
  const fs::path dir = fs::temp_directory_path() / ("vigil_evtx_fwd_" + std::to_string(getpid()));
  fs::create_directories(dir);
  auto write_rule = [&](const std::string& name, const std::string& threat) {
    std::ofstream(dir / name) << "title: Defender saw " << threat << "\n"
                              << "id: 0b5e3a56-7f1e-4c1e-9a57-6c1d7f0e2f1" << name.size() % 10 << "\n"
                              << "status: test\n"
                                 "logsource:\n    product: windows\n    service: windefend\n"
                                 "detection:\n    selection:\n        EventID: 1116\n"
                                 "        ThreatName|contains: '"
                              << threat
                              << "'\n        Path|endswith: 'mimilib.dll'\n    condition: selection\nlevel: high\n";
  };
  write_rule("hit.yml", "Mikatz");
  write_rule("miss_rule.yml", "Mimikatz.D");  // that threat never names mimilib.dll
  auto hunt = [&](const std::string& rule) {
    return run("'" + vigil.string() + "' hunt -q --data '" + std::string(VIGIL_DATA_DIR) + "' --format jsonl --rules '" +
               (dir / rule).string() + "' '" + kSample.string() + "' 2>/dev/null");
  };
  std::string hit = hunt("hit.yml"), miss = hunt("miss_rule.yml");
  fs::remove_all(dir);
  EXPECT_EQ(count(hit, "\"rule_id\""), 1u) << hit;
  EXPECT_NE(hit.find("\"EventRecordID\":\"173\""), std::string::npos) << hit;
  EXPECT_NE(hit.find("mimilib.dll"), std::string::npos);
  EXPECT_EQ(count(miss, "\"rule_id\""), 0u) << miss;
}
