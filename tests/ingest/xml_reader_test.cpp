// XmlWinEventLog text: real example_log samples from security_content's
// data_sources and hand-written framing/edge cases.
#include <filesystem>
#include <regex>
#include <set>

#include "ingest_test_util.h"

namespace vigil::test {
namespace {

const std::string kDataSources = shared("corpus/security_content/data_sources");

std::string regex_group(const std::string& text, const std::string& pattern) {
  std::smatch m;
  return std::regex_search(text, m, std::regex(pattern)) ? m[1].str() : std::string();
}

// The YAML helper must reproduce the scalar exactly, or the tests below would
// test it instead of the reader. UTF-8 byte lengths from python3
// len(yaml.safe_load(...)['example_log'].encode()).
TEST(YamlHelper, ExampleLogMatchesPyYaml) {
  EXPECT_EQ(yaml_scalar(kDataSources + "/sysmon_eventid_1.yml", "example_log").size(), 2827u);  // double-quoted
  EXPECT_EQ(yaml_scalar(kDataSources + "/windows_event_log_security_4688.yml", "example_log").size(), 1402u);  // plain
  EXPECT_EQ(yaml_scalar(kDataSources + "/crowdstrike_processrollup2.yml", "example_log").size(), 1689u);  // single
}

// Every data_sources example_log holding an <Event> yields one record whose
// EventID and Computer are those in the XML text (taken by regex here), or,
// for the 14 samples that are cut short in the YAML, exactly one bad-xml
// diagnostic. The 55/14 split and the list were derived with python3
// (xml.etree.ElementTree.fromstring on each yaml.safe_load'ed example_log).
TEST(XmlReader, DataSourceExampleLogs) {
  const std::set<std::string> broken = {
      "powershell_script_block_logging_4104.yml", "windows_event_log_security_4627.yml",
      "windows_event_log_security_4662.yml",      "windows_event_log_security_4663.yml",
      "windows_event_log_security_4672.yml",      "windows_event_log_security_4738.yml",
      "windows_event_log_security_4741.yml",      "windows_event_log_security_4742.yml",
      "windows_event_log_security_4886.yml",      "windows_event_log_security_4887.yml",
      "windows_event_log_security_5140.yml",      "windows_event_log_security_5141.yml",
      "windows_event_log_security_5145.yml",      "windows_event_log_system_7045.yml"};
  size_t good = 0, bad = 0;
  for (auto& entry : std::filesystem::directory_iterator(kDataSources)) {
    const std::string file = entry.path().filename().string();
    std::string xml = yaml_scalar(entry.path().string(), "example_log");
    if (xml.find("<Event") == std::string::npos) continue;
    Collected c = read_mem(file, xml);
    SCOPED_TRACE(file);
    EXPECT_EQ(c.stats.formats["xml"], 1u);
    EXPECT_EQ(c.stats.records_read, c.records.size() + c.stats.records_skipped);
    if (broken.count(file)) {
      ++bad;
      EXPECT_TRUE(c.records.empty());
      EXPECT_EQ(c.stats.skip_reasons["bad-xml"], 1u);
      EXPECT_EQ(c.count_reason("bad-xml"), 1u);
      continue;
    }
    ++good;
    ASSERT_EQ(c.records.size(), 1u);
    const OwnedRecord& r = c.records[0];
    EXPECT_EQ(r.format, LogFormat::xml_wineventlog);
    EXPECT_EQ(r.sys("EventID"), regex_group(xml, "<EventID[^>]*>([0-9]+)</EventID>"));
    EXPECT_EQ(r.sys("Computer"), regex_group(xml, "<Computer>([^<]*)</Computer>"));
    EXPECT_EQ(r.sys("Channel"), regex_group(xml, "<Channel>([^<]*)</Channel>"));
    EXPECT_EQ(r.sys("Provider"), regex_group(xml, "<Provider Name=['\"]([^'\"]*)['\"]"));
    EXPECT_EQ(r.line, 1u);
    EXPECT_EQ(r.offset, 0u);
  }
  EXPECT_EQ(good, 55u);
  EXPECT_EQ(bad, 14u);
}

// Field-level check on sysmon_eventid_1.yml; expected values read off the
// XML with python3 ElementTree: 22 <Data> elements, the entity-decoded
// CommandLine keeps its trailing space.
TEST(XmlReader, SysmonProcessCreateFields) {
  std::string xml = yaml_scalar(kDataSources + "/sysmon_eventid_1.yml", "example_log");
  Collected c = read_mem("sysmon1", xml);
  ASSERT_EQ(c.records.size(), 1u);
  const OwnedRecord& r = c.records[0];
  EXPECT_EQ(r.sys("Provider"), "Microsoft-Windows-Sysmon");
  EXPECT_EQ(r.sys("ProviderGuid"), "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}");
  EXPECT_EQ(r.sys("EventID"), "1");
  EXPECT_EQ(r.sys("Version"), "5");
  EXPECT_EQ(r.sys("Level"), "4");
  EXPECT_EQ(r.sys("Task"), "1");
  EXPECT_EQ(r.sys("Opcode"), "0");
  EXPECT_EQ(r.sys("Keywords"), "0x8000000000000000");
  EXPECT_EQ(r.sys("TimeCreated"), "2020-10-08T11:03:46.617920300Z");
  EXPECT_EQ(r.sys("EventRecordID"), "4522");
  EXPECT_EQ(r.sys("ProcessID"), "2912");
  EXPECT_EQ(r.sys("ThreadID"), "3424");
  EXPECT_EQ(r.sys("Channel"), "Microsoft-Windows-Sysmon/Operational");
  EXPECT_EQ(r.sys("Computer"), "win-dc-6764986.attackrange.local");
  EXPECT_EQ(r.sys("UserID"), "S-1-5-18");
  EXPECT_FALSE(r.has_sys("ActivityID"));  // <Correlation/> has no attribute
  EXPECT_EQ(r.data.size(), 22u);
  EXPECT_EQ(r.get("CommandLine"),
            "\"C:\\Windows\\system32\\cmd.exe\" /c \"reg save HKLM\\sam %%temp%%\\sam & reg save HKLM\\system "
            "%%temp%%\\system & reg save HKLM\\security %%temp%%\\security\" ");
  EXPECT_EQ(r.get("ParentImage"), "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe");
  EXPECT_EQ(r.get("RuleName"), "-");
}

// UserData leaves become fields named after their elements (1102 sample).
TEST(XmlReader, UserDataLeaves) {
  std::string xml = yaml_scalar(kDataSources + "/windows_event_log_security_1102.yml", "example_log");
  Collected c = read_mem("1102", xml);
  ASSERT_EQ(c.records.size(), 1u);
  const OwnedRecord& r = c.records[0];
  EXPECT_EQ(r.sys("EventID"), "1102");
  EXPECT_FALSE(r.has_sys("UserID"));  // <Security/> is empty
  EXPECT_EQ(r.get("SubjectUserSid"), "ATTACKRANGE\\Administrator");
  EXPECT_EQ(r.get("SubjectUserName"), "Administrator");
  EXPECT_EQ(r.get("SubjectDomainName"), "ATTACKRANGE");
  EXPECT_EQ(r.get("SubjectLogonId"), "0x34a3a27");
  EXPECT_EQ(r.data.size(), 4u);
}

// Records back to back, on lines with Splunk-ish framing between them, inside
// an <Events> wrapper, with RenderingInfo, unnamed <Data>, CDATA and \r\n in
// a value. Line numbers and offsets are counted by hand from the text below.
TEST(XmlReader, FramingAndEdgeCases) {
  const std::string ns = "xmlns='http://schemas.microsoft.com/win/2004/08/events/event'";
  const std::string e1 = "<Event " + ns +
                         "><System><EventID Qualifiers='16384'>7036</EventID><Computer>A</Computer></System>"
                         "<EventData><Data>WinRM</Data><Data>running</Data><Binary>AB</Binary></EventData>"
                         "<RenderingInfo Culture='en-US'><Message>The WinRM service entered the running state."
                         "</Message><Level>Information</Level></RenderingInfo></Event>";
  const std::string e2 = "<Event " + ns +
                         "><System><EventID>4688</EventID><Computer>B</Computer></System><EventData>"
                         "<Data Name='CommandLine'><![CDATA[a <b> & c]]></Data><Data Name='Empty'/>"
                         "<Data Name='Multi'>x\r\ny</Data><Data Name='Space'> </Data></EventData></Event>";
  const std::string e3 = "<Event " + ns + "><System><EventID>1</EventID></System></Event>";
  const std::string text = "<Events>\n" + e1 + e2 + "\n04/01/2024 10:00:00 AM\nLogName=Security\n   " + e3 +
                           "\n</Events>\n";
  Collected c = read_mem("framed.xml", text);
  ASSERT_EQ(c.records.size(), 3u);
  EXPECT_EQ(c.stats.records_skipped, 0u);

  const OwnedRecord& r1 = c.records[0];
  EXPECT_EQ(r1.line, 2u);
  EXPECT_EQ(r1.offset, 9u);  // after "<Events>\n"
  EXPECT_EQ(r1.sys("EventID"), "7036");
  EXPECT_EQ(r1.all("Data"), (std::vector<std::string>{"WinRM", "running"}));
  EXPECT_EQ(r1.get("Binary"), "AB");
  EXPECT_EQ(r1.get("Message"), "The WinRM service entered the running state.");
  EXPECT_FALSE(r1.has_data("Level"));  // only the message is taken from RenderingInfo

  const OwnedRecord& r2 = c.records[1];
  EXPECT_EQ(r2.line, 2u);  // same line, back to back
  EXPECT_EQ(r2.offset, 9u + e1.size());
  EXPECT_EQ(r2.get("CommandLine"), "a <b> & c");
  EXPECT_TRUE(r2.has_data("Empty"));
  EXPECT_EQ(r2.get("Empty"), "");
  EXPECT_EQ(r2.get("Multi"), "x\r\ny");  // Windows line ends kept
  EXPECT_EQ(r2.get("Space"), " ");

  const OwnedRecord& r3 = c.records[2];
  EXPECT_EQ(r3.line, 6u);  // e2's "Multi" value holds a newline too
  EXPECT_EQ(r3.sys("EventID"), "1");
  EXPECT_EQ(r3.offset, text.find(e3));
}

// A sniffed XML input without any <Event> is reported, not silently empty.
TEST(XmlReader, NoEventsIsReported) {
  Collected c = read_mem("x.xml", "<root><a/></root>\n");
  EXPECT_TRUE(c.records.empty());
  EXPECT_EQ(c.stats.files_skipped, 1u);
  EXPECT_EQ(c.count_reason("no-records"), 1u);
}

}  // namespace
}  // namespace vigil::test
