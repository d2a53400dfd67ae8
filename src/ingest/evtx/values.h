// Rendering of BinXML substitution values as text, the way Windows' own XML
// rendering (EvtRender / Event Viewer "XML view", Splunk XmlWinEventLog) shows
// them. Choices, each checked against Sigma's regression .json (evtx crate) and
// evtxexport where they agree with Windows:
//   - integers in decimal; HexInt32/HexInt64/SizeT as `0x` + lower-case hex,
//     unpadded (`0x3e7`, `0x8000000000000000`), as Windows renders them
//     (evtxexport pads HexInt64 to 16 digits; Windows does not);
//   - GUIDs upper-case in braces `{5770385F-C22A-43E0-BF4C-06F5698FFBD9}`;
//   - FILETIME and SYSTEMTIME as ISO-8601 UTC with 6 fractional digits
//     (microseconds, truncated): `2019-03-19T23:34:25.123456Z`, the form of
//     Record's sys::TimeCreated and of the evtx-crate JSON;
//   - SIDs `S-1-5-21-…`; binary as upper-case hex without separators;
//   - booleans `true`/`false`; floats in shortest round-trip form;
//   - strings cut at the first NUL (Windows renders C strings); ANSI strings
//     read as Latin-1; invalid UTF-16 becomes U+FFFD;
//   - arrays: the elements rendered one by one and joined with "," (string
//     arrays are NUL-separated on disk).
#pragma once
#include <cstddef>
#include <cstdint>

#include "ingest/evtx/arena.h"

namespace vigil::evtx {

/// BinXML value types (the low 7 bits; 0x80 marks an array).
enum ValueType : uint8_t {
  kNull = 0x00,
  kString = 0x01,
  kAnsiString = 0x02,
  kInt8 = 0x03,
  kUInt8 = 0x04,
  kInt16 = 0x05,
  kUInt16 = 0x06,
  kInt32 = 0x07,
  kUInt32 = 0x08,
  kInt64 = 0x09,
  kUInt64 = 0x0A,
  kReal32 = 0x0B,
  kReal64 = 0x0C,
  kBool = 0x0D,
  kBinary = 0x0E,
  kGuid = 0x0F,
  kSizeT = 0x10,
  kFileTime = 0x11,
  kSysTime = 0x12,
  kSid = 0x13,
  kHexInt32 = 0x14,
  kHexInt64 = 0x15,
  kEvtHandle = 0x20,
  kBinXml = 0x21,
  kEvtXml = 0x23,
  kArrayFlag = 0x80,
};

/// Append UTF-16LE text (`units` code units) as UTF-8; stops at the first NUL
/// when `stop_at_nul`.
void append_utf16(Arena& out, const unsigned char* p, size_t units, bool stop_at_nul);

/// Append the rendering of one value of `type` (array flag allowed, not BinXml).
/// Returns false when the size does not fit the type (the value is malformed).
bool append_value(Arena& out, uint8_t type, const unsigned char* p, size_t size);

/// Size in bytes of a fixed-size scalar type; 0 for variable-size types and arrays.
size_t value_fixed_size(uint8_t type);

/// Append a FILETIME (100 ns ticks since 1601) as ISO-8601 UTC, microseconds.
void append_filetime(Arena& out, uint64_t ticks);

}  // namespace vigil::evtx
