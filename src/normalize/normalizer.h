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
// optional function (basename, lower, upper, map=<value_map>, regdata: the
// `0x…` inside Sysmon's `DWORD (0x…)`, first_component: `HKLM` of a path).
// A dataset with an empty prefix adds raw-view fields (e.g. eventtype). When no
// field of a placeholder is present the mapped field is absent, never empty.
#pragma once
#include <string>
#include <vector>

#include "core/diagnostic.h"
#include "core/result.h"
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
    enum class Fn : uint8_t { none, basename, lower, upper, map, regdata, first_component } fn = Fn::none;
    int map = -1;
  };
  struct Spec {
    Symbol target;
    std::vector<Part> parts;
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

 private:
  bool apply(const Spec& s, Event& e, uint16_t view) const;
  std::vector<RawView> raw_views_;
  std::vector<SourceMapping> mappings_;
  std::vector<DatasetInfo> datasets_;
  std::vector<std::vector<std::pair<std::string, std::string>>> value_maps_;
  Symbol time_created_ = kNoSymbol;
};

}  // namespace vigil
