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

namespace {

class XmlStream final : public TextReader {
 public:
  XmlStream(std::string_view name, ReadContext& ctx) : name_(name), ctx_(ctx) {
    rec_.format = LogFormat::xml_wineventlog;
    rec_.file = name;
  }

  // Records are cut at `<Event`…`</Event>`; a record still open at the end
  // of a non-final block is left unconsumed for the next call.
  size_t feed(std::string_view bytes, uint64_t base, bool final) override {
    // pugixml parses in place, so each record is copied into one reused
    // buffer; the Record's views point into it until the next record.
    // Keep \r\n inside values as Windows wrote them (no parse_eol), and keep
    // a whitespace-only value such as <Data Name='x'> </Data>.
    const unsigned options = pugi::parse_cdata | pugi::parse_escapes | pugi::parse_ws_pcdata_single;
    size_t line_pos = 0;  // position up to which `line_` has been counted
    auto line_at = [&](size_t pos) {
      line_ += static_cast<uint64_t>(std::count(bytes.begin() + line_pos, bytes.begin() + pos, '\n'));
      line_pos = pos;
      return line_;
    };
    auto line_text = [&](size_t pos) {
      size_t e = bytes.find('\n', pos);
      return bytes.substr(pos, (e == std::string_view::npos ? bytes.size() : e) - pos);
    };

    size_t scanned = 0;  // end of the last record handled
    size_t end = 0;  // last `</Event>` found; reused while ahead of `start` (npos stays valid: linear time)
    size_t start = find_start(bytes, 0);
    while (start != std::string_view::npos && !ctx_.stopped()) {
      const uint64_t rec_line = line_at(start);
      if (end < start + kStart.size()) end = bytes.find(kEnd, start + kStart.size());
      size_t next = find_start(bytes, start + kStart.size());
      if (end == std::string_view::npos && next == std::string_view::npos && !final) return start;  // more to come
      ++found_;
      if (end == std::string_view::npos || (next != std::string_view::npos && next < end)) {
        ctx_.bad_record(name_, rec_line, base + start, "bad-xml",
                        "truncated XML record (no </Event> before the next record)", line_text(start));
        scanned = start + kStart.size();
        start = next;
        continue;
      }
      const size_t stop = end + kEnd.size();
      buf_.assign(bytes.data() + start, stop - start);
      pugi::xml_parse_result res = doc_.load_buffer_inplace(buf_.data(), buf_.size(), options, pugi::encoding_utf8);
      pugi::xml_node event = doc_.document_element();
      if (!res || !event) {
        uint64_t at = base + start + static_cast<uint64_t>(std::max<ptrdiff_t>(res.offset, 0));
        ctx_.bad_record(name_, rec_line, at, "bad-xml", std::string("malformed XML record: ") + res.description(),
                        line_text(start));
      } else {
        rec_.system.clear();
        rec_.data.clear();
        arena_.reset();
        rec_.offset = base + start;
        rec_.line = rec_line;
        XmlRecordBuilder(rec_, arena_).build(event);
        ctx_.stats.records_read++;
        ctx_.visit(rec_);
      }
      ctx_.progress_within(base + stop);
      scanned = stop;
      start = (next != std::string_view::npos && next >= stop) ? next : find_start(bytes, stop);
    }
    if (final) {
      if (found_ == 0 && !ctx_.stopped()) ctx_.skip_input(name_, "no-records", "no <Event> records found in XML input");
      return bytes.size();
    }
    // Keep a tail that may hold the beginning of the next `<Event`.
    size_t keep = bytes.size() > kStart.size() ? bytes.size() - kStart.size() : 0;
    keep = std::max(keep, scanned);
    line_at(keep);
    return keep;
  }

 private:
  std::string_view name_;
  ReadContext& ctx_;
  uint64_t line_ = 1;
  uint64_t found_ = 0;
  std::string buf_;
  pugi::xml_document doc_;
  StringArena arena_;
  Record rec_;
};

}  // namespace

std::unique_ptr<TextReader> make_xml_reader(std::string_view name, ReadContext& ctx) {
  return std::make_unique<XmlStream>(name, ctx);
}

void read_xml(std::string_view name, std::string_view bytes, ReadContext& ctx) {
  XmlStream(name, ctx).feed(bytes, 0, true);
}

}  // namespace vigil::ingest
