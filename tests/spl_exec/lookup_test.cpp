// Lookup tables (content/lookups.h) and the lookup / inputlookup commands, on
// the real security_content lookups. Expected rows were found independently
// with python3 (csv module + a `*`-only glob turned into a case-insensitive
// regex) over the same CSV files.
#include <filesystem>
#include <latch>
#include <thread>

#include <unistd.h>

#include "content/lookups.h"
#include "spl_exec/helpers.h"

using namespace vigil;
using namespace vigil::spl;
using namespace vigil::spl::testing;

namespace {

const std::string kLookups = std::string(VIGIL_SHARED_DIR) + "/corpus/security_content/lookups";

const content::LookupRegistry& registry() {
  static content::LookupRegistry* reg = [] {
    auto* r = new content::LookupRegistry;
    DiagnosticSink diags(stderr);
    diags.set_quiet(true);
    r->load_dir(kLookups, diags);
    return r;
  }();
  return *reg;
}

TEST(Csv, QuotesAndNewlines) {
  auto r = content::parse_csv("a,b,c\r\n\"x, y\",\"he said \"\"hi\"\"\",\"multi\nline\"\n1,,3\n");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[1][0], "x, y");
  EXPECT_EQ((*r)[1][1], "he said \"hi\"");
  EXPECT_EQ((*r)[1][2], "multi\nline");
  EXPECT_EQ((*r)[2][1], "");
  EXPECT_FALSE(content::parse_csv("a\n\"open").ok());
}

TEST(LookupRegistry, LoadsCorpusDefinitions) {
  if (!std::filesystem::exists(kLookups)) GTEST_SKIP() << "no shared corpus";
  const auto& reg = registry();
  // 79 YAMLs in lookups/ (spl.md §6); 55 have a filename, 24 are KV-store collections.
  // The 5 .mlmodel-backed definitions are not CSV and are skipped, so 74 load.
  EXPECT_EQ(reg.size(), 74u);
  const auto* t = reg.find("lolbas_file_path");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->rows.size(), 475u);  // python3: len(list(csv.DictReader(...)))
  EXPECT_FALSE(t->case_sensitive);
  EXPECT_EQ(t->max_matches, 1u);
  EXPECT_EQ(t->default_match.value_or(""), "false");
  EXPECT_EQ(reg.find("lolbas_file_path20240725.csv"), t);  // by file name too
  const auto* kv = reg.find("api_call_by_user_baseline");
  ASSERT_NE(kv, nullptr);
  EXPECT_TRUE(kv->kvstore);
  EXPECT_EQ(kv->columns.size(), 5u);  // fields_list: arn, latestCount, numDataPoints, avgApiCalls, stdevApiCalls
  EXPECT_EQ(kv->columns[0], "arn");
  EXPECT_EQ(kv->columns[4], "stdevApiCalls");
  EXPECT_TRUE(kv->rows.empty());
  const auto* ex = reg.find("remote_access_software_exceptions");  // fields_list starts with _key
  ASSERT_NE(ex, nullptr);
  EXPECT_EQ(ex->column("asset"), 1);
}

// A table's CSV is read when a rule first names it. A CSV that cannot be used leaves its table
// absent and is reported once, at the CSV (with the byte offset of an unterminated quote); a
// definition whose CSV does not exist is reported while loading, as before.
TEST(LookupRegistry, CsvIsReadOnFirstUseAndItsErrorsAreReportedOnce) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("vigil_lookups_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& text) {
    std::FILE* f = std::fopen((dir / name).c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  };
  write("good.yml", "name: good\nfilename: good.csv\n");
  write("good.csv", "code,meaning\n1,one\n2,two\n");
  write("bad.yml", "name: bad\nfilename: bad.csv\n");
  write("bad.csv", "a,b\n1,\"open\n");  // the quote opens at byte 6
  write("empty.yml", "name: empty\nfilename: empty.csv\n");
  write("empty.csv", "");
  write("gone.yml", "name: gone\nfilename: gone.csv\n");

  content::LookupRegistry reg;
  DiagnosticSink diags(stderr);
  diags.set_quiet(true);
  EXPECT_EQ(reg.load_dir(dir.string(), diags), 3u);  // good, bad, empty; gone has no CSV
  auto at_load = diags.take_kept();
  ASSERT_EQ(at_load.size(), 1u);
  EXPECT_EQ(at_load[0].reason, "missing-lookup-file");
  EXPECT_EQ(reg.find("gone"), nullptr);

  write("good.csv", "code,meaning\n1,one\n2,two\n3,three\n");  // changed after the load: read on use
  const auto* good = reg.find("good.csv");  // by file name
  ASSERT_NE(good, nullptr);
  EXPECT_EQ(reg.find("good"), good);
  ASSERT_EQ(good->rows.size(), 3u);
  EXPECT_EQ(good->column("meaning"), 1);
  EXPECT_EQ(good->rows[2][1], "three");

  EXPECT_EQ(reg.find("bad"), nullptr);
  EXPECT_EQ(reg.find("empty"), nullptr);
  reg.report_pending(diags);
  auto used = diags.take_kept();
  ASSERT_EQ(used.size(), 2u);
  EXPECT_EQ(used[0].severity, Severity::error);
  EXPECT_EQ(used[0].location.file, (dir / "bad.csv").string());
  EXPECT_EQ(used[0].location.offset, 6u);
  EXPECT_NE(used[0].message.find("unterminated"), std::string::npos);
  EXPECT_EQ(used[1].severity, Severity::warning);
  EXPECT_EQ(used[1].location.file, (dir / "empty.csv").string());

  EXPECT_EQ(reg.find("bad"), nullptr);  // asked again: still absent, not reported again
  reg.report_pending(diags);
  EXPECT_TRUE(diags.take_kept().empty());
  fs::remove_all(dir);
}

TEST(LookupCommand, WildcardCaseInsensitiveMatchWithDefault) {
  if (!std::filesystem::exists(kLookups)) GTEST_SKIP() << "no shared corpus";
  OperatorEnv env;
  env.lookups = &registry();
  // lolbas_file_path: WILDCARD(lolbas_file_name), WILDCARD(lolbas_file_path), case-insensitive,
  // min_matches 1, default_match false. python3 found:
  //  EVENTVWR.EXE + C:\Windows\System32\eventvwr.exe -> 1 row "Displays Windows Event Logs in a GUI window."
  //  eventvwr.exe + C:\Temp\eventvwr.exe            -> 0 rows (so default_match "false")
  //  regedit.exe  + C:\Windows\regedit.exe          -> "Used by Windows to manipulate registry"
  Table in = {row({{"process_name", "EVENTVWR.EXE"}, {"process_path", "C:\\Windows\\System32\\eventvwr.exe"}}),
              row({{"process_name", "eventvwr.exe"}, {"process_path", "C:\\Temp\\eventvwr.exe"}}),
              row({{"process_name", "regedit.exe"}, {"process_path", "C:\\Windows\\regedit.exe"}}),
              row({{"process_name", "regedit.exe"}})};
  auto out = run("| lookup lolbas_file_path lolbas_file_name as process_name, lolbas_file_path as process_path "
                 "OUTPUT description as desc",
                 in, env);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(text(out[0], "desc"), "Displays Windows Event Logs in a GUI window.");
  EXPECT_EQ(text(out[1], "desc"), "false");
  EXPECT_EQ(text(out[2], "desc"), "Used by Windows to manipulate registry");
  EXPECT_FALSE(out[3].has("desc"));  // no input value: event left alone
}

TEST(LookupCommand, RemoteAccessSoftwareDomains) {
  if (!std::filesystem::exists(kLookups)) GTEST_SKIP() << "no shared corpus";
  OperatorEnv env;
  env.lookups = &registry();
  // python3: foo.247ithelp.com -> "247ithelp.com (ConnectWise)", isutility TRUE (pattern *.247ithelp.com);
  // x.SEARCH.namequery.com -> "Absolute (Computrace)" (pattern *search.namequery.com, case-insensitive);
  // example.org -> no row, default_match "false".
  Table in = {row({{"dest", "foo.247ithelp.com"}}), row({{"dest", "x.SEARCH.namequery.com"}}), row({{"dest", "example.org"}})};
  auto out = run("| lookup remote_access_software remote_domain AS dest OUTPUT isutility, description as software", in, env);
  EXPECT_EQ(text(out[0], "software"), "247ithelp.com (ConnectWise)");
  EXPECT_EQ(text(out[0], "isutility"), "TRUE");
  EXPECT_EQ(text(out[1], "software"), "Absolute (Computrace)");
  EXPECT_EQ(text(out[2], "isutility"), "false");
}

TEST(LookupCommand, ExactMatchOutputModesAndMissingTable) {
  content::LookupRegistry reg;
  auto t = std::make_unique<content::LookupTable>();
  t->name = "codes";
  t->columns = {"code", "meaning", "sev"};
  t->rows = {{"1", "one", "low"}, {"2", "two", ""}, {"2", "deux", "high"}};
  reg.add(std::move(t));
  OperatorEnv env;
  env.lookups = &reg;
  Table in = {row({{"c", "2"}}), row({{"c", "9"}, {"meaning", "stale"}}), row({{"c", "1"}, {"meaning", "kept"}})};
  auto out = run("| lookup codes code as c OUTPUT meaning", in, env);
  EXPECT_EQ(text(out[0], "meaning"), "two\ndeux");  // several rows -> multivalue (max_matches 100)
  EXPECT_FALSE(out[1].has("meaning"));             // OUTPUT overwrites, also with nothing
  auto outnew = run("| lookup codes code as c OUTPUTNEW meaning", in, env);
  EXPECT_EQ(text(outnew[2], "meaning"), "kept");   // OUTPUTNEW does not touch existing fields
  auto all = run("| lookup codes code as c", {row({{"c", "1"}})}, env);
  EXPECT_EQ(text(all[0], "sev"), "low");          // no OUTPUT: every other column
  EXPECT_NE(build("| lookup nosuch x", env).error, "");
  EXPECT_NE(build("| lookup codes nosuchcol as c", env).error, "");
  auto gen = run("| inputlookup codes", {row({{"ignored", "1"}})}, env);
  ASSERT_EQ(gen.size(), 3u);
  EXPECT_FALSE(gen[1].has("sev"));  // empty cells are absent fields
}

// `search [| inputlookup t | …]`: the subsearch's rows are pasted as Splunk's `format` writes them,
// `( ( user="alice" AND host="web*" ) OR ( user="bob" ) )`: internal `_` fields are left out, an empty
// cell is no term, values are case-insensitive with `*` wildcards.
TEST(LookupSubsearch, RowsBecomeAnOrOfAndedFieldTerms) {
  content::LookupRegistry reg;
  auto t = std::make_unique<content::LookupTable>();
  t->name = "pairs";
  t->columns = {"user", "host", "_note"};
  t->rows = {{"alice", "web*", "x"}, {"bob", "", "y"}, {"carol", "db1", ""}};
  reg.add(std::move(t));
  ir::AtomTable atoms;
  OperatorEnv env;
  env.lookups = &reg;
  env.atoms = &atoms;
  Table in = {row({{"user", "ALICE"}, {"host", "web7"}}),   // row 1
              row({{"user", "alice"}, {"host", "db1"}}),    // alice, but not on web*
              row({{"user", "bob"}, {"host", "anything"}}),  // row 2: no host term
              row({{"user", "bob"}, {"_note", "q"}}),        // row 2 again; _note is not a term
              row({{"user", "carol"}, {"host", "db2"}}),     // carol only on db1
              row({{"host", "db1"}})};                       // no user
  auto kept = run("| search [| inputlookup pairs | table user host _note]", in, env);
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(text(kept[0], "user"), "ALICE");
  EXPECT_EQ(text(kept[1], "host"), "anything");
  EXPECT_EQ(text(kept[2], "_note"), "q");
  // rename and a filtering search inside the subsearch run too: only bob is left, as `who`.
  auto renamed = run("| search NOT [| inputlookup pairs | search user=bob | rename user as who | fields who]",
                     {row({{"who", "bob"}}), row({{"who", "alice"}}), row({{"user", "bob"}})}, env);
  ASSERT_EQ(renamed.size(), 2u);
  EXPECT_EQ(text(renamed[0], "who"), "alice");
  EXPECT_EQ(text(renamed[1], "user"), "bob");
  // No results: format's `NOT ( )` matches nothing, so NOT of it keeps everything. A row with only
  // internal fields is `( )`: everything.
  auto none = std::make_unique<content::LookupTable>();
  none->name = "none";
  none->columns = {"user"};
  reg.add(std::move(none));
  const Table two = {row({{"user", "a"}}), row({{"host", "b"}})};
  EXPECT_EQ(run("| search [| inputlookup none | fields user]", two, env).size(), 0u);
  EXPECT_EQ(run("| search NOT [| inputlookup none | fields user]", two, env).size(), 2u);
  EXPECT_EQ(run("| search [| inputlookup pairs | head 1 | fields _note]", two, env).size(), 2u);
}

// Wildcard columns are searched through an index of their literals (exact, `lit*`, `*lit`, `*lit*` by
// trigram) instead of testing every row: the rows found must be the ones a scan finds, in file order.
TEST(LookupTable, WildcardIndexFindsWhatAScanFinds) {
  content::LookupTable t;
  t.columns = {"p"};
  t.case_sensitive = false;
  t.rows = {{"cmd.exe"}, {"C:\\Windows\\*"}, {"*\\rundll32.exe"}, {"*bingmaps:*"}, {"*ab*"},
            {"a*b"},     {""},              {"*"},              {"*MAPS:*"}};
  t.set_wildcard("p");
  t.prepare();
  auto rows = [&](const std::string& v) { return t.match({{0, {v}}}); };
  using V = std::vector<size_t>;
  EXPECT_EQ(rows("CMD.EXE"), (V{0, 7}));
  EXPECT_EQ(rows("c:\\windows\\system32\\RUNDLL32.EXE"), (V{1, 2, 7}));
  EXPECT_EQ(rows("start bingmaps:foo"), (V{3, 7, 8}));  // two `*…*` rows, one by case folding
  EXPECT_EQ(rows("axxb"), (V{5, 7}));
  EXPECT_EQ(rows("cab"), (V{4, 7}));  // a two-letter `*ab*` is tested directly
  EXPECT_EQ(rows("maps"), (V{7}));    // shorter than `maps:`
  EXPECT_EQ(t.match({{0, {"cab", "CMD.exe"}}}), (V{0, 4, 7}));  // any value; rows in file order
  t.max_matches = 2;
  EXPECT_EQ(rows("start bingmaps:foo"), (V{3, 7}));
}

// A column's indexes are built by whichever thread asks first, and read without a lock after that
// (the hunt's workers look up rows side by side): threads that all start on a fresh table, on an
// exact column and a wildcard one at once, each get every row a scan finds.
TEST(LookupTable, ThreadsFirstUsingATableAllGetEveryRow) {
  content::LookupTable t;
  t.columns = {"name", "glob"};
  t.set_wildcard("glob");
  for (int i = 0; i < 20000; ++i) t.rows.push_back({"n" + std::to_string(i % 1000), "*x" + std::to_string(i % 500) + "y*"});
  t.prepare();
  using V = std::vector<size_t>;
  V exact, wild;  // rows i with i % 1000 == 7, and with i % 500 == 42 ("aax42ybb" holds no other `x…y`)
  for (size_t i = 7; i < 20000; i += 1000) exact.push_back(i);
  for (size_t i = 42; i < 20000; i += 500) wild.push_back(i);
  constexpr int kThreads = 4;
  std::latch start(kThreads);
  std::vector<int> right(kThreads, 0);
  std::vector<std::thread> threads;
  for (int k = 0; k < kThreads; ++k)
    threads.emplace_back([&, k] {
      start.arrive_and_wait();
      for (int n = 0; n < 20; ++n) {
        // Half the threads start on the wildcard column, half on the exact one.
        const bool w = (n + k) % 2 == 0;
        right[k] += w ? t.match({{1, {"aax42ybb"}}}) == wild : t.match({{0, {"n7"}}}) == exact;
      }
    });
  for (auto& th : threads) th.join();
  for (int k = 0; k < kThreads; ++k) EXPECT_EQ(right[k], 20) << "thread " << k;
}

TEST(LookupTable, ProtocolHandlersInCommandLines) {
  if (!std::filesystem::exists(kLookups)) GTEST_SKIP() << "no shared corpus";
  const auto* t = registry().find("windows_protocol_handlers");
  ASSERT_NE(t, nullptr);
  int col = t->column("handler");
  // python3: re.match over the 204 `*handler:*` cells (case-insensitive), row numbers after the header.
  auto rows = [&](const std::string& v) { return t->match({{col, {v}}}); };
  using V = std::vector<size_t>;
  EXPECT_EQ(rows("\"C:\\Program Files\\Internet Explorer\\iexplore.exe\" ms-settings:privacy"), (V{46}));
  EXPECT_EQ(rows("explorer.exe SEARCH-MS:query=x"), (V{84}));
  EXPECT_EQ(rows("rundll32 url.dll,FileProtocolHandler calculator:"), (V{1}));
  EXPECT_EQ(rows("cmd.exe /c whoami"), (V{}));
}

// `search [search … | table process_id dest]`: a subsearch over events is another stream of the plan;
// its rows are pasted as format pastes them once they are known (here: the test context's stream 0).
TEST(EventSubsearch, SearchKeepsTheRowsTheSubsearchNames) {
  ir::AtomTable atoms;
  OperatorEnv env;
  env.atoms = &atoms;
  size_t streams = 0;
  env.add_subsearch = [&](const Pipeline&, std::string*) -> std::optional<size_t> { return streams++; };
  TestCtx ctx;
  ctx.streams = {{row({{"process_id", "100"}, {"dest", "A"}}), row({{"process_id", "7"}, {"dest", "C"}})}};
  const Table in = {row({{"process_id", "100"}, {"dest", "A"}}), row({{"process_id", "100"}, {"dest", "B"}}),
                    row({{"process_id", "200"}, {"dest", "A"}}), row({{"process_id", "7"}, {"dest", "c"}})};
  auto kept = run("| search [search EventCode=1 | table process_id dest]", in, env, &ctx);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(text(kept[0], "dest"), "A");
  EXPECT_EQ(text(kept[1], "dest"), "c");  // values compare case-insensitively, as search terms do
  EXPECT_EQ(streams, 1u);
  streams = 0;  // each build below numbers its subsearch stream 0 again
  auto rest = run("| search NOT [search EventCode=1 | table process_id dest]", in, env, &ctx);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(text(rest[0], "dest"), "B");
  ctx.streams = {{}};  // no results: NOT ( ) matches nothing
  streams = 0;
  EXPECT_EQ(run("| search [search EventCode=1 | table process_id]", in, env, &ctx).size(), 0u);
  streams = 0;
  EXPECT_EQ(run("| search NOT [search EventCode=1 | table process_id]", in, env, &ctx).size(), 4u);
}

}  // namespace
