// IR → ClickHouse SQL: the part of each rule that runs where the data lives.
//
// A stream's filter predicate becomes a WHERE condition over the table of its
// source (vigil_raw, or the dataset's table). The condition is a *superset*
// of the predicate: every event the local engine would pass also passes the
// SQL, so the rows fetched and re-evaluated locally give exactly the local
// findings. Atoms whose SQL is exact are translated exactly; those that are
// not (a PCRE feature RE2 lacks, IPv6 CIDR, numeric parsing, field = field,
// keywords) become TRUE where the predicate needs a superset and FALSE under a
// NOT (each atom is translated with the polarity it has in the tree).
//
// Semantics (case folding, multivalue, missing vs empty …): README "ClickHouse".
#pragma once
#include <optional>
#include <set>
#include <string_view>
#include <string>
#include <vector>

#include "clickhouse/store.h"
#include "ir/atom_table.h"
#include "ir/rule.h"
#include "normalize/normalizer.h"

namespace vigil::clickhouse {

/// One stream of one rule, as SQL.
struct StreamSql {
  size_t stream = 0;
  std::string table;                 ///< logical table (vigil_raw, vigil_dm_…); empty: no events
  std::vector<std::string> buckets;  ///< raw table: required EventID values (lower case); empty = all
  std::string where;                 ///< condition over `table` (without the bucket)
  bool exact = true;                 ///< the condition is the predicate exactly
  std::vector<std::string> local_only;  ///< atoms decided locally, with why
  std::string why_no_table;          ///< when `table` is empty
};

struct RuleSql {
  std::vector<StreamSql> streams;
  /// Operators the cluster does not run (all of them in this version), as `name` strings.
  std::vector<std::string> local_operators;
};

class SqlTranslator {
 public:
  SqlTranslator(const Normalizer& norm, const ir::AtomTable& atoms, const Store& store);
  /// `compact`: instead of the whole filter, a small condition it implies, built from the engine's
  /// event-type buckets and the equalities on columns only. The batched hunt query uses it:
  /// ClickHouse 18.16 spends tens of seconds analysing and evaluating an OR of thousands of
  /// LIKE/match terms (measured: 3,000 terms, 40 s over 16k rows), while a few hundred column
  /// equalities cost milliseconds, and the local engine re-checks every fetched row anyway.
  /// `wide` (with `compact`): also equalities on any field and string tests on columns.
  RuleSql translate(const ir::CompiledRule& rule, bool compact = false, bool wide = false) const;
  /// One SELECT fetching, in load order, the records that pass any of the rules' streams: one scan
  /// of vigil_raw plus one per dataset table the rules use. `tables_scanned` gets those tables.
  /// `pushed`: streams whose aggregation runs on the cluster (clickhouse/pushdown.h); they need
  /// only the rows the engine aggregates itself (kAggregatedLocally). `unselective` gets the rules
  /// with a raw stream that has neither an event type nor a column equality (they make the scan
  /// return every event).
  std::string fetch_query(const std::vector<const ir::CompiledRule*>& rules, std::vector<std::string>* tables_scanned,
                          const std::set<std::pair<const ir::CompiledRule*, size_t>>* pushed = nullptr,
                          std::vector<std::string>* unselective = nullptr) const;
  /// The SQL a single rule's streams' filters run (without push-down; see clickhouse/pushdown.h
  /// explain_rule for the whole picture).
  std::string rule_query(const ir::CompiledRule& rule) const;
  /// One stream's filter as `rule_query` prints it: a `-- stream N: …` line, notes, the SELECT.
  std::string stream_query(const StreamSql& s) const;

 private:
  struct Ctx;
  std::string pred(const ir::Predicate& p, bool positive, Ctx& c) const;
  std::string atom(ir::AtomId id, bool positive, Ctx& c) const;
  const Normalizer& norm_;
  const ir::AtomTable& atoms_;
  const Store& store_;
  std::vector<std::string> prefixes_;  // dataset field prefixes (non-empty)
};

/// The columns a hunt reads back to rebuild each record (clickhouse/schema.h `rec_*`).
const char* record_columns();
/// A regex in the subset whose RE2 meaning (ClickHouse match()) contains its PCRE2 meaning
/// (vigil's), rewritten for RE2; nullopt with the reason otherwise.
std::optional<std::string> to_re2(std::string_view re, std::string& why);
/// `%`, `_` and `\` escaped with a backslash, for a LIKE pattern (not yet quoted).
std::string like_escape(std::string_view text);
/// A number as a SQL literal that reads back as the same double (`%.17g`).
std::string sql_number(double d);

}  // namespace vigil::clickhouse
