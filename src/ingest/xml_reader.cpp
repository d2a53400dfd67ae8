// XmlWinEventLog text: `<Event xmlns=…>…</Event>` records, one per line or
// back to back, with anything else between them (Splunk framing, an
// `<Events>` wrapper, blank lines) ignored.
//
// Records are cut textually at `<Event`…`</Event>` before parsing, so a
// truncated or malformed record costs only itself: the next `<Event` start
// resynchronizes the reader.
#include <pugixml.hpp>

#include <algorithm>
#include <cstring>
#include <string>

#include "ingest/ingest_internal.h"

namespace vigil::ingest {

namespace {

constexpr std::string_view kStart = "<Event";
constexpr std::string_view kEnd = "</Event>";
constexpr int kMaxDepth = 64;  // UserData nesting we follow; deeper is hostile

// `<Event` followed by whitespace, '>' or '/': not <EventData>, <EventID>, <Events>.
size_t find_start(std::string_view s, size_t from) {
  while (true) {
    size_t p = s.find(kStart, from);
    if (p == std::string_view::npos || p + kStart.size() >= s.size()) return std::string_view::npos;
    char c = s[p + kStart.size()];
    if (c == ' ' || c == '>' || c == '\t' || c == '\r' || c == '\n' || c == '/') return p;
    from = p + kStart.size();
  }
}

// Element name without a namespace prefix (`ns:Name` -> `Name`).
std::string_view local_name(const char* name) {
  std::string_view n(name);
  size_t colon = n.rfind(':');
  return colon == std::string_view::npos ? n : n.substr(colon + 1);
}

std::string_view text_of(pugi::xml_node n) { return n.child_value(); }

class XmlRecordBuilder {
 public:
  explicit XmlRecordBuilder(Record& rec, StringArena& arena) : rec_(rec), arena_(arena) {}

  void build(pugi::xml_node event) {
    for (pugi::xml_node part = event.first_child(); part; part = part.next_sibling()) {
      if (part.type() != pugi::node_element) continue;
      std::string_view name = local_name(part.name());
      if (name == "System") system(part);
      else if (name == "EventData") event_data(part);
      else if (name == "UserData") leaves(part, 0);
      else if (name == "RenderingInfo") rendering_info(part);
    }
  }

 private:
  void add_system(std::string_view name, std::string_view value) {
    if (!value.empty()) rec_.system.push_back({name, value});
  }

  void system(pugi::xml_node sys) {
    for (pugi::xml_node n = sys.first_child(); n; n = n.next_sibling()) {
      if (n.type() != pugi::node_element) continue;
      std::string_view name = local_name(n.name());
      if (name == "Provider") {
        add_system(sys::Provider, n.attribute("Name").value());
        add_system(sys::ProviderGuid, n.attribute("Guid").value());
      } else if (name == "TimeCreated") {
        std::string_view t = canonical_time(n.attribute("SystemTime").value(), arena_);
        add_system(sys::TimeCreated, t);
      } else if (name == "Correlation") {
        add_system(sys::ActivityID, n.attribute("ActivityID").value());
      } else if (name == "Execution") {
        add_system(sys::ProcessID, n.attribute("ProcessID").value());
        add_system(sys::ThreadID, n.attribute("ThreadID").value());
      } else if (name == "Security") {
        add_system(sys::UserID, n.attribute("UserID").value());
      } else {
        static constexpr std::string_view kPlain[] = {sys::EventID, sys::Version,       sys::Level,
                                                      sys::Task,    sys::Opcode,        sys::Keywords,
                                                      sys::Channel, sys::EventRecordID, sys::Computer};
        for (std::string_view canon : kPlain) {
          if (name == canon) {
            add_system(canon, text_of(n));
            break;
          }
        }
      }
    }
  }

  void event_data(pugi::xml_node ed) {
    for (pugi::xml_node n = ed.first_child(); n; n = n.next_sibling()) {
      if (n.type() != pugi::node_element) continue;
      pugi::xml_attribute attr = n.attribute("Name");
      // Unnamed <Data> (classic providers) and <Binary> keep their element name.
      std::string_view name = attr ? std::string_view(attr.value()) : local_name(n.name());
      rec_.data.push_back({name, text_of(n)});
    }
  }

  // UserData: every leaf element becomes a field named after the element.
  void leaves(pugi::xml_node parent, int depth) {
    if (depth > kMaxDepth) return;
    for (pugi::xml_node n = parent.first_child(); n; n = n.next_sibling()) {
      if (n.type() != pugi::node_element) continue;
      if (n.find_child([](pugi::xml_node c) { return c.type() == pugi::node_element; }))
        leaves(n, depth + 1);
      else
        rec_.data.push_back({local_name(n.name()), text_of(n)});
    }
  }

  void rendering_info(pugi::xml_node ri) {
    pugi::xml_node msg = ri.child("Message");
    if (msg) rec_.data.push_back({"Message", text_of(msg)});
  }

  Record& rec_;
  StringArena& arena_;
};

}  // namespace

void read_xml(std::string_view name, std::string_view bytes, ReadContext& ctx) {
  // pugixml parses in place, so each record is copied into one reused buffer;
  // the Record's views point into it until the next record.
  std::string buf;
  pugi::xml_document doc;
  StringArena arena;
  Record rec;
  rec.format = LogFormat::xml_wineventlog;
  rec.file = name;
  // Keep \r\n inside values as Windows wrote them (no parse_eol), and keep a
  // whitespace-only value such as <Data Name='x'> </Data>.
  const unsigned options = pugi::parse_cdata | pugi::parse_escapes | pugi::parse_ws_pcdata_single;

  uint64_t line = 1;
  size_t line_pos = 0;  // position up to which `line` has been counted
  auto line_at = [&](size_t pos) {
    line += static_cast<uint64_t>(std::count(bytes.begin() + line_pos, bytes.begin() + pos, '\n'));
    line_pos = pos;
    return line;
  };
  auto line_text = [&](size_t pos) {
    size_t e = bytes.find('\n', pos);
    return bytes.substr(pos, (e == std::string_view::npos ? bytes.size() : e) - pos);
  };

  size_t found = 0;
  size_t end = 0;  // last `</Event>` found; reused while ahead of `start` (npos stays valid: linear time)
  size_t start = find_start(bytes, 0);
  while (start != std::string_view::npos) {
    ++found;
    const uint64_t rec_line = line_at(start);
    if (end < start + kStart.size()) end = bytes.find(kEnd, start + kStart.size());
    size_t next = find_start(bytes, start + kStart.size());
    if (end == std::string_view::npos || (next != std::string_view::npos && next < end)) {
      ctx.bad_record(name, rec_line, start, "bad-xml", "truncated XML record (no </Event> before the next record)",
                     line_text(start));
      start = next;
      continue;
    }
    const size_t stop = end + kEnd.size();
    buf.assign(bytes.data() + start, stop - start);
    pugi::xml_parse_result res = doc.load_buffer_inplace(buf.data(), buf.size(), options, pugi::encoding_utf8);
    pugi::xml_node event = doc.document_element();
    if (!res || !event) {
      uint64_t at = start + static_cast<uint64_t>(std::max<ptrdiff_t>(res.offset, 0));
      ctx.bad_record(name, rec_line, at, "bad-xml", std::string("malformed XML record: ") + res.description(),
                     line_text(start));
    } else {
      rec.system.clear();
      rec.data.clear();
      arena.reset();
      rec.offset = start;
      rec.line = rec_line;
      XmlRecordBuilder(rec, arena).build(event);
      ctx.stats.records_read++;
      ctx.visit(rec);
    }
    ctx.progress_within(stop);
    start = (next != std::string_view::npos && next >= stop) ? next : find_start(bytes, stop);
  }
  if (found == 0) ctx.skip_input(name, "no-records", "no <Event> records found in XML input");
}

}  // namespace vigil::ingest
