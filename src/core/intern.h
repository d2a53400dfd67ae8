// Interned names (field names, datasets): a Symbol is a small integer so the
// per-event path indexes arrays instead of hashing strings. Interning happens
// at load time; lookups of already-interned names are lock-free afterwards
// only if no thread interns concurrently, so interning is guarded by a mutex.
#pragma once
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace vigil {

using Symbol = uint32_t;
inline constexpr Symbol kNoSymbol = UINT32_MAX;

class Interner {
 public:
  Symbol intern(std::string_view name);
  /// kNoSymbol when the name was never interned.
  Symbol find(std::string_view name) const;
  std::string_view name(Symbol s) const;
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::deque<std::string> names_;  // deque: stable addresses for the views below
  std::unordered_map<std::string_view, Symbol> index_;
};

/// The process-wide table of field names (exact case: SPL field names are case-sensitive).
Interner& field_names();
/// field_names().intern(name) through a per-thread cache: the per-event path of several
/// workers never takes the interner's lock for a name it has seen.
Symbol field_id(std::string_view name);
/// field_names().name(s) through the same per-thread cache.
std::string_view field_name(Symbol s);

/// Splunk's default fields that say where an event is kept and how it was read (`index`, `source`,
/// `sourcetype`), not what it says: keywords do not search them (Event::Field::metadata), and
/// every CIM dataset inherits `source` and `sourcetype` (with `host`) from its event.
inline bool is_metadata_field(std::string_view name) {
  return name == "index" || name == "source" || name == "sourcetype";
}

}  // namespace vigil
