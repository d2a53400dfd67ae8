// The generated catalog in a real browser: `vigil catalog` over the whole shared
// corpus into a temp dir, then Debian's chromium, headless, loads index.html
// from file://.
//
// How the search box is driven: the index script reads `?q=…` (and the filter
// names, e.g. `&lang=sigma`) on load, puts the text into the search box and runs
// the same handler a keystroke runs (the box's `input` listener). `--dump-dom`
// prints the DOM after the load event, so the rows the user would see are in
// it. This avoids a DevTools-protocol client in the test while exercising the
// real filter code in the real engine. Errors: the page's own `error` listener
// writes uncaught exceptions into #errors (asserted empty), and chromium's
// `--enable-logging=stderr --v=0` prints every console message as `CONSOLE(…)`
// (asserted absent: the page logs nothing when healthy, and a missing asset or
// script error shows up there).
//
// Screenshots of the index and of the seed rule's page are written under the
// build dir: <build>/tests/e2e_catalog_artifacts/.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string find_chromium() {
  if (const char* e = std::getenv("VIGIL_CHROMIUM"); e && *e && fs::exists(e)) return e;
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"})
    if (fs::exists(p)) return p;
  return {};
}

size_t count_of(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

class CatalogBrowser : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    chromium_ = find_chromium();
    if (chromium_.empty()) return;
    tmp_ = fs::temp_directory_path() / ("vigil_catalog_e2e_" + std::to_string(getpid()));
    fs::remove_all(tmp_);
    fs::create_directories(tmp_);
    artifacts_ = fs::current_path() / "e2e_catalog_artifacts";
    fs::create_directories(artifacts_);
    std::string cmd = quote(VIGIL_BINARY) + " catalog --rules " + quote(std::string(VIGIL_SHARED_DIR) + "/corpus") +
                      " --out " + quote((tmp_ / "site").string()) + " 2> " + quote((tmp_ / "catalog.err").string());
    catalog_rc_ = std::system(cmd.c_str());
  }
  static void TearDownTestSuite() {
    if (!tmp_.empty()) fs::remove_all(tmp_);
  }
  void SetUp() override {
    if (chromium_.empty())
      GTEST_SKIP() << "chromium is not installed (apt-get install -y chromium; scripts/setup.sh installs it as optional)";
    ASSERT_EQ(catalog_rc_, 0) << slurp(tmp_ / "catalog.err");
  }

  // Runs headless chromium with `args` on `url`; returns stdout, puts stderr in `err`.
  static std::string chromium(const std::string& args, const std::string& url, std::string& err, const std::string& tag) {
    fs::path out = tmp_ / (tag + ".out"), errf = tmp_ / (tag + ".err"), profile = tmp_ / ("profile_" + tag);
    std::string cmd = "timeout 180 " + quote(chromium_) +
                      " --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update"
                      " --disable-sync --no-first-run --disable-dev-shm-usage --enable-logging=stderr --v=0"
                      " --user-data-dir=" + quote(profile.string()) + " " + args + " " + quote(url) + " > " +
                      quote(out.string()) + " 2> " + quote(errf.string());
    int rc = std::system(cmd.c_str());
    err = slurp(errf);
    EXPECT_EQ(rc, 0) << cmd << "\n" << err;
    return slurp(out);
  }
  static std::string index_url(const std::string& query) { return "file://" + (tmp_ / "site" / "index.html").string() + query; }

  // `index`: the page has the #errors box its script fills on uncaught exceptions.
  static void expect_clean(const std::string& dom, const std::string& err, bool index = true) {
    if (index) {
      EXPECT_NE(dom.find("<div id=\"errors\"></div>"), std::string::npos) << "the page reported a script error";
    }
    std::smatch m;
    EXPECT_FALSE(std::regex_search(err, m, std::regex("CONSOLE\\(|Uncaught"))) << "console output: " << err;
  }

  static std::string chromium_;
  static fs::path tmp_, artifacts_;
  static int catalog_rc_;
};
std::string CatalogBrowser::chromium_;
fs::path CatalogBrowser::tmp_, CatalogBrowser::artifacts_;
int CatalogBrowser::catalog_rc_ = -1;

// Expected rows derived with python over the corpus YAML, independently of vigil: every rule
// document (ESCU: `search` plus tags/finding/rba; Sigma: detection+logsource, or correlation)
// whose name/title, id, description or status contains "wmic", case-insensitively:
// 22 ESCU + 33 Sigma = 55 of the corpus' rules. (The index searches name, id, type, status,
// techniques, tactics, event types and description; none of the other columns can contain
// "wmic": types are TTP/Anomaly/…/sigma, techniques T-ids, events provider/event-id labels.)
TEST_F(CatalogBrowser, SearchBoxFiltersRows) {
  std::string err;
  std::string dom = chromium("--dump-dom", index_url("?q=wmic"), err, "q_wmic");
  expect_clean(dom, err);
  EXPECT_NE(dom.find("value=\"wmic\""), std::string::npos) << "search box does not hold the query";
  EXPECT_EQ(count_of(dom, "<tr class=\"rule\">"), 55u);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(dom, m, std::regex("<p id=\"count\">(\\d+) of (\\d+) rules</p>"))) << dom.substr(0, 2000);
  EXPECT_EQ(m[1].str(), "55");
  EXPECT_GT(std::stoul(m[2].str()), 5000u);  // ≈1,700 ESCU + ≈3,800 Sigma rule documents in the corpus
  EXPECT_NE(dom.find(">Remote Process Instantiation via WMI</a>"), std::string::npos);

  // Same term, language filter: the 33 Sigma rules of the count above.
  dom = chromium("--dump-dom", index_url("?q=wmic&lang=sigma"), err, "q_wmic_sigma");
  expect_clean(dom, err);
  EXPECT_EQ(count_of(dom, "<tr class=\"rule\">"), 33u);

  // The seed rule's id: `grep -rl '^id: d25d2c3d-d9d8-40ec-8fdf-e86fe155a3da' corpus` -> 2 files
  // (the seed and its security_content copy).
  dom = chromium("--dump-dom", index_url("?q=d25d2c3d-d9d8-40ec-8fdf-e86fe155a3da"), err, "q_id");
  expect_clean(dom, err);
  EXPECT_EQ(count_of(dom, "<tr class=\"rule\">"), 2u);
}

TEST_F(CatalogBrowser, ScreenshotsOfIndexAndSeedRulePage) {
  std::string err;
  fs::path index_png = artifacts_ / "index.png";
  fs::remove(index_png);
  chromium("--screenshot=" + quote(index_png.string()) + " --window-size=1400,1000 --hide-scrollbars", index_url("?q=wmic"),
           err, "shot_index");
  EXPECT_TRUE(fs::exists(index_png) && fs::file_size(index_png) > 10000) << err;

  // Two files share the seed's id; the catalog names the second page <id>-2.html. Pick the seed's.
  fs::path page;
  for (const char* name : {"d25d2c3d-d9d8-40ec-8fdf-e86fe155a3da.html", "d25d2c3d-d9d8-40ec-8fdf-e86fe155a3da-2.html"}) {
    fs::path p = tmp_ / "site" / "rules" / name;
    if (fs::exists(p) && slurp(p).find("seed_rules/remote_process_instantiation_via_wmi.yml") != std::string::npos) page = p;
  }
  ASSERT_FALSE(page.empty()) << "no page for the seed rule";
  std::string dom = chromium("--dump-dom", "file://" + page.string(), err, "rule_dom");
  expect_clean(dom, err, false);
  for (const char* section : {"MITRE ATT&amp;CK coverage", "Event coverage", "Rule body", "Stages and predicates", "Indicators",
                              "Compiled plan", "Process creation"})
    EXPECT_NE(dom.find(section), std::string::npos) << section;
  fs::path rule_png = artifacts_ / "seed_rule.png";
  fs::remove(rule_png);
  chromium("--screenshot=" + quote(rule_png.string()) + " --window-size=1400,2400 --hide-scrollbars",
           "file://" + page.string(), err, "shot_rule");
  EXPECT_TRUE(fs::exists(rule_png) && fs::file_size(rule_png) > 10000) << err;
  std::cout << "screenshots: " << index_png << " " << rule_png << "\n";
}


// vigil hunt --html: the seed rule over attack_data T1047 finds RecordNumber 5471 only (data.md's
// oracle), on win-dc-6178966.attackrange.local (the event's Hostname). The page renders without
// console errors, holds that one finding row (a tstats aggregate: no single source record), the T1047 cell of the heat map and the host's
// timeline strip, and links the rule to its page in the catalog built above (named by rule id).
TEST_F(CatalogBrowser, HuntReportRendersAndLinksIntoCatalog) {
  fs::path report = tmp_ / "hunt_report.html";
  std::string cmd = quote(VIGIL_BINARY) + " hunt -q --format jsonl --content " +
                    quote(std::string(VIGIL_SHARED_DIR) + "/corpus/security_content") + " --rules " +
                    quote(std::string(VIGIL_SHARED_DIR) + "/corpus/seed_rules/remote_process_instantiation_via_wmi.yml") +
                    " --html " + quote(report.string()) + " --catalog-url " + quote((tmp_ / "site").string()) + " " +
                    quote(std::string(VIGIL_SHARED_DIR) + "/data/attack_data/T1047/atomic_red_team/attack_data.tar.gz") +
                    " > " + quote((tmp_ / "hunt.out").string()) + " 2> " + quote((tmp_ / "hunt.err").string());
  ASSERT_EQ(std::system(cmd.c_str()), 0) << slurp(tmp_ / "hunt.err");
  std::string err;
  std::string dom = chromium("--dump-dom", "file://" + report.string(), err, "hunt_dom");
  expect_clean(dom, err, false);
  EXPECT_EQ(count_of(dom, "<tr class=\"finding\">"), 1u);
  EXPECT_NE(dom.find("<b id=\"n-findings\">1</b>"), std::string::npos);
  EXPECT_NE(dom.find("win-dc-6178966.attackrange.local"), std::string::npos);
  EXPECT_NE(dom.find("attack_data.tar.gz"), std::string::npos);  // the detection's input
  EXPECT_NE(dom.find("<b>T1047</b> Windows Management Instrumentation (1)"), std::string::npos);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(dom, m, std::regex("class=\"rule-link\" href=\"file://([^\"]+)\">Remote Process Instantiation via WMI</a>")))
      << dom.substr(0, 4000);
  EXPECT_EQ(fs::path(m[1].str()).filename(), "d25d2c3d-d9d8-40ec-8fdf-e86fe155a3da.html");
  EXPECT_TRUE(fs::exists(m[1].str())) << m[1].str();
  fs::path png = artifacts_ / "hunt_report.png";
  fs::remove(png);
  chromium("--screenshot=" + quote(png.string()) + " --window-size=1400,1400 --hide-scrollbars", "file://" + report.string(),
           err, "shot_hunt");
  EXPECT_TRUE(fs::exists(png) && fs::file_size(png) > 10000) << err;
  std::cout << "screenshot: " << png << "\n";
}

}  // namespace
