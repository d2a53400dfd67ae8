// report/writers: the JSON of findings and rows, written through one buffer kept from line to
// line (expected texts written by hand from the CLI.md record and RFC 8259 escaping).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "report/writers.h"

namespace vigil::report {
namespace {

FindingView small_view() {
  FindingView v;
  v.rule_id = "id-1";
  v.rule_name = "R";
  v.rule_language = "sigma";
  v.rule_type = "sigma";
  v.risk_score = 25;
  v.message = "m";
  v.count = 1;
  return v;
}

std::string written(const std::vector<FindingView>& views) {
  char* buf = nullptr;
  size_t len = 0;
  std::FILE* f = open_memstream(&buf, &len);
  {
    auto w = make_finding_writer(Format::jsonl, f);
    for (auto& v : views) w->write(v);
    w->finish();
  }
  std::fclose(f);
  std::string out(buf, len);
  std::free(buf);
  return out;
}

TEST(JsonWriter, AFindingAsItsRecord) {
  FindingView v = small_view();
  v.level = "high";
  v.entities.push_back({"Computer", "system", "PC1", "victim", 25});
  v.mitre_attack.push_back({"T1003.001", "LSASS Memory", {"Credential Access"}});
  v.mitre_attack.push_back({"T9999", "", {}});
  v.analytic_story = {"S1", "S2"};
  v.first_time = "2019-04-30T12:43:43Z";
  Row row;
  row.set("EventID", Value(std::string("8")));
  row.set("_vigil_internal", Value(std::string("x")));
  row.set("n", Value(2.5));
  row.set("list", Value::multi({"a", "b\"c"}));
  v.fields = &row;
  v.sources.push_back({"f.evtx", "9060", false, 0, 0});
  EXPECT_EQ(finding_json(v),
            R"({"rule_id":"id-1","rule_name":"R","rule_language":"sigma","rule_type":"sigma","level":"high",)"
            R"("risk_score":25,"message":"m","entities":[{"field":"Computer","type":"system","value":"PC1",)"
            R"("role":"victim","score":25}],"mitre_attack":[{"id":"T1003.001","name":"LSASS Memory",)"
            R"("tactics":["Credential Access"]},{"id":"T9999","name":null,"tactics":[]}],)"
            R"("analytic_story":["S1","S2"],"first_time":"2019-04-30T12:43:43Z","last_time":null,"count":1,)"
            R"("fields":{"EventID":"8","n":2.5,"list":["a","b\"c"]},"source":{"file":"f.evtx","record_id":"9060"}})");
  v.sources[0].line = 12;
  v.sources[0].recovered = true;
  v.sources[0].offset = 4096;
  v.fields = nullptr;
  v.message_missing = {"user"};
  const std::string j = finding_json(v);
  EXPECT_NE(j.find(R"("message":"m","message_missing":["user"],)"), std::string::npos) << j;
  EXPECT_NE(j.find(R"("fields":{},"source":{"file":"f.evtx","record_id":"9060","line":12,"recovered":true,"offset":4096}})"),
            std::string::npos)
      << j;
}

// Values that escape to six bytes per byte (controls, invalid UTF-8) fill the room a value is
// given; a long line then a short one through the writer's kept buffer leave nothing behind.
TEST(JsonWriter, WorstCaseEscapesAndAKeptBufferLeaveNothingBehind) {
  const std::string controls(3000, '\x01'), invalid(3000, '\xff');
  std::string want_controls, want_invalid;
  for (int i = 0; i < 3000; ++i) want_controls += "\\u0001", want_invalid += "\\ufffd";
  Row row;
  row.set(controls, Value(invalid));
  EXPECT_EQ(row_json(row), "{\"" + want_controls + "\":\"" + want_invalid + "\"}");
  EXPECT_EQ(value_json(Value::multi({controls, ""})), "[\"" + want_controls + "\",\"\"]");
  EXPECT_EQ(value_json(Value()), "null");

  FindingView big = small_view(), tiny = small_view();
  big.message = invalid;
  big.fields = &row;
  const std::string out = written({big, tiny, big});
  EXPECT_EQ(out, finding_json(big) + "\n" + finding_json(tiny) + "\n" + finding_json(big) + "\n");
  EXPECT_EQ(finding_json(tiny),
            R"({"rule_id":"id-1","rule_name":"R","rule_language":"sigma","rule_type":"sigma","level":null,)"
            R"("risk_score":25,"message":"m","entities":[],"mitre_attack":[],"analytic_story":[],)"
            R"("first_time":null,"last_time":null,"count":1,"fields":{},"source":null})");
}

}  // namespace
}  // namespace vigil::report

namespace vigil::report {
namespace {

std::string rows_written(Format f, const Table& rows, RowWriter::WriteProblem& problem) {
  char* buf = nullptr;
  size_t len = 0;
  std::FILE* out = open_memstream(&buf, &len);
  {
    auto w = make_row_writer(f, out);
    for (auto& r : rows) w->write(r);
    problem = w->finish();
  }
  std::fclose(out);
  std::string text(buf, len);
  std::free(buf);
  return text;
}

// CSV rows wait for their header (every column any row has, in first-seen order): spooled to an
// unnamed temporary file, or held in memory when none can be made ($TMPDIR=/proc: no O_TMPFILE,
// no file may be created there), with a warning. The text is the same either way; expected text
// written by hand (RFC 4180 quoting; `_time` as ISO-8601; a name twice: its first value).
TEST(RowWriterCsv, ColumnsInFirstSeenOrderWhetherSpooledOrHeldInMemory) {
  Table rows(4);
  rows[0].set("host", Value(std::string("a")));
  rows[0].set("_time", Value(0.5));
  rows[0].set("_vigil_internal", Value(std::string("not shown")));
  rows[1].set("user", Value(std::string("u,1")));
  rows[1].set("host", Value(std::string("b")));
  rows[2].entries().emplace_back("host", Value(std::string("c")));
  rows[2].entries().emplace_back("host", Value(std::string("second host")));
  rows[2].entries().emplace_back("msg", Value(std::string("line1\nline2 \"q\"")));
  // rows[3]: no field at all
  const std::string expected =
      "host,_time,user,msg\n"
      "a,1970-01-01T00:00:00.500Z,,\n"
      "b,,\"u,1\",\n"
      "c,,,\"line1\nline2 \"\"q\"\"\"\n"
      ",,,\n";
  RowWriter::WriteProblem problem;
  EXPECT_EQ(rows_written(Format::csv, rows, problem), expected);
  EXPECT_TRUE(problem.message.empty()) << problem.message;

  const char* had = std::getenv("TMPDIR");
  const std::string saved = had ? had : "";
  ::setenv("TMPDIR", "/proc", 1);
  const std::string held = rows_written(Format::csv, rows, problem);
  if (had) ::setenv("TMPDIR", saved.c_str(), 1);
  else ::unsetenv("TMPDIR");
  EXPECT_EQ(held, expected);
  EXPECT_FALSE(problem.rows_lost);
  EXPECT_NE(problem.message.find("held in memory"), std::string::npos) << problem.message;

  // JSON lines: one object per row, as it comes.
  EXPECT_EQ(rows_written(Format::jsonl, {rows[1]}, problem), "{\"user\":\"u,1\",\"host\":\"b\"}\n");
}

}  // namespace
}  // namespace vigil::report
