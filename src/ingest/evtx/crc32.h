// CRC-32 (IEEE 802.3, reflected 0xEDB88320) as used by EVTX file and chunk
// headers. PCLMULQDQ folding where the CPU has it (checking every chunk's
// record data then costs little next to decoding it), slice-by-16 otherwise.
#pragma once
#include <cstddef>
#include <cstdint>

namespace vigil::evtx {

/// CRC of `n` bytes continuing from `crc` (start with 0).
uint32_t crc32(const void* data, size_t n, uint32_t crc = 0);

}  // namespace vigil::evtx
