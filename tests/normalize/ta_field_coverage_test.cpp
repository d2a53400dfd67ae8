// The raw view of real Windows events carries the fields ESCU's data sources
// list (../shared/corpus/security_content/data_sources/*.yml `fields:`), the
// names Splunk's Windows add-on extracts.
//
// Independent figures (python3 over the data-source YAMLs and `evtxexport -f xml`
// of every file in ../shared/data/evtx-attack-samples):
// - 50 Windows data sources (source `[Xml]WinEventLog:<channel>`, event code = the
//   trailing number of the source's name) have events in the samples;
// - their lists hold 3,120 fields once Splunk-internal ones are left out
//   (date_*, index, punct, tag*, splunk_server, linecount, timeendpos, timestartpos);
// - Security 4624 record 772607 (host 01566s-win16-ir.threebeesco.com) has
//   LogonType 3, SubjectUserName '-', TargetUserName Administrator,
//   TargetDomainName 3B, IpAddress 172.16.66.37, IpPort 50106, WorkstationName '-';
// - Security 4720 record 769629: SubjectUserName 01566S-WIN16-IR$, TargetUserName '$',
//   SubjectUserSid S-1-5-18, Keywords 0x8020000000000000 (Audit Success).
#include <gtest/gtest.h>
#include "core/yaml.h"

#include <filesystem>
#include <optional>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include <unistd.h>

#include "ingest/reader.h"
#include "normalize/normalizer.h"

namespace vigil {
namespace {

const std::string kShared = VIGIL_SHARED_DIR;

struct Source {
  std::string file, channel, event_id;
  std::vector<std::string> fields;
};

std::vector<Source> windows_sources() {
  static const std::regex internal("^(date_.*|index|punct|tag.*|splunk_server|linecount|timeendpos|timestartpos)$");
  static const std::regex source_re("^(Xml)?WinEventLog:(.*)$");
  static const std::regex trailing_number("(\\d+)$");
  std::vector<Source> out;
  std::vector<std::filesystem::path> files;
  for (auto& e : std::filesystem::directory_iterator(kShared + "/corpus/security_content/data_sources"))
    if (e.path().extension() == ".yml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (auto& f : files) {
    yaml::Node d = yaml::load_file(f.string());
    std::smatch m;
    std::string src = d["source"].as<std::string>("");
    if (!std::regex_match(src, m, source_re)) continue;
    Source s{f.filename().string(), m[2].str(), "", {}};
    std::string name = d["name"].as<std::string>("");
    if (std::regex_search(name, m, trailing_number)) s.event_id = m[1].str();
    for (auto x : d["fields"]) {
      std::string field = x.as<std::string>();
      if (!std::regex_match(field, internal)) s.fields.push_back(field);
    }
    out.push_back(std::move(s));
  }
  return out;
}

struct Seen {
  std::map<std::pair<std::string, std::string>, std::set<std::string>> fields;  // (channel, eid) -> raw fields
  std::map<std::string, std::map<std::string, std::vector<std::string>>> by_record;  // "eid:record" -> raw fields
};

const Seen& samples(const Normalizer& norm) {
  static Seen seen = [&] {
    Seen s;
    DiagnosticSink diags(nullptr);
    ReadStats stats;
    Event ev;
    read_inputs({kShared + "/data/evtx-attack-samples"}, {}, [&](const Record& r) {
      norm.normalize(r, ev);
      auto key = std::make_pair(std::string(r.system_value(sys::Channel)), std::string(r.system_value(sys::EventID)));
      auto& set = s.fields[key];
      std::string rid = key.second + ":" + std::string(r.system_value(sys::EventRecordID));
      bool keep = rid == "4624:772607" || rid == "4720:769629";
      for (auto& f : ev.fields()) {
        if (f.view != 0) continue;
        set.insert(std::string(field_names().name(f.name)));
        if (keep) s.by_record[rid][std::string(field_names().name(f.name))].push_back(std::string(f.value));
      }
    }, diags, stats);
    return s;
  }();
  return seen;
}

Normalizer load() {
  auto norm = Normalizer::load(std::string(VIGIL_DATA_DIR) + "/normalize");
  EXPECT_TRUE(norm.ok()) << norm.error().message;
  return std::move(*norm);
}

TEST(TaFieldCoverage, RawViewCarriesTheDataSourceFieldsOfTheEvtxSamples) {
  Normalizer norm = load();
  const Seen& seen = samples(norm);
  size_t sources = 0, listed = 0, present = 0;
  std::vector<std::string> undocumented;
  for (auto& s : windows_sources()) {
    auto it = seen.fields.find({s.channel, s.event_id});
    if (it == seen.fields.end()) continue;
    ++sources;
    for (auto& f : s.fields) {
      ++listed;
      if (it->second.count(f)) {
        ++present;
        continue;
      }
      std::string why = norm.unavailable_reason(s.channel, s.event_id, f);
      std::printf("  %-48s %-28s %s\n", s.file.c_str(), f.c_str(), why.c_str());
      if (why.empty()) undocumented.push_back(s.file + ": " + f);
    }
  }
  const double pct = 100.0 * present / listed;
  std::printf("%zu sources, %zu of %zu listed fields in the raw view (%.1f%%)\n", sources, present, listed, pct);
  EXPECT_EQ(sources, 50u);
  EXPECT_EQ(listed, 3120u);
  EXPECT_GE(pct, 90.0);
  // Every field left out says why (data/normalize/splunk_ta_windows.yml `unavailable`).
  EXPECT_TRUE(undocumented.empty()) << "missing without a documented reason: " << ::testing::PrintToString(undocumented);
}

TEST(TaFieldCoverage, Security4624ValuesFollowTheAddOn) {
  Normalizer norm = load();
  auto& rec = samples(norm).by_record.at("4624:772607");
  auto one = [&](const char* f) {
    auto it = rec.find(f);
    return it == rec.end() ? std::string("<absent>") : it->second.at(0);
  };
  EXPECT_EQ(one("Logon_Type"), "3");
  EXPECT_EQ(one("Target_User_Name"), "Administrator");  // New Logon account, not the Subject ('-')
  EXPECT_EQ(one("user"), "Administrator");
  EXPECT_EQ(one("Target_Domain"), "3B");
  EXPECT_EQ(one("Caller_User_Name"), "-");
  EXPECT_EQ(one("Source_Workstation"), "-");
  EXPECT_EQ(one("Source_Port"), "50106");
  EXPECT_EQ(one("src_ip"), "172.16.66.37");
  EXPECT_EQ(one("dest"), "01566s-win16-ir.threebeesco.com");
  EXPECT_EQ(one("ComputerName"), "01566s-win16-ir.threebeesco.com");
  EXPECT_EQ(one("LogName"), "Security");
  EXPECT_EQ(one("signature_id"), "4624");
  EXPECT_EQ(one("signature"), "An account was successfully logged on");
  EXPECT_EQ(one("action"), "success");  // Keywords 0x8020… = Audit Success
  EXPECT_EQ(one("TaskCategory"), "Logon");  // Task 12544
  EXPECT_NE(one("EventData_Xml").find("<Data Name='LogonType'>3</Data>"), std::string::npos);
  EXPECT_NE(one("System_Props_Xml").find("<EventRecordID>772607</EventRecordID>"), std::string::npos);
}

TEST(TaFieldCoverage, Security4720AccountNameIsSubjectThenNewAccount) {
  Normalizer norm = load();
  auto& rec = samples(norm).by_record.at("4720:769629");
  ASSERT_TRUE(rec.count("Account_Name"));
  EXPECT_EQ(rec.at("Account_Name"), (std::vector<std::string>{"01566S-WIN16-IR$", "$"}));
  EXPECT_EQ(rec.at("Subject_Account_Name"), (std::vector<std::string>{"01566S-WIN16-IR$"}));
  EXPECT_EQ(rec.at("Security_ID").at(0), "S-1-5-18");
  EXPECT_EQ(rec.at("src_user"), (std::vector<std::string>{"01566S-WIN16-IR$"}));
  EXPECT_EQ(rec.at("user"), (std::vector<std::string>{"$"}));
  EXPECT_EQ(rec.at("signature"), (std::vector<std::string>{"A user account was created"}));
  EXPECT_EQ(rec.at("change_type"), (std::vector<std::string>{"AAA"}));
}

TEST(TaFieldCoverage, MappedFieldsForASourceIncludeTheAddOnNames) {
  Normalizer norm = load();
  auto f = norm.mapped_raw_fields("Security", "4624");
  for (const char* want : {"Logon_Type", "Target_User_Name", "Caller_User_Name", "user", "signature_id", "EventData_Xml"})
    EXPECT_NE(std::find(f.begin(), f.end(), want), f.end()) << want;
  // A Sysmon-only name is not offered for Security events.
  EXPECT_EQ(std::find(f.begin(), f.end(), "EventDescription"), f.end());
}

// Aliases in the raw view (`dest`, `host`, `ComputerName` … = `Computer`) are marked as copies, so a
// keyword scans each text once (about half the raw view's bytes in these samples: python3 over
// `vigil dump --view raw` gives 1,272 bytes of values per event, 669 of distinct ones). Safe only
// if every copy's text is the text of a field a keyword does search: checked on every event of
// the samples. By hand, Security 4624 record 772607: Computer and its six copies.
TEST(TaFieldCoverage, AliasesAreMarkedAsCopiesOfSearchedValues) {
  Normalizer norm = load();
  DiagnosticSink diags(nullptr);
  ReadStats stats;
  Event ev;
  size_t events = 0, copies = 0, unbacked = 0;
  uint64_t bytes = 0, copy_bytes = 0;
  std::vector<std::string> copies_of_4624;
  read_inputs({kShared + "/data/evtx-attack-samples"}, {}, [&](const Record& r) {
    norm.normalize(r, ev);
    ++events;
    std::set<std::string_view> searched;
    for (auto& f : ev.fields())
      if (f.view == 0 && !f.rendering && !f.copy) searched.insert(f.value);
    const bool keep = r.system_value(sys::EventID) == "4624" && r.system_value(sys::EventRecordID) == "772607";
    for (auto& f : ev.fields()) {
      if (f.view != 0 || f.rendering || f.name == field_id("_time")) continue;
      bytes += f.value.size();
      if (!f.copy) continue;
      ++copies;
      copy_bytes += f.value.size();
      if (!searched.count(f.value)) ++unbacked;
      if (keep) copies_of_4624.emplace_back(field_names().name(f.name));
    }
  }, diags, stats);
  std::printf("%zu events, %zu copies, %.1f%% of the raw view's bytes\n", events, copies, 100.0 * copy_bytes / bytes);
  EXPECT_EQ(unbacked, 0u);
  EXPECT_GT(copy_bytes * 10, bytes * 3);  // more than 30% of the bytes need no second scan
  for (const char* f : {"ComputerName", "dvc", "dest_nt_host", "host", "dest", "dvc_nt_host"})
    EXPECT_NE(std::find(copies_of_4624.begin(), copies_of_4624.end(), f), copies_of_4624.end()) << f;
  EXPECT_EQ(std::find(copies_of_4624.begin(), copies_of_4624.end(), "Computer"), copies_of_4624.end());
}

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

// Classic WinEventLog text (tests/ingest/data/wineventlog_classic.txt, written by hand in
// Windows' 4720 message layout): the raw view carries the add-on's names, and most of the
// 4720 data source's list (its `fields:` are the classic ones: Account_Name, Security_ID …).
TEST(TaFieldCoverage, ClassicWinEventLogRawViewMatchesTheDataSourceList) {
  auto norm = Normalizer::load(std::string(VIGIL_DATA_DIR) + "/normalize");
  ASSERT_TRUE(norm.ok());
  std::map<std::string, std::vector<std::string>> got;
  DiagnosticSink diags(nullptr);
  ReadStats stats;
  Event ev;
  read_inputs({std::string(VIGIL_SOURCE_DIR) + "/tests/ingest/data/wineventlog_classic.txt"}, {}, [&](const Record& r) {
    if (r.system_value(sys::EventID) != "4720") return;
    norm->normalize(r, ev);
    for (auto& f : ev.fields())
      if (f.view == 0) got[std::string(field_names().name(f.name))].push_back(std::string(f.value));
  }, diags, stats);
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got["source"], (std::vector<std::string>{"WinEventLog:Security"}));
  EXPECT_EQ(got["sourcetype"], (std::vector<std::string>{"WinEventLog"}));
  EXPECT_EQ(got["Account_Name"], (std::vector<std::string>{"Administrator", "svc_backup"}));
  // The account the event is about is the second Account Name, the actor the first.
  EXPECT_EQ(got["user"], (std::vector<std::string>{"svc_backup"}));
  EXPECT_EQ(got["src_user"], (std::vector<std::string>{"Administrator"}));
  EXPECT_EQ(got["TargetUserName"], (std::vector<std::string>{"svc_backup"}));
  EXPECT_EQ(got["signature"], (std::vector<std::string>{"A user account was created"}));
  EXPECT_EQ(got["dest"], (std::vector<std::string>{"win-dc-128.attackrange.local"}));

  size_t listed = 0, present = 0;
  for (auto& s : windows_sources()) {
    if (s.file != "windows_event_log_security_4720.yml") continue;
    for (auto& f : s.fields) {
      ++listed;
      if (got.count(f)) ++present;
      else std::printf("  4720 classic: missing %s (%s)\n", f.c_str(), norm->unavailable_reason("Security", "4720", f).c_str());
    }
  }
  std::printf("classic 4720: %zu of %zu listed fields\n", present, listed);
  ASSERT_GT(listed, 0u);
  EXPECT_GE(100.0 * present / listed, 90.0);
}

// Value maps ignore ASCII case and the first of two keys that differ only in case wins; `map`
// keeps a value without entry, `strict_map` leaves the field absent. By hand from the table below:
// F "aBC" -> map "first", strict_map "first"; G "zzz" -> map "zzz", strict_map absent.
TEST(TaFieldCoverage, ValueMapsIgnoreCaseAndTheFirstKeyWins) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("vigil_value_maps_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    std::ofstream f(dir / "t.yml");
    f << "value_maps:\n  m:\n    Abc: first\n    ABC: second\n    other: x\n"
         "raw_views:\n  - formats: [evtx]\n    fields:\n"
         "      mapped: \"{F:map=m}\"\n      kept: \"{G:map=m}\"\n"
         "      strict_hit: \"{F:strict_map=m}\"\n      strict_miss: \"{G:strict_map=m}\"\n"
         "datasets: []\n";
  }
  auto norm = Normalizer::load(dir.string());
  fs::remove_all(dir);
  ASSERT_TRUE(norm.ok()) << norm.error().message;
  Record r;
  r.format = LogFormat::evtx;
  r.data = {{"F", "aBC"}, {"G", "zzz"}};
  Event ev;
  norm->normalize(r, ev);
  auto get = [&](const char* name) -> std::optional<std::string> {
    std::string_view v;
    if (!ev.get(field_id(name), v)) return std::nullopt;
    return std::string(v);
  };
  EXPECT_EQ(get("mapped"), "first");
  EXPECT_EQ(get("kept"), "zzz");
  EXPECT_EQ(get("strict_hit"), "first");
  EXPECT_EQ(get("strict_miss"), std::nullopt);
}

}  // namespace
}  // namespace vigil
