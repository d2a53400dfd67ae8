#include "content/yaml_access.h"

#include "core/strings.h"

namespace vigil::content::yaml {

SourceLocation where(const std::string& file, const yaml::Node& n) {
  SourceLocation loc{file};
  if (n.IsDefined()) {
    auto m = n.Mark();
    if (m.line >= 0) loc.line = static_cast<uint32_t>(m.line + 1);
    if (m.column >= 0) loc.column = static_cast<uint32_t>(m.column + 1);
  }
  return loc;
}

yaml::Node child(const yaml::Node& map, const char* key) {
  if (!map.IsDefined() || !map.IsMap()) return yaml::Node();
  return map[key];
}

std::optional<std::string> scalar(const yaml::Node& n) {
  if (!n.IsDefined() || !n.IsScalar()) return std::nullopt;
  return n.Scalar();
}

std::string text(const yaml::Node& map, const char* key) { return scalar(child(map, key)).value_or(std::string()); }

std::vector<std::string> texts(const yaml::Node& n) {
  std::vector<std::string> out;
  if (!n.IsDefined()) return out;
  if (n.IsSequence()) {
    for (const auto& x : n)
      if (x.IsScalar()) out.push_back(x.Scalar());
  } else if (n.IsScalar()) {
    out.push_back(n.Scalar());
  }
  return out;
}

std::optional<double> number(const yaml::Node& n) {
  auto s = scalar(n);
  double d;
  if (s && parse_number(*s, d)) return d;
  return std::nullopt;
}

Result<std::vector<yaml::Node>> map_items(const std::string& file, const yaml::Node& map, const char* key,
                                          const char* what) {
  std::vector<yaml::Node> out;
  yaml::Node seq = child(map, key);
  if (!seq.IsDefined() || seq.IsNull()) return out;
  if (!seq.IsSequence()) return Error{std::string(what) + " must be a list of maps", where(file, seq)};
  for (const auto& item : seq) {
    if (!item.IsMap()) return Error{std::string("each item of ") + what + " must be a map", where(file, item)};
    out.push_back(item);
  }
  return out;
}

Error from_exception(const std::string& file, const yaml::Exception& e) {
  SourceLocation loc{file};
  if (e.mark.line >= 0) loc.line = static_cast<uint32_t>(e.mark.line + 1);
  if (e.mark.column >= 0) loc.column = static_cast<uint32_t>(e.mark.column + 1);
  return Error{"malformed rule content: " + e.msg, loc};
}

}  // namespace vigil::content::yaml
