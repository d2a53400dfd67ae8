// The engine runs compiled rules over a stream of Records:
//   Record -> normalize -> Event -> per stream: source check, filter predicate
//   (shared atom memo) -> capture a Row; at the end each rule's operators run
//   over its captured rows and every result row becomes a Finding.
// Accounting: every record passed to process() is evaluated (the readers
// count what they skipped), so read = evaluated + skipped holds end to end.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "content/attack.h"
#include "core/diagnostic.h"
#include "core/value.h"
#include "ingest/record.h"
#include "ir/rule.h"
#include "match/event_matcher.h"
#include "normalize/normalizer.h"

namespace vigil {

struct EngineOptions {
  double now = 0;                    ///< epoch seconds; 0 = wall clock at construction
  bool allow_writes = false;
  std::string writes_dir;
  size_t max_rows_per_stream = 2'000'000;  ///< memory guard per stream; more rows are dropped and reported
};

/// Where one matched event came from.
struct EventRef {
  std::string file;
  std::string record_id;
};

struct Finding {
  const ir::CompiledRule* rule = nullptr;
  Row row;
  std::vector<EventRef> sources;  ///< the events behind the row, when the rule maps rows to events 1:1
};

struct RuleStats {
  uint64_t events_matched = 0;  ///< events that passed stream 0's filter
  uint64_t rows_dropped = 0;
};

class Engine {
 public:
  struct StreamState;
  struct RuleState;
  Engine(const Normalizer& normalizer, const ir::AtomTable& atoms, std::vector<const ir::CompiledRule*> rules,
         EngineOptions opts, DiagnosticSink& diags);
  ~Engine();

  void process(const Record& r);
  /// Runs every rule's operators; call once after the last record.
  std::vector<Finding> finish();

  uint64_t evaluated() const { return evaluated_; }
  const std::vector<RuleStats>& rule_stats() const { return stats_; }
  const std::vector<const ir::CompiledRule*>& rules() const { return rules_; }
  /// Matched events of rule i's stream 0, in input order (capped at 10,000 per rule).
  const std::vector<EventRef>& matched_events(size_t i) const;

 private:
  const Normalizer& normalizer_;
  std::vector<const ir::CompiledRule*> rules_;
  EngineOptions opts_;
  DiagnosticSink& diags_;
  match::EventMatcher matcher_;
  Event event_;
  std::vector<std::unique_ptr<RuleState>> state_;
  // Candidate streams per event, so an event meets only the rules that can apply to it
  // (Falco/Hayabusa-style bucketing): by required EventID, by CIM dataset, or always.
  struct StreamRef {
    uint32_t rule, stream;
  };
  std::vector<StreamRef> always_;
  std::unordered_map<std::string, std::vector<StreamRef>> by_event_id_;
  std::vector<std::vector<StreamRef>> by_dataset_;
  Symbol event_id_sym_;
  std::string eid_key_;  // lower-cased EventID of the current event (reused buffer)
  void visit(const StreamRef& ref, const Record& r);
  std::vector<RuleStats> stats_;
  uint64_t evaluated_ = 0;
  Symbol time_sym_, record_sym_;
};

}  // namespace vigil
