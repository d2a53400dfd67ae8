// Runs the vigil binary as a user does, for the test binaries that have VIGIL_BINARY (tests/CMakeLists.txt).
#pragma once
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace vigil::test {

struct CliRun {
  int exit_code = -1;
  std::string out, err;
};

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// `vigil ARGS` (shell words) from the source directory, so samples/ resolves; stdin from /dev/null;
/// stdout and stderr captured. `env`: variable assignments put before the command (e.g. "COLUMNS=400").
inline CliRun run_vigil(const std::string& args, const std::string& env = "") {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("vigil_run_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string cmd = std::string("cd '") + VIGIL_SOURCE_DIR + "' && " + env + (env.empty() ? "'" : " '") + VIGIL_BINARY +
                    "' " + args + " >'" + (dir / "out").string() + "' 2>'" + (dir / "err").string() + "' </dev/null";
  CliRun r;
  int st = std::system(cmd.c_str());
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.out = slurp(dir / "out");
  r.err = slurp(dir / "err");
  return r;
}

}  // namespace vigil::test
