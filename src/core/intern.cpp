#include "core/intern.h"

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

}  // namespace vigil
