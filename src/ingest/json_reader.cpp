// JSON event readers: NXLog, OTRF (flat Windows JSON), evtx-crate JSON,
// Winlogbeat/ECS and CrowdStrike, as JSON lines, pretty-printed documents
// back to back, or a top-level array of events.
//
// Documents are cut before parsing: a line is one document unless it only
// opens one (`{`, `[`, or ends with `{`/`[`/`,`, the shape of pretty-printed
// output), in which case the document runs until its brackets balance. So a
// bad line costs only itself. Each document is parsed with one reused
// simdjson DOM parser; string values are views into the parser's buffers,
// numbers and synthesized values go to a per-record arena.
#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>

#include "core/strings.h"
#include "ingest/ingest_internal.h"

namespace vigil::ingest {

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

constexpr int kMaxDepth = 64;  // nesting we flatten; deeper values are dropped

// ---- document splitting ------------------------------------------------------

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim_ws(std::string_view s) {
  while (!s.empty() && is_ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ws(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

// End (exclusive) of the JSON value starting at `begin` ('{' or '['), or npos
// when the input ends first. A '{' at column 0 while still open means the
// previous document was cut short: pretty-printers indent nested values.
// `*restart` then receives that position.
size_t balanced_end(std::string_view s, size_t begin, size_t* restart) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = begin; i < s.size(); ++i) {
    char c = s[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    switch (c) {
      case '"': in_string = true; break;
      case '{':
      case '[':
        if (depth > 0 && c == '{' && i > 0 && s[i - 1] == '\n') {
          *restart = i;
          return std::string_view::npos;
        }
        ++depth;
        break;
      case '}':
      case ']':
        if (--depth == 0) return i + 1;
        break;
      default: break;
    }
  }
  return std::string_view::npos;
}

namespace {

// ---- value helpers -------------------------------------------------------------

// Copies, not references: value_unsafe() on a temporary result would dangle
// when used as a range-for initializer. Callers check the type first.
object as_object(element e) {
  object o;
  auto err = e.get_object().get(o);
  (void)err;
  return o;
}
simdjson::dom::array as_array(element e) {
  simdjson::dom::array a;
  auto err = e.get_array().get(a);
  (void)err;
  return a;
}

// A JSON null standing for "absent": a default-constructed element has no
// document and must never be inspected, this one can be.
element missing() {
  static const element null_element = [] {
    static simdjson::dom::parser p;
    return p.parse("null", 4).value();
  }();
  return null_element;
}

element member(object o, std::string_view key) {
  element e;
  if (o.at_key(key).get(e)) return missing();
  return e;
}
// `{"#attributes":{key:…}}` -> the attribute value
element attribute(element node, std::string_view key) {
  if (!node.is_object()) return missing();
  element attrs = member(as_object(node), "#attributes");
  if (!attrs.is_object()) return missing();
  return member(as_object(attrs), key);
}
bool present(element e) { return e.is_object() || e.is_array() || e.is_string() || e.is_number() || e.is_bool(); }


class Builder {
 public:
  Builder(Record& rec, StringArena& arena) : rec_(rec), arena_(arena) {}

  /// Scalar as text; false for objects/arrays. null is the empty string
  /// (the evtx crate writes an empty <Data> as null).
  bool scalar_text(element v, std::string_view& out) {
    switch (v.type()) {
      case element_type::STRING: out = v.get_string().value_unsafe(); return true;
      case element_type::INT64: out = number(v.get_int64().value_unsafe()); return true;
      case element_type::UINT64: out = number(v.get_uint64().value_unsafe()); return true;
      case element_type::DOUBLE: out = number(v.get_double().value_unsafe()); return true;
      case element_type::BOOL: out = v.get_bool().value_unsafe() ? "true" : "false"; return true;
      case element_type::NULL_VALUE: out = {}; return true;
      default: return false;
    }
  }

  template <class T>
  std::string_view number(T v) {
    char buf[40];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    return arena_.copy({buf, static_cast<size_t>(r.ptr - buf)});
  }

  /// Keywords as Windows renders them (0x8000000000000000); NXLog writes a signed integer.
  std::string_view keywords(element v) {
    uint64_t k;
    if (v.type() == element_type::INT64) k = static_cast<uint64_t>(v.get_int64().value_unsafe());
    else if (v.type() == element_type::UINT64) k = v.get_uint64().value_unsafe();
    else return text(v);
    char buf[24];
    int n = std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(k));
    return arena_.copy({buf, static_cast<size_t>(n)});
  }

  /// GUID as Windows renders it in System: with braces.
  std::string_view guid(std::string_view g) {
    if (g.size() != 36 || g.front() == '{') return g;
    char* p = arena_.alloc(38);
    p[0] = '{';
    std::memcpy(p + 1, g.data(), 36);
    p[37] = '}';
    return {p, 38};
  }

  std::string_view text(element v) {
    std::string_view s;
    return scalar_text(v, s) ? s : std::string_view();
  }

  void sys(std::string_view canon, std::string_view value) {
    if (!value.empty() && !rec_.find_system(canon)) rec_.system.push_back({canon, value});
  }
  void data(std::string_view name, std::string_view value) { rec_.data.push_back({name, value}); }

  /// A value under `name`: scalars as one field, arrays as one field per
  /// element, objects flattened to `name.key` (or leaf names when `leaf_names`).
  void value(std::string_view name, element v, bool leaf_names, int depth = 0) {
    std::string_view s;
    if (scalar_text(v, s)) {
      data(name, s);
      return;
    }
    if (depth > kMaxDepth) return;
    if (v.type() == element_type::ARRAY) {
      for (element e : as_array(v)) value(name, e, leaf_names, depth + 1);
      return;
    }
    for (auto [k, child] : as_object(v)) {
      if (k == "#attributes") continue;
      std::string_view child_name = k == "#text" ? name : (leaf_names ? k : joined(name, k));
      value(child_name, child, leaf_names, depth + 1);
    }
  }

  std::string_view joined(std::string_view a, std::string_view b) {
    if (a.empty()) return b;
    char* p = arena_.alloc(a.size() + 1 + b.size());
    std::memcpy(p, a.data(), a.size());
    p[a.size()] = '.';
    std::memcpy(p + a.size() + 1, b.data(), b.size());
    return {p, a.size() + 1 + b.size()};
  }

  Record& rec() { return rec_; }
  StringArena& arena() { return arena_; }

 private:
  Record& rec_;
  StringArena& arena_;
};


// ---- flat Windows JSON: NXLog, OTRF, generic -----------------------------------

enum class Conv : uint8_t { text, time, keywords, numeric_only };
struct FlatKey {
  std::string_view key;
  std::string_view canon;
  Conv conv;
  uint8_t time_rank = 0;  ///< lower wins when several time keys are present
};

// Keys that carry System values in NXLog im_msvistalog and OTRF output. Keys
// that NXLog also uses for EventData (ProcessID, ThreadID, Version in some
// events) only count as System when NXLog wrote them as numbers.
constexpr FlatKey kFlatKeys[] = {
    {"TimeCreated", sys::TimeCreated, Conv::time, 0},
    {"EventTime", sys::TimeCreated, Conv::time, 1},
    {"Hostname", sys::Computer, Conv::text},
    {"Computer", sys::Computer, Conv::text},
    {"SourceName", sys::Provider, Conv::text},
    {"ProviderGuid", sys::ProviderGuid, Conv::text},
    {"EventID", sys::EventID, Conv::text},
    {"Version", sys::Version, Conv::numeric_only},
    {"Level", sys::Level, Conv::text},
    {"Task", sys::Task, Conv::text},
    {"OpcodeValue", sys::Opcode, Conv::text},
    {"RecordNumber", sys::EventRecordID, Conv::text},
    {"EventRecordID", sys::EventRecordID, Conv::text},
    {"ExecutionProcessID", sys::ProcessID, Conv::text},
    {"ExecutionThreadID", sys::ThreadID, Conv::text},
    {"ProcessID", sys::ProcessID, Conv::numeric_only},
    {"ThreadID", sys::ThreadID, Conv::numeric_only},
    {"Channel", sys::Channel, Conv::text},
    {"UserID", sys::UserID, Conv::text},
    {"Keywords", sys::Keywords, Conv::keywords},
    {"ActivityID", sys::ActivityID, Conv::text},
};

const FlatKey* flat_key(std::string_view k) {
  for (const auto& fk : kFlatKeys)
    if (fk.key.size() == k.size() && fk.key == k) return &fk;
  return nullptr;
}

// NXLog folds JSON keys that differ only in case: Sysmon's EventData `ProcessId`
// disappears behind the System `ProcessID`. Sysmon's rendered Message holds
// every EventData field as `Name: value` lines, so recover the names that the
// top level lacks from it (Sysmon channel only, single-word names only).
void recover_from_message(Builder& b) {
  std::string_view channel = b.rec().system_value(sys::Channel);
  if (channel.find("Sysmon") == std::string_view::npos) return;
  std::string_view msg = b.rec().data_value("Message");
  size_t pos = msg.find('\n');
  while (pos != std::string_view::npos && pos < msg.size()) {
    size_t start = pos + 1;
    size_t end = msg.find('\n', start);
    std::string_view line = msg.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    pos = end;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t colon = line.find(": ");
    if (colon == std::string_view::npos || colon == 0) continue;
    std::string_view name = line.substr(0, colon);
    if (name.find_first_of(" \t") != std::string_view::npos) continue;
    if (b.rec().find_data(name) || b.rec().find_system(name)) continue;
    b.data(name, line.substr(colon + 2));
  }
}

void build_flat(object root, Builder& b) {
  std::string_view time_text, fallback_time;
  int time_rank = 99;
  for (auto [k, v] : root) {
    const FlatKey* fk = flat_key(k);
    if (fk && fk->conv == Conv::numeric_only && !v.is_number()) fk = nullptr;
    if (!fk || b.rec().find_system(fk->canon) != nullptr) {
      if (k == "@timestamp" && v.is_string()) fallback_time = v.get_string().value_unsafe();
      b.value(k, v, false);
      continue;
    }
    switch (fk->conv) {
      case Conv::time:
        if (fk->time_rank < time_rank && v.is_string()) {
          time_text = v.get_string().value_unsafe();
          time_rank = fk->time_rank;
        }
        break;
      case Conv::keywords: b.sys(fk->canon, b.keywords(v)); break;
      default: b.sys(fk->canon, b.text(v)); break;
    }
  }
  if (time_text.empty()) time_text = fallback_time;
  if (!time_text.empty()) b.sys(sys::TimeCreated, canonical_time(time_text, b.arena()));
  recover_from_message(b);
}

// ---- evtx-crate JSON -------------------------------------------------------------

void build_evtx_system(element system, Builder& b) {
  if (!system.is_object()) return;
  for (auto [k, v] : as_object(system)) {
    if (k == "Provider") {
      b.sys(sys::Provider, b.text(attribute(v, "Name")));
      b.sys(sys::ProviderGuid, b.guid(b.text(attribute(v, "Guid"))));
    } else if (k == "TimeCreated") {
      b.sys(sys::TimeCreated, canonical_time(b.text(attribute(v, "SystemTime")), b.arena()));
    } else if (k == "Correlation") {
      b.sys(sys::ActivityID, b.guid(b.text(attribute(v, "ActivityID"))));
    } else if (k == "Execution") {
      b.sys(sys::ProcessID, b.text(attribute(v, "ProcessID")));
      b.sys(sys::ThreadID, b.text(attribute(v, "ThreadID")));
    } else if (k == "Security") {
      b.sys(sys::UserID, b.text(attribute(v, "UserID")));
    } else {
      // EventID with Qualifiers is {"#attributes":{…},"#text":4624}.
      element value = v.is_object() ? member(as_object(v), "#text") : v;
      static constexpr std::string_view kPlain[] = {sys::EventID, sys::Version,       sys::Level,
                                                    sys::Task,    sys::Opcode,        sys::Keywords,
                                                    sys::Channel, sys::EventRecordID, sys::Computer};
      for (std::string_view canon : kPlain) {
        if (k == canon) {
          b.sys(canon, b.text(value));
          break;
        }
      }
    }
  }
}

// EventData as the evtx crate renders it: usually {Name: value}; classic
// providers give "Data": [...] (each maybe {"#attributes":{"Name":…},"#text":…})
// or "#text"; "Binary" is a plain key.
void build_evtx_data_item(std::string_view name, element v, Builder& b) {
  if (v.is_object()) {
    object o = as_object(v);
    element attr_name = attribute(v, "Name");
    if (attr_name.is_string()) {
      b.data(attr_name.get_string().value_unsafe(), b.text(member(o, "#text")));
      return;
    }
  }
  b.value(name, v, true);
}

void build_evtx_event_data(element ed, Builder& b) {
  if (!ed.is_object()) {
    if (present(ed)) b.value("Data", ed, true);
    return;
  }
  for (auto [k, v] : as_object(ed)) {
    if (k == "#attributes") continue;
    std::string_view name = k == "#text" ? std::string_view("Data") : k;
    if (v.is_array()) {
      for (element e : as_array(v)) build_evtx_data_item(name, e, b);
    } else {
      build_evtx_data_item(name, v, b);
    }
  }
}

bool build_evtx(object root, Builder& b) {
  element event = member(root, "Event");
  if (!event.is_object()) return false;
  object ev = as_object(event);
  build_evtx_system(member(ev, "System"), b);
  for (auto [k, v] : ev) {
    if (k == "EventData") build_evtx_event_data(v, b);
    else if (k == "UserData") b.value("", v, true);
    else if (k == "RenderingInfo" && v.is_object()) {
      element msg = member(as_object(v), "Message");
      if (present(msg)) b.data("Message", b.text(msg));
    }
  }
  return true;
}

// ---- Winlogbeat / ECS ----------------------------------------------------------

bool build_winlogbeat(object root, Builder& b) {
  element winlog = member(root, "winlog");
  if (!winlog.is_object()) return false;
  for (auto [k, v] : as_object(winlog)) {
    if (k == "event_data" || k == "user_data") b.value("", v, true);
    else if (k == "channel") b.sys(sys::Channel, b.text(v));
    else if (k == "event_id") b.sys(sys::EventID, b.text(v));
    else if (k == "computer_name") b.sys(sys::Computer, b.text(v));
    else if (k == "record_id") b.sys(sys::EventRecordID, b.text(v));
    else if (k == "provider_name") b.sys(sys::Provider, b.text(v));
    else if (k == "provider_guid") b.sys(sys::ProviderGuid, b.guid(b.text(v)));
    else if (k == "activity_id") b.sys(sys::ActivityID, b.guid(b.text(v)));
    else if (k == "version") b.sys(sys::Version, b.text(v));
    else if (k == "process" && v.is_object()) {
      object p = as_object(v);
      b.sys(sys::ProcessID, b.text(member(p, "pid")));
      element thread = member(p, "thread");
      if (thread.is_object()) b.sys(sys::ThreadID, b.text(member(as_object(thread), "id")));
    } else if (k == "user" && v.is_object()) {
      b.sys(sys::UserID, b.text(member(as_object(v), "identifier")));
      b.value("winlog.user", v, false);
    } else {
      b.value(b.joined("winlog", k), v, false);
    }
  }
  for (auto [k, v] : root) {
    if (k == "winlog") continue;
    if (k == "@timestamp") b.sys(sys::TimeCreated, canonical_time(b.text(v), b.arena()));
    b.value(k, v, false);
  }
  // Older shippers put the event code and host only in ECS fields.
  element event = member(root, "event");
  if (event.is_object()) b.sys(sys::EventID, b.text(member(as_object(event), "code")));
  element host = member(root, "host");
  if (host.is_object()) b.sys(sys::Computer, b.text(member(as_object(host), "name")));
  return true;
}

// ---- CrowdStrike ------------------------------------------------------------------

bool build_crowdstrike(object root, Builder& b) {
  std::string_view event_name, ms, seconds, computer;
  for (auto [k, v] : root) {
    b.value(k, v, false);
    if (k == "event_simpleName") event_name = b.text(v);
    else if (k == "timestamp") ms = b.text(v);
    else if (k == "ContextTimeStamp") seconds = b.text(v);
    else if ((k == "ComputerName" || k == "aid_computer_name") && computer.empty()) computer = b.text(v);
  }
  if (event_name.empty()) return false;
  b.sys(sys::Provider, "CrowdStrike");
  b.sys(sys::EventID, event_name);
  double t;
  if (!ms.empty() && parse_number(ms, t)) b.sys(sys::TimeCreated, epoch_to_time(t / 1000.0, b.arena()));
  else if (!seconds.empty() && parse_number(seconds, t)) b.sys(sys::TimeCreated, epoch_to_time(t, b.arena()));
  b.sys(sys::Computer, computer);
  return true;
}

// ---- reader ---------------------------------------------------------------------------

class JsonReader final : public TextReader {
 public:
  JsonReader(std::string_view name, LogFormat format, ReadContext& ctx) : name_(name), format_(format), ctx_(ctx) {
    rec_.file = name;
  }

  // Documents are handed on as they complete; one still open at the end of
  // a non-final block (a line without its newline, a pretty-printed document
  // without its closing bracket) is left unconsumed for the next call.
  size_t feed(std::string_view bytes, uint64_t base, bool final) override {
    bytes_ = bytes;
    base_ = base;
    size_t pos = 0;
    if (base == 0 && bytes_.substr(0, 3) == "\xEF\xBB\xBF") pos = 3;
    while (pos < bytes_.size() && !ctx_.stopped()) {
      size_t eol = bytes_.find('\n', pos);
      if (eol == std::string_view::npos) {
        if (!final) return pos;
        eol = bytes_.size();
      }
      std::string_view line = bytes_.substr(pos, eol - pos);
      std::string_view doc = trim_ws(line);
      if (doc.empty()) {
        advance(pos, eol);
        continue;
      }
      const size_t doc_pos = static_cast<size_t>(doc.data() - bytes_.data());
      const uint64_t doc_line = line_;
      if (opens_document(doc)) {
        size_t restart = std::string_view::npos;
        size_t end = balanced_end(bytes_, doc_pos, &restart);
        if (end == std::string_view::npos) {
          if (restart == std::string_view::npos && !final) return pos;  // the rest is still to come
          ctx_.bad_record(name_, doc_line, base_ + doc_pos, "bad-json", "truncated JSON document", line);
          if (restart == std::string_view::npos) return bytes_.size();  // ran off the end: nothing left to read
          advance(pos, bytes_.rfind('\n', restart));
          continue;
        }
        size_t next_eol = bytes_.find('\n', end);
        if (next_eol == std::string_view::npos && !final) return pos;
        parse(bytes_.substr(doc_pos, end - doc_pos), doc_line, base_ + doc_pos, line);
        // Whatever follows the document on its last line is ignored.
        advance(pos, next_eol == std::string_view::npos ? bytes_.size() : next_eol);
      } else {
        parse(doc, doc_line, base_ + doc_pos, line);
        advance(pos, eol);
      }
      ctx_.progress_within(base_ + pos);
    }
    return bytes_.size();
  }

 private:
  // A line that starts a pretty-printed document rather than holding one.
  static bool opens_document(std::string_view doc) {
    if (doc.front() != '{' && doc.front() != '[') return false;
    char last = doc.back();
    return doc.size() == 1 || last == '{' || last == '[' || last == ',';
  }

  // Move past the newline at `eol`, counting the lines in between.
  void advance(size_t& pos, size_t eol) {
    if (eol >= bytes_.size()) {
      line_ += static_cast<uint64_t>(std::count(bytes_.begin() + pos, bytes_.end(), '\n'));
      pos = bytes_.size();
      return;
    }
    line_ += static_cast<uint64_t>(std::count(bytes_.begin() + pos, bytes_.begin() + eol, '\n')) + 1;
    pos = eol + 1;
  }

  void parse(std::string_view doc, uint64_t line, uint64_t offset, std::string_view source_line) {
    element root;
    auto err = parser_.parse(doc.data(), doc.size(), true).get(root);
    if (err) {
      ctx_.bad_record(name_, line, offset, "bad-json", std::string("invalid JSON: ") + simdjson::error_message(err),
                      source_line);
      return;
    }
    if (root.is_array()) {
      for (element e : as_array(root)) one(e, line, offset, source_line);
    } else {
      one(root, line, offset, source_line);
    }
  }

  void one(element e, uint64_t line, uint64_t offset, std::string_view source_line) {
    if (!e.is_object()) {
      ctx_.bad_record(name_, line, offset, "bad-json", "JSON value is not an event object", source_line);
      return;
    }
    object root = as_object(e);
    rec_.system.clear();
    rec_.data.clear();
    arena_.reset();
    rec_.line = line;
    rec_.offset = offset;
    rec_.format = format_;
    Builder b(rec_, arena_);
    bool built = false;
    switch (format_) {
      case LogFormat::json_evtx: built = build_evtx(root, b); break;
      case LogFormat::json_winlogbeat: built = build_winlogbeat(root, b); break;
      case LogFormat::json_crowdstrike: built = build_crowdstrike(root, b); break;
      default: break;
    }
    if (!built) {
      // A flat event inside a file sniffed otherwise still has its fields.
      rec_.system.clear();
      rec_.data.clear();
      if (format_ != LogFormat::json_nxlog) rec_.format = LogFormat::json_otrf;
      build_flat(root, b);
    }
    ctx_.stats.records_read++;
    ctx_.visit(rec_);
  }

  std::string_view name_;
  std::string_view bytes_;
  uint64_t base_ = 0;
  LogFormat format_;
  ReadContext& ctx_;
  uint64_t line_ = 1;
  Record rec_;
  StringArena arena_;
  // Reused for every document of the input: its buffers grow to the largest
  // document once, then parsing allocates nothing.
  simdjson::dom::parser parser_;
};

}  // namespace

std::unique_ptr<TextReader> make_json_reader(std::string_view name, LogFormat format, ReadContext& ctx) {
  return std::make_unique<JsonReader>(name, format, ctx);
}

void read_json(std::string_view name, std::string_view bytes, LogFormat format, ReadContext& ctx) {
  JsonReader(name, format, ctx).feed(bytes, 0, true);
}

}  // namespace vigil::ingest
