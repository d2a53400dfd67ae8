// YAML documents for rule content and vigil's data tables, parsed with libyaml.
//
// Why not yaml-cpp: its scanner was half of the time to load both corpora,
// and some malformed inputs (a line starting with ',' in block context) made
// it loop or exhaust memory. libyaml is a small, fuzzed C parser with located
// errors; this file only builds an immutable tree from its events.
//
// The node interface follows the subset of yaml-cpp's that vigil used, with
// its meanings (so loaders read the same way), but nothing here throws except
// load() and as<T>():
// - a plain `~`, `null`, `Null`, `NULL` or empty scalar is a null node, a
//   quoted one is a scalar; Tag() is "!" for quoted scalars, "?" for plain ones
//   (the non-specific tags), else the explicit tag;
// - a missing key, an index out of range, or a subscript of a non-map gives an
//   undefined node; Scalar() of a non-scalar is empty;
// - an alias is the node its anchor names (shared, not copied);
// - marks are 0-based, as libyaml and yaml-cpp give them.
#pragma once
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::yaml {

struct Mark {
  int line = -1, column = -1;  ///< 0-based; -1 when unknown
  size_t pos = 0;
};

/// A parse error (or a conversion in as<T>()) with where it happened.
class Exception : public std::runtime_error {
 public:
  Exception(const Mark& m, const std::string& message);
  Mark mark;
  std::string msg;
};

struct Document;

class Node {
 public:
  Node() = default;  ///< undefined
  bool IsDefined() const { return doc_ != nullptr; }
  explicit operator bool() const { return IsDefined(); }
  bool operator!() const { return !IsDefined(); }
  bool IsNull() const;
  bool IsScalar() const;
  bool IsSequence() const;
  bool IsMap() const;
  const std::string& Scalar() const;
  const std::string& Tag() const;
  yaml::Mark Mark() const;
  size_t size() const;  ///< items of a sequence, pairs of a map, else 0
  Node operator[](std::string_view key) const;
  Node operator[](const char* key) const { return (*this)[std::string_view(key)]; }
  Node operator[](const std::string& key) const { return (*this)[std::string_view(key)]; }
  Node operator[](size_t index) const;
  Node operator[](int index) const { return index < 0 ? Node() : (*this)[static_cast<size_t>(index)]; }
  /// Conversions as yaml-cpp does them; throw Exception when the node does not convert.
  template <class T>
  T as() const;
  /// The conversion, or `fallback` when the node is absent, null or does not convert.
  template <class T, class S>
  T as(const S& fallback) const {
    if (!IsScalar()) return T(fallback);
    try {
      return as<T>();
    } catch (const Exception&) {
      return T(fallback);
    }
  }
  /// Identity (an alias is its anchor's node).
  bool is(const Node& o) const { return doc_ == o.doc_ && index_ == o.index_; }

  class iterator;
  iterator begin() const;
  iterator end() const;

 private:
  friend struct Document;
  friend class Builder;
  friend std::string encode_tree(const std::vector<Node>& docs);
  friend bool decode_tree(std::string_view bytes, std::vector<Node>& out);
  Node(std::shared_ptr<const Document> doc, uint32_t index) : doc_(std::move(doc)), index_(index) {}
  std::shared_ptr<const Document> doc_;
  uint32_t index_ = 0;
};

/// What iterating gives: for a sequence the item itself, for a map a pair in first/second.
struct Item : Node {
  Node first, second;
};

class Node::iterator {
 public:
  using value_type = Item;
  using difference_type = std::ptrdiff_t;
  using reference = const Item&;
  using pointer = const Item*;
  using iterator_category = std::forward_iterator_tag;
  iterator() = default;
  const Item& operator*() const { return cur_; }
  const Item* operator->() const { return &cur_; }
  iterator& operator++() {
    ++pos_;
    fill();
    return *this;
  }
  bool operator==(const iterator& o) const { return pos_ == o.pos_; }
  bool operator!=(const iterator& o) const { return pos_ != o.pos_; }

 private:
  friend class Node;
  iterator(const Node& owner, size_t pos) : owner_(owner), pos_(pos) { fill(); }
  void fill();
  Node owner_;  // a copy: `node["key"].begin()` iterates a temporary
  size_t pos_ = 0;
  Item cur_;
};

/// The documents of a YAML stream (several when separated by `---`). Throws Exception.
std::vector<Node> load_all(std::string_view text);
/// The first document; a null node for an empty stream. Throws Exception.
Node load(std::string_view text);
/// load() of a file's contents. Throws Exception (also when the file cannot be read).
/// Through load_source: the tree may come from the rule bundle.
Node load_file(const std::string& path);
/// load_all() of `text`, the contents of corpus file `path` (read_source_file): from the tree the
/// installed SourceCache keeps for exactly this text when it has one, else parsed, and the tree
/// handed to the cache for the next run. Throws Exception as load_all does.
std::vector<Node> load_source(const std::string& path, std::string_view text);

/// A load_all() result as bytes, and back (SourceCache keeps them). encode_tree gives "" for
/// nodes of different parses; decode_tree is false for bytes it did not make (damaged, another
/// version), and then leaves `out` unspecified.
std::string encode_tree(const std::vector<Node>& docs);
bool decode_tree(std::string_view bytes, std::vector<Node>& out);

}  // namespace vigil::yaml

namespace vigil::yaml {
template <>
std::string Node::as<std::string>() const;
template <>
long Node::as<long>() const;
template <>
int Node::as<int>() const;
template <>
double Node::as<double>() const;
template <>
bool Node::as<bool>() const;
}  // namespace vigil::yaml
