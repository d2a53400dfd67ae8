#include "engine/run.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>

namespace vigil {

namespace {
// Small files are read by the workers, in units of about this much input: large enough that the
// handing on is cheap, small enough that a unit's findings and partial states stay small.
constexpr uint64_t kDeferredUnitBytes = uint64_t(2) << 20;
}  // namespace

RunResult run_rules(const std::vector<const ir::CompiledRule*>& rules, const ir::AtomTable& atoms,
                    const Normalizer& normalizer, const std::vector<std::string>& inputs, const RunOptions& opts,
                    DiagnosticSink& diags) {
  RunResult res;
  FindingSink sink = opts.on_finding;
  if (!sink) sink = [&res](Finding&& f) { res.findings.push_back(std::move(f)); };
  res.engine = std::make_unique<Engine>(normalizer, atoms, rules, opts.engine, diags, std::move(sink));
  Engine& eng = *res.engine;
  // The engine's workers are the parallel part: they read the small files themselves (a triage
  // folder is thousands of them), and evaluate what this thread reads of the others.
  ReadOptions ro = opts.read;
  std::atomic<uint64_t> filtered{0};  // counted here and on the workers
  auto accepted = [&](const Record& r) {
    if (!opts.accept || opts.accept(r)) return true;
    filtered.fetch_add(1, std::memory_order_relaxed);
    return false;
  };
  // Units of input go to the engine whole, with one thread too: read where they are evaluated,
  // their records are not copied into a batch first.
  ro.threads = 1;
  ro.unit_bytes = kDeferredUnitBytes;
  ro.stop = &eng.satisfied();  // a search's `head N` has its rows: nothing more is read
  ro.defer = [&](InputUnit&& unit) {
    eng.process_deferred([&, unit = std::move(unit)](const RecordVisitor& visit, HoldingSink& held) {
      return read_unit(unit, ro, [&](const Record& r) {
        if (accepted(r)) visit(r);
      }, &held);
    });
  };
  // A file this thread reads itself reports as it reads: the units before it report first.
  ro.drain = [&eng] { eng.flush(); };
  // A live input that paused (stdin, a pipe): what was read is evaluated and its findings go out
  // now, then the caller flushes its output (ReadOptions::on_pause).
  ro.on_pause = [&eng, then = opts.read.on_pause] {
    eng.flush();
    if (then) then();
  };
  read_inputs(inputs, ro, [&](const Record& r) {
    if (accepted(r)) eng.process(r);
  }, diags, res.read);
  if (opts.on_read_done) opts.on_read_done();
  eng.finish();
  res.read.merge(eng.deferred_read_stats());
  res.filtered = filtered.load();
  res.evaluated = eng.evaluated();
  return res;
}

std::vector<const ir::CompiledRule*> executable_rules(const RuleSet& rs) {
  std::vector<const ir::CompiledRule*> out;
  for (auto& r : rs.rules())
    if (r.parsed && r.executable && r.info.generate) out.push_back(&r);
  return out;
}

std::string default_data_dir() {
  if (const char* d = std::getenv("VIGIL_DATA"); d && *d) return d;
  return VIGIL_DATA_DIR;
}

}  // namespace vigil
