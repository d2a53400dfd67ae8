#include "core/yaml.h"

#include "core/bytes.h"
#include "core/source_cache.h"

#include <yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_map>

namespace vigil::yaml {

namespace {

enum class Kind : uint8_t { null, scalar, sequence, map };

// Deeper nesting is refused (as yaml-cpp did at 2,000): loaders walk trees recursively.
constexpr size_t kMaxDepth = 2000;

const std::string kEmpty;
const std::string kPlainTag = "?";
const std::string kQuotedTag = "!";

Mark mark_of(const yaml_mark_t& m) {
  Mark out;
  out.line = static_cast<int>(m.line);
  out.column = static_cast<int>(m.column);
  out.pos = m.index;
  return out;
}

bool is_null_text(std::string_view s) { return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL"; }

}  // namespace

struct Document {
  struct Data {
    Kind kind = Kind::null;
    bool quoted = false;
    uint32_t first = 0, count = 0;  // children in `kids`: items, or key, value, key, value …
    Mark mark;
    std::string scalar, tag;
  };
  std::vector<Data> nodes;
  std::vector<uint32_t> kids;
  const Data& at(uint32_t i) const { return nodes[i]; }
};

Exception::Exception(const Mark& m, const std::string& message)
    : std::runtime_error("yaml: line " + std::to_string(m.line + 1) + ", column " + std::to_string(m.column + 1) + ": " +
                         message),
      mark(m),
      msg(message) {}

// ---- Node

bool Node::IsNull() const { return doc_ && doc_->at(index_).kind == Kind::null; }
bool Node::IsScalar() const { return doc_ && doc_->at(index_).kind == Kind::scalar; }
bool Node::IsSequence() const { return doc_ && doc_->at(index_).kind == Kind::sequence; }
bool Node::IsMap() const { return doc_ && doc_->at(index_).kind == Kind::map; }

const std::string& Node::Scalar() const { return IsScalar() ? doc_->at(index_).scalar : kEmpty; }

const std::string& Node::Tag() const {
  if (!doc_) return kEmpty;
  const auto& d = doc_->at(index_);
  if (!d.tag.empty()) return d.tag;
  return d.quoted ? kQuotedTag : kPlainTag;
}

Mark Node::Mark() const { return doc_ ? doc_->at(index_).mark : yaml::Mark{}; }

size_t Node::size() const {
  if (!doc_) return 0;
  const auto& d = doc_->at(index_);
  if (d.kind == Kind::sequence) return d.count;
  if (d.kind == Kind::map) return d.count / 2;
  return 0;
}

Node Node::operator[](std::string_view key) const {
  if (!IsMap()) return {};
  const auto& d = doc_->at(index_);
  for (uint32_t i = 0; i + 1 < d.count; i += 2) {
    const auto& k = doc_->at(doc_->kids[d.first + i]);
    // The first equal key wins; a null key is spelled as yaml-cpp would convert it.
    if ((k.kind == Kind::scalar && k.scalar == key) || (k.kind == Kind::null && key == "null"))
      return Node(doc_, doc_->kids[d.first + i + 1]);
  }
  return {};
}

Node Node::operator[](size_t index) const {
  if (!IsSequence()) return {};
  const auto& d = doc_->at(index_);
  if (index >= d.count) return {};
  return Node(doc_, doc_->kids[d.first + index]);
}

Node::iterator Node::begin() const { return iterator(*this, 0); }
Node::iterator Node::end() const { return iterator(*this, size()); }

void Node::iterator::fill() {
  if (pos_ >= owner_.size()) {
    cur_ = Item();
    return;
  }
  const Document& doc = *owner_.doc_;
  const auto& d = doc.at(owner_.index_);
  if (d.kind == Kind::sequence) {
    static_cast<Node&>(cur_) = Node(owner_.doc_, doc.kids[d.first + pos_]);
    cur_.first = cur_.second = Node();
  } else {
    static_cast<Node&>(cur_) = Node();
    cur_.first = Node(owner_.doc_, doc.kids[d.first + 2 * pos_]);
    cur_.second = Node(owner_.doc_, doc.kids[d.first + 2 * pos_ + 1]);
  }
}

template <>
std::string Node::as<std::string>() const {
  if (IsNull()) return "null";
  if (!IsScalar()) throw Exception(Mark(), "not a scalar (text expected)");
  return Scalar();
}

template <>
long Node::as<long>() const {
  const std::string& s = Scalar();
  std::string_view v = s;
  if (!v.empty() && v[0] == '+') v.remove_prefix(1);
  int base = 10;
  if (v.size() > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
    v.remove_prefix(2);
    base = 16;
  }
  long out = 0;
  auto r = std::from_chars(v.data(), v.data() + v.size(), out, base);
  if (!IsScalar() || v.empty() || r.ec != std::errc() || r.ptr != v.data() + v.size())
    throw Exception(Mark(), "not an integer: '" + s + "'");
  return out;
}

template <>
int Node::as<int>() const {
  long v = as<long>();
  if (v < INT32_MIN || v > INT32_MAX) throw Exception(Mark(), "integer out of range: '" + Scalar() + "'");
  return static_cast<int>(v);
}

template <>
double Node::as<double>() const {
  const std::string& s = Scalar();
  if (s == ".inf" || s == ".Inf" || s == ".INF" || s == "+.inf") return HUGE_VAL;
  if (s == "-.inf" || s == "-.Inf" || s == "-.INF") return -HUGE_VAL;
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return NAN;
  double out = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  if (!IsScalar() || s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size())
    throw Exception(Mark(), "not a number: '" + s + "'");
  return out;
}

template <>
bool Node::as<bool>() const {
  static const char* const yes[] = {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"};
  static const char* const no[] = {"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"};
  const std::string& s = Scalar();
  if (IsScalar()) {
    for (auto* t : yes)
      if (s == t) return true;
    for (auto* t : no)
      if (s == t) return false;
  }
  throw Exception(Mark(), "not a boolean: '" + s + "'");
}

// ---- parsing

class Builder {
 public:
  explicit Builder(std::string_view text) : doc_(std::make_shared<Document>()) {
    yaml_parser_initialize(&parser_);
    yaml_parser_set_input_string(&parser_, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  }
  ~Builder() { yaml_parser_delete(&parser_); }
  Builder(const Builder&) = delete;
  Builder& operator=(const Builder&) = delete;

  std::vector<Node> run() {
    std::vector<uint32_t> roots;
    for (;;) {
      yaml_event_t ev;
      if (!yaml_parser_parse(&parser_, &ev)) {
        yaml_mark_t m = parser_.problem ? parser_.problem_mark : parser_.mark;
        std::string what = parser_.problem ? parser_.problem : "malformed YAML";
        if (parser_.context) what = std::string(parser_.context) + ": " + what;
        throw Exception(mark_of(m), what);
      }
      struct Guard {
        yaml_event_t* e;
        ~Guard() { yaml_event_delete(e); }
      } guard{&ev};
      if (ev.type == YAML_STREAM_END_EVENT) break;
      handle(ev, roots);
    }
    std::shared_ptr<const Document> doc = std::move(doc_);
    std::vector<Node> out;
    out.reserve(roots.size());
    for (uint32_t r : roots) out.push_back(Node(doc, r));
    return out;
  }

 private:
  struct Open {
    uint32_t node;
    std::vector<uint32_t> kids;
    std::string anchor;
  };

  uint32_t add_node(Kind k, const yaml_mark_t& m, const yaml_char_t* tag) {
    Document::Data d;
    d.kind = k;
    d.mark = mark_of(m);
    if (tag) d.tag = reinterpret_cast<const char*>(tag);
    doc_->nodes.push_back(std::move(d));
    return static_cast<uint32_t>(doc_->nodes.size() - 1);
  }

  void attach(uint32_t node, std::vector<uint32_t>& roots) {
    if (open_.empty()) roots.push_back(node);
    else open_.back().kids.push_back(node);
  }

  void name(const yaml_char_t* anchor, uint32_t node) {
    if (anchor) anchors_[reinterpret_cast<const char*>(anchor)] = node;
  }

  void handle(const yaml_event_t& ev, std::vector<uint32_t>& roots) {
    switch (ev.type) {
      case YAML_DOCUMENT_START_EVENT:
        anchors_.clear();
        doc_start_ = roots.size();
        return;
      case YAML_DOCUMENT_END_EVENT:
        if (roots.size() == doc_start_) roots.push_back(add_node(Kind::null, ev.start_mark, nullptr));
        return;
      case YAML_ALIAS_EVENT: {
        // Anchors are named when their node is complete, so a node cannot contain itself.
        auto it = anchors_.find(reinterpret_cast<const char*>(ev.data.alias.anchor));
        if (it == anchors_.end())
          throw Exception(mark_of(ev.start_mark), std::string("unknown or unfinished anchor '") +
                                                      reinterpret_cast<const char*>(ev.data.alias.anchor) + "'");
        attach(it->second, roots);
        return;
      }
      case YAML_SCALAR_EVENT: {
        const auto& s = ev.data.scalar;
        std::string_view value(reinterpret_cast<const char*>(s.value), s.length);
        const bool plain = s.style == YAML_PLAIN_SCALAR_STYLE || s.style == YAML_ANY_SCALAR_STYLE;
        const bool null = plain && !s.tag && is_null_text(value);
        uint32_t n = add_node(null ? Kind::null : Kind::scalar, ev.start_mark, s.tag);
        auto& d = doc_->nodes[n];
        d.quoted = !plain;
        if (!null) d.scalar.assign(value);
        name(s.anchor, n);
        attach(n, roots);
        return;
      }
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT: {
        if (open_.size() >= kMaxDepth)
          throw Exception(mark_of(ev.start_mark), "nesting deeper than " + std::to_string(kMaxDepth) + " levels");
        bool seq = ev.type == YAML_SEQUENCE_START_EVENT;
        const yaml_char_t* tag = seq ? ev.data.sequence_start.tag : ev.data.mapping_start.tag;
        const yaml_char_t* anchor = seq ? ev.data.sequence_start.anchor : ev.data.mapping_start.anchor;
        uint32_t n = add_node(seq ? Kind::sequence : Kind::map, ev.start_mark, tag);
        open_.push_back({n, {}, anchor ? reinterpret_cast<const char*>(anchor) : ""});
        return;
      }
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT: {
        Open o = std::move(open_.back());
        open_.pop_back();
        auto& d = doc_->nodes[o.node];
        d.first = static_cast<uint32_t>(doc_->kids.size());
        d.count = static_cast<uint32_t>(o.kids.size());
        doc_->kids.insert(doc_->kids.end(), o.kids.begin(), o.kids.end());
        if (!o.anchor.empty()) anchors_[o.anchor] = o.node;
        attach(o.node, roots);
        return;
      }
      default:
        return;
    }
  }

  yaml_parser_t parser_;
  std::shared_ptr<Document> doc_;
  std::vector<Open> open_;
  std::unordered_map<std::string, uint32_t> anchors_;
  size_t doc_start_ = 0;
};

std::vector<Node> load_all(std::string_view text) { return Builder(text).run(); }

// ---- trees kept between runs

// A document's tree as bytes (SourceCache keeps it beside the text it was parsed from), so a later
// run skips libyaml, which is most of the time to load both corpora. The layout is this build's
// (host byte order); the bundle's magic is bumped when it changes.
namespace {

constexpr uint32_t kTreeVersion = 2;
constexpr uint8_t kKindBits = 3, kQuotedBit = 4, kTagBit = 8;

// Reads a tree's bytes in order (core/bytes.h), texts too.
struct TreeReader {
  std::string_view in;
  size_t pos = 0;
  template <class T>
  bool take(T& v) {
    return take_raw(in, pos, v);
  }
  bool take_text(uint32_t n, std::string& out) {
    if (in.size() - pos < n) return false;
    out.assign(in.data() + pos, n);
    pos += n;
    return true;
  }
};

// Loaders walk trees recursively, so a tree read back must have no cycle (an alias names a node
// completed before it, never one of its own ancestors) and no deeper nesting than a parse allows
// (kMaxDepth open containers, then a scalar): each node's height (its longest path down) is found
// once, when the walk finishes it, so a node reached again through an alias is measured too.
bool nested_as_parsed(const Document& d) {
  constexpr uint32_t kOpen = UINT32_MAX, kUnseen = 0;
  std::vector<uint32_t> height(d.nodes.size(), kUnseen);  // else 1 + the tallest kid's, or kOpen
  std::vector<std::pair<uint32_t, uint32_t>> stack;       // node, next kid
  for (uint32_t root = 0; root < d.nodes.size(); ++root) {
    if (height[root] != kUnseen) continue;
    height[root] = kOpen;
    stack.push_back({root, 0});
    while (!stack.empty()) {
      auto& [n, next] = stack.back();
      const auto& data = d.nodes[n];
      if (next == data.count) {
        uint32_t h = 1;
        for (uint32_t i = 0; i < data.count; ++i) h = std::max(h, height[d.kids[data.first + i]] + 1);
        if (h > kMaxDepth + 1) return false;
        height[n] = h;
        stack.pop_back();
        continue;
      }
      uint32_t k = d.kids[data.first + next++];
      if (height[k] == kOpen) return false;  // a cycle
      if (height[k] == kUnseen) {
        height[k] = kOpen;
        stack.push_back({k, 0});  // the walk's own stack is a vector: any depth is measured safely
      }
    }
  }
  return true;
}

}  // namespace

std::string encode_tree(const std::vector<Node>& docs) {
  std::string out;
  const Document* d = docs.empty() ? nullptr : docs.front().doc_.get();
  for (auto& n : docs)
    if (n.doc_.get() != d) return {};  // not one load_all's documents
  const uint32_t nodes = d ? uint32_t(d->nodes.size()) : 0, kids = d ? uint32_t(d->kids.size()) : 0;
  size_t bytes = 16 + 4 * (docs.size() + kids);
  if (d)
    for (auto& n : d->nodes) {
      // Marks are kept in 32 bits: a text past 4 GiB (no rule file is) is not kept.
      if (n.mark.pos > UINT32_MAX || n.mark.line < 0 || n.mark.column < 0) return {};
      bytes += 29 + n.scalar.size() + n.tag.size();
    }
  out.reserve(bytes);
  put_raw(out, kTreeVersion);
  put_raw(out, nodes);
  put_raw(out, kids);
  put_raw(out, uint32_t(docs.size()));
  for (auto& n : docs) put_raw(out, n.index_);
  if (!d) return out;
  out.append(reinterpret_cast<const char*>(d->kids.data()), d->kids.size() * sizeof(uint32_t));
  for (auto& n : d->nodes) {
    // One byte of kind and flags; positions only for containers, a tag only when there is one.
    const bool container = n.kind == Kind::sequence || n.kind == Kind::map;
    put_raw(out, uint8_t(uint8_t(n.kind) | (n.quoted ? kQuotedBit : 0) | (n.tag.empty() ? 0 : kTagBit)));
    if (container) {
      put_raw(out, n.first);
      put_raw(out, n.count);
    }
    put_raw(out, uint32_t(n.mark.line));
    put_raw(out, uint32_t(n.mark.column));
    put_raw(out, uint32_t(n.mark.pos));
    put_raw(out, uint32_t(n.scalar.size()));
    out += n.scalar;
    if (!n.tag.empty()) {
      put_raw(out, uint32_t(n.tag.size()));
      out += n.tag;
    }
  }
  return out;
}

bool decode_tree(std::string_view bytes, std::vector<Node>& out) {
  TreeReader r{bytes};
  uint32_t version = 0, nodes = 0, kids = 0, roots = 0;
  if (!r.take(version) || version != kTreeVersion || !r.take(nodes) || !r.take(kids) || !r.take(roots)) return false;
  // Every count is bounded by the bytes that would hold it (a damaged count allocates nothing).
  const size_t left = bytes.size() - r.pos;
  if (roots > left / 4 || kids > left / 4 || nodes > left / 17) return false;
  auto doc = std::make_shared<Document>();
  std::vector<uint32_t> root_ids(roots);
  for (auto& id : root_ids)
    if (!r.take(id) || id >= nodes) return false;
  doc->kids.resize(kids);
  for (auto& k : doc->kids)
    if (!r.take(k) || k >= nodes) return false;
  doc->nodes.resize(nodes);
  for (auto& n : doc->nodes) {
    uint8_t flags = 0;
    uint32_t line = 0, column = 0, pos = 0, scalar = 0, tag = 0;
    if (!r.take(flags) || (flags & kKindBits) > uint8_t(Kind::map) || (flags & ~(kKindBits | kQuotedBit | kTagBit)))
      return false;
    n.kind = Kind(flags & kKindBits);
    n.quoted = flags & kQuotedBit;
    const bool container = n.kind == Kind::sequence || n.kind == Kind::map;
    if (container && (!r.take(n.first) || !r.take(n.count) || uint64_t(n.first) + n.count > kids ||
                      (n.kind == Kind::map && n.count % 2)))
      return false;
    if (!r.take(line) || !r.take(column) || !r.take(pos) || line > INT32_MAX || column > INT32_MAX ||
        !r.take(scalar) || !r.take_text(scalar, n.scalar))
      return false;
    if ((flags & kTagBit) && (!r.take(tag) || !tag || !r.take_text(tag, n.tag))) return false;
    n.mark = {int(line), int(column), size_t(pos)};
  }
  if (r.pos != bytes.size() || !nested_as_parsed(*doc)) return false;
  std::shared_ptr<const Document> shared = std::move(doc);
  out.clear();
  out.reserve(roots);
  for (uint32_t id : root_ids) out.push_back(Node(shared, id));
  return true;
}

std::vector<Node> load_source(const std::string& path, std::string_view text) {
  std::vector<Node> docs;
  if (use_cached_tree(path, text, [&](std::string_view kept) { return decode_tree(kept, docs); })) return docs;
  docs = load_all(text);  // throws on malformed YAML: nothing is kept, the next run reports it again
  if (source_cache_installed()) keep_parsed_tree(path, text, encode_tree(docs));
  return docs;
}

Node load(std::string_view text) {
  auto docs = load_all(text);
  if (docs.empty()) return Builder("~").run().front();
  return docs.front();
}

Node load_file(const std::string& path) {
  std::string text;
  if (!read_source_file(path, text)) throw Exception(Mark{}, "cannot read " + path + ": " + std::strerror(errno));
  auto docs = load_source(path, text);
  if (docs.empty()) return Builder("~").run().front();
  return docs.front();
}

}  // namespace vigil::yaml
