// Typed, non-throwing access to yaml-cpp nodes for rule content.
//
// Rule packs come from the internet: any key may hold a scalar, a map or a
// sequence whatever the schema says. yaml-cpp throws on subscripting a scalar
// (BadSubscript) and on converting a map to a string (TypedBadConversion), so
// every read of rule content goes through these helpers: a value of the wrong
// shape is either ignored (optional text) or returned as a located Error that
// rejects only the rule that holds it.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "core/result.h"

namespace vigil::content::yaml {

/// 1-based location of `n` in `file` (line 0 when yaml-cpp has no mark).
SourceLocation where(const std::string& file, const YAML::Node& n);

/// `map[key]` when `map` is a map, else an undefined node (never throws).
YAML::Node child(const YAML::Node& map, const char* key);

/// Scalar text of `map[key]`; empty when absent or not a scalar.
std::string text(const YAML::Node& map, const char* key);
/// Scalar text of `n`; nullopt when not a scalar.
std::optional<std::string> scalar(const YAML::Node& n);
/// Scalar items of a sequence (or the scalar itself); other items are skipped.
std::vector<std::string> texts(const YAML::Node& n);
/// A number from a scalar; nullopt when absent or not numeric.
std::optional<double> number(const YAML::Node& n);

/// Items of `map[key]` that must be maps: an absent key yields none; a
/// non-sequence or an item that is not a map is a located Error naming `what`.
Result<std::vector<YAML::Node>> map_items(const std::string& file, const YAML::Node& map, const char* key,
                                          const char* what);

/// Converts an exception yaml-cpp still throws into a located Error (the
/// accessors above avoid the known ones; this is the net under them).
Error from_exception(const std::string& file, const YAML::Exception& e);

}  // namespace vigil::content::yaml
