// append_utf16 (EVTX string values, UTF-16LE -> UTF-8) against a plain one-unit-at-a-time
// conversion written here from the Unicode rules: a surrogate pair is one code point, a lone
// surrogate is U+FFFD, a NUL ends a NUL-terminated string. The inputs put every kind of unit at
// every position of runs long enough for the converter's 4- and 16-unit fast paths.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ingest/evtx/values.h"

using namespace vigil::evtx;

namespace {

std::string reference(const std::vector<uint16_t>& u, bool stop_at_nul) {
  std::string out;
  auto put = [&](uint32_t cp) {
    if (cp < 0x80) {
      out += char(cp);
    } else if (cp < 0x800) {
      out += char(0xC0 | (cp >> 6));
      out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += char(0xE0 | (cp >> 12));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    } else {
      out += char(0xF0 | (cp >> 18));
      out += char(0x80 | ((cp >> 12) & 0x3F));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    }
  };
  for (size_t i = 0; i < u.size(); ++i) {
    uint32_t c = u[i];
    if (c == 0 && stop_at_nul) break;
    if (c >= 0xD800 && c <= 0xDBFF && i + 1 < u.size() && u[i + 1] >= 0xDC00 && u[i + 1] <= 0xDFFF) {
      put(0x10000 + ((c - 0xD800) << 10) + (u[i + 1] - 0xDC00));
      ++i;
    } else if (c >= 0xD800 && c <= 0xDFFF) {
      put(0xFFFD);
    } else {
      put(c);
    }
  }
  return out;
}

std::string convert(const std::vector<uint16_t>& u, bool stop_at_nul) {
  std::vector<unsigned char> bytes;
  for (uint16_t c : u) {
    bytes.push_back(static_cast<unsigned char>(c & 0xFF));
    bytes.push_back(static_cast<unsigned char>(c >> 8));
  }
  Arena a;
  a.begin();
  append_utf16(a, bytes.data(), u.size(), stop_at_nul);
  return std::string(a.finish());
}

// Units that end a fast path, or sit at the edge of one.
const uint16_t kOdd[] = {0x0000, 0x007F, 0x0080, 0x00E9, 0x07FF, 0x0800, 0x4E2D, 0xFFFF,
                         0xD83D, 0xDE00, 0xDC00, 0xFF41, 0x0100};

}  // namespace

TEST(EvtxUtf16, AsciiRunsOfEveryLengthUpTo70) {
  for (size_t n = 0; n <= 70; ++n) {
    std::vector<uint16_t> u;
    for (size_t i = 0; i < n; ++i) u.push_back(uint16_t('a' + i % 26));
    std::string want(n, ' ');
    for (size_t i = 0; i < n; ++i) want[i] = char('a' + i % 26);
    EXPECT_EQ(convert(u, true), want) << n;
    EXPECT_EQ(convert(u, false), want) << n;
  }
}

TEST(EvtxUtf16, EveryOddUnitAtEveryPositionOfALongAsciiRun) {
  for (uint16_t odd : kOdd)
    for (size_t len : {17u, 33u, 40u})
      for (size_t at = 0; at < len; ++at)
        for (bool stop : {true, false}) {
          std::vector<uint16_t> u(len, uint16_t('x'));
          u[at] = odd;
          EXPECT_EQ(convert(u, stop), reference(u, stop)) << std::hex << odd << std::dec << " at " << at << " of "
                                                          << len << (stop ? " (to NUL)" : "");
        }
}

TEST(EvtxUtf16, SurrogatePairsAcrossEveryBlockEdge) {
  // A pair split at each position: the fast path must stop before its high half, not between them.
  for (size_t at = 0; at + 1 < 48; ++at) {
    std::vector<uint16_t> u(48, uint16_t('y'));
    u[at] = 0xD83D;
    u[at + 1] = 0xDE00;  // U+1F600
    std::string got = convert(u, true);
    EXPECT_EQ(got, reference(u, true)) << at;
    EXPECT_NE(got.find("\xF0\x9F\x98\x80"), std::string::npos) << at;
  }
}

TEST(EvtxUtf16, MixedTextMatchesTheReference) {
  // A fixed pseudo-random walk over ASCII and the odd units (xorshift; no seed from the clock).
  uint32_t s = 0x9E3779B9u;
  auto next = [&] {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    return s;
  };
  for (int round = 0; round < 2000; ++round) {
    std::vector<uint16_t> u(next() % 90);
    for (auto& c : u) c = next() % 8 ? uint16_t(0x20 + next() % 0x5F) : kOdd[next() % std::size(kOdd)];
    for (bool stop : {true, false}) ASSERT_EQ(convert(u, stop), reference(u, stop)) << "round " << round;
  }
}
