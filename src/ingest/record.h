// Record: one raw event as read from an input, before any normalization.
//
// Readers fill `system` with canonical System names whatever the transport
// (EVTX, XmlWinEventLog, NXLog/OTRF/Winlogbeat/evtx JSON, CrowdStrike) and
// `data` with the event's own fields (EventData `Data Name=…`, UserData leaves,
// or the top-level keys of a flat JSON event) under their own names.
// All views point into memory owned by the reader; a Record is valid only for
// the duration of the RecordVisitor call that receives it.
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

namespace vigil {

enum class LogFormat : uint8_t {
  unknown,
  evtx,             ///< binary .evtx
  xml_wineventlog,  ///< <Event xmlns=…>…</Event> text (Splunk XmlWinEventLog, evtx_dump -o xml)
  json_nxlog,       ///< NXLog im_msvistalog JSON lines (attack_data)
  json_otrf,        ///< OTRF Security-Datasets JSON lines (Mordor)
  json_evtx,        ///< evtx-crate JSON: {"Event":{"System":…,"EventData":…}}
  json_winlogbeat,  ///< Winlogbeat/ECS: {"winlog":{…},"event":{…}}
  json_crowdstrike, ///< CrowdStrike FDR/sensor events: event_simpleName, aid, …
  wineventlog,      ///< classic WinEventLog text: a timestamp line, then `Key=Value` lines and Message
};
const char* log_format_name(LogFormat f);

struct Field {
  std::string_view name;
  std::string_view value;
};

/// Canonical System field names used in Record::system.
namespace sys {
inline constexpr std::string_view Provider = "Provider";            ///< e.g. Microsoft-Windows-Sysmon
inline constexpr std::string_view ProviderGuid = "ProviderGuid";    ///< {5770385F-…}
inline constexpr std::string_view EventID = "EventID";              ///< decimal text
inline constexpr std::string_view Version = "Version";
inline constexpr std::string_view Level = "Level";
inline constexpr std::string_view Task = "Task";
inline constexpr std::string_view Opcode = "Opcode";
inline constexpr std::string_view Keywords = "Keywords";            ///< 0x8000000000000000
inline constexpr std::string_view TimeCreated = "TimeCreated";      ///< ISO-8601 UTC, e.g. 2020-08-01T07:59:18.374000Z
inline constexpr std::string_view EventRecordID = "EventRecordID";  ///< decimal text
inline constexpr std::string_view ActivityID = "ActivityID";
inline constexpr std::string_view ProcessID = "ProcessID";          ///< Execution ProcessID
inline constexpr std::string_view ThreadID = "ThreadID";
inline constexpr std::string_view Channel = "Channel";              ///< e.g. Microsoft-Windows-Sysmon/Operational
inline constexpr std::string_view Computer = "Computer";
inline constexpr std::string_view UserID = "UserID";                ///< Security UserID SID
}  // namespace sys

struct Record {
  LogFormat format = LogFormat::unknown;
  std::string_view file;   ///< input name (path, or `archive.tar.gz:member`)
  uint64_t offset = 0;     ///< byte offset of the record in the (decompressed) input
  uint64_t line = 0;       ///< 1-based line for text formats, 0 for binary
  bool recovered = false;  ///< EVTX: found outside the live records (slack, unlisted chunk), not a live event
  std::vector<Field> system;
  std::vector<Field> data;

  /// First system field with this name; empty view when absent.
  std::string_view system_value(std::string_view name) const;
  /// First data field with this name; empty view when absent.
  std::string_view data_value(std::string_view name) const;
  const Field* find_system(std::string_view name) const;
  const Field* find_data(std::string_view name) const;
};

}  // namespace vigil
