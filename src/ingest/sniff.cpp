// Format sniffing from content. Names lie (attack_data ships JSON as .txt,
// OTRF as .json inside .zip), so only bytes decide.
#include <algorithm>
#include <cstring>
#include <string_view>
#include <vector>

#include "ingest/evtx/evtx_reader.h"
#include "ingest/ingest_internal.h"
#include "ingest/reader.h"

namespace vigil {

namespace ingest {

bool is_archive(std::string_view h) {
  auto starts = [&](std::string_view magic) { return h.size() >= magic.size() && h.substr(0, magic.size()) == magic; };
  if (starts("\x1f\x8b")) return true;                                 // gzip
  if (starts("PK\x03\x04") || starts(std::string_view("PK\x05\x06", 4))) return true;  // zip (or empty zip)
  if (starts("BZh")) return true;                                      // bzip2
  if (starts(std::string_view("\xfd" "7zXZ\0", 6))) return true;       // xz
  if (h.size() >= 262 && h.substr(257, 5) == "ustar") return true;     // plain tar
  return false;
}

}  // namespace ingest

namespace {

// Top-level keys of the first JSON object in `s` (starting at `i`, which
// points at '{'), found textually so that a truncated head still works.
std::vector<std::string_view> first_object_keys(std::string_view s, size_t i) {
  std::vector<std::string_view> keys;
  int depth = 0;
  bool expect_key = false;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"') {
      size_t start = ++i;
      while (i < s.size() && s[i] != '"') i += (s[i] == '\\') ? 2 : 1;
      if (i >= s.size()) break;
      if (depth == 1 && expect_key) keys.push_back(s.substr(start, i - start));
      expect_key = false;
    } else if (c == '{' || c == '[') {
      ++depth;
      expect_key = c == '{' && depth == 1;
    } else if (c == '}' || c == ']') {
      if (--depth <= 0) break;
    } else if (c == ',') {
      expect_key = depth == 1;
    }
  }
  return keys;
}

bool has(const std::vector<std::string_view>& keys, std::string_view k) {
  for (auto x : keys)
    if (x == k) return true;
  return false;
}

// Random bytes start with '<' or '{' about once in 128 inputs (/dev/urandom, an encrypted file) and
// would then be read as an endless run of bad records. Their first 4 KB hold ~460 control bytes;
// a text log holds none but the odd damaged byte (NUL padding after the last record aside).
bool binary_head(std::string_view head) {
  std::string_view probe = head.substr(0, 4096);
  size_t last = probe.find_last_not_of('\0');
  if (last == std::string_view::npos) return false;  // empty or all NUL: nothing looks like a log anyway
  size_t controls = 0;
  for (unsigned char c : probe.substr(0, last))
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') ++controls;
  return controls >= 16;
}

}  // namespace

LogFormat sniff_format(std::string_view head) {
  if (evtx::is_evtx(head)) return LogFormat::evtx;
  if (binary_head(head)) return LogFormat::unknown;
  size_t i = 0;
  if (head.substr(0, 3) == "\xEF\xBB\xBF") i = 3;  // UTF-8 BOM
  while (i < head.size() && (head[i] == ' ' || head[i] == '\t' || head[i] == '\r' || head[i] == '\n')) ++i;
  if (i >= head.size()) return LogFormat::unknown;
  char c = head[i];
  if (c == '<') return LogFormat::xml_wineventlog;
  if (c == '[') {
    // A JSON array of events: sniff its first element.
    ++i;
    while (i < head.size() && (head[i] == ' ' || head[i] == '\t' || head[i] == '\r' || head[i] == '\n')) ++i;
    if (i >= head.size() || head[i] != '{') return LogFormat::unknown;
    c = '{';
  }
  if (c == '{') {
    auto keys = first_object_keys(head, i);
    if (has(keys, "Event")) return LogFormat::json_evtx;
    if (has(keys, "winlog")) return LogFormat::json_winlogbeat;
    if (has(keys, "event_simpleName")) return LogFormat::json_crowdstrike;
    if ((has(keys, "EventTime") && has(keys, "SourceModuleType")) ||
        (has(keys, "Hostname") && has(keys, "EventReceivedTime")))
      return LogFormat::json_nxlog;
    return LogFormat::json_otrf;
  }
  if (ingest::looks_like_wineventlog(head.substr(i))) return LogFormat::wineventlog;
  // Splunk framing or other text before the records: XML if an <Event> shows up early.
  if (head.find("<Event xmlns") != std::string_view::npos || head.find("<Event>") != std::string_view::npos) {
    // Binary data that happens to contain the text is not XML.
    size_t probe = std::min<size_t>(head.size(), 4096);
    if (std::memchr(head.data(), '\0', probe) == nullptr) return LogFormat::xml_wineventlog;
  }
  return LogFormat::unknown;
}

}  // namespace vigil
