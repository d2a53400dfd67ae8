// Sigma front end: Sigma rule YAML -> ir::CompiledRule on the shared IR.
//
// Pipeline per rule document (stages, each with located diagnostics):
//   YAML doc -> metadata (RuleInfo) -> logsource -> event selection predicate
//            -> detection items (field|modifiers: values) -> atoms
//            -> condition (sigma/condition.h) -> Predicate
//   plan = one raw Stream, filter = logsource AND condition, no operators.
// Correlation rules (Sigma v2) compile to a plan whose stream 0 (source none)
// runs a CorrelationOperator over streams 1..n (the referenced rules' events);
// the references are resolved by link_correlations() once every file is loaded.
//
// Field names go through the data-file mapping (data/sigma/logsources.yml):
// process_creation rules use the CIM Endpoint.Processes fields so one rule
// runs on Sysmon 1, Security 4688 and CrowdStrike alike, and the Sigma
// indicator `Image|endswith: '\wmic.exe'` interns to the same atom as SPL's
// `Processes.process_name=wmic.exe`. Sigma matching is case-insensitive except
// `|cased` and `|re`.
//
// Risk score from level (ESCU's severity bands 0-20/21-40/41-60/61-80/81-100,
// taking each band's midpoint): informational 10, low 30, medium 50, high 70,
// critical 90; unknown or missing level 50.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/yaml.h"

#include "core/diagnostic.h"
#include "core/result.h"
#include "ir/atom_table.h"
#include "ir/predicate.h"
#include "ir/rule.h"

namespace vigil::sigma {

/// True for a Sigma rule document (detection + logsource) or a correlation document.
bool looks_like_sigma(const yaml::Node& doc);

/// Risk score for a Sigma level (see the table at the top of this header).
double risk_score_for_level(std::string_view level);

/// The logsource and field-name mapping tables (data/sigma/logsources.yml).
class Logsources {
 public:
  /// One alternative of an event selection: AND over fields, OR over each field's values.
  using Selection = std::vector<std::pair<std::string, std::vector<std::string>>>;
  struct Entry {
    std::string product, category, service;  ///< empty = not set
    bool any = false;                         ///< `when: any`: every event
    std::vector<Selection> when;              ///< OR of alternatives
    std::string field_map;                    ///< name in field_maps, or empty
  };
  struct FieldMap {
    std::map<std::string, std::string> fields;    ///< Sigma name -> event field
    std::map<std::string, std::string> basename;  ///< Sigma name -> basename field
  };

  /// Load `<data_dir>/sigma/logsources.yml` (data_dir is the repo's data/).
  static Result<Logsources> load(const std::string& data_dir);
  /// Parse the mapping from YAML text (`file` names it in errors).
  static Result<Logsources> parse(std::string_view yaml_text, const std::string& file = "<text>");

  /// The entry for a rule's logsource; null when no entry has exactly its product/category/service.
  const Entry* find(std::string_view product, std::string_view category, std::string_view service) const;
  /// The field map of an entry (never null: an empty map when it has none).
  const FieldMap& field_map(const Entry& e) const;
  /// Event field name for a Sigma field of a rule with this entry (identity when unmapped).
  std::string map_field(const Entry* e, std::string_view sigma_field) const;
  /// Basename field for `endswith '\X'` rewriting, or empty.
  std::string basename_field(const Entry* e, std::string_view sigma_field) const;
  /// Configured values of an `expand` placeholder (without the % signs); null when none.
  const std::vector<std::string>* placeholder(std::string_view name) const;
  void set_placeholder(std::string name, std::vector<std::string> values) { placeholders_[std::move(name)] = std::move(values); }

  const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::vector<Entry> entries_;
  std::map<std::string, FieldMap> maps_;
  FieldMap global_;  // `fields:` applied to every rule
  std::map<std::string, std::vector<std::string>> placeholders_;
  FieldMap empty_;
};

/// Load every Sigma rule document in `text` (a file may hold several YAML docs).
/// Every returned rule gets a unique rule index from `next_rule_index` (incremented),
/// and every atom its plan uses is registered in `atoms` under that index.
/// A rule that cannot be compiled comes back with parsed=false (or executable=false),
/// `reasons` and `location`, and the problem is reported to `diags`.
std::vector<ir::CompiledRule> load_file(const std::string& path, std::string_view text, ir::AtomTable& atoms,
                                        const Logsources& ls, uint32_t& next_rule_index, DiagnosticSink& diags);
/// The same, for a file whose YAML documents are already parsed (`text` is their source).
std::vector<ir::CompiledRule> load_docs(const std::string& path, std::string_view text,
                                        const std::vector<yaml::Node>& docs, ir::AtomTable& atoms,
                                        const Logsources& ls, uint32_t& next_rule_index, DiagnosticSink& diags);

/// Rules load_docs compiled against an atom table of their own (`own`, with rule indexes from 0: a
/// loading thread compiles files side by side that way) moved into the corpus' table: each of
/// `own`'s atoms is interned in `atoms` in `own`'s order, the rules' predicates renumbered, and
/// every rule registered under the next index of `next_rule_index`. Atom ids and rule indexes come
/// out as load_docs into `atoms` would have made them. Not for correlation rules (their operator
/// keeps its rule index): such a file is compiled with load_docs on the corpus' table.
std::vector<ir::CompiledRule> adopt(std::vector<ir::CompiledRule> rules, const ir::AtomTable& own,
                                    ir::AtomTable& atoms, uint32_t& next_rule_index);

struct LinkStats {
  size_t correlations = 0;  ///< correlation rules seen
  size_t linked = 0;        ///< made executable
  size_t failed = 0;        ///< a referenced rule is missing or not executable
};
/// Resolve correlation rules against the loaded rules (by Sigma `id` or `name`):
/// appends one stream per referenced rule (its filter, raw source, capture_all)
/// and marks the correlation executable. Call once, after every file is loaded.
LinkStats link_correlations(std::vector<ir::CompiledRule>& rules, ir::AtomTable& atoms, DiagnosticSink& diags);

}  // namespace vigil::sigma
