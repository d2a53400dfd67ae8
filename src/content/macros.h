// SPL macros: security_content `macros/*.yml` plus vigil's built-ins
// (data/macros.yml: drop_dm_object_name, …). A macro is keyed by name and
// arity, as Splunk's `[name(N)]` stanzas are. A `*_filter` macro that no file
// defines resolves to `search *`, as contentctl generates it.
#pragma once
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"

namespace vigil::content {

struct Macro {
  std::string name;
  std::vector<std::string> args;
  std::string definition;
  std::string file;  ///< where it was defined ("<builtin>" for data/macros.yml entries)
};

class MacroTable {
 public:
  void add(Macro m);
  /// The macro `name` taking `arity` arguments, or null. Missing `*_filter` macros
  /// come back as the synthetic `search *` definition, valid until the thread's next find().
  /// Safe on several threads at once while nothing is added (rule files are expanded on the
  /// loading threads).
  const Macro* find(std::string_view name, size_t arity) const;
  /// Load every `*.yml` under `dir` (name, definition, arguments). Bad files are reported.
  size_t load_dir(const std::string& dir, DiagnosticSink& diags);
  /// Load a YAML list of macros (the built-ins file).
  size_t load_file(const std::string& path, DiagnosticSink& diags);
  size_t size() const { return macros_.size(); }

 private:
  std::map<std::string, Macro> macros_;  // key: name + "(" + arity + ")"
};

}  // namespace vigil::content
