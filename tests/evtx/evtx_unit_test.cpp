// Unit tests of the EVTX building blocks: CRC-32 and value rendering.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ingest/evtx/crc32.h"
#include "ingest/evtx/render.h"
#include "ingest/evtx/values.h"

using namespace vigil::evtx;

namespace {
std::vector<unsigned char> pattern(size_t n) {
  std::vector<unsigned char> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<unsigned char>(i * 31);
  return v;
}
std::string render(uint8_t type, std::vector<unsigned char> bytes) {
  Arena a;
  a.begin();
  EXPECT_TRUE(append_value(a, type, bytes.data(), bytes.size()));
  return std::string(a.finish());
}
}  // namespace

TEST(EvtxCrc32, KnownValues) {
  // 0xCBF43926 is the standard CRC-32 check value of "123456789"; the two
  // pattern values come from Python's zlib.crc32(bytes(i*31 & 0xFF ...)).
  EXPECT_EQ(crc32("123456789", 9), 0xCBF43926u);
  EXPECT_EQ(crc32("", 0), 0u);
  auto big = pattern(100000);
  EXPECT_EQ(crc32(big.data(), big.size()), 0xDCF29A4Bu);  // SIMD path
  EXPECT_EQ(crc32(big.data(), 77), 0xFCB3D6E3u);           // SIMD head + table tail
  // Chaining gives the same as one call, whatever the split.
  for (size_t split : {0, 1, 15, 64, 999, 65536}) {
    uint32_t a = crc32(big.data(), split);
    EXPECT_EQ(crc32(big.data() + split, big.size() - split, a), 0xDCF29A4Bu) << split;
  }
}

// Expected strings follow Windows' XML rendering as documented in values.h
// (values checked by hand against the byte layouts of MS-EVEN6 value types).
TEST(EvtxValues, Scalars) {
  EXPECT_EQ(render(kUInt16, {0x39, 0x30}), "12345");
  EXPECT_EQ(render(kInt8, {0xFF}), "-1");
  EXPECT_EQ(render(kInt32, {0xFE, 0xFF, 0xFF, 0xFF}), "-2");
  EXPECT_EQ(render(kUInt64, {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}), "18446744073709551615");
  EXPECT_EQ(render(kHexInt64, {0xE7, 0x03, 0, 0, 0, 0, 0, 0}), "0x3e7");
  EXPECT_EQ(render(kHexInt64, {0, 0, 0, 0, 0, 0, 0, 0x80}), "0x8000000000000000");
  EXPECT_EQ(render(kHexInt32, {0, 0, 0, 0}), "0x0");
  EXPECT_EQ(render(kBool, {1, 0, 0, 0}), "true");
  EXPECT_EQ(render(kBool, {0, 0, 0, 0}), "false");
  EXPECT_EQ(render(kReal64, {0, 0, 0, 0, 0, 0, 0xF8, 0x3F}), "1.5");
  EXPECT_EQ(render(kBinary, {0xDE, 0xAD, 0x01}), "DEAD01");
  EXPECT_EQ(render(kSizeT, {0x10, 0, 0, 0, 0, 0, 0, 0}), "0x10");
}

TEST(EvtxValues, GuidSidTime) {
  // {5770385F-C22A-43E0-BF4C-06F5698FFBD9} (Sysmon provider): Data1-3 little-endian.
  EXPECT_EQ(render(kGuid, {0x5F, 0x38, 0x70, 0x57, 0x2A, 0xC2, 0xE0, 0x43, 0xBF, 0x4C, 0x06, 0xF5, 0x69, 0x8F, 0xFB,
                           0xD9}),
            "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}");
  // S-1-5-18: revision 1, one sub-authority, authority 5 (big-endian 48-bit).
  EXPECT_EQ(render(kSid, {1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0}), "S-1-5-18");
  // FILETIME 0x01D541F2AB3D6B9E: python3
  //   datetime(1601,1,1)+timedelta(microseconds=0x01D541F2AB3D6B9E//10)
  //   -> 2019-07-24 07:37:38.811791
  uint64_t ft = 0x01D541F2AB3D6B9EULL;
  std::vector<unsigned char> b(8);
  for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(ft >> (8 * i));
  EXPECT_EQ(render(kFileTime, b), "2019-07-24T07:37:38.811791Z");
  // SYSTEMTIME 2020-08-01 07:59:18.374 (year, month, weekday, day, h, m, s, ms).
  EXPECT_EQ(render(kSysTime, {0xE4, 0x07, 8, 0, 6, 0, 1, 0, 7, 0, 59, 0, 18, 0, 0x76, 0x01}),
            "2020-08-01T07:59:18.374000Z");
}

TEST(EvtxValues, StringsAndArrays) {
  // "a\u00e9\u20ac" + NUL + "x": cut at the NUL; UTF-16 -> UTF-8.
  EXPECT_EQ(render(kString, {'a', 0, 0xE9, 0, 0xAC, 0x20, 0, 0, 'x', 0}), "a\xC3\xA9\xE2\x82\xAC");
  // U+1F600 as a surrogate pair; a lone surrogate becomes U+FFFD.
  EXPECT_EQ(render(kString, {0x3D, 0xD8, 0x00, 0xDE}), "\xF0\x9F\x98\x80");
  EXPECT_EQ(render(kString, {0x3D, 0xD8, 'a', 0}), "\xEF\xBF\xBD" "a");
  EXPECT_EQ(render(kString | kArrayFlag, {'a', 0, 0, 0, 'b', 0, 'c', 0, 0, 0}), "a,bc");
  EXPECT_EQ(render(kUInt16 | kArrayFlag, {1, 0, 2, 0, 3, 0}), "1,2,3");
  EXPECT_EQ(render(kAnsiString, {'h', 'i', 0xE9, 0}), "hi\xC3\xA9");
}

TEST(EvtxValues, MalformedSizesAreRejected) {
  Arena a;
  a.begin();
  unsigned char b[16] = {};
  EXPECT_FALSE(append_value(a, kGuid, b, 15));
  EXPECT_FALSE(append_value(a, kString, b, 3));
  EXPECT_FALSE(append_value(a, kSid, b, 7));
  EXPECT_FALSE(append_value(a, kUInt32 | kArrayFlag, b, 6));
}

TEST(EvtxRender, WindowsStyleXml) {
  vigil::Record r;
  r.system = {{"Provider", "Microsoft-Windows-Sysmon"},
              {"ProviderGuid", "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}"},
              {"EventID", "1"},
              {"TimeCreated", "2019-03-19T23:34:25.123456Z"},
              {"EventRecordID", "42"},
              {"Channel", "Microsoft-Windows-Sysmon/Operational"},
              {"Computer", "pc"}};
  r.data = {{"CommandLine", "a & \"b\" <c>"}, {"Data", "x"}};
  std::string xml;
  vigil::evtx::render_xml(r, xml);
  EXPECT_EQ(xml,
            "<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\"><System>"
            "<Provider Name=\"Microsoft-Windows-Sysmon\" Guid=\"{5770385F-C22A-43E0-BF4C-06F5698FFBD9}\"/>"
            "<EventID>1</EventID><TimeCreated SystemTime=\"2019-03-19T23:34:25.123456Z\"/>"
            "<EventRecordID>42</EventRecordID><Correlation/>"
            "<Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>pc</Computer><Security/></System>"
            "<EventData><Data Name=\"CommandLine\">a &amp; &quot;b&quot; &lt;c&gt;</Data><Data>x</Data></EventData>"
            "</Event>");
}
