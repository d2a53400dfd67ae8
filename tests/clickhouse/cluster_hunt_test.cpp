// End to end over a real two-shard ClickHouse cluster (scripts/clickhouse.sh): `vigil load` the
// shared EVTX samples and attack_data archives with --cluster, then `vigil hunt --clickhouse`
// with every Sigma Windows rule and every ESCU endpoint detection. The oracle is the local engine:
// `vigil hunt` on the same files must print exactly the same findings (JSONL, sorted, `--now`
// pinned) — same count per rule and the same lines, byte for byte. Also: a dead shard is named
// and no findings are printed; `vigil sql` prints what runs where.
#include <gtest/gtest.h>

#include <regex>

#include "ch_cluster.h"

namespace vigil::chtest {
namespace {

const ::testing::Environment* const kEnv = ::testing::AddGlobalTestEnvironment(new ClusterEnvironment);

const std::string kSigmaWindows = kShared + "/corpus/sigma/rules/windows";
const std::string kEscuEndpoint = kShared + "/corpus/security_content/detections/endpoint";
const std::string kNow = "--now 2026-06-01T00:00:00Z";

// The inputs: all EVTX-ATTACK-SAMPLES (7,455 records, docs/data.md) and the seed rules' attack data
// (NXLog archives the other end-to-end tests use).
std::string inputs() {
  return shell_quote(kShared + "/data/evtx-attack-samples") + " " + shell_quote(kShared + "/data/attack_data");
}

uint64_t number_after(const std::string& text, const std::string& label) {
  auto p = text.find(label);
  if (p == std::string::npos) return UINT64_MAX;
  return std::stoull(text.substr(p + label.size()));
}

TEST(ClusterHunt, SameFindingsAsLocalHunt) {
  VIGIL_NEED_CLUSTER(cluster);
  // Load with --cluster: <t>_local MergeTree tables on both shards, Distributed <t> over them.
  CliRun load = vigil("load --clickhouse " + cluster->url() + " --cluster vigil --shard " + cluster->http_url(1) +
                   " --shard " + cluster->http_url(2) + " " + inputs());
  ASSERT_EQ(load.exit_code, 0) << load.err;
  uint64_t read = number_after(load.err, "records read "), inserted = number_after(load.err, "inserted "),
           skipped = number_after(load.err, ", skipped ");
  ASSERT_NE(read, UINT64_MAX) << load.err;
  EXPECT_EQ(read, inserted + skipped) << load.err;
  EXPECT_GE(read, 7455u);  // the EVTX samples alone hold 7,455 records
  // The servers agree: every event is on exactly one shard, and both shards hold some.
  EXPECT_EQ(cluster->query("SELECT count() FROM vigil_raw"), std::to_string(inserted) + "\n");
  std::string s1 = cluster->query("SELECT count() FROM vigil_raw_local");
  std::string both = cluster->query("SELECT count() FROM remote('127.0.0.1:" + std::to_string(cluster->tcp_port(2)) +
                                    "', currentDatabase(), vigil_raw_local)");
  ASSERT_EQ(s1.rfind("ERROR", 0), std::string::npos) << s1;
  ASSERT_EQ(both.rfind("ERROR", 0), std::string::npos) << both;
  EXPECT_GT(std::stoull(s1), 0u);
  EXPECT_GT(std::stoull(both), 0u);
  EXPECT_EQ(std::stoull(s1) + std::stoull(both), inserted);
  EXPECT_EQ(cluster->query("SELECT engine FROM system.tables WHERE name = 'vigil_raw'"), "Distributed\n");

  const std::string rules = "--rules " + shell_quote(kSigmaWindows) + " --rules " + shell_quote(kEscuEndpoint);
  CliRun local = vigil("hunt " + rules + " --format jsonl " + kNow + " " + inputs());
  ASSERT_EQ(local.exit_code, 0) << local.err;
  CliRun remote = vigil("hunt --clickhouse " + cluster->url() + " " + rules + " --format jsonl " + kNow);
  ASSERT_EQ(remote.exit_code, 0) << remote.err;

  // The local hunt evaluated exactly what was inserted.
  EXPECT_EQ(number_after(local.err, "evaluated "), inserted) << local.err;
  // The first aggregation of most ESCU tstats rules ran on the cluster (push-down): of the 789
  // datamodel streams of the corpus most are pushed; those with order-dependent aggregates
  // (earliest/latest …) are not.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(remote.err, m,
                                std::regex("(\\d+) of (\\d+) tstats streams aggregated on the cluster \\((\\d+) groups")))
      << remote.err;
  const size_t pushed = std::stoul(m[1]), datamodel = std::stoul(m[2]);
  EXPECT_GT(pushed, 500u) << remote.err;
  EXPECT_LT(pushed, datamodel) << remote.err;  // earliest/latest, percentiles … fall back
  EXPECT_GT(std::stoul(m[3]), 1000u) << remote.err;
  EXPECT_NE(remote.err.find("datamodel streams aggregated here: aggregate order-dependent"), std::string::npos)
      << remote.err;
  // Table scans grow with datasets and pushed streams (16 per aggregation query), not rules: one
  // raw scan plus one per dataset table for the records.
  ASSERT_TRUE(std::regex_search(remote.err, m, std::regex("clickhouse: (\\d+) table scans"))) << remote.err;
  EXPECT_LE(std::stoul(m[1]), 12u + (pushed + 15) / 16 + 10) << remote.err;
  EXPECT_NE(remote.err.find("on 2 shards"), std::string::npos) << remote.err;

  auto lf = sorted_lines(local.out), rf = sorted_lines(remote.out);
  auto lc = per_rule(lf), rc = per_rule(rf);
  // Not a vacuous comparison: the samples fire many rules of both corpora.
  EXPECT_GT(lf.size(), 500u);
  EXPECT_GT(lc.size(), 100u);
  size_t sigma = 0;
  for (auto& l : lf) sigma += l.find("\"rule_language\":\"sigma\"") != std::string::npos;
  EXPECT_GT(sigma, 100u);
  EXPECT_GT(lf.size() - sigma, 20u);
  for (auto& [rule, n] : lc) EXPECT_EQ(rc[rule], n) << "findings of rule " << rule;
  for (auto& [rule, n] : rc) EXPECT_TRUE(lc.count(rule)) << "only on the cluster: " << rule << " (" << n << ")";
  EXPECT_EQ(lf.size(), rf.size());
  if (lf != rf) {
    std::vector<std::string> only_l, only_r;
    std::set_difference(lf.begin(), lf.end(), rf.begin(), rf.end(), std::back_inserter(only_l));
    std::set_difference(rf.begin(), rf.end(), lf.begin(), lf.end(), std::back_inserter(only_r));
    ADD_FAILURE() << only_l.size() << " findings only local, " << only_r.size() << " only on the cluster; first: "
                  << (only_l.empty() ? std::string() : only_l[0]) << "\n"
                  << (only_r.empty() ? std::string() : only_r[0]);
  }
}

// A shard that is gone before the hunt: a non-zero exit, the shard named by host:port, and not one
// finding printed.
TEST(ClusterHunt, DeadShardIsNamedAndNothingIsPrinted) {
  if (!clickhouse_installed()) GTEST_SKIP() << "clickhouse-server is not installed";
  Cluster own;  // this test kills a shard: a cluster of its own
  std::string why = own.start();
  ASSERT_EQ(why, "");
  const std::string logs = shell_quote(kSource + "/samples/logs");
  const std::string rules = "--rules samples/content/detections --rules samples/sigma";
  CliRun load = vigil("load --clickhouse " + own.url() + " --cluster vigil --shard " + own.http_url(1) + " --shard " +
                   own.http_url(2) + " " + logs);
  ASSERT_EQ(load.exit_code, 0) << load.err;
  CliRun ok = vigil("hunt --clickhouse " + own.url() + " " + rules + " --format jsonl " + kNow);
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(sorted_lines(ok.out).size(), 7u) << ok.out << ok.err;  // the bundled demo's 7 findings (tests/cli)

  own.kill_shard(2);
  CliRun dead = vigil("hunt --clickhouse " + own.url() + " " + rules + " --format jsonl " + kNow);
  EXPECT_NE(dead.exit_code, 0);
  EXPECT_EQ(dead.out, "") << "findings printed although a shard is down";
  const std::string shard2 = "127.0.0.1:" + std::to_string(own.tcp_port(2));
  EXPECT_NE(dead.err.find("shard 2 (" + shard2 + ")"), std::string::npos) << dead.err;
  EXPECT_NE(dead.err.find("no results are reported"), std::string::npos) << dead.err;

  // The server the client talks to gone as well: named by its URL.
  own.kill_shard(1);
  CliRun gone = vigil("hunt --clickhouse " + own.url() + " " + rules + " --format jsonl " + kNow);
  EXPECT_NE(gone.exit_code, 0);
  EXPECT_EQ(gone.out, "");
  EXPECT_NE(gone.err.find(own.url()), std::string::npos) << gone.err;
  own.stop();
}

// A shard killed while the hunt's query runs: shard 2 dies as soon as the hunt's query shows up in
// its system.processes. If the query still finished first, the findings must be complete (as when
// nothing died); if not, the hunt must fail naming the shard and print nothing. Never partial.
TEST(ClusterHunt, ShardKilledMidHunt) {
  if (!clickhouse_installed()) GTEST_SKIP() << "clickhouse-server is not installed";
  Cluster own;
  ASSERT_EQ(own.start(), "");
  CliRun load = vigil("load --clickhouse " + own.url() + " --cluster vigil --shard " + own.http_url(1) + " --shard " +
                   own.http_url(2) + " " + shell_quote(kShared + "/data/evtx-attack-samples"));
  ASSERT_EQ(load.exit_code, 0) << load.err;
  const std::string rules = " --rules " + shell_quote(kSigmaWindows) + " --format jsonl " + kNow;
  CliRun full = vigil("hunt --clickhouse " + own.url() + rules);
  ASSERT_EQ(full.exit_code, 0) << full.err;
  const auto complete = sorted_lines(full.out);
  ASSERT_GT(complete.size(), 50u);
  // Small blocks stretch the query on the shards, so the kill usually lands while it runs.
  const std::string hunt =
      shell_quote(VIGIL_BINARY) + " hunt --clickhouse " + shell_quote(own.url() + "/?max_block_size=16") + rules;

  fs::path f = fs::temp_directory_path() / ("vigil_ch_mid_" + std::to_string(::getpid()));
  const std::string out = shell_quote(f.string() + ".out"), err = shell_quote(f.string() + ".err");
  CliRun r = run_shell("(" + hunt + " >" + out + " 2>" + err + ") & h=$!; " +
                    "for i in $(seq 1 2000); do "
                    "kill -0 $h 2>/dev/null || break; "  // the hunt is over: no query left to kill
                    "n=$(curl -s --data-binary \"SELECT count() FROM system.processes WHERE query LIKE '%rec_format%' "
                    "AND query NOT LIKE '%system.processes%'\" " +
                    shell_quote(own.http_url(2)) + "); [ -n \"$n\" ] && [ \"$n\" != 0 ] && break; done; " +
                    "kill -9 $(cat " + shell_quote((own.dir() / "shard2" / "pid").string()) + "); wait $h; echo $?");
  int rc = std::stoi(r.out.empty() ? "-1" : r.out);
  std::string o = slurp(f.string() + ".out"), e = slurp(f.string() + ".err");
  fs::remove(f.string() + ".out");
  fs::remove(f.string() + ".err");
  if (rc == 0) {
    std::printf("note: the query finished before shard 2 died; checking the findings are complete\n");
    EXPECT_EQ(sorted_lines(o), complete);
  } else {
    std::printf("note: shard 2 died during the query: exit %d\n", rc);
    EXPECT_EQ(o, "") << "findings printed although a shard died";
    EXPECT_NE(e.find("127.0.0.1:" + std::to_string(own.tcp_port(2))), std::string::npos) << e;
  }
  own.stop();
}

// `vigil sql` prints the SQL of a seed rule and says what runs where.
TEST(ClusterHunt, SqlForSeedRule) {
  CliRun r = vigil("sql --content " + shell_quote(kShared + "/corpus/security_content") + " " +
                shell_quote(kShared + "/corpus/seed_rules/remote_process_instantiation_via_wmi.yml"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // A tstats rule over Endpoint.Processes: its filter runs on the dataset table …
  EXPECT_NE(r.out.find("FROM `vigil_dm_endpoint_processes`"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("position(lower(`c_process`), '/node:') > 0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("filter runs on ClickHouse"), std::string::npos) << r.out;
  // … its filter is exact and its aggregates (count, min/max of _time) order-free, so tstats runs
  // there too, as a GROUP BY over the rule's BY fields; the tail and the findings run here.
  EXPECT_NE(r.out.find("aggregation `tstats` runs on ClickHouse"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("GROUP BY s, k"), std::string::npos) << r.out;
  // `security_content_summariesonly` sets fillnull_value=null: a missing BY value groups as 'null'.
  EXPECT_NE(r.out.find("ifNull(`c_dest`, arrayElement(['null'], s))"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("runs locally: tstats"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("runs locally: the exact filter"), std::string::npos) << r.out;

  // The same through explain --format sql; lint --clickhouse says it in one line per rule.
  CliRun e = vigil("explain --format sql --content " + shell_quote(kShared + "/corpus/security_content") + " " +
                   shell_quote(kShared + "/corpus/seed_rules/remote_process_instantiation_via_wmi.yml"));
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_NE(e.out.find("aggregation `tstats` runs on ClickHouse"), std::string::npos) << e.out;
  CliRun l = vigil("lint --clickhouse --content " + shell_quote(kShared + "/corpus/security_content") + " " +
                   shell_quote(kShared + "/corpus/seed_rules/remote_process_instantiation_via_wmi.yml") + " " +
                   shell_quote(kEscuEndpoint + "/common_ransomware_extensions.yml"));
  ASSERT_EQ(l.exit_code, 0) << l.err;
  EXPECT_NE(l.out.find("clickhouse: filter on ClickHouse (exact), tstats on ClickHouse"), std::string::npos) << l.out;
  // latest() depends on row order: that rule's tstats stays local, and lint says why.
  EXPECT_NE(l.out.find("tstats locally (aggregate order-dependent or not exact in SQL: latest("), std::string::npos)
      << l.out;
  EXPECT_NE(l.out.find("clickhouse: 1 tstats aggregations on the cluster, 1 locally"), std::string::npos) << l.out;

  // The batched form: one query for many rules, scans listed.
  CliRun b = vigil("sql --batch " + shell_quote(kSigmaWindows + "/process_creation"));
  ASSERT_EQ(b.exit_code, 0) << b.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      b.out, m, std::regex("-- (\\d+) rules, (\\d+) table scans: 0 aggregation queries, 1 record scans: vigil_raw\n")))
      << b.out.substr(0, 500);
  EXPECT_GT(std::stoul(m[1]), 500u);
  EXPECT_EQ(std::stoul(m[2]), 1u);
}

}  // namespace
}  // namespace vigil::chtest
