// Risk-based alerting offline: risk events from findings, the Risk data model's records for the
// second pass, and the risk summary that ends a hunt's table.
//
// Splunk ES writes one risk event per risk object of a finding into the `Risk` data model; its
// correlation searches (ESCU's Correlation rules, ES's risk incident rules) read them with
// `| tstats … from datamodel=Risk.All_Risk`. vigil does the same in one `hunt`:
//
//   pass 1: rules over logs ─► findings ─► risk events (risk_events) ─► --risk-out JSONL
//   pass 2: risk events as records (risk_record) ─► Normalizer (data/normalize/risk.yml) ─►
//           Engine with the rules that read datamodel=Risk ─► Correlation findings
//
// In `hunt` the second pass runs alongside the first (RiskPass::start): each finding's risk events
// go to its engine and to --risk-out as the finding is written, so none is kept in memory.
//
// Correlation findings are not turned into risk events (no feedback). Pass 2 runs on the engine's
// streaming, mergeable tstats state, so its results do not depend on --threads.
//
// Mapping (what the risk event fields hold):
// - risk objects: the rule's entities (ESCU `tags.observable` not in role Attacker, `rba.risk_objects`,
//   `finding.entity` + `intermediate_findings.entities`), one event per value of the field in the
//   finding's row; a field absent or null in the row, or holding `-`, `null` or nothing, gives no
//   event. Sigma rules name no entities: the rule set gives every Sigma rule the entities
//   `Computer` (system), `User` and `SubjectUserName` (user), scored with the level's score
//   (engine/rule_set.cpp), so each of those present in the event is a risk object.
// - risk_object_type: user (User, Username, User Name, Email Address), system (Hostname, IP Address,
//   Endpoint, System, Device), else other; the `rba:` form's own types pass through.
// - risk_score: the entity's score (tags form: tags.risk_score or impact × confidence / 100);
//   calculated_risk_score = risk_score (no risk modifiers offline).
// - threat_object / threat_object_type: the values of the rule's threat objects (Attacker role,
//   `rba.threat_objects`), on every risk event of the finding.
// - source: `ESCU - <rule name> - Rule`, `Sigma - <rule title> - Rule`; search_name the same.
// - annotations.mitre_attack.*: technique ids as written (upper-cased), their tactics as ATT&CK's
//   ids (TA0002) and short names (execution), from the ATT&CK table.
// - analyticstories: ESCU analytic stories; tag: Sigma tags, ESCU none.
// - _time: the finding's first time (epoch seconds); a finding without a time gives events without.
#pragma once
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "content/attack.h"
#include "engine/engine.h"
#include "ingest/record.h"
#include "report/finding_view.h"

namespace vigil::risk {

struct RiskEvent {
  double time = 0;
  bool has_time = false;
  std::string risk_object, risk_object_type;
  double risk_score = 0, calculated_risk_score = 0;
  std::string risk_message, source, search_name;
  std::vector<std::string> technique_ids, tactic_ids, tactics;  ///< tactics: ATT&CK short names
  std::vector<std::string> analyticstories;
  std::vector<std::string> threat_objects, threat_object_types;
  std::vector<std::string> tags;
  std::string rule_id, rule_language, risk_object_field;  ///< vigil's own: which rule and field
};

/// ES's risk object type for an observable/entity type: user | system | other.
std::string risk_object_type(std::string_view entity_type);
/// `ESCU - <name> - Rule` / `Sigma - <title> - Rule`.
std::string risk_source(const ir::RuleInfo& rule);
/// True when some stream of the rule reads `datamodel=Risk` (a correlation over risk events).
bool reads_risk(const ir::CompiledRule& rule);

/// The risk events of one finding (see the header comment for the mapping): risk_event_base()
/// with each entity that is_risk_object(), as with_object() makes it.
std::vector<RiskEvent> risk_events(const Finding& f, const report::FindingView& v, const content::AttackTable* attack);
/// What every risk event of a finding carries alike (time, message, source, ATT&CK, stories, tags,
/// threat objects); no risk object yet.
RiskEvent risk_event_base(const Finding& f, const report::FindingView& v, const content::AttackTable* attack);
/// Whether an entity of a finding is one of its risk objects (not a threat or attacker; a value).
bool is_risk_object(const report::EntityView& e);
/// `base` about the risk object `e`; `finding_score` when the entity has no score of its own.
RiskEvent with_object(RiskEvent base, const report::EntityView& e, double finding_score);

/// One JSON object (no newline) with the Risk.All_Risk field names, `_time` as epoch seconds and
/// `_time_iso`; rule_id and risk_object_field as vigil's own extra fields.
std::string to_json(const RiskEvent& e);

/// A risk event as a record of the second pass (format unknown, file `risk`, line = its 1-based
/// position among the hunt's risk events). Records are views into `e`, which must outlive the
/// record, and into `storage`, which owns the values made here.
void risk_record(const RiskEvent& e, size_t line, Record& r, std::vector<std::string>& storage);
/// Whether `field` (a risk_record field, by its raw or its Risk data model name) is one every risk
/// event of one rule carries alike (source, stories, ATT&CK, tags …), or the risk-object type (one of
/// three values); the others (object, score, message, threat objects, time) vary by finding.
bool rule_wide_field(Symbol field);

/// Risk events kept as records for the second pass.
class RiskRecords {
 public:
  void add(const RiskEvent& e);
  size_t size() const { return events_.size(); }
  const std::vector<RiskEvent>& events() const { return events_; }
  /// Calls `visit` with each event as a Record (see risk_record).
  template <class F>
  void for_each(F&& visit) const {
    Record r;
    std::vector<std::string> storage;
    for (size_t i = 0; i < events_.size(); ++i) {
      risk_record(events_[i], i + 1, r, storage);
      visit(static_cast<const Record&>(r));
    }
  }

 private:
  std::vector<RiskEvent> events_;
};

/// Risk per object over the whole hunt, for the table's ending.
struct ObjectTotal {
  std::string object, type;
  double score = 0;
  size_t events = 0;
  std::set<std::string> tactics;  ///< ATT&CK short names
  size_t source_count = 0;        ///< distinct detections (sources)
};
/// Totals by (object, type), highest score first (then object, type), computed directly from the
/// events (RiskPass computes the same on the engine; tests compare the two).
std::vector<ObjectTotal> top_objects(const std::vector<RiskEvent>& events);

/// The hunt table's ending: incidents (findings of the incident rules; null = they did not run),
/// then the top `limit` risk objects (object, type, total score, detections, tactics).
void print_risk_summary(std::FILE* out, const std::vector<report::FindingView>* incidents,
                        const std::vector<ObjectTotal>& top, size_t limit, size_t risk_events);

}  // namespace vigil::risk
