// Helpers for the hostile-input suite: run the vigil binary in a child with
// an address-space limit and a time limit, and measure its peak RSS.
//
// Each test asserts: no signal, peak RSS under a stated bound, the located
// diagnostic, and that the good input of the same run still gives its
// findings. Big inputs are generated at test time in the build's temp dir.
#pragma once
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../support/sanitizers.h"

namespace hostile {

namespace fs = std::filesystem;

using test_support::kSanitized;

struct VigilRun {
  int exit_code = -1;
  int signal = 0;       ///< terminating signal, 0 when it exited
  long peak_rss_kb = 0;
  std::string out, err;
};

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void spit(const fs::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << s;
}

/// A fresh directory for one test.
inline fs::path scratch(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("vigil_hostile_" + std::to_string(::getpid())) / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

/// Runs VIGIL_BINARY with `args` from the source dir. The child gets an
/// address-space limit (4 GiB, as the probe; none under ASan, whose shadow
/// memory needs terabytes of address space) and 120 s of wall time.
inline VigilRun vigil(const std::vector<std::string>& args, const std::string& stdin_path = "/dev/null") {
  fs::path dir = scratch("run");
  VigilRun r;
  pid_t pid = ::fork();
  if (pid == 0) {
    if (!kSanitized) {
      rlimit lim{4ull << 30, 4ull << 30};
      ::setrlimit(RLIMIT_AS, &lim);
    }
    ::alarm(120);
    int in = ::open(stdin_path.c_str(), O_RDONLY);
    int out = ::open((dir / "out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = ::open((dir / "err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    if (::chdir(VIGIL_SOURCE_DIR) != 0) ::_exit(126);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(VIGIL_BINARY));
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(VIGIL_BINARY, argv.data());
    ::_exit(127);
  }
  int st = 0;
  rusage ru{};
  ::wait4(pid, &st, 0, &ru);
  if (WIFEXITED(st)) r.exit_code = WEXITSTATUS(st);
  if (WIFSIGNALED(st)) r.signal = WTERMSIG(st);
  r.peak_rss_kb = ru.ru_maxrss;
  r.out = slurp(dir / "out");
  r.err = slurp(dir / "err");
  return r;
}

inline size_t count(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + needle.size())) ++n;
  return n;
}

/// The bundled demo's rules and logs: 7 findings (see tests/cli BundledDemo).
inline std::vector<std::string> demo_rules() {
  return {"hunt", "--rules", "samples/content/detections", "--rules", "samples/sigma"};
}
constexpr size_t kDemoFindings = 7;

inline std::vector<std::string> cat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace hostile
