// Fixed-size values written to and read from byte strings in host order: the files vigil keeps
// between runs on one machine (core/source_cache.h's bundle and the YAML trees in it).
#pragma once
#include <cstring>
#include <string>
#include <string_view>

namespace vigil {

template <class T>
void put_raw(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

/// Reads a T at `pos` if it fits before the end of `in`, and moves `pos` past it.
template <class T>
bool take_raw(std::string_view in, size_t& pos, T& v) {
  if (in.size() - pos < sizeof v) return false;
  std::memcpy(&v, in.data() + pos, sizeof v);
  pos += sizeof v;
  return true;
}

}  // namespace vigil
