#include "ingest/evtx/chunk_decoder.h"

#include <cstring>
#include <functional>
#include <iterator>
#include <unordered_map>

#include <fmt/format.h>

#include "core/hash_index.h"
#include "ingest/evtx/crc32.h"
#include "ingest/evtx/le.h"
#include "ingest/evtx/values.h"

namespace vigil::evtx {

void ChunkResult::reset() {
  values.reset();
  names.reset();
  sys.clear();
  data.clear();
  records.clear();
  issues.clear();
  records_found = 0;
  record_bytes = 0;
}

namespace {

// Limits that keep hostile input from recursing or looping without bound.
constexpr int kMaxExecDepth = 24;      // template instances + nested BinXML values
constexpr int kMaxElementDepth = 64;   // open elements in one record
constexpr uint32_t kMaxValues = 4096;  // substitution values per template instance

// What an element or attribute name means to field extraction, computed once
// when the name is first read in a chunk.
enum NameClass : uint8_t {
  kOther,
  kSystem,
  kEventData,
  kUserData,
  kData,
  kProvider,
  kEventID,
  kVersion,
  kLevel,
  kTask,
  kOpcode,
  kKeywords,
  kTimeCreated,
  kEventRecordID,
  kCorrelation,
  kExecution,
  kChannel,
  kComputer,
  kSecurity,
  kName,
  kGuidAttr,
  kSystemTime,
  kActivityID,
  kProcessID,
  kThreadID,
  kUserID,
  kNameClassCount
};

NameClass classify(std::string_view n) {
  static const std::pair<std::string_view, NameClass> table[] = {
      {"System", kSystem},       {"EventData", kEventData},
      {"UserData", kUserData},   {"Data", kData},
      {"Provider", kProvider},   {"EventID", kEventID},
      {"Version", kVersion},     {"Level", kLevel},
      {"Task", kTask},           {"Opcode", kOpcode},
      {"Keywords", kKeywords},   {"TimeCreated", kTimeCreated},
      {"EventRecordID", kEventRecordID}, {"Correlation", kCorrelation},
      {"Execution", kExecution}, {"Channel", kChannel},
      {"Computer", kComputer},   {"Security", kSecurity},
      {"Name", kName},           {"Guid", kGuidAttr},
      {"SystemTime", kSystemTime}, {"ActivityID", kActivityID},
      {"ProcessID", kProcessID}, {"ThreadID", kThreadID},
      {"UserID", kUserID},
  };
  for (auto& [s, c] : table)
    if (s == n) return c;
  return kOther;
}

// System element whose text is a canonical field.
std::string_view system_text_field(uint8_t elem) {
  switch (elem) {
    case kEventID: return sys::EventID;
    case kVersion: return sys::Version;
    case kLevel: return sys::Level;
    case kTask: return sys::Task;
    case kOpcode: return sys::Opcode;
    case kKeywords: return sys::Keywords;
    case kEventRecordID: return sys::EventRecordID;
    case kChannel: return sys::Channel;
    case kComputer: return sys::Computer;
    default: return {};
  }
}

// System (element, attribute) pair that is a canonical field.
std::string_view system_attr_field(uint8_t elem, uint8_t attr) {
  switch (elem) {
    case kProvider:
      if (attr == kName) return sys::Provider;
      if (attr == kGuidAttr) return sys::ProviderGuid;
      return {};
    case kTimeCreated: return attr == kSystemTime ? sys::TimeCreated : std::string_view();
    case kCorrelation: return attr == kActivityID ? sys::ActivityID : std::string_view();
    case kExecution:
      if (attr == kProcessID) return sys::ProcessID;
      if (attr == kThreadID) return sys::ThreadID;
      return {};
    case kSecurity: return attr == kUserID ? sys::UserID : std::string_view();
    default: return {};
  }
}

// SystemTime stored as text (template-less records) has Windows' 7
// fractional digits, or fewer; Record promises the 6-digit form that FILETIME
// rendering and every other reader produce. Digits are truncated, not rounded,
// as FILETIME rendering does. Anything else is kept as written.
std::string_view canonical_systime(std::string_view v, Arena& a) {
  if (v.size() == 27 && v[19] == '.' && v[26] == 'Z') return v;  // already canonical (the FILETIME path)
  if (v.size() < 20 || v[4] != '-' || v[10] != 'T' || v.back() != 'Z') return v;
  std::string_view frac;
  if (v[19] == '.') {
    frac = v.substr(20, v.size() - 21);
  } else if (v.size() != 20) {
    return v;
  }
  for (char ch : frac)
    if (ch < '0' || ch > '9') return v;
  a.begin();
  a.append(v.substr(0, 19));
  a.push('.');
  for (size_t i = 0; i < 6; ++i) a.push(i < frac.size() ? frac[i] : '0');
  a.push('Z');
  return a.finish();
}

struct Name {
  std::string_view text;
  uint8_t cls = kOther;
};

enum class OpKind : uint8_t { open, attr, close_start, close_empty, end, text, subst, instance };

struct Op {
  OpKind kind;
  uint8_t cls = kOther;  // name class (open/attr)
  uint8_t vtype = 0;     // subst: declared type
  uint16_t index = 0;    // subst: value index
  uint32_t tmpl = 0;     // instance: template index
  uint32_t pos = 0;      // instance: chunk offset of the value count
  std::string_view text; // name (open/attr) or literal (text)
};

struct Value {
  uint32_t off;
  uint16_t size;
  uint8_t type;
};

struct Template {
  uint32_t begin = 0, end = 0;  // range in pool
  bool ready = false;           // false while compiling (cycle guard)
  bool failed = false;          // compiling failed: every user fails the same way
};

// What a chunk defines at an offset (a name, a template), found by that offset: the entries in a
// vector, indexed by core's HashIndex; both keep their room from chunk to chunk. (unordered_maps
// cleared per chunk allocated a node an entry: ~75 for each small file of the EVTX samples.)
template <class T>
class OffsetMap {
 public:
  void clear() {
    entries_.clear();
    index_.clear();
  }
  const T* find(uint32_t off) const {
    const uint32_t at = index_.find(hash(off), [&](uint32_t k) { return entries_[k].first == off; });
    return at == HashIndex::kNone ? nullptr : &entries_[at].second;
  }
  bool contains(uint32_t off) const { return find(off) != nullptr; }
  /// `off` must not be in the map.
  void emplace(uint32_t off, const T& value) {
    entries_.emplace_back(off, value);
    index_.add(hash(off), uint32_t(entries_.size() - 1), entries_.size(),
               [&](uint32_t k) { return hash(entries_[k].first); });
  }

 private:
  static size_t hash(uint32_t off) {  // mixed in its low and high bits, as HashIndex wants
    uint64_t h = off * 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 29);
  }
  std::vector<std::pair<uint32_t, T>> entries_;
  HashIndex index_;
};

// Turns the element/attribute/text stream of one record into Record fields.
class Builder {
 public:
  void start(ChunkResult* out) {
    out_ = out;
    depth_ = 0;
    attr_open_ = false;
    failed_ = false;
    elements_ = 0;
  }
  /// Elements seen; a record without any (e.g. a zeroed template) is not an event.
  int elements() const { return elements_; }
  bool failed() const { return failed_; }
  bool balanced() const { return depth_ == 0 && !attr_open_; }

  /// Where rendered text goes, or nullptr when nobody needs it.
  Arena* text_target() {
    if (attr_open_) return attr_want_ ? &out_->values : nullptr;
    if (depth_ == 0) return nullptr;
    Elem& e = stack_[depth_ - 1];
    return (e.text_open && e.want_text) ? &out_->values : nullptr;
  }

  void open(std::string_view name, uint8_t cls) {
    finish_attr();
    if (depth_ >= kMaxElementDepth) {
      failed_ = true;
      return;
    }
    uint8_t section = kOther;
    if (depth_ > 0) {
      Elem& p = stack_[depth_ - 1];
      p.has_child = true;
      if (p.text_open && p.want_text) out_->values.abort();
      p.text_open = false;
      section = depth_ == 1 ? cls : p.section;
    }
    ++elements_;
    Elem& e = stack_[depth_++];
    e.name = name;
    e.cls = cls;
    e.section = section;
    e.data_name = {};
    e.has_child = false;
    e.text_open = false;
    int idx = depth_ - 1;
    e.want_text = (idx == 2 && (section == kSystem || section == kEventData)) || (idx >= 2 && section == kUserData);
  }

  void attr(uint8_t cls) {
    finish_attr();
    if (depth_ == 0) return;
    Elem& e = stack_[depth_ - 1];
    attr_open_ = true;
    attr_cls_ = cls;
    attr_want_ = depth_ == 3 && ((e.section == kSystem && !system_attr_field(e.cls, cls).empty()) ||
                                 (e.section == kEventData && e.cls == kData && cls == kName));
    if (attr_want_) out_->values.begin();
  }

  void close_start() {
    finish_attr();
    if (depth_ == 0) return;
    Elem& e = stack_[depth_ - 1];
    e.text_open = true;
    if (e.want_text) out_->values.begin();
  }

  void close_empty() {
    finish_attr();
    if (depth_ == 0) {
      failed_ = true;
      return;
    }
    element_end({});
  }

  void end() {
    finish_attr();
    if (depth_ == 0) {
      failed_ = true;
      return;
    }
    Elem& e = stack_[depth_ - 1];
    std::string_view v;
    if (e.text_open && e.want_text) v = out_->values.finish();
    element_end(v);
  }

 private:
  struct Elem {
    std::string_view name, data_name;
    uint8_t cls, section;
    bool want_text, has_child, text_open;
  };

  void finish_attr() {
    if (!attr_open_) return;
    attr_open_ = false;
    if (!attr_want_) return;
    std::string_view v = out_->values.finish();
    Elem& e = stack_[depth_ - 1];
    if (e.section == kSystem) {
      // Windows omits attributes whose optional substitution is empty.
      if (!v.empty()) {
        std::string_view f = system_attr_field(e.cls, attr_cls_);
        if (f == sys::TimeCreated) v = canonical_systime(v, out_->values);
        out_->sys.push_back({f, v});
      }
    } else {
      e.data_name = v;
    }
  }

  void element_end(std::string_view v) {
    Elem& e = stack_[depth_ - 1];
    if (e.want_text && !e.has_child) {
      if (e.section == kSystem) {
        std::string_view f = system_text_field(e.cls);
        if (!f.empty() && !v.empty()) out_->sys.push_back({f, v});
      } else if (e.section == kEventData) {
        // Unnamed <Data> elements keep the name "Data" (one field each, in order).
        std::string_view n = e.cls == kData ? (e.data_name.empty() ? std::string_view("Data") : e.data_name) : e.name;
        out_->data.push_back({n, v});
      } else {
        out_->data.push_back({e.name, v});
      }
    }
    --depth_;
  }

  ChunkResult* out_ = nullptr;
  Elem stack_[kMaxElementDepth];
  int depth_ = 0;
  int elements_ = 0;
  bool attr_open_ = false, attr_want_ = false, failed_ = false;
  uint8_t attr_cls_ = kOther;
};

// Word-wise OR (vectorized by the compiler): unused chunks are common, 64 KiB each.
bool all_zero(const unsigned char* p, size_t n) {
  uint64_t acc = 0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    acc |= w;
  }
  for (; i < n; ++i) acc |= p[i];
  return acc == 0;
}

}  // namespace

struct ChunkDecoder::Impl {
  const unsigned char* c = nullptr;  // chunk base
  size_t csize = 0;                  // readable bytes of the chunk
  ChunkResult* out = nullptr;
  OffsetMap<Name> names;
  OffsetMap<uint32_t> tmpl_index;  // definition offset -> templates index
  std::vector<Template> templates;
  std::vector<Op> pool;                     // compiled template bodies
  std::vector<Op> bodies[kMaxExecDepth + 2];  // a template's body while it compiles, per depth
  std::vector<Op> scratch[kMaxExecDepth + 1];  // record/nested-fragment ops per depth
  std::vector<Value> vals[kMaxExecDepth + 1];
  Builder b;
  const char* error = nullptr;  // why the current record failed
  bool recovering = false;      // the current record is a recovered one
  bool partial = false;         // ... and a nested fragment of it was lost
  bool want_raw_key = false;    // recovery on: DecodedRecord::raw_key is filled
  bool by_id_built = false;     // template_by_id filled for this chunk
  std::unordered_map<uint32_t, uint32_t> template_by_id;  // template id -> definition offset (recovery)

  bool fail(const char* why) {
    if (!error) error = why;
    return false;
  }

  // A name structure: u32 next, u16 hash, u16 chars, UTF-16 chars, u16 NUL.
  // Inline (defined right here) when its offset equals the current position.
  bool read_name(uint32_t name_off, uint32_t& pos, uint32_t end, Name& name) {
    bool inline_def = name_off == pos;
    if (const Name* known = names.find(name_off)) {
      name = *known;
    } else {
      if (uint64_t(name_off) + 8 > csize) return fail("name offset out of chunk");
      uint32_t chars = rd16(c + name_off + 6);
      if (uint64_t(name_off) + 8 + 2ull * chars > csize) return fail("name runs past chunk end");
      Arena& a = out->names;
      a.begin();
      append_utf16(a, c + name_off + 8, chars, true);
      name.text = a.finish();
      name.cls = classify(name.text);
      names.emplace(name_off, name);
    }
    if (inline_def) {
      if (uint64_t(pos) + 8 > end) return fail("inline name truncated");
      uint64_t total = 8 + 2ull * rd16(c + pos + 6) + 2;
      if (pos + total > end) return fail("inline name truncated");
      pos += uint32_t(total);
    }
    return true;
  }

  // A name structure at `off` that could be real: inside the chunk, past the
  // chunk header, NUL-terminated where its length says.
  bool plausible_name(uint32_t off) const {
    if (off < kChunkHeaderSize || uint64_t(off) + 10 > csize) return false;
    uint64_t nul = uint64_t(off) + 8 + 2ull * rd16(c + off + 6);
    return nul + 2 <= csize && rd16(c + nul) == 0;
  }

  // Bytes of the element start at `pos` up to and including its name offset:
  // 11 with the u16 dependency identifier, 9 without. Template definitions
  // carry the identifier; BinXML stored without templates (forwarded events,
  // WEC) omits it. A file can mix both, so each element decides from its own
  // bytes: a name defined right after the header, then a name already read in
  // this chunk, then a plausible name structure; `bare` (the record body, not
  // a template) picks the layout tried first and the one used when nothing
  // tells them apart.
  uint32_t element_head_size(uint32_t pos, uint32_t end, bool bare) const {
    if (uint64_t(pos) + 11 > end) return 9;  // only the short form can fit
    uint32_t with_dep = rd32(c + pos + 7), without = rd32(c + pos + 5);
    if (with_dep == pos + 11) return 11;
    if (without == pos + 9) return 9;
    bool known_dep = names.contains(with_dep), known_bare = names.contains(without);
    if (known_dep != known_bare) return known_dep ? 11 : 9;
    bool ok_dep = plausible_name(with_dep), ok_bare = plausible_name(without);
    if (ok_dep != ok_bare) return ok_dep ? 11 : 9;
    return bare ? 9 : 11;
  }

  bool utf16_literal(uint32_t& pos, uint32_t end, std::vector<Op>& ops) {
    if (uint64_t(pos) + 2 > end) return fail("text truncated");
    uint32_t chars = rd16(c + pos);
    if (uint64_t(pos) + 2 + 2ull * chars > end) return fail("text truncated");
    Arena& a = out->names;
    a.begin();
    append_utf16(a, c + pos + 2, chars, false);
    ops.push_back({OpKind::text, kOther, 0, 0, 0, 0, a.finish()});
    pos += 2 + 2 * chars;
    return true;
  }

  // Template instance header at `pos` (just after the 0x0C token byte):
  // u8 unknown, u32 template id, u32 definition offset, then (if defined inline)
  // the definition, then the instance's values.
  bool compile_instance(uint32_t& pos, uint32_t end, std::vector<Op>& ops, int depth) {
    if (uint64_t(pos) + 9 > end) return fail("template instance truncated");
    uint32_t def_off = rd32(c + pos + 5);
    pos += 9;
    // A recovered record may outlive its template: the definition's GUID
    // starts with the instance's template id, so a mismatch means the offset
    // now holds something else. The chunk's live records often use the same
    // template (same provider and event), defined elsewhere in the chunk: the
    // chunk header's template table finds it by id.
    uint32_t use_off = def_off;
    if (recovering) {
      uint32_t id = rd32(c + pos - 8);
      bool id_ok = uint64_t(def_off) + 8 <= csize && rd32(c + def_off + 4) == id;
      // A definition whose id still matches can have lost the names it points to.
      uint32_t tmp;
      if (def_off != pos && (!id_ok || !get_template(def_off, depth, tmp))) {
        const char* why = id_ok ? error : "template overwritten";
        error = nullptr;
        use_off = live_template(id);
        if (!use_off || use_off == def_off) {
          if (depth == 0) return fail(why);
          // A nested fragment (typically the EventData/UserData of the
          // event) is lost, the rest of the record is not: skip the
          // instance, deliver the record marked partial.
          partial = true;
          return skip_instance_values(pos, end);
        }
      }
    }
    uint32_t values_pos;
    if (def_off == pos) {
      if (uint64_t(pos) + 24 > end) return fail("template definition truncated");
      uint64_t body_end = uint64_t(pos) + 24 + rd32(c + pos + 20);
      if (body_end > end) return fail("template definition truncated");
      values_pos = uint32_t(body_end);
    } else {
      values_pos = pos;
    }
    uint32_t t;
    if (!get_template(use_off, depth, t)) return false;
    // Values: u32 count, count x (u16 size, u8 type, u8 pad), then the data.
    if (uint64_t(values_pos) + 4 > end) return fail("template values truncated");
    uint32_t n = rd32(c + values_pos);
    if (n > kMaxValues || uint64_t(values_pos) + 4 + 4ull * n > end) return fail("bad template value count");
    uint64_t data = uint64_t(values_pos) + 4 + 4ull * n;
    for (uint32_t i = 0; i < n; ++i) data += rd16(c + values_pos + 4 + 4 * i);
    if (data > end) return fail("template values run past record");
    ops.push_back({OpKind::instance, kOther, 0, 0, t, values_pos, {}});
    pos = uint32_t(data);
    return true;
  }

  // Offset of a template definition with this id among the chunk header's
  // template table (32 hash buckets at 384, each a chain through the
  // definitions' first u32); 0 when absent. Built once per chunk, on demand.
  uint32_t live_template(uint32_t id) {
    if (!by_id_built) {
      by_id_built = true;
      for (uint32_t b = 0; b < 32; ++b) {
        uint32_t off = rd32(c + 384 + 4 * b);
        for (int hops = 0; off && hops < 4096; ++hops) {  // bounded: a hostile chain may loop
          if (off < kChunkHeaderSize || uint64_t(off) + 24 > csize) break;
          template_by_id.emplace(rd32(c + off + 4), off);
          off = rd32(c + off);
        }
      }
    }
    auto it = template_by_id.find(id);
    return it == template_by_id.end() ? 0 : it->second;
  }

  // Steps over an instance's values (at `pos`, the definition not inline).
  bool skip_instance_values(uint32_t& pos, uint32_t end) {
    if (uint64_t(pos) + 4 > end) return fail("template values truncated");
    uint32_t n = rd32(c + pos);
    if (n > kMaxValues || uint64_t(pos) + 4 + 4ull * n > end) return fail("bad template value count");
    uint64_t data = uint64_t(pos) + 4 + 4ull * n;
    for (uint32_t i = 0; i < n; ++i) data += rd16(c + pos + 4 + 4 * i);
    if (data > end) return fail("template values run past record");
    pos = uint32_t(data);
    return true;
  }

  bool get_template(uint32_t def_off, int depth, uint32_t& index) {
    if (const uint32_t* known = tmpl_index.find(def_off)) {
      if (templates[*known].failed) return fail("template does not decode");
      if (!templates[*known].ready) return fail("recursive template");
      index = *known;
      return true;
    }
    if (size_t(depth) + 1 >= std::size(bodies)) return fail("templates nested too deeply");  // compile() stops sooner
    if (uint64_t(def_off) + 24 > csize) return fail("template offset out of chunk");
    uint64_t body_end = uint64_t(def_off) + 24 + rd32(c + def_off + 20);
    if (body_end > csize) return fail("template runs past chunk end");
    index = uint32_t(templates.size());
    templates.push_back({});
    tmpl_index.emplace(def_off, index);
    // Its depth's vector: compiling may recurse into other templates, one depth further.
    std::vector<Op>& body = bodies[depth + 1];
    body.clear();
    if (!compile(def_off + 24, uint32_t(body_end), body, depth + 1)) {
      templates[index].failed = true;
      return false;
    }
    templates[index].begin = uint32_t(pool.size());
    pool.insert(pool.end(), body.begin(), body.end());
    templates[index].end = uint32_t(pool.size());
    templates[index].ready = true;
    return true;
  }

  // Compile the BinXML token stream in [pos, end) up to its EOF token.
  bool compile(uint32_t pos, uint32_t end, std::vector<Op>& ops, int depth) {
    if (depth > kMaxExecDepth) return fail("templates nested too deeply");
    while (pos < end) {
      uint8_t tok = c[pos];
      bool more = tok & 0x40;
      switch (tok & 0xBF) {
        case 0x00:  // end of fragment
          return true;
        case 0x01: {  // open start element: [u16 dependency id], u32 size, u32 name offset
          uint32_t head = element_head_size(pos, end, depth == 0);
          if (uint64_t(pos) + head > end) return fail("element truncated");
          uint32_t name_off = rd32(c + pos + head - 4);
          pos += head;
          Name n;
          if (!read_name(name_off, pos, end, n)) return false;
          if (more) {  // attribute list size
            if (uint64_t(pos) + 4 > end) return fail("element truncated");
            pos += 4;
          }
          ops.push_back({OpKind::open, n.cls, 0, 0, 0, 0, n.text});
          break;
        }
        case 0x02: ops.push_back({OpKind::close_start, kOther, 0, 0, 0, 0, {}}); ++pos; break;
        case 0x03: ops.push_back({OpKind::close_empty, kOther, 0, 0, 0, 0, {}}); ++pos; break;
        case 0x04: ops.push_back({OpKind::end, kOther, 0, 0, 0, 0, {}}); ++pos; break;
        case 0x05: {  // value text: u8 type, then a length-prefixed string
          if (uint64_t(pos) + 2 > end) return fail("value truncated");
          uint8_t type = c[pos + 1];
          pos += 2;
          if (type == kString) {
            if (!utf16_literal(pos, end, ops)) return false;
            break;
          }
          // Other types appear in template-less (forwarded) records: fixed-size
          // types are stored bare, NULL as nothing, ANSI strings with a u16
          // byte count; for the remaining variable-size types (binary, SID,
          // arrays) a u16 byte count is the only layout that keeps the stream
          // parseable, so that is what we read (a wrong guess fails the record
          // with a located error rather than misreading silently).
          uint32_t n;
          if (type == kNull) {
            n = 0;
          } else if (size_t fixed = value_fixed_size(type)) {
            n = uint32_t(fixed);
          } else {
            if (uint64_t(pos) + 2 > end) return fail("value truncated");
            n = rd16(c + pos);
            pos += 2;
          }
          if (uint64_t(pos) + n > end) return fail("value truncated");
          if (type == kBinXml) return fail("BinXML in a value text token");
          Arena& a = out->names;
          a.begin();
          if (!append_value(a, type, c + pos, n)) {
            a.abort();
            return fail("unsupported value text type");
          }
          ops.push_back({OpKind::text, kOther, 0, 0, 0, 0, a.finish()});
          pos += n;
          break;
        }
        case 0x06: {  // attribute: u32 name offset
          if (uint64_t(pos) + 5 > end) return fail("attribute truncated");
          uint32_t name_off = rd32(c + pos + 1);
          pos += 5;
          Name n;
          if (!read_name(name_off, pos, end, n)) return false;
          ops.push_back({OpKind::attr, n.cls, 0, 0, 0, 0, n.text});
          break;
        }
        case 0x07:  // CDATA section
          ++pos;
          if (!utf16_literal(pos, end, ops)) return false;
          break;
        case 0x08: {  // character reference
          if (uint64_t(pos) + 3 > end) return fail("char ref truncated");
          unsigned cp = rd16(c + pos + 1);
          unsigned char u16[2] = {uint8_t(cp & 0xFF), uint8_t(cp >> 8)};
          Arena& a = out->names;
          a.begin();
          append_utf16(a, u16, 1, false);
          ops.push_back({OpKind::text, kOther, 0, 0, 0, 0, a.finish()});
          pos += 3;
          break;
        }
        case 0x09: {  // entity reference: u32 name offset
          if (uint64_t(pos) + 5 > end) return fail("entity ref truncated");
          uint32_t name_off = rd32(c + pos + 1);
          pos += 5;
          Name n;
          if (!read_name(name_off, pos, end, n)) return false;
          std::string_view t = n.text == "amp"    ? "&"
                               : n.text == "lt"   ? "<"
                               : n.text == "gt"   ? ">"
                               : n.text == "quot" ? "\""
                               : n.text == "apos" ? "'"
                                                  : std::string_view();
          if (t.empty()) {
            Arena& a = out->names;
            a.begin();
            a.push('&');
            a.append(n.text);
            a.push(';');
            t = a.finish();
          }
          ops.push_back({OpKind::text, kOther, 0, 0, 0, 0, t});
          break;
        }
        case 0x0A: {  // processing instruction target: u32 name offset (not an event field)
          if (uint64_t(pos) + 5 > end) return fail("PI truncated");
          uint32_t name_off = rd32(c + pos + 1);
          pos += 5;
          Name n;
          if (!read_name(name_off, pos, end, n)) return false;
          break;
        }
        case 0x0B: {  // processing instruction data
          if (uint64_t(pos) + 3 > end) return fail("PI truncated");
          uint64_t len = 3 + 2ull * rd16(c + pos + 1);
          if (pos + len > end) return fail("PI truncated");
          pos += uint32_t(len);
          break;
        }
        case 0x0C:  // template instance
          ++pos;
          if (!compile_instance(pos, end, ops, depth)) return false;
          break;
        case 0x0D:    // normal substitution
        case 0x0E: {  // optional substitution
          if (uint64_t(pos) + 4 > end) return fail("substitution truncated");
          ops.push_back({OpKind::subst, kOther, c[pos + 3], rd16(c + pos + 1), 0, 0, {}});
          pos += 4;
          break;
        }
        case 0x0F:  // fragment header: major, minor, flags
          if (uint64_t(pos) + 4 > end) return fail("fragment header truncated");
          pos += 4;
          break;
        default:
          return fail("unknown BinXML token");
      }
    }
    return true;  // ran to the end of its bytes without EOF: tolerated
  }

  bool exec(const std::vector<Op>& ops, uint32_t begin, uint32_t end, int depth) {
    if (depth > kMaxExecDepth) return fail("templates nested too deeply");
    for (uint32_t i = begin; i < end; ++i) {
      const Op& op = ops[i];
      switch (op.kind) {
        case OpKind::open: b.open(op.text, op.cls); break;
        case OpKind::attr: b.attr(op.cls); break;
        case OpKind::close_start: b.close_start(); break;
        case OpKind::close_empty: b.close_empty(); break;
        case OpKind::end: b.end(); break;
        case OpKind::text:
          if (Arena* a = b.text_target()) a->append(op.text);
          break;
        case OpKind::subst: {
          const auto& vs = vals[depth];
          if (op.index >= vs.size()) break;  // missing value renders as nothing
          const Value& v = vs[op.index];
          if (v.type == kBinXml) {
            // Nested fragment: its elements join the same tree (e.g. a whole <EventData>).
            auto& sub = scratch[depth + 1];
            sub.clear();
            vals[depth + 1].clear();  // a bare fragment has no values of its own
            if (!compile(v.off, v.off + v.size, sub, depth + 1)) return false;
            if (!exec(sub, 0, uint32_t(sub.size()), depth + 1)) return false;
          } else if (Arena* a = b.text_target()) {
            size_t mark = a->open_size();
            if (!append_value(*a, v.type, c + v.off, v.size)) {
              // Size does not fit the type: show the bytes rather than drop the record.
              a->rewind(mark);
              append_value(*a, kBinary, c + v.off, v.size);
            }
          }
          break;
        }
        case OpKind::instance: {
          if (depth + 1 > kMaxExecDepth) return fail("templates nested too deeply");
          auto& vs = vals[depth + 1];
          vs.clear();
          uint32_t n = rd32(c + op.pos);  // bounds checked at compile time
          uint32_t data = op.pos + 4 + 4 * n;
          for (uint32_t k = 0; k < n; ++k) {
            const unsigned char* d = c + op.pos + 4 + 4 * k;
            uint16_t size = rd16(d);
            vs.push_back({data, size, d[2]});
            data += size;
          }
          const Template& t = templates[op.tmpl];
          if (!exec(pool, t.begin, t.end, depth + 1)) return false;
          break;
        }
      }
      if (b.failed()) return fail("elements nested too deeply or unbalanced");
    }
    return true;
  }

  void issue(uint64_t off, Severity sev, bool skipped, std::string reason, std::string msg) {
    out->issues.push_back({off, sev, skipped, std::move(reason), std::move(msg)});
  }

  // A record at `pos` whose signature, size and size copy are valid.
  bool valid_record_at(uint32_t pos, uint32_t end) const {
    if (uint64_t(pos) + 28 > end) return false;
    if (rd32(c + pos) != 0x00002A2Au) return false;
    uint32_t size = rd32(c + pos + 4);
    if (size < 28 || uint64_t(pos) + size > end) return false;
    return rd32(c + pos + size - 4) == size;
  }

  // Returns whether the record decoded (a failure is reported and counted).
  bool decode_record(uint32_t pos, uint32_t size, uint64_t file_off, bool recovered) {
    ChunkResult& r = *out;
    uint32_t sys0 = uint32_t(r.sys.size()), data0 = uint32_t(r.data.size());
    error = nullptr;
    recovering = recovered;
    partial = false;
    b.start(out);
    auto& ops = scratch[0];
    ops.clear();
    vals[0].clear();
    bool ok = compile(pos + 24, pos + size - 4, ops, 0) && exec(ops, 0, uint32_t(ops.size()), 0);
    if (ok && !b.balanced()) ok = fail("unbalanced elements");
    if (ok && b.elements() == 0) ok = fail("no XML elements");
    if (ok && recovered) {
      // Carved bytes can decode into something that is not an event (a
      // template pointing at reused names): require the one field every
      // event has.
      bool has_id = false;
      for (size_t i = sys0; i < r.sys.size(); ++i) has_id |= r.sys[i].name == sys::EventID;
      if (!has_id) ok = fail("no EventID (not an event)");
    }
    if (!ok) {
      r.sys.resize(sys0);
      r.data.resize(data0);
      if (recovered) {
        ++r.records_found;
        issue(file_off + pos, Severity::warning, true, "evtx-recovered-unreadable",
              fmt::format("recovered EVTX record {} does not decode: {}", rd64(c + pos + 8),
                          error ? error : "malformed BinXML"));
      } else {
        issue(file_off + pos, Severity::error, true, "evtx-bad-record",
              fmt::format("bad EVTX record {}: {}", rd64(c + pos + 8), error ? error : "malformed BinXML"));
      }
      return false;
    }
    // A byte copy of a live record can decode differently (its nested
    // template lost), so recovery also compares raw bytes.
    uint64_t raw_key = want_raw_key
                           ? std::hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(c + pos + 8), size - 8))
                           : 0;
    r.records.push_back({file_off + pos, rd64(c + pos + 8), recovered, raw_key, sys0, uint32_t(r.sys.size()), data0,
                         uint32_t(r.data.size())});
    if (partial)
      issue(file_off + pos, Severity::warning, false, "evtx-recovered-partial",
            fmt::format("recovered EVTX record {} is partial: a nested template was overwritten, its fields are missing",
                        rd64(c + pos + 8)));
    return true;
  }

  // Carve records from [pos, limit): every record signature followed by a
  // plausible size whose copy closes the record is decoded as recovered; a
  // signature without that is reported as a fragment. Returns nothing:
  // everything found is in `out`.
  void carve(uint32_t pos, uint32_t limit, uint64_t file_off) {
    static constexpr unsigned char kMagic[4] = {0x2A, 0x2A, 0x00, 0x00};
    while (uint64_t(pos) + 28 <= limit) {
      const void* hit = memmem(c + pos, limit - pos, kMagic, 4);
      if (!hit) return;
      pos = uint32_t(static_cast<const unsigned char*>(hit) - c);
      if (uint64_t(pos) + 28 > limit) return;
      if (valid_record_at(pos, limit)) {
        uint32_t rsize = rd32(c + pos + 4);
        decode_record(pos, rsize, file_off, true);
        pos += rsize;
        continue;
      }
      uint32_t rsize = rd32(c + pos + 4);
      // Only record-shaped starts count: a plausible size and a FILETIME
      // after the id; other matches of the 4 signature bytes are noise.
      uint64_t ts = rd64(c + pos + 16);
      if (rsize >= 28 && rsize <= kChunkSize - kChunkHeaderSize && ts > 0x01A0000000000000ull &&
          ts < 0x0300000000000000ull) {
        ++out->records_found;
        issue(file_off + pos, Severity::warning, true, "evtx-recovered-fragment",
              fmt::format("record fragment {} ({} bytes declared, {} available or the size copy differs); not decoded",
                          rd64(c + pos + 8), rsize, limit - pos));
      }
      pos += 4;
    }
  }

  void decode(const unsigned char* chunk, size_t size, uint64_t file_off, ChunkResult& result, DecodeMode mode) {
    c = chunk;
    csize = size < kChunkSize ? size : kChunkSize;
    out = &result;
    result.reset();
    names.clear();
    tmpl_index.clear();
    templates.clear();
    pool.clear();
    by_id_built = false;
    template_by_id.clear();
    want_raw_key = mode.recover;

    if (csize < kChunkHeaderSize) {
      issue(file_off, Severity::error, false, "evtx-truncated",
            fmt::format("chunk truncated to {} bytes (header needs {})", csize, kChunkHeaderSize));
      return;
    }
    if (std::memcmp(c, "ElfChnk\0", 8) != 0) {
      if (!all_zero(c, csize)) {
        issue(file_off, Severity::error, false, "evtx-bad-chunk", "chunk signature missing; chunk skipped");
        // Unallocated or header-wiped slot: offsets inside records are still
        // relative to the slot start if it once was a chunk.
        if (mode.recover) carve(0, uint32_t(csize), file_off);
      }
      return;
    }
    uint32_t crc = crc32(c, 120);
    crc = crc32(c + 128, kChunkHeaderSize - 128, crc);
    bool header_ok = crc == rd32(c + 124);
    uint32_t free_off = rd32(c + 48);
    uint32_t end;
    if (!header_ok) {
      issue(file_off, Severity::warning, false, "evtx-chunk-checksum",
            "chunk header checksum mismatch; reading records up to the first invalid one");
      end = uint32_t(csize);
    } else {
      if (free_off < kChunkHeaderSize || free_off > kChunkSize) {
        issue(file_off, Severity::warning, false, "evtx-bad-chunk",
              fmt::format("chunk free-space offset {} out of range; reading up to the first invalid record", free_off));
        header_ok = false;
        end = uint32_t(csize);
      } else if (free_off > csize) {
        issue(file_off, Severity::error, false, "evtx-truncated",
              fmt::format("chunk truncated: records end at {} but only {} bytes remain", free_off, csize));
        end = uint32_t(csize);
      } else {
        end = free_off;
        if (crc32(c + kChunkHeaderSize, end - kChunkHeaderSize) != rd32(c + 52))
          issue(file_off, Severity::warning, false, "evtx-chunk-checksum",
                "chunk record data checksum mismatch; records are validated one by one");
      }
    }

    uint32_t pos = kChunkHeaderSize;
    while (uint64_t(pos) + 28 <= end) {
      if (!valid_record_at(pos, end)) {
        // Past the last record, slack space may hold deleted records or zeros:
        // without a trustworthy header we stop here rather than guess.
        if (!header_ok) break;
        uint32_t next = pos + 1;
        while (uint64_t(next) + 28 <= end && !valid_record_at(next, end)) ++next;
        if (uint64_t(next) + 28 > end && rd32(c + pos) == 0) {
          // Zero where a record should start and nothing valid after it: the
          // header's free-space offset ran ahead of the data (not flushed).
          issue(file_off + pos, Severity::warning, false, "evtx-dirty-chunk",
                fmt::format("records end at chunk offset {} before the free-space offset {}", pos, end));
          break;
        }
        ++result.records_found;
        issue(file_off + pos, Severity::error, true, "evtx-bad-record",
              "invalid record header (signature/size); resynchronizing at the next record");
        if (uint64_t(next) + 28 > end) break;
        pos = next;
        continue;
      }
      uint32_t rsize = rd32(c + pos + 4);
      result.record_bytes += rsize;
      if (mode.recover && mode.unlisted) {
        decode_record(pos, rsize, file_off, true);
      } else {
        ++result.records_found;
        decode_record(pos, rsize, file_off, false);
      }
      pos += rsize;
    }
    if (mode.recover) carve(pos, uint32_t(csize), file_off);
  }
};

ChunkDecoder::ChunkDecoder() : impl_(std::make_unique<Impl>()) {}
ChunkDecoder::~ChunkDecoder() = default;

void ChunkDecoder::decode(const unsigned char* chunk, size_t size, uint64_t file_offset, ChunkResult& out,
                          DecodeMode mode) {
  impl_->decode(chunk, size, file_offset, out, mode);
}

}  // namespace vigil::evtx
