// The `example_log` events of the Sysmon EID 1 and Security 4688 data sources
// (../shared/corpus/security_content/data_sources) normalize to the CIM
// Endpoint.Processes values of docs/spl.md §7.3. Expected values were copied
// by hand from the example XML text, applying the mapping column of §7.3
// (e.g. process_name = basename(Image); 4688 ids stay hex; user <- SubjectUserSid).
#include <gtest/gtest.h>
#include "core/yaml.h"

#include <map>
#include <optional>

#include "ingest/reader.h"
#include "normalize/normalizer.h"

namespace vigil {
namespace {

struct Expect {
  const char* field;
  std::optional<std::string> value;  // nullopt = must be absent
};

std::map<std::string, std::string> normalize_example(const std::string& yml) {
  yaml::Node d = yaml::load_file(std::string(VIGIL_SHARED_DIR) + "/corpus/security_content/data_sources/" + yml);
  std::string xml = d["example_log"].as<std::string>();
  auto norm = Normalizer::load(std::string(VIGIL_DATA_DIR) + "/normalize");
  EXPECT_TRUE(norm.ok()) << norm.error().message;
  std::map<std::string, std::string> out;
  DiagnosticSink diags(nullptr);
  ReadStats stats;
  Event ev;
  int records = 0;
  read_buffer(yml, xml, LogFormat::unknown, {}, [&](const Record& r) {
    ++records;
    norm->normalize(r, ev);
    for (auto& f : ev.fields()) out.emplace(std::string(field_names().name(f.name)), std::string(f.value));
  }, diags, stats);
  EXPECT_EQ(records, 1) << yml;
  return out;
}

void check(const std::map<std::string, std::string>& got, const std::vector<Expect>& table) {
  for (auto& e : table) {
    auto it = got.find(e.field);
    if (!e.value) {
      EXPECT_EQ(it, got.end()) << e.field << " must be absent, got '" << (it == got.end() ? "" : it->second) << "'";
      continue;
    }
    ASSERT_NE(it, got.end()) << e.field << " is missing";
    EXPECT_EQ(it->second, *e.value) << e.field;
  }
}

TEST(ExampleLogCim, SysmonEventId1) {
  auto got = normalize_example("sysmon_eventid_1.yml");
  check(got, {
      {"Processes.action", "allowed"},
      {"Processes.dest", "win-dc-6764986.attackrange.local"},
      {"Processes.original_file_name", "Cmd.Exe"},
      {"Processes.parent_process",
       "\"powershell.exe\" -noninteractive -encodedcommand "
       "WwBDAG8AbgBzAG8AbABlAF0AOgA6AEkAbgBwAHUAdABFAG4AYwBvAGQAaQBuAGcAIAA9ACAATgBlAHcALQBPAGIAagBlAGMAdAAgAFQAZQB4AHQA"
       "LgBVAFQARgA4AEUAbgBjAG8AZABpAG4AZwAgACQAZgBhAGwAcwBlADsAIABJAG0AcABvAHIAdAAtAE0AbwBkAHUAbABlACAAIgBDADoAXABBAHQA"
       "bwBtAGkAYwBSAGUAZABUAGUAYQBtAFwAaQBuAHYAbwBrAGUALQBhAHQAbwBtAGkAYwByAGUAZAB0AGUAYQBtAFwASQBuAHYAbwBrAGUALQBBAHQA"
       "bwBtAGkAYwBSAGUAZABUAGUAYQBtAC4AcABzAGQAMQAiACAALQBGAG8AcgBjAGUACgBJAG4AdgBvAGsAZQAtAEEAdABvAG0AaQBjAFQAZQBzAHQA"
       "IAAiAFQAMQAwADAAMwAuADAAMAAyACIAIAAtAEMAbwBuAGYAaQByAG0AOgAkAGYAYQBsAHMAZQAgAC0AVABpAG0AZQBvAHUAdABTAGUAYwBvAG4A"
       "ZABzACAAMwAwADAAIAAtAEUAeABlAGMAdQB0AGkAbwBuAEwAbwBnAFAAYQB0AGgAIABDADoAXABBAHQAbwBtAGkAYwBSAGUAZABUAGUAYQBtAFwA"
       "YQB0AGMAXwBlAHgAZQBjAHUAdABpAG8AbgAuAGMAcwB2AA=="},
      {"Processes.parent_process_exec", "powershell.exe"},
      {"Processes.parent_process_guid", "{96128EA2-F211-5F7E-DF00-000000007F01}"},
      {"Processes.parent_process_id", "4624"},
      {"Processes.parent_process_name", "powershell.exe"},
      {"Processes.parent_process_path", "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"},
      {"Processes.process",
       "\"C:\\Windows\\system32\\cmd.exe\" /c \"reg save HKLM\\sam %%temp%%\\sam & reg save HKLM\\system "
       "%%temp%%\\system & reg save HKLM\\security %%temp%%\\security\" "},
      {"Processes.process_current_directory", "C:\\Users\\ADMINI~1\\AppData\\Local\\Temp\\"},
      {"Processes.process_exec", "cmd.exe"},
      {"Processes.process_guid", "{96128EA2-F212-5F7E-E400-000000007F01}"},
      {"Processes.process_hash",
       "MD5=F4F684066175B77E0C3A000549D2922C,SHA256=935C1861DF1F4018D698E8B65ABFA02D7E9037D8F68CA3C2065B6CA165D44AD2,"
       "IMPHASH=3062ED732D4B25D1C64F084DAC97D37A"},
      {"Processes.process_id", "2296"},
      {"Processes.process_integrity_level", "high"},
      {"Processes.process_name", "cmd.exe"},
      {"Processes.process_path", "C:\\Windows\\System32\\cmd.exe"},
      {"Processes.user", "ATTACKRANGE\\Administrator"},
      {"Processes.user_id", "S-1-5-18"},
      // Splunk raw view of the same event.
      {"EventCode", "1"},
      {"host", "win-dc-6764986.attackrange.local"},
      {"source", "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational"},
      {"sourcetype", "XmlWinEventLog"},
      {"Image", "C:\\Windows\\System32\\cmd.exe"},
      {"RecordNumber", "4522"},
  });
}

TEST(ExampleLogCim, SecurityEventId4688) {
  auto got = normalize_example("windows_event_log_security_4688.yml");
  check(got, {
      {"Processes.action", "allowed"},
      {"Processes.dest", "ar-win-1"},
      {"Processes.original_file_name", std::nullopt},  // 4688 has no PE original file name
      {"Processes.parent_process", std::nullopt},      // nor a parent command line
      {"Processes.process_guid", std::nullopt},
      {"Processes.parent_process_guid", std::nullopt},
      {"Processes.process_hash", std::nullopt},
      {"Processes.parent_process_id", "0xb2c"},        // hex text, not converted
      {"Processes.parent_process_name", "splunkd.exe"},
      {"Processes.parent_process_path", "C:\\Program Files\\SplunkUniversalForwarder\\bin\\splunkd.exe"},
      {"Processes.process",
       "\"C:\\Program Files\\SplunkUniversalForwarder\\bin\\splunk-powershell.exe\" --ps2"},
      {"Processes.process_exec", "splunk-powershell.exe"},
      {"Processes.process_id", "0xf84"},
      {"Processes.process_integrity_level", "system"},  // MandatoryLabel System Mandatory Level
      {"Processes.process_name", "splunk-powershell.exe"},
      {"Processes.process_path", "C:\\Program Files\\SplunkUniversalForwarder\\bin\\splunk-powershell.exe"},
      {"Processes.user", "NT AUTHORITY\\SYSTEM"},        // SubjectUserSid as rendered in the example
      {"Processes.vendor_product", "Microsoft Windows"},
      {"EventCode", "4688"},
      {"source", "XmlWinEventLog:Security"},
      {"host", "ar-win-1"},
      {"Process_Command_Line",
       "\"C:\\Program Files\\SplunkUniversalForwarder\\bin\\splunk-powershell.exe\" --ps2"},
  });
}

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

// Sysmon 13/11/3 example logs into Endpoint.Registry, Endpoint.Filesystem and
// Network_Traffic.All_Traffic: the data sources' field_mappings (Computer -> dest,
// TargetObject -> registry_path, Details -> registry_value_data, TargetFilename -> file_path, …)
// plus CIM semantics. registry_value_data keeps the hex inside Sysmon's `DWORD (…)`/`QWORD (…)`
// because the corpus compares it as `0x00000001` (e.g. Registry.registry_value_data="0x00000001").
TEST(ExampleLogCim, SysmonEventId13Registry) {
  auto got = normalize_example("sysmon_eventid_13.yml");
  check(got, {
      {"Registry.action", "modified"},
      {"Registry.dest", "win-host-623.attackrange.local"},
      {"Registry.process_guid", "{0C1E0330-048F-60E8-0B00-00000000D001}"},
      {"Registry.process_id", "628"},
      {"Registry.process_name", "lsass.exe"},
      {"Registry.registry_path", "HKLM\\System\\CurrentControlSet\\Services\\W32Time\\SecureTimeLimits\\SecureTimeHigh"},
      {"Registry.registry_value_name", "SecureTimeHigh"},
      {"Registry.registry_hive", "HKLM"},
      {"Registry.registry_value_data", "0x01d776fd-0xd724b8c5"},
      {"Processes.process_name", std::nullopt},  // not a process-creation event
  });
}

TEST(ExampleLogCim, SysmonEventId11Filesystem) {
  auto got = normalize_example("sysmon_eventid_11.yml");
  check(got, {
      {"Filesystem.action", "created"},
      {"Filesystem.dest", "win-dc-mhaag-attack-range-84.attackrange.local"},
      {"Filesystem.file_path",
       "C:\\Users\\Administrator\\Downloads\\mimikatz_trunk\\x64\\CURRENT_USER_My_4_atomic@art2.local.pfx"},
      {"Filesystem.file_name", "CURRENT_USER_My_4_atomic@art2.local.pfx"},
      {"Filesystem.file_create_time", "2023-02-08 13:01:11.053"},
      {"Filesystem.process_guid", "{0F9A6540-A70E-63E2-3091-00000000BD02}"},
      {"Filesystem.process_id", "9332"},
      {"Filesystem.process_name", "mimikatz.exe"},
  });
}

TEST(ExampleLogCim, SysmonEventId3NetworkTraffic) {
  auto got = normalize_example("sysmon_eventid_3.yml");
  check(got, {
      {"All_Traffic.dest", "youssef5.genious.net"},
      {"All_Traffic.dest_ip", "41.77.117.236"},
      {"All_Traffic.dest_port", "21"},
      {"All_Traffic.src_ip", "10.0.1.14"},
      {"All_Traffic.src_port", "61722"},
      {"All_Traffic.transport", "tcp"},
      {"All_Traffic.direction", "outbound"},
      {"All_Traffic.app", "agent_tesla-deob.exe"},
      {"All_Traffic.user", "ATTACKRANGE\\Administrator"},
  });
}

}  // namespace
}  // namespace vigil
