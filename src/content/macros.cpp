#include "content/macros.h"

#include "core/yaml.h"

#include <algorithm>
#include <filesystem>

#include "content/yaml_access.h"
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
    // One per thread: the loading threads look macros up side by side.
    thread_local Macro filter_stub;
    filter_stub = Macro{std::string(name), {}, "search *", "<generated filter macro>"};
    return &filter_stub;
  }
  return nullptr;
}

static bool load_node(const yaml::Node& n, const std::string& file, MacroTable& t, DiagnosticSink& diags) {
  // Every field through the typed accessors: a malformed macro is reported
  // here, with its place, rather than later as "undefined macro" at each use.
  auto name = yaml::scalar(yaml::child(n, "name"));
  auto definition = yaml::scalar(yaml::child(n, "definition"));
  if (!name || name->empty() || !definition) {
    diags.error(yaml::where(file, n), "macro needs a string 'name' and a string 'definition'", "bad-macro");
    return false;
  }
  Macro m;
  m.name = *name;
  m.definition = *definition;
  m.file = file;
  if (auto a = yaml::child(n, "arguments"); a.IsDefined() && !a.IsNull()) {
    if (!a.IsSequence()) {
      diags.error(yaml::where(file, a), "macro '" + m.name + "': arguments must be a list of names", "bad-macro");
      return false;
    }
    for (const auto& x : a) {
      auto arg = yaml::scalar(x);
      if (!arg) {
        diags.error(yaml::where(file, x), "macro '" + m.name + "': each argument must be a name", "bad-macro");
        return false;
      }
      m.args.push_back(*arg);
    }
  }
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
      yaml::Node node = yaml::load_file(p.string());
      n += load_node(node, p.string(), *this, diags);
    } catch (const yaml::Exception& e) {
      diags.error({p.string(), static_cast<uint32_t>(e.mark.line + 1), static_cast<uint32_t>(e.mark.column + 1)},
                  e.msg, "bad-macro");
    }
  }
  return n;
}

size_t MacroTable::load_file(const std::string& path, DiagnosticSink& diags) {
  size_t n = 0;
  try {
    yaml::Node root = yaml::load_file(path);
    if (!root.IsSequence()) {
      diags.error({path, 1, 0}, "built-in macro file must be a list of macros", "bad-macro");
      return 0;
    }
    for (const auto& m : root) n += load_node(m, "<builtin>", *this, diags);
  } catch (const yaml::Exception& e) {
    diags.error({path, static_cast<uint32_t>(e.mark.line + 1), 0}, e.msg, "bad-macro");
  }
  return n;
}

}  // namespace vigil::content
