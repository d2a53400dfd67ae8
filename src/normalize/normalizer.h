// Normalizer: turns Records into Events using mapping tables loaded from data
// files (data/normalize/*.yml), so that users extend field mappings and CIM
// datasets without recompiling.
//
// Mapping file shape:
//   raw_views:                    # Splunk raw view, chosen by input format
//     - formats: [evtx, xml, …]   # LogFormat names (record.h log_format_name)
//       fields: {source: "XmlWinEventLog:{Channel}", host: "{Computer}", …}
//   datasets:
//     - name: Endpoint.Processes  # CIM dataset; fields get the prefix below
//       prefix: Processes
//       sources:
//         - label: Sysmon EventID 1
//           when: {Channel: Microsoft-Windows-Sysmon/Operational, EventID: "1"}
//           fields: {process_name: "{Image:basename}", action: allowed, …}
//   value_maps: {name: {from: to, …}}
//
// A field spec is a template: literal text plus `{A|B:fn}` placeholders that
// take the first present field among A, B (raw view names) and apply an
// optional function (basename, lower, upper, map=<value_map>, strict_map=<value_map>
// (absent when the value has no entry), kv=<KEY> (one key of `K=v,…`), nth=<N> (the N-th
// value of a multivalue field, alone in its spec), regdata: the
// `0x…` inside Sysmon's `DWORD (0x…)`, first_component: `HKLM` of a path, all: every value of a
// multivalue field, alone in its spec). A source's `root_fields:` (same shape as `fields:`) are the
// data model's root fields (source, sourcetype, host) put in the dataset's view without the prefix.
// A dataset with an empty prefix adds raw-view fields (e.g. eventtype). When no
// field of a placeholder is present the mapped field is absent, never empty.
// `{=eventdata_xml}` / `{=system_xml}` render the record's EventData / System
// part as Splunk's EventData_Xml / System_Props_Xml hold it.
//
//   raw_fields:                   # the add-on's field names per event source
//     - label: Security 4624
//       when: {Channel: Security, EventID: "4624"}
//       fields: {Logon_Type: "{LogonType}", Account_Name: ["{SubjectUserName}", "{TargetUserName}"]}
//       unavailable: {TaskCategory: "rendered from the provider's message table"}
// Every raw_fields entry whose `when` holds applies, in file order; a field
// already present is left alone (so specific entries go before generic ones),
// and a list value makes a multivalue field in that order. `unavailable`
// documents the listed fields that cannot be derived offline, with the reason;
// lint and the coverage test read it. Entries are indexed by EventID so an
// event visits only the entries that can apply to it.
#pragma once
#include <string>
#include <unordered_map>
#include <vector>

#include "core/diagnostic.h"
#include "core/result.h"
#include "core/strings.h"
#include "normalize/event.h"

namespace vigil {

struct DatasetInfo {
  std::string name;    ///< Endpoint.Processes
  std::string prefix;  ///< Processes
  std::vector<std::string> fields;          ///< unprefixed field names the dataset defines
  std::vector<std::string> source_labels;   ///< e.g. "Sysmon EventID 1"
  std::vector<std::string> aliases;         ///< other names, e.g. the model root `Network_Traffic.Network_Traffic`
};

class Normalizer {
 public:
  /// Load every `*.yml` in `dir` (the repo's data/normalize).
  static Result<Normalizer> load(const std::string& dir);

  /// Fill `out` from `r` (raw view, then every dataset view whose condition holds).
  void normalize(const Record& r, Event& out) const;

  /// Dataset id by name ("Endpoint.Processes"); -1 when unknown.
  int dataset_id(std::string_view name) const;
  const std::vector<DatasetInfo>& datasets() const { return datasets_; }

  struct Part {
    std::string literal;         ///< when fields is empty
    std::vector<Symbol> fields;  ///< first present wins
    enum class Fn : uint8_t {
      none, basename, lower, upper, map, regdata, first_component,
      kv,          ///< value of key `literal` in a `K=v,K2=v2` list (Sysmon Hashes)
      strict_map,  ///< like map, but a value without entry leaves the field absent
      nth,         ///< the map-th (1-based) value of a multivalue field; the spec's only part
      all,         ///< every value of a multivalue field, each a value of the target; the spec's only part
      eventdata_xml, system_xml,  ///< record-level (fields empty): render a part of the record as XML
    } fn = Fn::none;
    int map = -1;
  };
  struct Spec {
    Symbol target;
    std::vector<Part> parts;
    bool append = false;  ///< a later value of a multivalue field: added even when the target exists
    bool metadata = false;  ///< a raw view's `index`, `source` or `sourcetype` (Event::Field::metadata)
  };
  struct Condition {
    Symbol field;
    std::vector<std::string> values;  ///< case-insensitive alternatives
  };
  struct SourceMapping {
    std::string label;
    std::vector<Condition> when;
    std::vector<Spec> fields;
    DatasetId dataset;
  };
  struct RawView {
    std::vector<LogFormat> formats;
    std::vector<Spec> fields;
  };
  struct RawFieldSet {
    std::string label;
    std::vector<Condition> when;
    std::vector<Spec> fields;
    std::vector<std::pair<std::string, std::string>> unavailable;  ///< field -> why it cannot be derived
  };

  /// Raw-view field names the tables can add to an event of this channel and event id (empty
  /// view = any): the format-independent raw view, the raw_fields entries whose condition can hold,
  /// and raw-view eventtypes. The event's own fields (EventData …) are not included.
  std::vector<std::string> mapped_raw_fields(std::string_view channel, std::string_view event_id) const;
  /// The event fields those raw_fields entries read for this source ({TaskContent} …): names the
  /// event itself carries, which is what an unreadable example log cannot tell.
  std::vector<std::string> mapped_raw_inputs(std::string_view channel, std::string_view event_id) const;
  /// Why `field` cannot be derived for this source (from `unavailable`); empty when not documented.
  std::string unavailable_reason(std::string_view channel, std::string_view event_id, std::string_view field) const;
  const std::vector<RawFieldSet>& raw_field_sets() const { return raw_sets_; }

 private:
  bool apply(const Spec& s, Event& e, uint16_t view) const;
  /// Table entries (the add-on's field sets, the data model mappings) to try per EventID: the ids
  /// their conditions name (lower case, sorted), each with the entries, in file order, whose
  /// EventID condition names it or that have none; `generic` for any other event.
  struct ByEventId {
    std::vector<std::pair<std::string, std::vector<uint32_t>>> ids;
    std::vector<uint32_t> generic;
    /// The list for the event's EventID (compared without case); no allocation.
    const std::vector<uint32_t>& lookup(const Event& e, Symbol event_id) const;
  };
  template <class Entry>
  static ByEventId index_by_event_id(const std::vector<Entry>& entries, Symbol event_id);
  bool set_may_hold(const RawFieldSet& set, std::string_view channel, std::string_view event_id) const;
  std::vector<RawView> raw_views_;
  std::vector<RawFieldSet> raw_sets_;
  ByEventId sets_by_id_;  ///< raw_sets_ by EventID
  Symbol event_id_ = kNoSymbol;
  std::vector<SourceMapping> mappings_;
  ByEventId mappings_by_id_;  ///< mappings_ by EventID
  std::vector<DatasetInfo> datasets_;
  /// Per value map: its keys in ASCII lower case -> the value of the first entry with that key
  /// (a hash lookup: security_signature has 53 entries, looked up for every Security event).
  std::vector<std::unordered_map<std::string, std::string, TextHash, TextEq>> value_maps_;
  /// The value of `v` in map `map` (ASCII case ignored), or null.
  const std::string* map_value(uint32_t map, std::string_view v) const;
  Symbol time_created_ = kNoSymbol;
};

}  // namespace vigil
