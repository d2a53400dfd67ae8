// Logsources: the data-driven logsource and field-name tables (sigma.h).
#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "core/strings.h"
#include "sigma/sigma.h"

namespace vigil::sigma {
namespace {

Error yaml_error(const std::string& file, const yaml::Node& n, std::string msg) {
  Error e;
  e.message = std::move(msg);
  e.location.file = file;
  yaml::Mark m = n.Mark();
  if (m.line >= 0) {
    e.location.line = static_cast<uint32_t>(m.line + 1);
    e.location.column = static_cast<uint32_t>(m.column + 1);
  }
  return e;
}

std::map<std::string, std::string> string_map(const yaml::Node& n) {
  std::map<std::string, std::string> out;
  if (n && n.IsMap())
    for (auto it = n.begin(); it != n.end(); ++it)
      if (it->second.IsScalar()) out[it->first.Scalar()] = it->second.Scalar();
  return out;
}

}  // namespace

Result<Logsources> Logsources::load(const std::string& data_dir) {
  std::string path = data_dir + "/sigma/logsources.yml";
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"cannot read the Sigma logsource mapping " + path, {path}};
  std::stringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), path);
}

Result<Logsources> Logsources::parse(std::string_view text, const std::string& file) {
  Logsources ls;
  yaml::Node root;
  try {
    root = yaml::load(std::string(text));
  } catch (const yaml::Exception& e) {
    Error err{e.msg, {file}};
    if (e.mark.line >= 0) {
      err.location.line = static_cast<uint32_t>(e.mark.line + 1);
      err.location.column = static_cast<uint32_t>(e.mark.column + 1);
    }
    return err;
  }
  if (!root.IsMap()) return yaml_error(file, root, "the logsource mapping must be a YAML map");
  try {
    ls.global_.fields = string_map(root["fields"]);
    const yaml::Node maps = root["field_maps"];
    if (maps && maps.IsMap())
      for (auto it = maps.begin(); it != maps.end(); ++it) {
        FieldMap fm;
        fm.fields = string_map(it->second["fields"]);
        fm.basename = string_map(it->second["basename"]);
        ls.maps_[it->first.Scalar()] = std::move(fm);
      }
    const yaml::Node entries = root["logsources"];
    if (!entries || !entries.IsSequence()) return yaml_error(file, root, "missing `logsources:` list");
    for (const auto& n : entries) {
      if (!n.IsMap()) return yaml_error(file, n, "each logsource entry must be a map");
      Entry e;
      if (n["product"]) e.product = to_lower(n["product"].Scalar());
      if (n["category"]) e.category = to_lower(n["category"].Scalar());
      if (n["service"]) e.service = to_lower(n["service"].Scalar());
      if (n["field_map"]) {
        e.field_map = n["field_map"].Scalar();
        if (!ls.maps_.count(e.field_map))
          return yaml_error(file, n["field_map"], fmt::format("unknown field_map '{}'", e.field_map));
      }
      const yaml::Node when = n["when"];
      if (when && when.IsScalar() && when.Scalar() == "any") {
        e.any = true;
      } else if (when && when.IsSequence()) {
        for (const auto& alt : when) {
          if (!alt.IsMap()) return yaml_error(file, alt, "each `when` alternative must be a map of field: value(s)");
          Selection sel;
          for (auto f = alt.begin(); f != alt.end(); ++f) {
            std::vector<std::string> values;
            // A copy, so the loop below never ranges over a member of a
            // temporary (ASan found that with yaml-cpp's proxy iterators).
            const yaml::Node given = f->second;
            if (given.IsSequence()) {
              for (const auto& v : given) values.push_back(v.Scalar());
            } else {
              values.push_back(given.Scalar());
            }
            sel.emplace_back(f->first.Scalar(), std::move(values));
          }
          e.when.push_back(std::move(sel));
        }
      } else {
        return yaml_error(file, n, "each logsource entry needs `when:` (a list of alternatives, or `any`)");
      }
      ls.entries_.push_back(std::move(e));
    }
    const yaml::Node ph = root["placeholders"];
    if (ph && ph.IsMap())
      for (auto it = ph.begin(); it != ph.end(); ++it) {
        std::vector<std::string> values;
        const yaml::Node given = it->second;  // a copy, as above
        if (given.IsSequence()) {
          for (const auto& v : given) values.push_back(v.Scalar());
        } else if (it->second.IsScalar()) {
          values.push_back(it->second.Scalar());
        }
        ls.placeholders_[it->first.Scalar()] = std::move(values);
      }
  } catch (const yaml::Exception& e) {
    Error err{e.msg, {file}};
    if (e.mark.line >= 0) err.location.line = static_cast<uint32_t>(e.mark.line + 1);
    return err;
  }
  return ls;
}

const Logsources::Entry* Logsources::find(std::string_view product, std::string_view category,
                                           std::string_view service) const {
  std::string p = to_lower(product), c = to_lower(category), s = to_lower(service);
  for (const auto& e : entries_)
    if (e.product == p && e.category == c && e.service == s) return &e;
  return nullptr;
}

const Logsources::FieldMap& Logsources::field_map(const Entry& e) const {
  auto it = maps_.find(e.field_map);
  return it == maps_.end() ? empty_ : it->second;
}

std::string Logsources::map_field(const Entry* e, std::string_view sigma_field) const {
  std::string f(sigma_field);
  if (e) {
    const auto& fm = field_map(*e).fields;
    auto it = fm.find(f);
    if (it != fm.end()) return it->second;
  }
  auto g = global_.fields.find(f);
  return g == global_.fields.end() ? f : g->second;
}

std::string Logsources::basename_field(const Entry* e, std::string_view sigma_field) const {
  if (!e) return {};
  const auto& bm = field_map(*e).basename;
  auto it = bm.find(std::string(sigma_field));
  return it == bm.end() ? std::string() : it->second;
}

const std::vector<std::string>* Logsources::placeholder(std::string_view name) const {
  auto it = placeholders_.find(std::string(name));
  return it == placeholders_.end() ? nullptr : &it->second;
}

}  // namespace vigil::sigma
