// Helpers for the ClickHouse tests: a two-shard cluster of our own (scripts/clickhouse.sh) on free
// loopback ports in a temporary folder, started on first use and stopped when the test binary ends,
// and running the real vigil binary.
//
// Every test process owns its cluster (ports chosen free at start), so ctest may run the tests in
// parallel and a test that kills a shard disturbs no other. Without clickhouse-server installed,
// the tests skip with the reason.
#pragma once
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace vigil::chtest {

namespace fs = std::filesystem;

inline const std::string kShared = VIGIL_SHARED_DIR;
inline const std::string kSource = VIGIL_SOURCE_DIR;

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct CliRun {
  int exit_code = -1;
  std::string out, err;
};

/// Runs a shell command from the source folder, capturing stdout and stderr.
inline CliRun run_shell(const std::string& cmd) {
  static int n = 0;
  fs::path dir = fs::temp_directory_path() / ("vigil_ch_run_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string tag = std::to_string(n++);
  fs::path out = dir / ("out" + tag), err = dir / ("err" + tag);
  std::string full = "cd " + shell_quote(kSource) + " && " + cmd + " >" + shell_quote(out.string()) + " 2>" +
                     shell_quote(err.string());
  CliRun r;
  int st = std::system(full.c_str());
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  std::error_code ec;
  fs::remove(out, ec);
  fs::remove(err, ec);
  fs::remove(dir, ec);  // when empty
  return r;
}

/// Runs `vigil ARGS` (ARGS already shell-quoted where needed).
inline CliRun vigil(const std::string& args) { return run_shell(shell_quote(VIGIL_BINARY) + " " + args); }

inline bool clickhouse_installed() {
  return fs::exists("/usr/sbin/clickhouse-server") || fs::exists("/usr/bin/clickhouse-server") ||
         std::system("command -v clickhouse-server >/dev/null 2>&1") == 0;
}

inline bool port_free(int port) {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1;
  ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  bool ok = ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(s);
  return ok;
}

/// Two clickhouse-server processes (scripts/clickhouse.sh) on ports base+1/2 (HTTP), base+11/12
/// (native), base+21/22 (interserver).
class Cluster {
 public:
  ~Cluster() { stop(); }
  /// Starts the servers; "" on success, else why not.
  std::string start() {
    if (!clickhouse_installed()) return "clickhouse-server is not installed (apt-get install clickhouse-server)";
    dir_ = fs::temp_directory_path() / ("vigil_ch_" + std::to_string(::getpid()) + "_" + std::to_string(count_++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // Ports free at this moment, spread by pid so parallel tests rarely contend.
    for (int attempt = 0; attempt < 200 && base_ == 0; ++attempt) {
      int b = 20000 + int((::getpid() * 7 + attempt * 31 + count_ * 13) % 1400) * 30;
      bool ok = true;
      for (int k : {1, 2, 11, 12, 21, 22}) ok = ok && port_free(b + k);
      if (ok) base_ = b;
    }
    if (base_ == 0) return "no free loopback ports for the cluster";
    CliRun r = run_shell("VIGIL_CH_PORT_BASE=" + std::to_string(base_) + " bash scripts/clickhouse.sh start " +
                      shell_quote(dir_.string()));
    if (r.exit_code != 0) return "scripts/clickhouse.sh start failed: " + r.err;
    url_ = r.out.substr(0, r.out.find('\n'));
    started_ = true;
    return "";
  }
  void stop() {
    if (!started_) return;
    run_shell("VIGIL_CH_PORT_BASE=" + std::to_string(base_) + " bash scripts/clickhouse.sh stop " +
              shell_quote(dir_.string()));
    started_ = false;
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  /// Kills shard k (1 or 2) at once (SIGKILL), as a crashed machine.
  void kill_shard(int k) {
    std::string pid = slurp(dir_ / ("shard" + std::to_string(k)) / "pid");
    if (!pid.empty()) run_shell("kill -9 " + pid.substr(0, pid.find('\n')) + " && sleep 0.3");
  }
  const std::string& url() const { return url_; }
  const fs::path& dir() const { return dir_; }
  std::string http_url(int k) const { return "http://127.0.0.1:" + std::to_string(base_ + k); }
  int tcp_port(int k) const { return base_ + 10 + k; }
  /// A query through shard 1's HTTP interface (TabSeparated answer), or "ERROR: …".
  std::string query(const std::string& sql) const {
    fs::path f = dir_ / "q.sql";
    std::ofstream(f) << sql;
    CliRun r = run_shell("curl -sS --fail-with-body --data-binary @" + shell_quote(f.string()) + " " +
                      shell_quote(url_ + "/?max_query_size=100000000"));
    return r.exit_code == 0 ? r.out : "ERROR: " + r.out + r.err;
  }

 private:
  fs::path dir_;
  std::string url_;
  int base_ = 0;
  bool started_ = false;
  static inline int count_ = 0;
};

struct SharedCluster {
  std::unique_ptr<Cluster> cluster;
  std::string error;
  bool tried = false;
};
inline SharedCluster& shared_slot() {
  static SharedCluster s;
  return s;
}

/// The process-wide cluster, started on first use; nullptr with the reason when it cannot run.
inline Cluster* shared_cluster(std::string* why) {
  SharedCluster& s = shared_slot();
  if (!s.tried) {
    s.tried = true;
    s.cluster = std::make_unique<Cluster>();
    s.error = s.cluster->start();
    if (!s.error.empty()) s.cluster.reset();
  }
  if (why) *why = s.error;
  return s.cluster.get();
}

/// Stops the shared cluster when the tests end, even when a test failed.
class ClusterEnvironment : public ::testing::Environment {
 public:
  void TearDown() override { shared_slot().cluster.reset(); }
};

#define VIGIL_NEED_CLUSTER(var)                                                \
  std::string var##_why;                                                       \
  ::vigil::chtest::Cluster* var = ::vigil::chtest::shared_cluster(&var##_why); \
  if (!var) GTEST_SKIP() << var##_why

/// Sorted non-empty lines.
inline std::vector<std::string> sorted_lines(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) v.push_back(l);
  std::sort(v.begin(), v.end());
  return v;
}

/// Findings per rule_name in JSONL output.
inline std::map<std::string, size_t> per_rule(const std::vector<std::string>& lines) {
  std::map<std::string, size_t> m;
  for (auto& l : lines) {
    auto p = l.find("\"rule_name\":\"");
    if (p == std::string::npos) continue;
    p += 13;
    auto e = l.find('"', p);
    m[l.substr(p, e - p)]++;
  }
  return m;
}

}  // namespace vigil::chtest
