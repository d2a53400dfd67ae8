// Sigma v2 correlation rules as a plan operator.
//
// A correlation plan has stream 0 (source none) holding one
// CorrelationOperator, and streams 1..n holding the filters of the referenced
// rules (stream k = spec.rules[k-1]; filled in by link_correlations). The
// operator reads each stream's rows (one per matching event, with `_time` in
// epoch seconds), groups them by `group-by` (through `aliases` per rule), and
// emits one row per group for the first time window of length `timespan`
// (starting at an event) that meets the condition:
//   event_count       count of events           compared with the condition
//   value_count       distinct values of `field` compared with the condition
//   temporal          every referenced rule matched (or as many as the condition asks)
//   temporal_ordered  every referenced rule matched, in the order listed
// Output fields: the group-by fields, `_time` and `firstTime` (window start),
// `lastTime`, `count` (events in the window), `value_count` (value_count only),
// `correlation_type`.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/yaml.h"
#include "ir/plan.h"

namespace YAML {
class Node;
}

namespace vigil::sigma {

struct CorrelationSpec {
  enum class Type : uint8_t { event_count, value_count, temporal, temporal_ordered };
  enum class Cmp : uint8_t { gt, gte, lt, lte, eq, neq };
  Type type = Type::event_count;
  std::vector<std::string> rules;     ///< referenced rules by Sigma id or name, as written
  std::vector<std::string> group_by;  ///< output names (aliases resolve per rule)
  /// alias -> (rule reference -> that rule's field name)
  std::map<std::string, std::map<std::string, std::string>> aliases;
  double timespan = 0;  ///< seconds
  bool has_condition = false;
  Cmp cmp = Cmp::gte;
  double threshold = 0;
  std::string field;  ///< value_count's counted field
  /// `generate`: whether the referenced rules also give findings of their own. The specification's
  /// default is false: a rule referenced by a correlation is then evaluated only for it.
  bool generate = false;
};

const char* correlation_type_name(CorrelationSpec::Type t);

/// Parse a `correlation:` map; the error carries the offending node's location (file unset).
Result<CorrelationSpec> parse_correlation(const yaml::Node& node);
/// `30s`, `5m`, `1h`, `2d`, `1w` -> seconds; nullopt when malformed.
std::optional<double> parse_timespan(std::string_view s);

class CorrelationOperator : public ir::Operator {
 public:
  CorrelationOperator(CorrelationSpec spec, uint32_t rule_index) : spec_(std::move(spec)), rule_index_(rule_index) {}
  std::string name() const override { return "sigma_correlation"; }
  void run(Table& rows, ir::ExecContext& ctx) override;

  const CorrelationSpec& spec() const { return spec_; }
  uint32_t rule_index() const { return rule_index_; }

 private:
  CorrelationSpec spec_;
  uint32_t rule_index_;  // the correlation rule's atom-reference index
};

}  // namespace vigil::sigma
