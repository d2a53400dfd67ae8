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
  bool no_cache = false;            ///< --no-cache: keep nothing between runs (rule bundle, compiled matchers)
  std::string format;               ///< --format
  std::string output;               ///< -o
  std::string diagnostics = "text"; ///< --diagnostics text|json
  std::string now;                  ///< --now
  std::string allow_writes;         ///< --allow-writes DIR
  unsigned threads = 0;
  std::string color = "auto";       ///< --color auto|always|never (table and summary on stdout)
  bool quiet = false;
  bool verbose = false;             ///< --verbose: every diagnostic as it happens, not grouped at the end
  bool strict = false;
  bool fail_on_findings = false;
  bool recover = false;             ///< --recover (dump, hunt): EVTX records outside the live ones
};

/// What a verb takes beyond the options every verb has (--data, --diagnostics, -q, --verbose).
struct CommonOptions {
  bool format = false;            ///< --format, -o
  bool content = true;            ///< --content, --attack
  bool run = false;               ///< --threads, --now, --allow-writes (verbs that run rules over logs)
  bool strict = false;            ///< --strict
  bool fail_on_findings = false;  ///< --fail-on-findings
  bool color = false;             ///< --color
  bool verbose = true;            ///< -v/--verbose (a verb with its own --verbose sets Common::verbose itself)
  /// The --format values this verb writes (listed in its help, checked when parsed).
  std::vector<std::string> formats = {"jsonl", "csv", "table"};
};

void add_common(CLI::App& app, Common& c, const CommonOptions& o);

}  // namespace vigil::cli
