// Options every verb shares (CLI.md "Shared conventions").
#pragma once
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace vigil::cli {

struct Common {
  std::string content;              ///< --content: security_content root
  std::string data_dir;             ///< --data: vigil's data tables
  std::string attack;               ///< --attack: ATT&CK JSON table
  std::string format;               ///< --format
  std::string output;               ///< -o
  std::string diagnostics = "text"; ///< --diagnostics text|json
  std::string now;                  ///< --now
  std::string allow_writes;         ///< --allow-writes DIR
  unsigned threads = 0;
  bool quiet = false;
  bool strict = false;
  bool fail_on_findings = false;
  bool recover = false;             ///< --recover (dump, hunt): EVTX records outside the live ones
};

void add_common(CLI::App& app, Common& c, bool with_format);

}  // namespace vigil::cli
