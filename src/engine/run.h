// One run of rules over inputs: the shared path of `vigil hunt`, `vigil
// search` and `vigil test`, and of the end-to-end tests. The reader runs on
// the calling thread; the engine evaluates batches of its records on worker
// threads (EngineOptions::threads), which also read the small files
// themselves, and hands findings back in a fixed order.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/rule_set.h"
#include "ingest/reader.h"

namespace vigil {

struct RunOptions {
  EngineOptions engine;
  ReadOptions read;
  /// Optional: only records it accepts are evaluated (e.g. `vigil test` replaying one source of a
  /// merged archive). Records it rejects are counted in RunResult::filtered, not as skipped.
  /// Called on the calling thread, or on a worker for the files the workers read (with threads).
  std::function<bool(const Record&)> accept;
  /// Optional: findings are handed here as soon as they are final instead of being collected in
  /// RunResult::findings: in order, one call at a time, on a worker while the input is read (with
  /// threads) and on the calling thread at the end (Engine's constructor says what that allows).
  FindingSink on_finding;
  /// Optional: called once every input has been read, before the engine's final evaluation
  /// (aggregations, correlations): the CLI's progress line changes phase there.
  std::function<void()> on_read_done;
};

struct RunResult {
  std::vector<Finding> findings;  ///< when RunOptions::on_finding is not set
  ReadStats read;
  uint64_t evaluated = 0;
  uint64_t filtered = 0;  ///< records RunOptions::accept turned away
  std::unique_ptr<Engine> engine;  ///< kept for per-rule statistics and matched events
};

/// Runs `rules` (only the executable ones are evaluated) over every input path.
RunResult run_rules(const std::vector<const ir::CompiledRule*>& rules, const ir::AtomTable& atoms,
                    const Normalizer& normalizer, const std::vector<std::string>& inputs, const RunOptions& opts,
                    DiagnosticSink& diags);

/// The executable rules of a set that give findings of their own (not the Sigma rules a correlation
/// references with `generate: false`: those run inside the correlation only).
std::vector<const ir::CompiledRule*> executable_rules(const RuleSet& rs);

/// vigil's data directory: $VIGIL_DATA if set, else the build-time default.
std::string default_data_dir();

}  // namespace vigil
