#include "core/value.h"

#include <cstring>

#include "core/strings.h"

namespace vigil {

Value Value::multi(std::vector<std::string> values) {
  Value v;
  if (values.empty()) return v;
  if (values.size() == 1) {
    v.v_ = std::move(values[0]);
    return v;
  }
  v.v_ = std::move(values);
  return v;
}

size_t Value::count() const {
  switch (v_.index()) {
    case 0: return 0;
    case 3: return values().size();
    default: return 1;
  }
}

std::string Value::text(size_t i) const {
  std::string buf;
  const std::string_view v = text_view(i, buf);
  if (is_number()) return buf;  // its text was made there
  return std::string(v);
}

std::string_view Value::text_view(size_t i, std::string& buf) const {
  switch (v_.index()) {
    case 1:
      if (i != 0) return {};
      buf = format_number(number());
      return buf;
    case 2: return i == 0 ? std::string_view(string()) : std::string_view();
    case 3: return i < values().size() ? std::string_view(values()[i]) : std::string_view();
    default: return {};
  }
}

std::string Value::to_string() const {
  if (is_multi()) {
    std::string s;
    for (size_t i = 0; i < values().size(); ++i) {
      if (i) s += '\n';
      s += values()[i];
    }
    return s;
  }
  return text(0);
}

std::optional<double> Value::to_number() const {
  if (is_number()) return number();
  if (is_string()) {
    double d;
    if (parse_number(string(), d)) return d;
  }
  return std::nullopt;
}

std::vector<std::string> Value::all_texts() const {
  if (is_multi()) return values();
  if (is_null()) return {};
  return {text(0)};
}

namespace {
// Rows of an aggregation hold a few dozen names, most of another length or first letter than the
// one asked for: those are told apart without a memcmp call. The entry's position, or size().
size_t find_entry(const std::vector<Row::Entry>& entries, std::string_view name) {
  const size_t n = name.size();
  for (size_t i = 0; i < entries.size(); ++i) {
    const std::string& k = entries[i].first;
    if (k.size() == n && (n == 0 || (k[0] == name[0] && std::memcmp(k.data(), name.data(), n) == 0))) return i;
  }
  return entries.size();
}
}  // namespace

const Value* Row::get(std::string_view name) const {
  const size_t i = find_entry(entries_, name);
  return i < entries_.size() ? &entries_[i].second : nullptr;
}
const Value* Row::get_from(std::string_view name, uint32_t& hint) const {
  if (hint < entries_.size() && entries_[hint].first == name) return &entries_[hint].second;
  const size_t i = find_entry(entries_, name);
  if (i == entries_.size()) return nullptr;
  hint = uint32_t(i);
  return &entries_[i].second;
}
Value* Row::get_mut(std::string_view name) {
  const size_t i = find_entry(entries_, name);
  return i < entries_.size() ? &entries_[i].second : nullptr;
}
void Row::set(std::string_view name, Value v) {
  if (v.is_null()) {
    erase(name);
    return;
  }
  if (Value* cur = get_mut(name)) {
    *cur = std::move(v);
    return;
  }
  entries_.emplace_back(std::string(name), std::move(v));
}
bool Row::erase(std::string_view name) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it)
    if (it->first == name) {
      entries_.erase(it);
      return true;
    }
  return false;
}

}  // namespace vigil
