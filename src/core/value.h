// SPL values and result rows. A field value is null, a number, a string, or a
// multivalue (list of strings). Fields read from events are strings; numbers
// arise from eval/stats. Rows keep field order (it is the output column order).
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace vigil {

class Value {
 public:
  Value() = default;
  Value(std::string s) : v_(std::move(s)) {}
  Value(std::string_view s) : v_(std::string(s)) {}
  Value(const char* s) : v_(std::string(s)) {}
  Value(double d) : v_(d) {}
  Value(int i) : v_(static_cast<double>(i)) {}
  Value(long long i) : v_(static_cast<double>(i)) {}
  Value(size_t i) : v_(static_cast<double>(i)) {}
  Value(bool) = delete;  // SPL has no boolean field values; be explicit
  static Value multi(std::vector<std::string> values);
  static Value boolean(bool b) { return Value(b ? std::string("true") : std::string("false")); }
  /// Makes this a single text value, reusing the buffer when it already holds text.
  void set_text(std::string_view s) {
    if (auto* t = std::get_if<std::string>(&v_)) t->assign(s.data(), s.size());
    else v_ = std::string(s);
  }

  bool is_null() const { return v_.index() == 0; }
  bool is_number() const { return v_.index() == 1; }
  bool is_string() const { return v_.index() == 2; }
  bool is_multi() const { return v_.index() == 3; }

  double number() const { return std::get<1>(v_); }
  const std::string& string() const { return std::get<2>(v_); }
  const std::vector<std::string>& values() const { return std::get<3>(v_); }

  /// Number of values: 0 for null, 1 for a single value, n for a multivalue.
  size_t count() const;
  /// The i-th value as text (single values are index 0).
  std::string text(size_t i = 0) const;
  /// text(i) viewed where it is for texts; a number's text is made in `buf` (the view is into it).
  std::string_view text_view(size_t i, std::string& buf) const;
  /// SPL's textual rendering; a multivalue joins with newline like Splunk's table.
  std::string to_string() const;
  /// Numeric reading: numbers as is, strings when they parse as decimal numbers.
  std::optional<double> to_number() const;
  /// Every value as text (empty for null).
  std::vector<std::string> all_texts() const;

  bool operator==(const Value& o) const { return v_ == o.v_; }

 private:
  std::variant<std::monostate, double, std::string, std::vector<std::string>> v_;
};

class Row {
 public:
  using Entry = std::pair<std::string, Value>;
  const Value* get(std::string_view name) const;
  /// get() for a row that names each field once: tries entry `hint` first and leaves `hint` where
  /// `name` was found. (With a name twice, get() finds the first and this may find either.)
  const Value* get_from(std::string_view name, uint32_t& hint) const;
  Value* get_mut(std::string_view name);
  /// Sets (or replaces, keeping position) a field. A null value removes it.
  void set(std::string_view name, Value v);
  bool erase(std::string_view name);
  bool has(std::string_view name) const { return get(name) != nullptr; }
  const std::vector<Entry>& entries() const { return entries_; }
  std::vector<Entry>& entries() { return entries_; }
  size_t size() const { return entries_.size(); }

 private:
  std::vector<Entry> entries_;
};

using Table = std::vector<Row>;

}  // namespace vigil
