// Field-aware analysis of compiled rules: which event fields a rule reads, and
// whether the normalizer can produce them for the sources the rule reads.
//
// A rule reads event fields in its stream filters (atoms), in the operators
// before its first aggregation (Operator::reads(); an operator that cannot tell
// makes the analysis partial, never a guess), and in its message placeholders
// and risk entities when no aggregation reshapes the rows. Fields an earlier
// stage creates (eval x=, rename … as x, rex (?<x>…), lookup OUTPUT x,
// stats … as x) are not event fields; they are recognised from the stages'
// text, conservatively: a name that might be created is never reported.
//
// The fields a source offers come from the data: for an ESCU data source, its
// example_log normalized by the same tables the engine uses, plus every field
// the tables can map for that channel and event code; for a CIM dataset, the
// fields its mappings define. A rule whose fields are not all offered is still
// executable: lint reports it as "executable, with field warnings" and it still
// runs in hunt (its other branches may match, and the user's data may carry
// more than the example does).
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ir/atom_table.h"
#include "ir/rule.h"
#include "normalize/normalizer.h"

namespace vigil {

/// One event field a rule reads, and where.
struct FieldRead {
  std::string field;
  std::string where;  ///< "filter", "operator <name>", "message", "entity"
  size_t stream = 0;
};

struct RuleFieldUsage {
  std::vector<FieldRead> reads;  ///< deduplicated by (stream, field), first place kept
  bool complete = true;          ///< false when some operator could not tell what it reads
  std::vector<std::string> unknown_operators;
};

/// The event fields `r` reads (see the header comment for what counts).
RuleFieldUsage analyze_field_usage(const ir::CompiledRule& r, const ir::AtomTable& atoms);

/// Can `filter` hold on events that lack every field in `missing`?
bool filter_can_match(const ir::Predicate& filter, const ir::AtomTable& atoms, const std::set<std::string>& missing);

/// Splunk-internal or index-time names that no event mapping is expected to produce.
bool is_internal_field(std::string_view f);

/// An event source: a Windows channel and event code (either may be empty = any).
struct SourceKey {
  std::string channel, event_id;
  bool operator<(const SourceKey& o) const { return std::tie(channel, event_id) < std::tie(o.channel, o.event_id); }
  bool operator==(const SourceKey& o) const { return channel == o.channel && event_id == o.event_id; }
  std::string label() const;  ///< "Security 4624", "Microsoft-Windows-Sysmon/Operational 1"
};

/// ESCU data sources (data_sources/*.yml) by name, with the fields vigil offers for each.
class DataSourceCatalog {
 public:
  struct Entry {
    std::string name;  ///< "Windows Event Log Security 4624"
    SourceKey key;     ///< channel + event code, when the source is a Windows event log
    std::string sourcetype;  ///< as the YAML names it (crowdstrike:events:sensor, linux:audit …)
    std::set<std::string> fields;  ///< what vigil's raw view carries for it (example_log + mappings)
    bool example_read = false;     ///< the example_log produced a record (else fields are mappings only)
    std::vector<std::string> listed;  ///< the YAML's `fields:` (what Splunk shows for the source)
  };
  /// Loads `<content_root>/data_sources`; an empty catalog when the directory is missing.
  static DataSourceCatalog load(const std::string& content_root, const Normalizer& norm);
  const Entry* find(std::string_view name) const;
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::vector<Entry> entries_;
  std::map<std::string, size_t, std::less<>> by_name_;
};

/// The security_content root for `paths` (the first ancestor holding data_sources/), or `explicit_root`.
std::string find_content_root(const std::vector<std::string>& paths, const std::string& explicit_root);

/// The sources a raw stream reads: from the rule's ESCU data sources when they resolve, else
/// from its filter (EventCode/EventID values, source/Channel atoms). Empty = cannot tell.
std::vector<SourceKey> rule_sources(const ir::CompiledRule& r, const ir::AtomTable& atoms,
                                    const DataSourceCatalog& catalog);

/// A field a rule reads that no mapping produces for its sources.
struct FieldWarning {
  std::string field;
  std::string where;    ///< as FieldRead::where
  std::string sources;  ///< "Windows Event Log Security 4624" or "Endpoint.Processes"
  std::string detail;   ///< why the add-on has it and vigil cannot, when documented
  bool filter_dead = false;  ///< without these fields the stream's filter can never match
  std::string message() const;  ///< `reads Logon_Type, which no Security 4624 mapping produces`
};

/// Checks `r` against the fields its sources offer. Empty when all are offered or nothing can be
/// checked (no resolvable source); `checked` tells which.
std::vector<FieldWarning> check_rule_fields(const ir::CompiledRule& r, const ir::AtomTable& atoms,
                                            const Normalizer& norm, const DataSourceCatalog& catalog,
                                            bool* checked = nullptr);

}  // namespace vigil
