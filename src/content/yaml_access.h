// Typed, non-throwing access to YAML nodes (core/yaml.h) for rule content.
//
// Rule packs come from the internet: any key may hold a scalar, a map or a
// sequence whatever the schema says. core/yaml throws when a conversion does not
// apply (a map read as a string, text read as a number), so every read of rule content goes through these helpers: a value of the wrong
// shape is either ignored (optional text) or returned as a located Error that
// rejects only the rule that holds it.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "core/yaml.h"

#include "core/result.h"

namespace vigil::content::yaml {

// The document model itself (core/yaml.h), reachable as yaml:: from content code.
using vigil::yaml::Exception;
using vigil::yaml::Item;
using vigil::yaml::load;
using vigil::yaml::load_all;
using vigil::yaml::load_file;
using vigil::yaml::Mark;
using vigil::yaml::Node;

/// 1-based location of `n` in `file` (line 0 when the node has no mark).
SourceLocation where(const std::string& file, const yaml::Node& n);

/// `map[key]` when `map` is a map, else an undefined node (never throws).
yaml::Node child(const yaml::Node& map, const char* key);

/// Scalar text of `map[key]`; empty when absent or not a scalar.
std::string text(const yaml::Node& map, const char* key);
/// Scalar text of `n`; nullopt when not a scalar.
std::optional<std::string> scalar(const yaml::Node& n);
/// Scalar items of a sequence (or the scalar itself); other items are skipped.
std::vector<std::string> texts(const yaml::Node& n);
/// A number from a scalar; nullopt when absent or not numeric.
std::optional<double> number(const yaml::Node& n);

/// Items of `map[key]` that must be maps: an absent key yields none; a
/// non-sequence or an item that is not a map is a located Error naming `what`.
Result<std::vector<yaml::Node>> map_items(const std::string& file, const yaml::Node& map, const char* key,
                                          const char* what);

/// Converts an exception core/yaml still throws into a located Error (the
/// accessors above avoid the known ones; this is the net under them).
Error from_exception(const std::string& file, const yaml::Exception& e);

}  // namespace vigil::content::yaml
