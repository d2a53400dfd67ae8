#include "ingest/record.h"

namespace vigil {

const char* log_format_name(LogFormat f) {
  switch (f) {
    case LogFormat::unknown: return "unknown";
    case LogFormat::evtx: return "evtx";
    case LogFormat::xml_wineventlog: return "xml";
    case LogFormat::json_nxlog: return "nxlog-json";
    case LogFormat::json_otrf: return "otrf-json";
    case LogFormat::json_evtx: return "evtx-json";
    case LogFormat::json_winlogbeat: return "winlogbeat-json";
    case LogFormat::json_crowdstrike: return "crowdstrike-json";
    case LogFormat::wineventlog: return "wineventlog";
  }
  return "unknown";
}

static const Field* find_in(const std::vector<Field>& v, std::string_view n) {
  for (auto& f : v)
    if (f.name == n) return &f;
  return nullptr;
}
const Field* Record::find_system(std::string_view n) const { return find_in(system, n); }
const Field* Record::find_data(std::string_view n) const { return find_in(data, n); }
std::string_view Record::system_value(std::string_view n) const {
  auto* f = find_system(n);
  return f ? f->value : std::string_view();
}
std::string_view Record::data_value(std::string_view n) const {
  auto* f = find_data(n);
  return f ? f->value : std::string_view();
}

}  // namespace vigil
