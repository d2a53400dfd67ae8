// Hostile inputs, classes 2 and 8 (buffered inputs, truncated archives) and
// 7 (exit codes). Every test here failed on the code before streaming reads:
// the bomb cost its expanded size in RSS (2.1 GB for 2 GB) or aborted with
// bad_alloc under the limit, /dev/zero on stdin aborted in read_stream, a cut
// .gz lost every record, and a missing or empty input exited 0.
#include <gtest/gtest.h>
#include <zlib.h>

#include "hostile_common.h"

namespace {

using namespace hostile;

// One gzip member holding `data` (concatenated members are one valid stream).
std::string gzip_member(const std::string& data) {
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

uint64_t records_read(const std::string& err) {
  size_t p = err.find("records read ");
  return p == std::string::npos ? 0 : std::stoull(err.substr(p + 13));
}

std::string demo_log(const char* name) { return slurp(fs::path(VIGIL_SOURCE_DIR) / "samples/logs" / name); }

// A .gz of ~2 MB that expands to 2 GiB: one good NXLog WMIC line, then 2 GiB
// of one endless line. Bound: 512 MiB peak RSS (the old reader held the whole
// member: 2.1 GB, or bad_alloc under the 4 GiB limit with the good logs lost).
TEST(HostileIngest, GzipBombBesideGoodLogsStaysBounded) {
  fs::path d = scratch("bomb");
  const size_t mib = kSanitized ? 256 : 2048;  // ASan is ~10x slower: a smaller bomb, same shape
  {
    std::ofstream f(d / "bomb.jsonl.gz", std::ios::binary);
    std::string first = demo_log("nxlog_ws22.jsonl");
    f << gzip_member(first.substr(0, first.find('\n') + 1));
    const std::string a = gzip_member(std::string(1 << 20, 'A'));
    for (size_t i = 0; i < mib; ++i) f << a;
  }
  VigilRun r = vigil(cat(demo_rules(), {"--format", "jsonl", (d / "bomb.jsonl.gz").string(), "samples/logs"}));
  ASSERT_EQ(r.signal, 0) << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(r.peak_rss_kb, (kSanitized ? 1024 : 512) * 1024) << "peak RSS " << r.peak_rss_kb << " KB";
  // The good logs' 7 findings, plus the Sigma finding of the bomb's own WMIC
  // line (the ESCU tstats rule folds it into the NXLog log's identical group).
  EXPECT_EQ(count(r.out, "\"rule_id\""), kDemoFindings + 1) << r.out << r.err;
  EXPECT_NE(r.err.find("bomb.jsonl.gz:bomb.jsonl:@"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("record longer than 64 MiB"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1 record-too-large"), std::string::npos) << r.err;
}

// Endless devices and stdin: read in blocks, sniffed, refused after the head.
TEST(HostileIngest, EndlessStdinAndDevicesAreRefusedNotBuffered) {
  for (const std::string& input : {std::string("/dev/zero"), std::string("/dev/urandom")}) {
    VigilRun r = vigil(cat(demo_rules(), {"--format", "jsonl", input, "samples/logs"}));
    ASSERT_EQ(r.signal, 0) << input << r.err;
    EXPECT_EQ(r.exit_code, 0) << input << r.err;
    EXPECT_LT(r.peak_rss_kb, (kSanitized ? 1024 : 256) * 1024) << input;
    EXPECT_EQ(count(r.out, "\"rule_id\""), kDemoFindings) << input << r.err;
    EXPECT_NE(r.err.find(input + ": note: skipped: unrecognised format"), std::string::npos) << r.err;
  }
  VigilRun r = vigil(cat(demo_rules(), {"--format", "jsonl", "-"}), "/dev/zero");
  ASSERT_EQ(r.signal, 0) << r.err;
  EXPECT_EQ(r.exit_code, 3) << r.err;  // nothing readable
  EXPECT_NE(r.err.find("<stdin>: note: skipped: unrecognised format"), std::string::npos) << r.err;
  EXPECT_LT(r.peak_rss_kb, (kSanitized ? 1024 : 256) * 1024);
}

// Good JSON lines on stdin are handed on as they complete (not gathered first).
TEST(HostileIngest, StdinIsStreamedRecordByRecord) {
  fs::path d = scratch("stdin");
  std::string log = demo_log("sysmon_ws17.xml");
  std::string big;
  for (int i = 0; i < 400; ++i) big += log;  // ~2 MB: several read blocks, records cut across blocks
  spit(d / "in.xml", big);
  VigilRun r = vigil(cat(demo_rules(), {"--format", "jsonl", "-"}), (d / "in.xml").string());
  ASSERT_EQ(r.signal, 0) << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  VigilRun whole = vigil(cat(demo_rules(), {"--format", "jsonl", (d / "in.xml").string()}));
  EXPECT_EQ(count(r.out, "\"rule_id\""), count(whole.out, "\"rule_id\"")) << r.err;
  EXPECT_GT(count(r.out, "\"rule_id\""), 400u);
  EXPECT_EQ(r.err.find(": error:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("records read 2400, evaluated 2400, skipped 0"), std::string::npos) << r.err;
}

// A .gz cut in half yields the records before the cut and reports the cut
// with its byte offset (the old reader reported "cannot decompress member"
// and delivered nothing).
TEST(HostileIngest, TruncatedGzipYieldsWhatItHolds) {
  fs::path d = scratch("cut");
  std::string log = demo_log("sysmon_ws17.xml");
  std::string big;
  for (int i = 0; i < 200; ++i) big += log;
  std::string gz = gzip_member(big);
  spit(d / "cut.xml.gz", gz.substr(0, gz.size() / 2));
  VigilRun r = vigil(cat(demo_rules(), {"--format", "jsonl", (d / "cut.xml.gz").string(), "samples/logs"}));
  ASSERT_EQ(r.signal, 0) << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // 6 records per copy of sysmon_ws17.xml, 200 copies: about half survive.
  EXPECT_GT(records_read(r.err), 12u + 450u) << r.err;
  // Each surviving copy gives its Sigma finding (ESCU stats fold the copies).
  EXPECT_GT(count(r.out, "\"rule_language\":\"sigma\""), 3u + 70u) << r.err;
  EXPECT_NE(r.err.find("cut.xml.gz:cut.xml:@"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("input cut short after"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1 cut short"), std::string::npos) << r.err;
}

// A .tar.gz cut inside its second member keeps the first member's records.
TEST(HostileIngest, TruncatedTarGzKeepsEarlierMembers) {
  fs::path d = scratch("tarcut");
  std::string log = demo_log("sysmon_ws17.xml");
  std::string big;
  for (int i = 0; i < 200; ++i) big += log;
  spit(d / "a.xml", log);
  spit(d / "b.xml", big);
  std::string cmd = "tar -C '" + d.string() + "' -czf '" + (d / "full.tgz").string() + "' a.xml b.xml";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::string tgz = slurp(d / "full.tgz");
  spit(d / "cut.tgz", tgz.substr(0, tgz.size() / 2));
  VigilRun r = vigil(cat(demo_rules(), {"--format", "jsonl", (d / "cut.tgz").string()}));
  ASSERT_EQ(r.signal, 0) << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  VigilRun one = vigil(cat(demo_rules(), {"--format", "jsonl", "samples/logs/sysmon_ws17.xml"}));
  EXPECT_GT(records_read(r.err), 6u * 50) << r.err;  // a.xml whole, and part of b.xml
  EXPECT_GT(count(r.out, "\"rule_language\":\"sigma\""), count(one.out, "\"rule_language\":\"sigma\"") * 20)
      << r.err;
  EXPECT_NE(r.err.find("cut.tgz:b.xml:@"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1 cut short"), std::string::npos) << r.err;
}

// Exit codes as the README says: 3 when no input could be read.
TEST(HostileIngest, NothingReadableExitsThree) {
  fs::path d = scratch("exit");
  spit(d / "empty.json", "");
  spit(d / "binary.bin", std::string("\x01\x02\x03\x00\xff\xfe garbage", 14));
  for (const std::string& input : {std::string("/no/such/vigil/input"), (d / "empty.json").string(),
                                   (d / "binary.bin").string()}) {
    VigilRun r = vigil(cat(demo_rules(), {"--format", "jsonl", input}));
    ASSERT_EQ(r.signal, 0) << r.err;
    EXPECT_EQ(r.exit_code, 3) << input << "\n" << r.err;
    // Not a log at all is a counted note (directories of evidence hold such files); the rest are errors.
    const bool not_a_log = input.ends_with("binary.bin");
    EXPECT_NE(r.err.find(input + (not_a_log ? ": note: skipped: unrecognised format" : ": error:")), std::string::npos)
        << r.err;
  }
  // One good input among them: it ran.
  VigilRun r = vigil(cat(demo_rules(), {"--format", "jsonl", "/no/such/vigil/input", "samples/logs"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(count(r.out, "\"rule_id\""), kDemoFindings);
  // lint of a missing path names it.
  VigilRun l = vigil({"lint", "/no/such/vigil/rules"});
  ASSERT_EQ(l.signal, 0);
  EXPECT_EQ(l.exit_code, 3);
  EXPECT_NE(l.err.find("/no/such/vigil/rules: error:"), std::string::npos) << l.err << l.out;
}

}  // namespace
