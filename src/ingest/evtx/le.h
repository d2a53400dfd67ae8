// Fixed-size fields of EVTX files and chunks, which are little-endian. vigil builds for
// little-endian hosts only (x86-64, AArch64), so a field is read in host order.
#pragma once
#include <bit>
#include <cstdint>
#include <cstring>

namespace vigil::evtx {

static_assert(std::endian::native == std::endian::little, "EVTX fields are read in host order");

inline uint16_t rd16(const unsigned char* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline uint32_t rd32(const unsigned char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline uint64_t rd64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace vigil::evtx
