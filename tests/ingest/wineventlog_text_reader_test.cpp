// Classic WinEventLog text (sourcetype WinEventLog).
//
// tests/ingest/data/wineventlog_classic.txt is written by hand in the layout
// Windows renders a 4720 and a 4624 message (Subject section first, then the
// account the event is about); its second record is only a timestamp line.
// Expected values are read off that file by eye: line numbers count its lines
// (record 2's header is line 50, record 3's line 51).
#include <algorithm>

#include "ingest/ingest_test_util.h"

namespace vigil::test {
namespace {

const std::string kFixture = std::string(VIGIL_SOURCE_DIR) + "/tests/ingest/data/wineventlog_classic.txt";

std::vector<std::string> all(const OwnedRecord& r, const std::string& name) {
  std::vector<std::string> out;
  for (auto& [k, v] : r.data)
    if (k == name) out.push_back(v);
  return out;
}

TEST(WinEventLogText, SniffedFromContent) {
  EXPECT_EQ(sniff_format("10/09/2020 10:41:26 AM\nLogName=Security\n"), LogFormat::wineventlog);
  EXPECT_EQ(sniff_format("1/9/2020 1:41:26 PM\r\nLogName=Security\r\n"), LogFormat::wineventlog);
  EXPECT_NE(sniff_format("10/09/2020 is not a header\n"), LogFormat::wineventlog);
  EXPECT_NE(sniff_format("LogName=Security\n"), LogFormat::wineventlog);
}

TEST(WinEventLogText, ReadsRecordsAndReportsTheMalformedOneLocated) {
  Collected c = read_paths({kFixture});
  ASSERT_EQ(c.records.size(), 2u);
  // read = delivered + skipped
  EXPECT_EQ(c.stats.records_read, 3u);
  EXPECT_EQ(c.stats.records_skipped, 1u);
  EXPECT_EQ(c.stats.skip_reasons["bad-wineventlog"], 1u);
  ASSERT_EQ(c.count_reason("bad-wineventlog"), 1u);
  for (auto& d : c.diags)
    if (d.reason == "bad-wineventlog") {
      EXPECT_EQ(d.location.file, kFixture);
      EXPECT_EQ(d.location.line, 50u);
    }
  EXPECT_EQ(c.stats.formats["wineventlog"], 1u);

  const OwnedRecord& a = c.records[0];
  EXPECT_EQ(a.format, LogFormat::wineventlog);
  EXPECT_EQ(a.line, 1u);
  EXPECT_EQ(a.sys("Channel"), "Security");
  EXPECT_EQ(a.sys("EventID"), "4720");
  EXPECT_EQ(a.sys("Computer"), "win-dc-128.attackrange.local");
  EXPECT_EQ(a.sys("EventRecordID"), "2746");
  EXPECT_EQ(a.sys("TimeCreated"), "2020-10-09T10:41:26.000000Z");
  EXPECT_EQ(a.get("TaskCategory"), "User Account Management");
  // Message labels, repeated in message order: Subject first, then the New Account.
  EXPECT_EQ(all(a, "Account_Name"), (std::vector<std::string>{"Administrator", "svc_backup"}));
  EXPECT_EQ(all(a, "Security_ID"), (std::vector<std::string>{"ATTACKRANGE\\Administrator", "ATTACKRANGE\\svc_backup"}));
  EXPECT_EQ(a.get("SAM_Account_Name"), "svc_backup");
  EXPECT_EQ(a.get("New_UAC_Value"), "0x15");
  EXPECT_EQ(a.get("Allowed_To_Delegate_To"), "-");
  // Section titles and the value-less "User Account Control:" are not fields.
  EXPECT_TRUE(all(a, "Subject").empty());
  EXPECT_TRUE(all(a, "User_Account_Control").empty());
  EXPECT_EQ(a.get("Message").substr(0, 27), "A user account was created.");
  EXPECT_NE(a.get("Message").find("Logon Hours:"), std::string::npos);

  const OwnedRecord& b = c.records[1];
  EXPECT_EQ(b.line, 51u);
  EXPECT_EQ(b.sys("EventID"), "4624");
  EXPECT_EQ(b.get("Logon_Type"), "3");
  EXPECT_EQ(all(b, "Logon_ID"), (std::vector<std::string>{"0x0", "0x693EF4"}));
  EXPECT_EQ(b.get("Source_Network_Address"), "10.0.1.16");
}

TEST(WinEventLogText, GarbageNeverCrashesAndIsCounted) {
  // A header followed by binary junk, a header with only prose, and a header without EventCode.
  std::string junk = "01/02/2021 03:04:05 PM\n\x01\x02\xff\n=\n\n01/02/2021 03:04:06 PM\nLogName=System\n";
  Collected c = read_mem("junk.txt", junk);
  EXPECT_EQ(c.records.size(), 0u);
  EXPECT_EQ(c.stats.records_read, 2u);
  EXPECT_EQ(c.stats.records_skipped, 2u);
}

// Every prefix of the fixture (cut anywhere, as a truncated export would be) and a few byte
// flips: no crash, and records read = delivered + skipped each time.
TEST(WinEventLogText, TruncatedAndCorruptedInputKeepsTheAccounts) {
  const std::string text = slurp(kFixture);
  for (size_t cut = 0; cut <= text.size(); cut += 7) {
    Collected c = read_mem("cut.txt", text.substr(0, cut), LogFormat::wineventlog);
    EXPECT_EQ(c.stats.records_read, c.records.size() + c.stats.records_skipped) << cut;
  }
  for (size_t at = 0; at < text.size(); at += 13) {
    std::string bad = text;
    bad[at] = static_cast<char>(bad[at] ^ 0x5a);
    Collected c = read_mem("flip.txt", bad, LogFormat::wineventlog);
    EXPECT_EQ(c.stats.records_read, c.records.size() + c.stats.records_skipped) << at;
  }
}

// ESCU's classic-format example logs (4698, 4699, 4720, 4732, System 4720/4726, PrintService,
// Defender 1129) hold only the timestamp line in this snapshot: the rest of each message was
// lost upstream. They must be recognised, read and reported, never silently dropped.
TEST(WinEventLogText, EscuClassicExampleLogsAreReadAndReported) {
  for (const char* f : {"windows_event_log_security_4698.yml", "windows_event_log_security_4720.yml",
                        "windows_event_log_security_4732.yml", "windows_event_log_system_4726.yml"}) {
    std::string ex = yaml_scalar(shared(std::string("corpus/security_content/data_sources/") + f), "example_log");
    ASSERT_FALSE(ex.empty()) << f;
    EXPECT_EQ(sniff_format(ex), LogFormat::wineventlog) << f;
    Collected c = read_mem(f, ex);
    EXPECT_EQ(c.stats.records_read, 1u) << f;
    EXPECT_EQ(c.stats.records_skipped, 1u) << f;
    EXPECT_EQ(c.count_reason("bad-wineventlog"), 1u) << f;
  }
}

}  // namespace
}  // namespace vigil::test
