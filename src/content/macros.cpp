#include "content/macros.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>

#include "core/strings.h"

namespace vigil::content {

static std::string key_of(std::string_view name, size_t arity) {
  return std::string(name) + "(" + std::to_string(arity) + ")";
}

void MacroTable::add(Macro m) {
  std::string k = key_of(m.name, m.args.size());
  macros_[k] = std::move(m);
}

const Macro* MacroTable::find(std::string_view name, size_t arity) const {
  auto it = macros_.find(key_of(name, arity));
  if (it != macros_.end()) return &it->second;
  if (arity == 0 && name.size() > 7 && name.substr(name.size() - 7) == "_filter") {
    filter_stub_ = Macro{std::string(name), {}, "search *", "<generated filter macro>"};
    return &filter_stub_;
  }
  return nullptr;
}

static bool load_node(const YAML::Node& n, const std::string& file, MacroTable& t, DiagnosticSink& diags) {
  if (!n.IsMap() || !n["name"] || !n["definition"]) {
    diags.error({file, static_cast<uint32_t>(n.Mark().line + 1), 0}, "macro needs 'name' and 'definition'",
                "bad-macro");
    return false;
  }
  Macro m;
  m.name = n["name"].as<std::string>();
  m.definition = n["definition"].as<std::string>();
  m.file = file;
  if (auto a = n["arguments"]; a && a.IsSequence())
    for (auto x : a) m.args.push_back(x.as<std::string>());
  t.add(std::move(m));
  return true;
}

size_t MacroTable::load_dir(const std::string& dir, DiagnosticSink& diags) {
  namespace fs = std::filesystem;
  size_t n = 0;
  std::error_code ec;
  std::vector<fs::path> files;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (it->is_regular_file() && (it->path().extension() == ".yml" || it->path().extension() == ".yaml"))
      files.push_back(it->path());
  std::sort(files.begin(), files.end());
  for (auto& p : files) {
    try {
      YAML::Node node = YAML::LoadFile(p.string());
      n += load_node(node, p.string(), *this, diags);
    } catch (const YAML::Exception& e) {
      diags.error({p.string(), static_cast<uint32_t>(e.mark.line + 1), static_cast<uint32_t>(e.mark.column + 1)},
                  e.msg, "bad-macro");
    }
  }
  return n;
}

size_t MacroTable::load_file(const std::string& path, DiagnosticSink& diags) {
  size_t n = 0;
  try {
    YAML::Node root = YAML::LoadFile(path);
    for (auto m : root) n += load_node(m, "<builtin>", *this, diags);
  } catch (const YAML::Exception& e) {
    diags.error({path, static_cast<uint32_t>(e.mark.line + 1), 0}, e.msg, "bad-macro");
  }
  return n;
}

}  // namespace vigil::content
