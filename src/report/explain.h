// `vigil explain`: one compiled rule shown as the engine runs it. A RuleView
// gathers, from the IR and the loaded corpus (never from re-parsing rule
// text): ATT&CK coverage, event coverage (provider / event id / title),
// pipeline stages with their predicates (macros expanded), the indicator
// atoms with their corpus counts split by language, and the compiled plan.
// Renderers turn a view into Markdown or JSON (HTML lives in report/html.h).
//
// Corpus counts are AtomTable::counts(): the number of loaded rules whose
// predicates reference the interned atom, THIS RULE INCLUDED (so 1 means the
// indicator is specific to this rule). Each rule file/document counts once,
// so two copies of one rule in the corpus count twice.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "content/attack.h"
#include "content/macros.h"
#include "core/diagnostic.h"
#include "core/result.h"
#include "engine/rule_set.h"
#include "ir/rule.h"

namespace vigil::sigma {
class Logsources;
}

namespace vigil::report {

/// data/events/events.yml: Windows channel -> provider name, event id -> title.
class EventTable {
 public:
  struct Event {
    std::string provider;
    std::string title;  ///< empty when the table does not know the id
  };
  /// Load `<data_dir>/events/events.yml`.
  static Result<EventTable> load(const std::string& data_dir);
  static Result<EventTable> parse(std::string_view yaml_text, const std::string& file = "<text>");
  /// Provider and title for an event of a channel (provider falls back to the channel name).
  Event find(std::string_view channel, std::string_view event_id) const;
  /// Non-Windows sources (`sources:`), keyed by Splunk source or sourcetype; null when unknown.
  const Event* find_source(std::string_view source, std::string_view event_name) const;
  bool knows_channel(std::string_view channel) const;
  /// Provider name of a channel, or the channel itself when unknown.
  std::string provider(std::string_view channel) const;

 private:
  struct Channel {
    std::string provider;
    std::map<std::string, Event, std::less<>> events;
  };
  std::map<std::string, Channel, std::less<>> channels_;  // keys lower-cased
  std::map<std::string, Channel, std::less<>> sources_;   // keys lower-cased
};

/// security_content `data_sources/*.yml` (read at run time from the content root).
struct DataSourceDef {
  std::string name, source, sourcetype, separator, file;
};
class DataSourceTable {
 public:
  /// Load every YAML file of `dir`; unreadable ones are reported and skipped.
  static DataSourceTable load_dir(const std::string& dir, DiagnosticSink& diags);
  const DataSourceDef* find(std::string_view name) const;  ///< case-insensitive
  size_t size() const { return defs_.size(); }

 private:
  std::vector<DataSourceDef> defs_;
  std::unordered_map<std::string, size_t> index_;  // lower-cased name
};

struct EventRow {
  std::string provider;  ///< Sysmon, Security-Auditing, CrowdStrike …
  std::string event;     ///< "Event ID 1", "ProcessRollup2", "any event"
  std::string title;     ///< Process creation
  std::string via;       ///< the data source name or Sigma logsource it comes from
};
struct TechniqueRow {
  std::string tactic;  ///< display name, "(unknown tactic)" without an ATT&CK table entry
  std::string id, name;
};
struct StageView {
  std::string command;    ///< tstats, search, … ; Sigma: logsource, selection name, condition
  std::string text;       ///< stage text, macros expanded
  std::string predicate;  ///< empty when the stage does not filter
};
struct IndicatorValue {
  ir::AtomId atom = 0;
  std::string value;
  ir::AtomTable::Counts counts;
  /// Sigma windash: this value is the same as values[variant_of] with another dash ('/', '–',
  /// '—', '―' for '-'); pages show the variants beside that value, as one indicator. -1: none.
  int variant_of = -1;
};
struct IndicatorRow {
  std::string field;  ///< canonical field name ("(any field)" for keywords)
  std::string kind;   ///< eq, contains, ends_with … ("eq, case-sensitive" when cased)
  std::vector<IndicatorValue> values;
};
struct StreamView {
  std::string source;   ///< "datamodel Endpoint.Processes", "raw events", "none (generating command)"
  std::string filter;   ///< predicate text
  std::string capture;  ///< "all fields" or the list
  std::vector<std::string> operators;
};

/// Where a technique's name would be, for one the ATT&CK table lacks (newer than the table).
inline constexpr std::string_view kNotInAttackTable = "(not in the ATT&CK table)";

struct RuleView {
  const ir::CompiledRule* rule = nullptr;
  std::string language;  ///< "splunk" or "sigma" (how the catalog labels the languages)
  std::string status;    ///< ESCU/Sigma status; "not parsed"/"not executable" prepended as needed
  std::vector<TechniqueRow> attack;
  std::vector<EventRow> events;
  std::vector<StageView> stages;
  std::vector<IndicatorRow> indicators;
  std::vector<StreamView> plan;
  std::string prefilter;  ///< the literals the matcher's prefilter scans for this rule's indicators, and what it tests directly
};

/// What explaining needs besides the rule; every pointer but `rules` may be null.
struct ExplainContext {
  const RuleSet* rules = nullptr;
  const content::AttackTable* attack = nullptr;
  const EventTable* events = nullptr;
  const DataSourceTable* data_sources = nullptr;
  const sigma::Logsources* logsources = nullptr;
};

class Explainer {
 public:
  explicit Explainer(ExplainContext ctx);
  ~Explainer();
  RuleView view(const ir::CompiledRule& r) const;
  const ExplainContext& context() const { return ctx_; }

 private:
  struct Impl;
  /// The prefilter as the matcher builds it, for this rule's indicators.
  std::string describe_prefilter(const RuleView& v, const ir::AtomTable& atoms) const;
  ExplainContext ctx_;
  std::unique_ptr<Impl> impl_;
};

/// The tables explaining needs besides the rules: data/events/events.yml, the content
/// root's data_sources/, data/sigma/logsources.yml. Missing tables are reported as
/// warnings and left null (the matching sections then show less).
struct ExplainTables {
  std::unique_ptr<EventTable> events;
  std::unique_ptr<DataSourceTable> data_sources;
  std::unique_ptr<sigma::Logsources> logsources;
  ExplainTables();
  ExplainTables(ExplainTables&&) noexcept;
  ExplainTables& operator=(ExplainTables&&) noexcept;
  ~ExplainTables();
  ExplainContext context(const RuleSet& rules, const content::AttackTable* attack) const;
};
ExplainTables load_explain_tables(const std::string& data_dir, const std::string& content_root, DiagnosticSink& diags);

/// "corpus 16 (sigma 12, splunk 4)".
std::string format_counts(const ir::AtomTable::Counts& c);
/// "splunk" / "sigma".
const char* language_label(ir::Language l);

std::string render_markdown(const RuleView& v);
std::string render_json(const RuleView& v);

/// --dump-ir: every stream, predicate tree (indented, with atom ids) and atom of the rule.
std::string dump_ir(const ir::CompiledRule& r, const ir::AtomTable& atoms);
/// --dump-ast: ESCU: the macro-expanded SPL's parse tree; Sigma: the detection block as loaded.
std::string dump_ast(const ir::CompiledRule& r, const content::MacroTable& macros);

/// The security_content root for a set of paths: --content when given, else the first path
/// inside such a tree, else a `security_content/` directory under a given path or one of its
/// three nearest parents (a corpus dir holding security_content/ beside sigma/, seed_rules/).
std::string discover_content_root(const std::string& explicit_root, const std::vector<std::string>& paths);

}  // namespace vigil::report
