// The verbs of the vigil command. Each registers its subcommand and runs it.
#pragma once
#include <CLI/CLI.hpp>

namespace vigil::cli {

/// Registers every verb on `app`; the returned function runs the chosen one.
std::function<int()> register_hunt(CLI::App& app);
std::function<int()> register_search(CLI::App& app);
std::function<int()> register_lint(CLI::App& app);
std::function<int()> register_dump(CLI::App& app);
std::function<int()> register_test(CLI::App& app);
std::function<int()> register_explain(CLI::App& app);
std::function<int()> register_catalog(CLI::App& app);
std::function<int()> register_coverage(CLI::App& app);
std::function<int()> register_load(CLI::App& app);
std::function<int()> register_sql(CLI::App& app);

}  // namespace vigil::cli
