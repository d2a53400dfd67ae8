// Loading a rule corpus: walks files and directories, recognises ESCU and
// Sigma documents by content, compiles each into an ir::CompiledRule over one
// shared AtomTable. Rejected rules are kept (with reasons and location) so
// that lint and the run summary can account for every rule file.
#pragma once
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "content/attack.h"
#include "content/escu.h"
#include "content/lookups.h"
#include "content/macros.h"
#include "core/diagnostic.h"
#include "core/result.h"
#include "ir/atom_table.h"
#include "ir/rule.h"

namespace vigil::sigma {
class Logsources;
}
namespace vigil::spl {
struct ParsedSearch;
}

namespace vigil {

struct RuleSetOptions {
  std::string content_root;   ///< --content; empty = discover from each rule path
  std::string data_dir;       ///< vigil's data/ (built-in macros, normalization, sigma logsources)
  bool allow_writes = false;
  std::string cache_dir = {}; ///< where the rule texts are bundled between runs (core/source_cache.h); empty = none
};

class RuleSet {
 public:
  explicit RuleSet(RuleSetOptions opts);
  ~RuleSet();

  /// Load every rule file under the paths. Problems are reported to diags.
  void load(const std::vector<std::string>& paths, DiagnosticSink& diags);

  std::vector<ir::CompiledRule>& rules() { return rules_; }
  const std::vector<ir::CompiledRule>& rules() const { return rules_; }
  ir::AtomTable& atoms() { return atoms_; }
  const ir::AtomTable& atoms() const { return atoms_; }
  /// Lookup tables are read when first named; those named while the rules ran (a `foreach` body
  /// builds its commands then) report a bad CSV here.
  void report_lookup_errors(DiagnosticSink& diags) const { lookups_.report_pending(diags); }
  /// ESCU detections' test definitions, by rule index.
  const std::map<size_t, std::vector<content::EscuTest>>& escu_tests() const { return escu_tests_; }
  /// Files that held no rule at all (not YAML, or neither ESCU nor Sigma).
  size_t files_ignored() const { return files_ignored_; }
  size_t loaded() const;     ///< parsed and executable
  size_t rejected() const;   ///< not parsed or not executable
  /// Files the last load() read: in all, and of those taken from the source bundle.
  size_t files_read() const { return files_read_; }
  size_t files_from_cache() const { return files_from_cache_; }
  /// Of those, the files whose parsed YAML came from the bundle too (not parsed again).
  size_t trees_from_cache() const { return trees_from_cache_; }

  /// Compile an ad-hoc SPL query (vigil search) with the same content.
  ir::CompiledRule compile_query(const std::string& spl, DiagnosticSink& diags);

 private:
  void ensure_content(const std::string& root, DiagnosticSink& diags);
 public:
  struct ParsedFile;

 private:
  void load_parsed(ParsedFile& f, DiagnosticSink& diags);
  /// `parsed`: d.search as spl::parse_search gives it.
  ir::CompiledRule compile_escu(content::EscuDetection d, spl::ParsedSearch parsed, DiagnosticSink& diags);
  /// The Sigma logsource table, loaded by whichever thread needs it first (null: it failed to
  /// load; logsources_error_ says why).
  const sigma::Logsources* logsources();

  RuleSetOptions opts_;
  ir::AtomTable atoms_;
  std::vector<ir::CompiledRule> rules_;
  std::map<size_t, std::vector<content::EscuTest>> escu_tests_;
  content::MacroTable macros_;
  content::LookupRegistry lookups_;
  std::string loaded_root_;
  bool builtins_loaded_ = false;
  std::once_flag logsources_once_;
  std::unique_ptr<sigma::Logsources> logsources_;
  std::optional<Error> logsources_error_;
  bool logsources_tried_ = false;  // the loading thread has asked for it (and reported a failure once)
  uint32_t next_rule_index_ = 0;
  size_t files_ignored_ = 0;
  size_t files_read_ = 0, files_from_cache_ = 0, trees_from_cache_ = 0;
};

}  // namespace vigil
