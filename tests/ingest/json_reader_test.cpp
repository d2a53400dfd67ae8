// JSON event formats on real shared data (NXLog attack_data, OTRF zips,
// Sigma regression evtx-JSON, the CrowdStrike example_log) plus a
// hand-written Winlogbeat event. Expected values were derived with python3's
// json/zipfile/tarfile modules on the same files, as noted per test.
#include <filesystem>
#include <map>

#include "ingest_test_util.h"

namespace vigil::test {
namespace {

// attack_data T1047: python3 over `tar xzf … -O`: 8,220 JSON lines, all valid;
// 335 with EventID == 1 and SourceName == Microsoft-Windows-Sysmon; channel
// split Sysmon 7663 / Security 475 / System 70 / Application 12;
// RecordNumber 5471 is on line 4969.
TEST(JsonReader, NxlogAttackDataT1047) {
  const std::string path = shared("data/attack_data/T1047/atomic_red_team/attack_data.tar.gz");
  Collected c = read_paths({path});
  EXPECT_EQ(c.stats.files, 1u);  // the one member
  EXPECT_EQ(c.stats.files_skipped, 0u);
  EXPECT_EQ(c.stats.formats["nxlog-json"], 1u);
  EXPECT_EQ(c.stats.records_read, 8220u);
  EXPECT_EQ(c.stats.records_skipped, 0u);
  EXPECT_EQ(c.stats.bytes, 22537733u);  // member size in `tar tzvf`
  ASSERT_EQ(c.records.size(), 8220u);

  size_t sysmon1 = 0;
  std::map<std::string, size_t> channels;
  const OwnedRecord* wmic = nullptr;
  for (const auto& r : c.records) {
    channels[r.sys("Channel")]++;
    if (r.sys("EventID") == "1" && r.sys("Provider") == "Microsoft-Windows-Sysmon") ++sysmon1;
    if (r.sys("EventRecordID") == "5471") wmic = &r;
  }
  EXPECT_EQ(sysmon1, 335u);
  EXPECT_EQ(channels["Microsoft-Windows-Sysmon/Operational"], 7663u);
  EXPECT_EQ(channels["Security"], 475u);
  EXPECT_EQ(channels["System"], 70u);
  EXPECT_EQ(channels["Application"], 12u);

  ASSERT_NE(wmic, nullptr);
  const OwnedRecord& r = *wmic;
  EXPECT_EQ(r.format, LogFormat::json_nxlog);
  EXPECT_EQ(r.file, path + ":attack_data.txt");
  EXPECT_EQ(r.line, 4969u);
  EXPECT_EQ(r.get("CommandLine"), "wmic  /node:\"127.0.0.1\" process call create notepad.exe ");
  EXPECT_EQ(r.sys("TimeCreated"), "2020-08-01T07:59:18.000000Z");  // EventTime 2020-08-01 07:59:18
  EXPECT_EQ(r.sys("Computer"), "win-dc-6178966.attackrange.local");
  EXPECT_EQ(r.sys("Keywords"), "0x8000000000000000");  // -9223372036854775808 as Windows renders it
  EXPECT_EQ(r.sys("ProcessID"), "2804");
  EXPECT_EQ(r.sys("EventID"), "1");
  EXPECT_EQ(r.sys("Opcode"), "0");  // OpcodeValue
  EXPECT_EQ(r.sys("UserID"), "S-1-5-18");
  // Mapped keys live only in system; NXLog metadata stays in data.
  EXPECT_FALSE(r.has_data("EventTime"));
  EXPECT_FALSE(r.has_data("RecordNumber"));
  EXPECT_FALSE(r.has_data("Hostname"));
  EXPECT_EQ(r.get("Opcode"), "Info");
  EXPECT_EQ(r.get("Severity"), "INFO");
  EXPECT_EQ(r.get("SeverityValue"), "2");
  EXPECT_EQ(r.get("SourceModuleType"), "im_msvistalog");
  EXPECT_TRUE(r.has_data("Message"));
}

// OTRF flat JSON: python3 over the zip member: 68 events, one 4688 whose
// fields are below; TimeCreated is already ISO-8601 UTC and kept as is.
TEST(JsonReader, OtrfSmallZip) {
  const std::string path = shared("data/otrf/atomic/windows/discovery/host/cmd_discover_iexplorer_version_registry.zip");
  Collected c = read_paths({path});
  EXPECT_EQ(c.stats.formats["otrf-json"], 1u);
  EXPECT_EQ(c.stats.records_read, 68u);
  EXPECT_EQ(c.stats.records_skipped, 0u);
  ASSERT_EQ(c.records.size(), 68u);
  size_t n4688 = 0, sysmon = 0;
  for (const auto& r : c.records) {
    EXPECT_EQ(r.file, path + ":cmd_discover_iexplorer_version_registry_2020-10-2123281491.json");
    sysmon += r.sys("Channel") == "Microsoft-Windows-Sysmon/Operational";
    if (r.sys("EventID") != "4688") continue;
    ++n4688;
    EXPECT_EQ(r.get("NewProcessName"), "C:\\Windows\\System32\\reg.exe");
    EXPECT_EQ(r.get("CommandLine"), "reg  query \"HKEY_LOCAL_MACHINE\\Software\\Microsoft\\Internet Explorer\" /v svcVersion");
    EXPECT_EQ(r.sys("TimeCreated"), "2020-10-21T11:28:11.220Z");
    EXPECT_EQ(r.sys("Computer"), "WORKSTATION5");
    EXPECT_EQ(r.sys("Provider"), "Microsoft-Windows-Security-Auditing");
    EXPECT_EQ(r.sys("Keywords"), "0x8020000000000000");
    EXPECT_EQ(r.get("ProcessId"), "0x2844");
    EXPECT_EQ(r.get("@timestamp"), "2020-10-21T11:28:11.220Z");
  }
  EXPECT_EQ(n4688, 1u);
  EXPECT_EQ(sysmon, 59u);
}

// An OTRF zip written by NXLog (EventTime + SourceModuleType) sniffs as
// NXLog; its execution PID is ExecutionProcessID, and the Sysmon ProcessId
// stays data. python3: 6,202 events; first line values below.
TEST(JsonReader, OtrfNxlogShapedZip) {
  Collected c = read_paths({shared("data/otrf/atomic/windows/collection/host/msf_record_mic.zip")});
  EXPECT_EQ(c.stats.formats["nxlog-json"], 1u);
  EXPECT_EQ(c.stats.records_read, 6202u);
  ASSERT_EQ(c.records.size(), 6202u);
  const OwnedRecord& r = c.records[0];
  EXPECT_EQ(r.sys("ProcessID"), "3500");
  EXPECT_EQ(r.sys("ThreadID"), "4168");
  EXPECT_EQ(r.sys("EventRecordID"), "713650");
  EXPECT_EQ(r.sys("EventID"), "13");
  EXPECT_EQ(r.sys("TimeCreated"), "2020-06-09T22:50:54.000000Z");
  EXPECT_EQ(r.sys("Computer"), "WORKSTATION6.mordor.local");
  EXPECT_EQ(r.get("ProcessId"), "6196");
  EXPECT_EQ(r.get("tags"), "mordorDataset");  // array element as a field
  EXPECT_EQ(r.get("port"), "62387");
}

// Sigma regression data (evtx-crate JSON, pretty-printed, some files with
// several objects back to back): python3 json.JSONDecoder.raw_decode over
// the 202 files finds 238 events.
TEST(JsonReader, SigmaRegressionData) {
  const std::string root = shared("corpus/sigma/regression_data");
  std::vector<std::string> files;
  for (auto& e : std::filesystem::recursive_directory_iterator(root))
    if (e.is_regular_file() && e.path().extension() == ".json") files.push_back(e.path().string());
  ASSERT_EQ(files.size(), 202u);
  Collected c = read_paths(files);
  EXPECT_EQ(c.stats.formats["evtx-json"], 202u);
  EXPECT_EQ(c.stats.records_read, 238u);
  EXPECT_EQ(c.stats.records_skipped, 0u);
  EXPECT_TRUE(c.diags.empty());
  for (const auto& r : c.records) {
    SCOPED_TRACE(r.file);
    EXPECT_EQ(r.format, LogFormat::json_evtx);
    EXPECT_FALSE(r.sys("EventID").empty());
    EXPECT_FALSE(r.sys("Provider").empty());
    EXPECT_FALSE(r.sys("TimeCreated").empty());
    EXPECT_FALSE(r.has_data("#attributes"));
  }
}

// Field checks on three regression files, values read from the JSON text.
TEST(JsonReader, EvtxJsonFields) {
  const std::string root = shared("corpus/sigma/regression_data/rules/windows/");
  {
    std::string path;
    for (auto& e : std::filesystem::recursive_directory_iterator(root + "builtin/wmi/win_wmi_activity_nteventlogfile_cleareventlog"))
      if (e.path().extension() == ".json") path = e.path().string();
    Collected c = read_paths({path});
    ASSERT_EQ(c.records.size(), 1u);
    const OwnedRecord& r = c.records[0];
    // UserData.Operation_ClientFailure leaves, named by their keys.
    EXPECT_EQ(r.get("ClientMachine"), "SWACHCHHANDA");
    EXPECT_EQ(r.get("ClientProcessId"), "25920");  // a JSON number
    EXPECT_EQ(r.get("ResultCode"), "0x80041003");
    EXPECT_EQ(r.get("Id"), "{00000000-0000-0000-0000-000000000000}");
    EXPECT_FALSE(r.has_data("xmlns"));
  }
  {
    std::string path;
    for (auto& e : std::filesystem::recursive_directory_iterator(
             root + "builtin/taskscheduler/win_taskscheduler_susp_schtasks_delete_or_disable"))
      if (e.path().extension() == ".json") path = e.path().string();
    Collected c = read_paths({path});
    ASSERT_EQ(c.records.size(), 1u);
    const OwnedRecord& r = c.records[0];
    // EventData has {"#attributes":{"Name":"TaskDisabled"}, TaskName, UserName}.
    EXPECT_EQ(r.get("TaskName"), "\\Microsoft\\Windows\\SystemRestore\\SR");
    EXPECT_EQ(r.get("UserName"), "System");
    EXPECT_EQ(r.data.size(), 2u);
  }
}

// A hand-made evtx-crate event with the less common shapes: EventID with
// Qualifiers, GUIDs without braces, classic Data array, #text, null values.
TEST(JsonReader, EvtxJsonShapes) {
  const std::string doc = R"({"Event":{"#attributes":{"xmlns":"x"},"System":{
 "Provider":{"#attributes":{"Name":"Service Control Manager","Guid":"555908d1-a6d7-4695-8e1e-26931d2012f4","EventSourceName":"Service Control Manager"}},
 "EventID":{"#attributes":{"Qualifiers":16384},"#text":7036},"Version":0,"Level":4,"Keywords":"0x8080000000000000",
 "TimeCreated":{"#attributes":{"SystemTime":"2019-03-19T23:34:25.846290Z"}},"EventRecordID":2233,
 "Correlation":{"#attributes":{"ActivityID":"6B3DFF46-F4E6-4CDA-983B-76B101728AA5"}},
 "Execution":{"#attributes":{"ProcessID":564,"ThreadID":3960}},"Channel":"System","Computer":"PC01","Security":null},
 "EventData":{"Data":[{"#attributes":{"Name":"param1"},"#text":"WinHTTP"},{"#attributes":{"Name":"param2"},"#text":null}],
 "Binary":"570069006E00"}}}
{"Event":{"System":{"EventID":1},"EventData":{"Data":["a","b"],"#text":"c"}}}
)";
  Collected c = read_mem("shapes.json", doc);
  ASSERT_EQ(c.records.size(), 2u);
  const OwnedRecord& r = c.records[0];
  EXPECT_EQ(r.line, 1u);
  EXPECT_EQ(r.sys("EventID"), "7036");
  EXPECT_EQ(r.sys("ProviderGuid"), "{555908d1-a6d7-4695-8e1e-26931d2012f4}");
  EXPECT_EQ(r.sys("ActivityID"), "{6B3DFF46-F4E6-4CDA-983B-76B101728AA5}");
  EXPECT_EQ(r.sys("ProcessID"), "564");
  EXPECT_EQ(r.sys("EventRecordID"), "2233");
  EXPECT_FALSE(r.has_sys("UserID"));
  EXPECT_EQ(r.get("param1"), "WinHTTP");
  EXPECT_TRUE(r.has_data("param2"));
  EXPECT_EQ(r.get("param2"), "");
  EXPECT_EQ(r.get("Binary"), "570069006E00");
  const OwnedRecord& r2 = c.records[1];
  EXPECT_EQ(r2.line, 9u);  // the first document spans lines 1-8
  EXPECT_EQ(r2.all("Data"), (std::vector<std::string>{"a", "b", "c"}));
}

// Winlogbeat/ECS: no sample in ../shared, so this event is written by hand in
// the shape Winlogbeat 7/8 ships (fields from its documentation).
TEST(JsonReader, Winlogbeat) {
  const std::string doc =
      R"({"@timestamp":"2023-05-01T10:00:00.123Z","event":{"code":"4688","kind":"event"},"host":{"name":"ws1"},)"
      R"("winlog":{"channel":"Security","event_id":4688,"computer_name":"WS1.corp.local","record_id":"991",)"
      R"("provider_name":"Microsoft-Windows-Security-Auditing","provider_guid":"{54849625-5478-4994-a5ba-3e3b0328c30d}",)"
      R"("process":{"pid":4,"thread":{"id":96}},"keywords":["Audit Success"],"opcode":"Info",)"
      R"("event_data":{"NewProcessName":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd /c whoami","TokenElevationType":"%%1936"}},)"
      R"("message":"A new process has been created."})";
  Collected c = read_mem("wlb.json", doc + "\n");
  EXPECT_EQ(c.stats.formats["winlogbeat-json"], 1u);
  ASSERT_EQ(c.records.size(), 1u);
  const OwnedRecord& r = c.records[0];
  EXPECT_EQ(r.format, LogFormat::json_winlogbeat);
  EXPECT_EQ(r.sys("Channel"), "Security");
  EXPECT_EQ(r.sys("EventID"), "4688");
  EXPECT_EQ(r.sys("Computer"), "WS1.corp.local");  // winlog wins over host.name
  EXPECT_EQ(r.sys("EventRecordID"), "991");
  EXPECT_EQ(r.sys("Provider"), "Microsoft-Windows-Security-Auditing");
  EXPECT_EQ(r.sys("ProcessID"), "4");
  EXPECT_EQ(r.sys("ThreadID"), "96");
  EXPECT_EQ(r.sys("TimeCreated"), "2023-05-01T10:00:00.123Z");
  EXPECT_EQ(r.get("CommandLine"), "cmd /c whoami");
  EXPECT_EQ(r.get("NewProcessName"), "C:\\Windows\\System32\\cmd.exe");
  EXPECT_EQ(r.get("winlog.keywords"), "Audit Success");
  EXPECT_EQ(r.get("event.kind"), "event");
  EXPECT_EQ(r.get("message"), "A new process has been created.");
}

// CrowdStrike: the data_sources example_log. python3: 42 keys;
// timestamp 1713805173418 ms = 2024-04-22T16:59:33.418 UTC.
TEST(JsonReader, CrowdStrikeExample) {
  std::string json =
      yaml_scalar(shared("corpus/security_content/data_sources/crowdstrike_processrollup2.yml"), "example_log");
  Collected c = read_mem("cs.json", json);
  EXPECT_EQ(c.stats.formats["crowdstrike-json"], 1u);
  ASSERT_EQ(c.records.size(), 1u);
  const OwnedRecord& r = c.records[0];
  EXPECT_EQ(r.format, LogFormat::json_crowdstrike);
  EXPECT_EQ(r.sys("Provider"), "CrowdStrike");
  EXPECT_EQ(r.sys("EventID"), "ProcessRollup2");
  EXPECT_EQ(r.sys("TimeCreated"), "2024-04-22T16:59:33.418000Z");
  EXPECT_FALSE(r.has_sys("Computer"));  // neither ComputerName nor aid_computer_name in the sample
  EXPECT_EQ(r.data.size(), 42u);
  EXPECT_EQ(r.get("CommandLine"), "\"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\" ");
  EXPECT_EQ(r.get("ParentBaseFileName"), "explorer.exe");
  EXPECT_EQ(r.get("event_simpleName"), "ProcessRollup2");

  // ContextTimeStamp (seconds) when there is no timestamp; ComputerName to Computer.
  Collected c2 = read_mem("cs2.json",
                          R"({"event_simpleName":"DnsRequest","ContextTimeStamp":"1700000000.500","ComputerName":"H1"})");
  ASSERT_EQ(c2.records.size(), 1u);
  EXPECT_EQ(c2.records[0].sys("TimeCreated"), "2023-11-14T22:13:20.500000Z");  // date -u -d @1700000000
  EXPECT_EQ(c2.records[0].sys("Computer"), "H1");
}

// A top-level array of events is read element by element.
TEST(JsonReader, TopLevelArray) {
  Collected c = read_mem("arr.json", "[\n {\"EventID\": 1, \"Channel\": \"A\"},\n {\"EventID\": 2, \"Channel\": \"B\"}\n]\n");
  EXPECT_EQ(c.stats.formats["otrf-json"], 1u);
  ASSERT_EQ(c.records.size(), 2u);
  EXPECT_EQ(c.records[0].sys("EventID"), "1");
  EXPECT_EQ(c.records[1].sys("Channel"), "B");
}

}  // namespace
}  // namespace vigil::test
