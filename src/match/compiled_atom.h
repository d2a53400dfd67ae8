// One atom compiled for testing values: wildcard tokens, lower-cased
// literals, a PCRE2 program or a parsed network. Testing is allocation-free.
#pragma once
#include <optional>
#include <string_view>

#include "core/regex.h"
#include "core/wildcard.h"
#include "ir/atom.h"

namespace vigil::match {

class CompiledAtom {
 public:
  /// nullopt + message in `error` when the atom cannot be compiled (bad regex, bad CIDR).
  static std::optional<CompiledAtom> compile(const ir::Atom& atom, std::string* error = nullptr);
  /// Test one value of the atom's field. exists/field_eq/keyword are decided by the caller.
  bool test(std::string_view value) const;
  const ir::Atom& atom() const { return atom_; }
  /// The literal of eq/contains/starts_with/ends_with/keyword atoms (lower-cased when case-insensitive).
  const std::string& literal() const { return lit_; }
  /// The glob of wildcard atoms (literal pieces lower-cased when case-insensitive).
  const WildcardPattern& glob() const { return glob_; }

 private:
  ir::Atom atom_;
  std::string lit_;  // lower-cased literal when case-insensitive
  WildcardPattern glob_;
  std::optional<Regex> re_;
  double num_ = 0;
  // CIDR
  bool v6_ = false;
  unsigned char net_[16] = {};
  int prefix_ = 0;
};

/// Parse an IPv4 or IPv6 address into 16 bytes (IPv4 in the first 4 bytes, v6=false).
bool parse_ip(std::string_view s, unsigned char out[16], bool& v6);

}  // namespace vigil::match
