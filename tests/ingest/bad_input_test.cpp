// Malformed inputs: each bad record/file is reported with its place and
// counted, the good records around it are still delivered, nothing crashes,
// and records_read == delivered + records_skipped holds.
#include <stdexcept>
#include <string>

#include "ingest_test_util.h"

namespace vigil::test {
namespace {

void expect_accounting(const Collected& c) {
  EXPECT_EQ(c.stats.records_read, c.records.size() + c.stats.records_skipped);
  uint64_t reasons = 0;
  for (auto& [k, v] : c.stats.skip_reasons)
    if (k == "bad-json" || k == "bad-xml") reasons += v;
  EXPECT_EQ(reasons, c.stats.records_skipped);
}

const std::string kEventNs = "xmlns='http://schemas.microsoft.com/win/2004/08/events/event'";
std::string event(int id) {
  return "<Event " + kEventNs + "><System><EventID>" + std::to_string(id) + "</EventID></System></Event>";
}

TEST(BadInput, InvalidJsonLineIsSkippedWithLocation) {
  const std::string l1 = R"({"EventID":1,"Channel":"Security","Hostname":"h"})";
  const std::string l2 = R"({"EventID":2,"Channel":"Security",)";  // cut short
  const std::string l3 = R"({"EventID":3 "Channel":"x"})";         // missing comma
  const std::string l4 = R"({"EventID":4,"Channel":"Security"})";
  const std::string l5 = "42";                                      // valid JSON, not an event
  const std::string text = l1 + "\n" + l2 + "\n" + l3 + "\r\n\n" + l4 + "\n" + l5 + "\n";
  Collected c = read_mem("lines.json", text);
  ASSERT_EQ(c.records.size(), 2u);
  EXPECT_EQ(c.records[0].sys("EventID"), "1");
  EXPECT_EQ(c.records[1].sys("EventID"), "4");
  EXPECT_EQ(c.records[1].line, 5u);
  EXPECT_EQ(c.records[1].offset, text.find(l4));
  EXPECT_EQ(c.stats.records_read, 5u);
  EXPECT_EQ(c.stats.records_skipped, 3u);
  EXPECT_EQ(c.stats.skip_reasons["bad-json"], 3u);
  expect_accounting(c);
  ASSERT_EQ(c.diags.size(), 3u);
  // l2 ends with ',' so it reads as the start of a pretty-printed document;
  // the next line starting at column 0 with '{' shows it was cut short.
  EXPECT_EQ(c.diags[0].location.line, 2u);
  EXPECT_EQ(c.diags[0].location.offset, l1.size() + 1);
  EXPECT_EQ(c.diags[0].reason, "bad-json");
  EXPECT_EQ(c.diags[0].location.file, "lines.json");
  EXPECT_EQ(c.diags[1].location.line, 3u);
  EXPECT_EQ(c.diags[1].location.offset, l1.size() + 1 + l2.size() + 1);
  EXPECT_EQ(c.diags[1].source_line.substr(0, l3.size()), l3);
  EXPECT_EQ(c.diags[2].location.line, 6u);
}

TEST(BadInput, TruncatedPrettyJsonAtEnd) {
  const std::string text = "{\n  \"Event\": {\"System\": {\"EventID\": 1}}\n}\n{\n  \"Event\": {\"System\": {\n";
  Collected c = read_mem("pretty.json", text);
  ASSERT_EQ(c.records.size(), 1u);
  EXPECT_EQ(c.stats.records_skipped, 1u);
  ASSERT_EQ(c.diags.size(), 1u);
  EXPECT_EQ(c.diags[0].location.line, 4u);
  expect_accounting(c);
}

TEST(BadInput, TruncatedAndMalformedXml) {
  const std::string cut = "<Event " + kEventNs + "><System><EventID>2</EventID><Comp";  // cut mid-record
  const std::string bad = "<Event " + kEventNs + "><System><EventID>3</EventID></Sys></Event>";  // mismatched tag
  const std::string text = event(1) + "\n" + cut + "\n" + bad + "\n" + event(4) + "\n" + "<Event " + kEventNs + "><Sys";
  Collected c = read_mem("cut.xml", text);
  ASSERT_EQ(c.records.size(), 2u);
  EXPECT_EQ(c.records[0].sys("EventID"), "1");
  EXPECT_EQ(c.records[1].sys("EventID"), "4");
  EXPECT_EQ(c.records[1].line, 4u);
  EXPECT_EQ(c.stats.records_read, 5u);
  EXPECT_EQ(c.stats.skip_reasons["bad-xml"], 3u);
  expect_accounting(c);
  ASSERT_EQ(c.diags.size(), 3u);
  EXPECT_EQ(c.diags[0].location.line, 2u);
  EXPECT_EQ(c.diags[0].location.offset, event(1).size() + 1);
  EXPECT_EQ(c.diags[1].location.line, 3u);
  EXPECT_EQ(c.diags[2].location.line, 5u);
  for (auto& d : c.diags) EXPECT_EQ(d.reason, "bad-xml");
}

TEST(BadInput, BinaryAndEmptyFiles) {
  std::string binary;
  for (int i = 0; i < 4096; ++i) binary += char((i * 131 + 7) & 0xff);
  binary[0] = '\x7f';  // not a magic of anything we read
  Collected b = read_mem("blob.bin", binary);
  EXPECT_TRUE(b.records.empty());
  EXPECT_EQ(b.stats.files, 1u);
  EXPECT_EQ(b.stats.files_skipped, 1u);
  EXPECT_EQ(b.stats.skip_reasons["unrecognised-format"], 1u);
  ASSERT_EQ(b.diags.size(), 1u);
  EXPECT_EQ(b.diags[0].location.file, "blob.bin");

  Collected e = read_mem("empty.json", "");
  EXPECT_EQ(e.stats.files_skipped, 1u);
  EXPECT_EQ(e.count_reason("empty-file"), 1u);
  Collected w = read_mem("blank.json", " \r\n\n");
  EXPECT_EQ(w.count_reason("empty-file"), 1u);
}

// Good records around every kind of bad one in a directory, via read_inputs.
TEST(BadInput, MixedDirectoryKeepsGoing) {
  std::string dir = temp_dir("mixed");
  spit(dir + "/a_good.json", R"({"EventID":1})" "\n" R"({"EventID":2})" "\n");
  spit(dir + "/b_empty.json", "");
  spit(dir + "/c_binary.dat", std::string("\x01\x02\x03\x00\xff", 5));
  spit(dir + "/d_badline.json", R"({"EventID":3})" "\n{oops\n" R"({"EventID":4})" "\n");
  spit(dir + "/e_cut.xml", event(5) + event(6).substr(0, 40));
  Collected c = read_paths({dir});
  std::vector<std::string> ids;
  for (auto& r : c.records) ids.push_back(r.sys("EventID"));
  EXPECT_EQ(ids, (std::vector<std::string>{"1", "2", "3", "4", "5"}));
  EXPECT_EQ(c.stats.files, 5u);
  EXPECT_EQ(c.stats.files_skipped, 2u);
  EXPECT_EQ(c.stats.records_read, 7u);
  EXPECT_EQ(c.stats.records_skipped, 2u);
  EXPECT_EQ(c.stats.skip_reasons["bad-json"], 1u);
  EXPECT_EQ(c.stats.skip_reasons["bad-xml"], 1u);
  EXPECT_EQ(c.stats.skip_reasons["empty-file"], 1u);
  EXPECT_EQ(c.stats.skip_reasons["unrecognised-format"], 1u);
  EXPECT_EQ(c.stats.records_read, c.records.size() + c.stats.records_skipped);
  std::filesystem::remove_all(dir);
}

TEST(BadInput, MissingPathIsReported) {
  Collected c = read_paths({"/nonexistent/vigil/input.json"});
  EXPECT_TRUE(c.records.empty());
  EXPECT_EQ(c.stats.files_skipped, 1u);
  EXPECT_EQ(c.count_reason("unreadable"), 1u);
}

// Hostile nesting: refused or bounded, never a crash.
TEST(BadInput, DeepNesting) {
  std::string deep_json = "{\"EventID\":1,\"x\":" + std::string(100000, '[') + std::string(100000, ']') + "}\n";
  Collected j = read_mem("deep.json", deep_json);
  EXPECT_EQ(j.stats.records_read, 1u);
  expect_accounting(j);

  std::string deep_xml = "<Event " + kEventNs + "><System><EventID>1</EventID></System><UserData>";
  for (int i = 0; i < 20000; ++i) deep_xml += "<a>";
  deep_xml += "v";
  for (int i = 0; i < 20000; ++i) deep_xml += "</a>";
  deep_xml += "</UserData></Event>";
  Collected x = read_mem("deep.xml", deep_xml);
  EXPECT_EQ(x.stats.records_read, 1u);
  expect_accounting(x);
}

// Garbage inside otherwise valid framing: unterminated strings, stray
// brackets, NUL bytes. By hand: 8 candidate records (one per non-blank line,
// the "{" line swallowing "d":[1,2 as one cut-short document), 2 good.
TEST(BadInput, GarbageLines) {
  using namespace std::string_literals;  // the text holds NUL bytes
  std::string text = "{\"a\":1}\n{\"b\":\"unterminated\n}\n]]]\n{\"c\":\"x\0y\"}\n{\n\"d\":[1,2\n{\"e\":5}\n"s;
  text.push_back('\0');
  Collected c = read_mem("garbage.json", text);
  expect_accounting(c);
  EXPECT_EQ(c.records.size(), 2u);  // {"a":1} and {"e":5}
  EXPECT_EQ(c.stats.records_read, 8u);
}

// A triage collection with links: a linked directory is walked, a link cycle stops with a warning,
// a dangling link is named, and a file reached by two paths is read once (its findings would
// otherwise double), whether by a symbolic or a hard link.
TEST(BadInput, LinksAreFollowedOnceAndNamedWhenBroken) {
  namespace fs = std::filesystem;
  std::string dir = temp_dir("links");
  fs::create_directories(dir + "/real");
  fs::create_directories(dir + "/top");
  spit(dir + "/real/a.json", R"({"EventID":1})" "\n" R"({"EventID":2})" "\n");
  fs::create_directory_symlink(dir + "/real", dir + "/top/linked");
  fs::create_symlink(dir + "/real/a.json", dir + "/top/b.json");
  fs::create_directory_symlink(dir + "/top", dir + "/real/loop");
  fs::create_symlink(dir + "/nowhere.json", dir + "/top/dangling.json");
  Collected c = read_paths({dir + "/top"});
  // top/b.json sorts before top/linked/a.json: the file is read there, once.
  EXPECT_EQ(c.records.size(), 2u);
  EXPECT_EQ(c.stats.files, 1u);
  EXPECT_EQ(c.stats.records_read, 2u);
  ASSERT_EQ(c.count_reason("repeated-input"), 1u);
  for (auto& d : c.diags)
    if (d.reason == "repeated-input") {
      EXPECT_EQ(d.location.file, dir + "/top/linked/a.json");
      EXPECT_NE(d.message.find(dir + "/top/b.json"), std::string::npos) << d.message;
    }
  EXPECT_EQ(c.count_reason("link-cycle"), 1u);     // top/linked/loop -> top
  EXPECT_EQ(c.count_reason("dangling-link"), 1u);  // top/dangling.json

  // The same file given twice on the command line: read once.
  Collected twice = read_paths({dir + "/real/a.json", dir + "/real/a.json"});
  EXPECT_EQ(twice.records.size(), 2u);
  EXPECT_EQ(twice.count_reason("repeated-input"), 1u);

  // Two hard links are one file; a copy is another file.
  fs::create_directories(dir + "/hard");
  fs::create_hard_link(dir + "/real/a.json", dir + "/hard/x.json");
  fs::create_hard_link(dir + "/real/a.json", dir + "/hard/y.json");
  fs::copy_file(dir + "/real/a.json", dir + "/hard/z.json");
  Collected hard = read_paths({dir + "/hard"});
  EXPECT_EQ(hard.records.size(), 4u);
  EXPECT_EQ(hard.count_reason("repeated-input"), 1u);
  fs::remove_all(dir);
}

// A folder's files at every depth, in path order, each named by the input path as given and the
// entries under it (a trailing slash adds no second one); empty folders give nothing and no warning.
TEST(BadInput, NestedFoldersAreWalkedWholeAndNamedAsGiven) {
  namespace fs = std::filesystem;
  std::string dir = temp_dir("nested");
  fs::create_directories(dir + "/empty/inner");
  spit_events(dir, {{"x/y/z/deep.json", 3}, {"x/b.json", 2}, {"a.json", 1}});
  for (const std::string& given : {dir, dir + "/"}) {
    Collected c = read_paths({given});
    EXPECT_EQ(c.files(), (std::vector<std::string>{dir + "/a.json", dir + "/x/b.json", dir + "/x/y/z/deep.json"})) << given;
    EXPECT_EQ(c.sys_values("EventID"), (std::vector<std::string>{"1", "2", "3"})) << given;
    EXPECT_EQ(c.stats.files, 3u);
    EXPECT_TRUE(c.diags.empty()) << given << ": " << (c.diags.empty() ? "" : render_text(c.diags[0]));
  }
  fs::remove_all(dir);
}

// Files come in the byte order of their full paths whatever the folders: a folder's files are handed
// on while the walk goes on, so the walk itself keeps that order. By hand: 'B' (0x42) before 'a'
// (0x61); after "a", ' ' (0x20) < '-' (0x2D) < '.' (0x2E) < '/' (0x2F), so the folder "a" comes
// after "a.json" and the folder "a-b" before it.
TEST(BadInput, FolderFilesComeInTheOrderOfTheirPaths) {
  namespace fs = std::filesystem;
  std::string dir = temp_dir("order");
  spit_events(dir, {{"a/x.json", 5}, {"a.json", 4}, {"a-b/y.json", 3}, {"a b.json", 2}, {"B.json", 1}});
  for (bool units : {false, true}) {
    ReadOptions opts;
    std::vector<std::string> handed;
    if (units) {  // small files handed on in units (as a hunt's workers get them)
      opts.unit_bytes = 64;
      opts.defer = [&](InputUnit&& u) { handed.insert(handed.end(), u.files.begin(), u.files.end()); };
    }
    Collected c = read_paths({dir}, opts);
    const std::vector<std::string> ids = c.sys_values("EventID");
    if (units) {
      EXPECT_TRUE(ids.empty());
      EXPECT_EQ(handed, (std::vector<std::string>{dir + "/B.json", dir + "/a b.json", dir + "/a-b/y.json",
                                                  dir + "/a.json", dir + "/a/x.json"}));
    } else {
      EXPECT_EQ(ids, (std::vector<std::string>{"1", "2", "3", "4", "5"}));
    }
  }
  fs::remove_all(dir);
}

// What the walk says (a link to nothing, a link loop, a file reached twice) comes in the same place
// among the other diagnostics whether the files are read where they are walked or handed on in
// units to be read elsewhere (as a hunt's workers read them): it travels with the next unit.
TEST(BadInput, WalkDiagnosticsComeInTheSameOrderWithUnits) {
  namespace fs = std::filesystem;
  std::string dir = temp_dir("walknotes");
  spit_events(dir, {{"a.json", 1}, {"d/e.json", 3}});
  spit(dir + "/c.json", "not json at all\n");  // a diagnostic of its own, from reading it
  fs::create_symlink(dir + "/nowhere.json", dir + "/b.json");       // dangling
  fs::create_symlink(dir + "/d/loop.json", dir + "/d/loop.json");   // a link to itself
  fs::create_hard_link(dir + "/a.json", dir + "/d/f.json");          // a.json again
  auto seq = [](const std::vector<Diagnostic>& ds) {
    std::vector<std::string> out;
    for (auto& d : ds) out.push_back(d.reason + " " + d.location.file);
    return out;
  };
  Collected plain = read_paths({dir});
  // A unit or two of these small files at a time; then all of them in one unit, the walk's notes
  // told among its files.
  for (uint64_t unit_bytes : {20, 1 << 20}) {
    SCOPED_TRACE("unit_bytes " + std::to_string(unit_bytes));
    ReadOptions opts;
    opts.unit_bytes = unit_bytes;
    std::vector<Diagnostic> replayed;
    std::vector<std::string> ids;
    opts.defer = [&](InputUnit&& u) {
      UnitReport r = read_unit(u, opts, [&](const Record& rec) { ids.push_back(own(rec).sys("EventID")); });
      for (auto& d : r.diags) replayed.push_back(d);
    };
    Collected units = read_paths({dir}, opts);
    for (auto& d : units.diags) replayed.push_back(d);  // told directly: what came after the last unit
    EXPECT_EQ(seq(replayed), seq(plain.diags));
    EXPECT_EQ(ids, plain.sys_values("EventID"));
    EXPECT_EQ(ids, (std::vector<std::string>{"1", "3"}));
  }
  // In the order of the paths: b.json (dangling), c.json (not a log), d/f.json (a.json again), d/loop.json.
  EXPECT_EQ(seq(plain.diags), (std::vector<std::string>{"dangling-link " + dir + "/b.json", "unrecognised-format " + dir + "/c.json",
                                                          "repeated-input " + dir + "/d/f.json",
                                                          "unreadable " + dir + "/d/loop.json"}));
  EXPECT_EQ(plain.count_reason("dangling-link"), 1u);   // b.json
  EXPECT_EQ(plain.count_reason("repeated-input"), 1u);  // d/f.json
  size_t loops = 0;
  for (auto& d : plain.diags) loops += d.reason == "unreadable" && d.location.file == dir + "/d/loop.json";
  EXPECT_EQ(loops, 1u);  // a link loop is not a missing file: it cannot be looked at
  fs::remove_all(dir);
}

// A visitor (or the caller a unit is handed to) that throws ends the read there: the error reaches
// the caller and no folder of the walk is left open, at any depth, whichever of the two threw.
TEST(BadInput, AnExceptionFromTheCallerLeavesNoFolderOpen) {
  namespace fs = std::filesystem;
  std::string dir = temp_dir("throwing");
  spit_events(dir, {{"a/b/c/1.json", 1}, {"a/b/c/2.json", 2}, {"a/b/3.json", 3}, {"z.json", 4}});
  auto open_fds = [] {
    size_t n = 0;
    for ([[maybe_unused]] auto& e : fs::directory_iterator("/proc/self/fd")) ++n;
    return n;
  };
  const size_t before = open_fds();
  for (bool units : {false, true}) {
    SCOPED_TRACE(units ? "a unit's taker throws" : "the visitor throws");
    ReadOptions opts;
    size_t seen = 0;
    if (units) {
      opts.unit_bytes = 1;  // each file a unit of its own
      opts.defer = [&](InputUnit&&) {
        if (++seen == 2) throw std::runtime_error("stop");
      };
    }
    DiagnosticSink sink(nullptr);
    sink.set_keep(true);
    ReadStats stats;
    EXPECT_THROW(read_inputs({dir}, opts,
                             [&](const Record&) {
                               if (++seen == 2) throw std::runtime_error("stop");
                             },
                             sink, stats),
                 std::runtime_error);
    EXPECT_EQ(seen, 2u);  // nothing was read or handed on after the throw
    EXPECT_EQ(open_fds(), before);
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace vigil::test
