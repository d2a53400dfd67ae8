// Sniffing, archives (zip, tar.gz, plain gzip, nested), directory walking
// order, EVTX dispatch and progress. Archives are built here with
// libarchive's writer so the expected members are known by construction.
#include <archive.h>
#include <archive_entry.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>
#include <utility>
#include <variant>

#include "ingest_test_util.h"

namespace vigil::test {
namespace {

using Members = std::vector<std::pair<std::string, std::string>>;

enum class Kind { zip, tgz, gz };

std::string make_archive(Kind kind, const Members& members) {
  archive* a = archive_write_new();
  switch (kind) {
    case Kind::zip: archive_write_set_format_zip(a); break;
    case Kind::tgz:
      archive_write_add_filter_gzip(a);
      archive_write_set_format_pax_restricted(a);
      break;
    case Kind::gz:
      archive_write_add_filter_gzip(a);
      archive_write_set_format_raw(a);
      break;
  }
  std::string out(1 << 20, '\0');
  size_t used = 0;
  EXPECT_EQ(archive_write_open_memory(a, out.data(), out.size(), &used), ARCHIVE_OK);
  for (auto& [name, data] : members) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    EXPECT_EQ(archive_write_header(a, e), ARCHIVE_OK);
    EXPECT_EQ(archive_write_data(a, data.data(), data.size()), static_cast<la_ssize_t>(data.size()));
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  out.resize(used);
  return out;
}

const std::string kNs = "xmlns='http://schemas.microsoft.com/win/2004/08/events/event'";
std::string xml_event(int id) {
  return "<Event " + kNs + "><System><EventID>" + std::to_string(id) + "</EventID></System></Event>\n";
}
std::string nxlog_line(int id) {
  return R"({"EventTime":"2020-08-01 07:53:24","Hostname":"h","SourceModuleType":"im_msvistalog","EventID":)" +
         std::to_string(id) + "}\n";
}
std::string flat_line(int id) { return R"({"EventID":)" + std::to_string(id) + R"(,"Channel":"Security"})" "\n"; }

TEST(Sniff, ByContent) {
  EXPECT_EQ(sniff_format(std::string_view("ElfFile\0\0\0", 10)), LogFormat::evtx);
  // Binary data that starts like a log (as /dev/urandom does once in ~128 reads) is not one: here
  // 16 control bytes in its head. A damaged byte or two, or NUL padding after the text, is still a log.
  std::string binary = "{\"a";
  for (int i = 0; i < 16; ++i) binary += std::string("\x01\xfe", 2);
  EXPECT_EQ(sniff_format(binary), LogFormat::unknown);
  EXPECT_EQ(sniff_format("<" + binary.substr(1)), LogFormat::unknown);
  EXPECT_EQ(sniff_format(std::string_view("{\"Event\": {\"x\0\x07\"}}\n\0\0\0\0", 23)), LogFormat::json_evtx);
  EXPECT_EQ(sniff_format("  \n<Event xmlns='x'>"), LogFormat::xml_wineventlog);
  EXPECT_EQ(sniff_format("\xEF\xBB\xBF<Events>"), LogFormat::xml_wineventlog);
  EXPECT_EQ(sniff_format("LogName=Security\r\n<Event xmlns='http://x'>"), LogFormat::xml_wineventlog);
  EXPECT_EQ(sniff_format("{\n  \"Event\": {\n"), LogFormat::json_evtx);
  EXPECT_EQ(sniff_format(R"({"@timestamp":"t","agent":{"Event":1},"winlog":{)"), LogFormat::json_winlogbeat);
  EXPECT_EQ(sniff_format(R"({"aid":"1","event_simpleName":"ProcessRollup2"})"), LogFormat::json_crowdstrike);
  EXPECT_EQ(sniff_format(R"({"EventTime":"2020-08-01 07:53:24","SourceModuleType":"im_msvistalog"})"),
            LogFormat::json_nxlog);
  EXPECT_EQ(sniff_format(R"({"Hostname":"h","EventReceivedTime":"x","EventID":1})"), LogFormat::json_nxlog);
  EXPECT_EQ(sniff_format(R"({"Hostname":"h","TimeCreated":"x","EventID":1})"), LogFormat::json_otrf);
  EXPECT_EQ(sniff_format(R"([{"event_simpleName":"x"}])"), LogFormat::json_crowdstrike);
  // A nested "Event" key is not the evtx-JSON shape; a key named in a value is not a key.
  EXPECT_EQ(sniff_format(R"({"a":{"Event":1},"b":"winlog"})"), LogFormat::json_otrf);
  EXPECT_EQ(sniff_format("hello world"), LogFormat::unknown);
  EXPECT_EQ(sniff_format(std::string_view("\x00\x01\x02", 3)), LogFormat::unknown);
  EXPECT_EQ(sniff_format(""), LogFormat::unknown);
  // Archives are not a LogFormat: the dispatcher expands them before sniffing.
  EXPECT_EQ(sniff_format("\x1f\x8b\x08"), LogFormat::unknown);
}

TEST(Archive, DirectoryOfArchivesNamesLieAndOrderIsSorted) {
  const std::string dir = temp_dir("arch") + "/sp ace & amp";
  std::filesystem::create_directories(dir);
  // Names chosen so that sorted order differs from creation order, and so
  // that no name tells the format.
  spit(dir + "/c.json.gz", make_archive(Kind::gz, {{"ignored", flat_line(31) + flat_line(32)}}));
  spit(dir + "/a.log.bin", make_archive(Kind::tgz, {{"inner.json", nxlog_line(11) + nxlog_line(12) + nxlog_line(13)}}));
  spit(dir + "/b.txt", make_archive(Kind::zip, {{"x/events.xml", xml_event(21) + xml_event(22)}, {"j.json", flat_line(23)}}));
  std::string elf("ElfFile\0", 8);
  elf.resize(4096, '\0');
  spit(dir + "/d.dat", elf);

  std::vector<std::pair<uint64_t, uint64_t>> progress;
  ReadOptions opts;
  opts.progress = [&](uint64_t done, uint64_t total) { progress.emplace_back(done, total); };
  Collected c = read_paths({dir}, opts);

  std::vector<std::string> ids, files;
  for (auto& r : c.records) {
    ids.push_back(r.sys("EventID"));
    files.push_back(r.file);
  }
  // Only the fake EVTX file may draw diagnostics (from the EVTX reader).
  for (auto& d : c.diags)
    if (d.location.file != dir + "/d.dat") ADD_FAILURE() << render_text(d);
  ASSERT_EQ(ids, (std::vector<std::string>{"11", "12", "13", "21", "22", "23", "31", "32"}));
  EXPECT_EQ(files[0], dir + "/a.log.bin:inner.json");
  EXPECT_EQ(files[3], dir + "/b.txt:x/events.xml");
  EXPECT_EQ(files[5], dir + "/b.txt:j.json");
  EXPECT_EQ(files[6], dir + "/c.json.gz:c.json");  // a plain gzip has no member name
  EXPECT_EQ(c.records[0].sys("TimeCreated"), "2020-08-01T07:53:24.000000Z");

  EXPECT_EQ(c.stats.files, 5u);  // 4 archive members + the EVTX file
  EXPECT_EQ(c.stats.formats["nxlog-json"], 1u);
  EXPECT_EQ(c.stats.formats["xml"], 1u);
  EXPECT_EQ(c.stats.formats["otrf-json"], 2u);
  EXPECT_EQ(c.stats.formats["evtx"], 1u);  // handed to evtx::read_evtx
  EXPECT_EQ(c.stats.records_read, c.records.size() + c.stats.records_skipped);

  uint64_t total = 0;
  for (auto& e : std::filesystem::directory_iterator(dir)) total += e.file_size();
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back().first, total);
  EXPECT_EQ(progress.back().second, total);
  for (size_t i = 1; i < progress.size(); ++i) EXPECT_GE(progress[i].first, progress[i - 1].first);
  std::filesystem::remove_all(std::filesystem::path(dir).parent_path());
}

// With ReadOptions::defer, small files are handed on in units, in input order between the records
// read here, and read_unit reads them as read_inputs would have: records, diagnostics and counts
// put back in that order are those of a plain read. Small archives are handed on too, unless
// defer_archives is false (dump: an archive's records can be many times its size).
TEST(Dispatch, SmallFilesAreHandedOnInUnitsAndReadTheSame) {
  const std::string dir = temp_dir("units");
  spit(dir + "/a.log.bin", make_archive(Kind::tgz, {{"inner.json", nxlog_line(11) + nxlog_line(12)}}));
  spit(dir + "/b.json", nxlog_line(21) + "{\"EventID\": 22, \"cut\n" + nxlog_line(23));
  std::string big;
  for (int i = 0; i < 40; ++i) big += nxlog_line(300 + i);
  spit(dir + "/c.json", big);
  spit(dir + "/d.json", nxlog_line(41));
  spit(dir + "/e.zip", make_archive(Kind::zip, {{"m.json", nxlog_line(51)}}));
  // Named as an EVTX file: taken for one without a look (dump's triage folders), read right anyway.
  spit(dir + "/f.evtx", make_archive(Kind::zip, {{"n.json", nxlog_line(61)}}));
  const uint64_t unit = 2 * std::filesystem::file_size(dir + "/b.json");
  ASSERT_GT(std::filesystem::file_size(dir + "/c.json"), unit);
  for (auto f : {"/a.log.bin", "/d.json", "/e.zip", "/f.evtx"}) ASSERT_LE(std::filesystem::file_size(dir + f), unit) << f;

  const Collected plain = read_paths({dir});
  auto ids = [](const std::vector<OwnedRecord>& rs) {
    std::vector<std::string> out;
    for (auto& r : rs) out.push_back(r.sys("EventID") + "@" + r.file);
    return out;
  };
  ASSERT_EQ(plain.records.size(), 47u);  // 2 + 2 (one line cut) + 40 + 1 + 1 + 1
  ASSERT_EQ(plain.stats.records_skipped, 1u);

  for (bool archives : {true, false}) {
    // What read_inputs hands out, in order: a record read here, or a unit.
    std::vector<std::variant<OwnedRecord, InputUnit>> handed;
    ReadOptions opts;
    opts.unit_bytes = unit;
    opts.defer_archives = archives;
    opts.defer = [&](InputUnit&& u) { handed.emplace_back(std::move(u)); };
    DiagnosticSink sink(nullptr);
    sink.set_keep(true);
    ReadStats stats;
    read_inputs({dir}, opts, [&](const Record& r) { handed.emplace_back(own(r)); }, sink, stats);
    std::vector<OwnedRecord> records;
    std::vector<std::vector<std::string>> units;
    for (auto& h : handed) {
      if (auto* r = std::get_if<OwnedRecord>(&h)) {
        records.push_back(*r);
        continue;
      }
      auto& u = std::get<InputUnit>(h);
      units.emplace_back();
      for (auto& f : u.files) units.back().push_back(std::filesystem::path(f).filename().string());
      read_unit(u, opts, [&](const Record& r) { records.push_back(own(r)); }).replay(sink, stats);
    }
    EXPECT_EQ(ids(records), ids(plain.records)) << "archives " << archives;
    EXPECT_EQ(stats.files, plain.stats.files);
    EXPECT_EQ(stats.records_read, plain.stats.records_read);
    EXPECT_EQ(stats.records_skipped, plain.stats.records_skipped);
    EXPECT_EQ(stats.formats, plain.stats.formats);
    // The cut line is still named by file and line.
    auto kept = sink.kept();
    ASSERT_EQ(kept.size(), 1u);
    EXPECT_EQ(kept[0].location.file, dir + "/b.json");
    EXPECT_EQ(kept[0].location.line, 2u);
    using Units = std::vector<std::vector<std::string>>;
    if (archives) EXPECT_EQ(units, (Units{{"a.log.bin", "b.json"}, {"d.json", "e.zip", "f.evtx"}}));
    else EXPECT_EQ(units, (Units{{"b.json"}, {"d.json"}, {"f.evtx"}}));
  }
  std::filesystem::remove_all(dir);
}

// A pipe named as an input (mkfifo, `<(zcat …)`) reports no size: it is not handed on as a small
// file (read elsewhere, later, or opened twice to sniff it), but read where it is named, as it
// streams. Two lines written into a FIFO come back as two records, with no unit handed on.
TEST(Dispatch, NamedPipeIsReadWhereItIsNamed) {
  const std::string dir = temp_dir("fifo");
  const std::string fifo = dir + "/events.json";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::thread writer([&] {
    // Non-blocking open until a reader is there (ENXIO before): a test that broke this would
    // fail after a few seconds instead of hanging.
    int fd = -1;
    for (int i = 0; i < 500 && fd < 0; ++i) {
      fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
      if (fd < 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (fd < 0) return;
    const int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    const std::string text = nxlog_line(71) + nxlog_line(72);
    ASSERT_EQ(::write(fd, text.data(), text.size()), ssize_t(text.size()));
    ::close(fd);
  });
  std::vector<std::string> ids;
  size_t units = 0;
  ReadOptions opts;
  opts.unit_bytes = 1 << 20;
  opts.defer = [&](InputUnit&&) { ++units; };
  DiagnosticSink sink(nullptr);
  ReadStats stats;
  if (!std::filesystem::exists(fifo)) FAIL();
  read_inputs({fifo}, opts, [&](const Record& r) { ids.push_back(own(r).sys("EventID")); }, sink, stats);
  // Unblocks the writer if the FIFO was never opened for reading (the bug this test guards).
  if (ids.empty()) {
    int fd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (fd >= 0) ::close(fd);
  }
  writer.join();
  EXPECT_EQ(units, 0u);
  EXPECT_EQ(ids, (std::vector<std::string>{"71", "72"}));
  EXPECT_EQ(stats.records_read, 2u);
  std::filesystem::remove_all(dir);
}

TEST(Archive, NestedArchiveMembers) {
  std::string inner = make_archive(Kind::zip, {{"e.json", flat_line(7)}});
  std::string outer = make_archive(Kind::tgz, {{"inner.zip", inner}});
  Collected c = read_mem("outer.tgz", outer);
  ASSERT_EQ(c.records.size(), 1u);
  EXPECT_EQ(c.records[0].file, "outer.tgz:inner.zip:e.json");
  EXPECT_EQ(c.stats.files, 1u);
}

TEST(Archive, DamagedArchivesAreReported) {
  // gzip magic, then junk.
  Collected g = read_mem("junk.gz", std::string("\x1f\x8b\x08\x00garbage-not-deflate-data", 28));
  EXPECT_TRUE(g.records.empty());
  EXPECT_GE(g.count_reason("bad-archive"), 1u);
  // A zip cut in half: whatever is readable is read, the damage is reported.
  std::string zip = make_archive(Kind::zip, {{"a.json", flat_line(1)}, {"b.json", std::string(5000, ' ') + flat_line(2)}});
  Collected z = read_mem("cut.zip", zip.substr(0, zip.size() / 2));
  // Damage before any member is a bad archive; after some, a cut (the members before it were read).
  EXPECT_GE(z.count_reason("bad-archive") + z.count_reason("truncated-input"), 1u);
  EXPECT_EQ(z.stats.records_read, z.records.size() + z.stats.records_skipped);
  // An empty member is an empty input.
  Collected e = read_mem("e.zip", make_archive(Kind::zip, {{"empty.json", ""}}));
  EXPECT_EQ(e.count_reason("empty-file"), 1u);
}

// The real sample tree: names with spaces; 10 files of which 6 are EVTX and
// 4 are a pcap, an IIS log, a web access log and a readme (ls of the folder).
TEST(Dispatch, EvtxSampleFolderWithSpaces) {
  const std::string dir = shared("data/evtx-attack-samples/Command and Control");
  ReadOptions opts;
  opts.threads = 1;
  Collected c = read_paths({dir}, opts);
  EXPECT_EQ(c.stats.files, 10u);
  EXPECT_EQ(c.stats.formats["evtx"], 6u);
  EXPECT_EQ(c.stats.skip_reasons["unrecognised-format"], 4u);
  EXPECT_EQ(c.stats.records_read, c.records.size() + c.stats.records_skipped);
  std::vector<std::string> unrecognised;
  for (auto& d : c.diags)
    if (d.reason == "unrecognised-format") unrecognised.push_back(std::filesystem::path(d.location.file).filename());
  EXPECT_EQ(unrecognised, (std::vector<std::string>{"Tunna_rdp_tunnel_IIS.log", "cmds over dns txt queries and reponses.pcap",
                                                    "readme.md", "web_attack_and_isp_webshell_localhost_access_log.txt"}));
}

TEST(Stats, Merge) {
  ReadStats a, b;
  a.files = 1, a.records_read = 5, a.records_skipped = 1, a.skip_reasons["bad-json"] = 1, a.formats["xml"] = 1;
  b.files = 2, b.files_skipped = 1, b.bytes = 10, b.records_read = 3, b.skip_reasons["bad-json"] = 2;
  b.formats["evtx"] = 2;
  a.merge(b);
  EXPECT_EQ(a.files, 3u);
  EXPECT_EQ(a.files_skipped, 1u);
  EXPECT_EQ(a.bytes, 10u);
  EXPECT_EQ(a.records_read, 8u);
  EXPECT_EQ(a.records_skipped, 1u);
  EXPECT_EQ(a.skip_reasons["bad-json"], 3u);
  EXPECT_EQ(a.formats["xml"], 1u);
  EXPECT_EQ(a.formats["evtx"], 2u);
}

}  // namespace
}  // namespace vigil::test
