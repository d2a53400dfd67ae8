#include "core/intern.h"

#include "core/strings.h"

#include <vector>

namespace vigil {

Symbol Interner::intern(std::string_view name) {
  std::lock_guard lock(mu_);
  auto it = index_.find(name);
  if (it != index_.end()) return it->second;
  names_.emplace_back(name);
  Symbol s = static_cast<Symbol>(names_.size() - 1);
  index_.emplace(names_.back(), s);
  return s;
}
Symbol Interner::find(std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = index_.find(name);
  return it == index_.end() ? kNoSymbol : it->second;
}
std::string_view Interner::name(Symbol s) const {
  std::lock_guard lock(mu_);
  return s < names_.size() ? std::string_view(names_[s]) : std::string_view();
}
size_t Interner::size() const {
  std::lock_guard lock(mu_);
  return names_.size();
}
Interner& field_names() {
  static Interner table;
  return table;
}

namespace {
struct ThreadCache {
  std::unordered_map<std::string, Symbol, TextHash, TextEq> ids;
  std::vector<std::string_view> names;  // views into the interner's deque: stable
};
ThreadCache& thread_cache() {
  thread_local ThreadCache c;
  return c;
}
}  // namespace

Symbol field_id(std::string_view name) {
  // Each event names the same few dozen fields: a direct-mapped memo by hash answers most lookups
  // with one compare, where the thread's table costs a bucket walk. Its views are the interner's
  // (stable), so a slot stays valid until overwritten.
  struct Memo {
    size_t hash;
    std::string_view name;
    Symbol id = kNoSymbol;
  };
  static constexpr size_t kMemo = 1024;
  thread_local Memo memo[kMemo];
  const size_t h = text_hash(name);
  Memo& m = memo[h & (kMemo - 1)];
  if (m.id != kNoSymbol && m.hash == h && m.name == name) return m.id;
  auto& c = thread_cache();
  Symbol s;
  if (auto it = c.ids.find(name); it != c.ids.end()) {
    s = it->second;
  } else {
    s = field_names().intern(name);
    c.ids.emplace(std::string(name), s);
  }
  m = {h, field_name(s), s};
  return s;
}

std::string_view field_name(Symbol s) {
  auto& c = thread_cache();
  if (s < c.names.size() && c.names[s].data()) return c.names[s];
  std::string_view n = field_names().name(s);
  if (s >= c.names.size()) c.names.resize(s + 1);
  c.names[s] = n;
  return n;
}

}  // namespace vigil
