// Classic WinEventLog text (Splunk sourcetype WinEventLog): the rendering the
// Windows event log input writes when renderXml is off, and what many Splunk
// exports hold:
//
//   10/09/2020 10:41:26 AM            <- header: starts a record
//   LogName=Security                  <- header keys, one per line
//   EventCode=4720
//   ComputerName=win-dc.attackrange.local
//   …
//   Message=A user account was created.
//
//   Subject:
//   	Security ID:		ATTACKRANGE\Administrator
//   	Account Name:		Administrator
//
// The Message runs to the next header line. Its `Label: value` lines become
// fields as Splunk's automatic extraction names them (`Account_Name`: spaces
// to underscores), repeated labels making multivalue fields in message order
// (Subject's Account Name first, then the New Account's), exactly as the
// add-on sees them. Header keys map to the canonical System names
// (LogName -> Channel, EventCode -> EventID, ComputerName -> Computer,
// SourceName -> Provider, RecordNumber -> EventRecordID) and stay under
// their own names too.
//
// A record whose header line is not followed by any `Key=Value` line, or that
// lacks EventCode, is malformed: reported (file:line, reason) and counted.
#include <algorithm>
#include <cstring>
#include <string>

#include "core/time.h"
#include "ingest/ingest_internal.h"

namespace vigil::ingest {

namespace {

bool digit(char c) { return c >= '0' && c <= '9'; }

// `MM/DD/YYYY hh:mm:ss AM|PM` (month and hour may have one digit), nothing else on the line.
bool is_header(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
  size_t i = 0;
  auto num = [&](size_t min, size_t max) {
    size_t s = i;
    while (i < line.size() && digit(line[i]) && i - s < max) ++i;
    return i - s >= min;
  };
  auto lit = [&](char c) {
    if (i < line.size() && line[i] == c) return ++i, true;
    return false;
  };
  if (!(num(1, 2) && lit('/') && num(1, 2) && lit('/') && num(4, 4) && lit(' ') && num(1, 2) && lit(':') &&
        num(2, 2) && lit(':') && num(2, 2) && lit(' ')))
    return false;
  std::string_view ampm = line.substr(i);
  return ampm == "AM" || ampm == "PM";
}

// The header's local time as epoch seconds, taking it as UTC: the text has no zone
// (Splunk applies the forwarder's TZ), and UTC keeps results reproducible.
std::optional<double> header_time(std::string_view line) {
  int mo = 0, d = 0, y = 0, h = 0, mi = 0, s = 0;
  char ampm[3] = {};
  std::string l(line.substr(0, 40));
  if (std::sscanf(l.c_str(), "%d/%d/%d %d:%d:%d %2s", &mo, &d, &y, &h, &mi, &s, ampm) != 7) return std::nullopt;
  if (h == 12) h = 0;
  if (ampm[0] == 'P') h += 12;
  char iso[40];
  std::snprintf(iso, sizeof iso, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d, h, mi, s);
  return parse_time(iso);
}

std::string_view trim_view(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// `Key=Value` header line: the key is a single word.
bool header_kv(std::string_view line, std::string_view& key, std::string_view& value) {
  size_t eq = line.find('=');
  if (eq == std::string_view::npos || eq == 0) return false;
  key = line.substr(0, eq);
  for (char c : key)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  value = trim_view(line.substr(eq + 1));
  return true;
}

std::string_view canonical_name(std::string_view header_key) {
  if (header_key == "LogName") return sys::Channel;
  if (header_key == "EventCode") return sys::EventID;
  if (header_key == "ComputerName") return sys::Computer;
  if (header_key == "SourceName") return sys::Provider;
  if (header_key == "RecordNumber") return sys::EventRecordID;
  return {};
}

}  // namespace

bool looks_like_wineventlog(std::string_view head) {
  size_t e = head.find('\n');
  return is_header(head.substr(0, e == std::string_view::npos ? head.size() : e));
}

void read_wineventlog(std::string_view name, std::string_view bytes, ReadContext& ctx) {
  StringArena arena;
  Record rec;
  rec.format = LogFormat::wineventlog;
  rec.file = name;
  size_t found = 0;

  // Lines of the current record: [start, end) byte ranges are walked twice (cut, then parse).
  size_t pos = 0;
  uint64_t line_no = 0;
  auto next_line = [&](size_t& p, std::string_view& line) {
    if (p >= bytes.size()) return false;
    size_t e = bytes.find('\n', p);
    if (e == std::string_view::npos) e = bytes.size();
    line = bytes.substr(p, e - p);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    p = e + 1;
    return true;
  };

  std::string_view line;
  // Skip anything before the first header (Splunk export preamble).
  size_t first = 0;
  while (true) {
    size_t p = pos;
    if (!next_line(p, line)) break;
    ++line_no;
    if (is_header(line)) {
      first = pos;
      pos = p;
      break;
    }
    pos = p;
  }
  if (line_no == 0 || !is_header(line)) {
    ctx.skip_input(name, "no-records", "no WinEventLog records (timestamp header lines) found");
    return;
  }
  (void)first;

  while (true) {
    // `line` is the header of the record starting at line `line_no`.
    const uint64_t rec_line = line_no;
    const size_t rec_offset = pos - line.size() - 1;
    std::string_view header = line;
    rec.system.clear();
    rec.data.clear();
    arena.reset();
    rec.line = rec_line;
    rec.offset = rec_offset;
    ++found;
    bool in_message = false, saw_key = false, more = false;
    std::string_view message;
    size_t message_start = 0;
    while (true) {
      size_t p = pos;
      if (!next_line(p, line)) break;
      if (is_header(line)) {
        more = true;
        ++line_no;
        pos = p;
        break;
      }
      ++line_no;
      size_t line_start = pos;
      pos = p;
      if (!in_message) {
        std::string_view k, v;
        if (!header_kv(line, k, v)) continue;  // stray line between keys: ignored like Splunk's KV_MODE
        saw_key = true;
        if (k == "Message") {
          in_message = true;
          message_start = line_start + (v.data() - line.data());
          message = bytes.substr(message_start, (line_start + line.size()) - message_start);
          continue;
        }
        rec.data.push_back({k, v});
        if (auto c = canonical_name(k); !c.empty()) rec.system.push_back({c, v});
      } else {
        message = bytes.substr(message_start, (line_start + line.size()) - message_start);
        // `Label:  value` inside the message (tab-indented under a section) becomes Label_With_Underscores.
        std::string_view t = trim_view(line);
        size_t colon = t.find(':');
        if (colon == std::string_view::npos || colon == 0) continue;
        std::string_view label = trim_view(t.substr(0, colon));
        std::string_view value = trim_view(t.substr(colon + 1));
        if (value.empty() || label.size() > 64) continue;  // a section title ("Subject:") or prose
        bool word = true;
        for (char c : label)
          if (!(std::isalnum(static_cast<unsigned char>(c)) || c == ' ' || c == '_' || c == '-')) word = false;
        if (!word) continue;
        char* out = arena.alloc(label.size());
        for (size_t i = 0; i < label.size(); ++i) out[i] = (label[i] == ' ' || label[i] == '-') ? '_' : label[i];
        rec.data.push_back({std::string_view(out, label.size()), value});
      }
    }
    while (!message.empty() && (message.back() == '\n' || message.back() == '\r' || message.back() == ' '))
      message.remove_suffix(1);
    if (in_message) rec.data.push_back({"Message", message});
    if (!saw_key) {
      ctx.bad_record(name, rec_line, rec_offset, "bad-wineventlog",
                     "WinEventLog record has a timestamp line but no Key=Value lines", header);
    } else if (!rec.find_system(sys::EventID)) {
      ctx.bad_record(name, rec_line, rec_offset, "bad-wineventlog", "WinEventLog record without EventCode", header);
    } else {
      if (auto t = header_time(header)) rec.system.push_back({sys::TimeCreated, epoch_to_time(*t, arena)});
      ctx.stats.records_read++;
      ctx.visit(rec);
    }
    ctx.progress_within(pos);
    if (!more || ctx.stopped()) break;
  }
  (void)found;
}

}  // namespace vigil::ingest
