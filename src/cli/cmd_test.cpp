// vigil test: run rules' own tests. (Sigma regression data and ESCU tests.)
#include "cli/commands.h"
#include "cli/common.h"

namespace vigil::cli {

std::function<int()> register_test(CLI::App& app) {
  auto* sub = app.add_subcommand("test", "Run rules' own tests (ESCU tests:, Sigma regression data)");
  return [sub]() {
    if (!sub->parsed()) return -1;
    std::fprintf(stderr, "error: vigil test is not available in this build yet\n");
    return int(usage);
  };
}

}  // namespace vigil::cli
