// Lookup tables from security_content `lookups/*.yml` (+ their CSV files),
// with Splunk's transforms.conf matching rules ("Add field matching rules to
// your lookup configuration"; docs/spl.md §6):
// - `match_type: WILDCARD(f), …`: the table's values in column f are `*` globs;
// - `case_sensitive_match` (Splunk's default: true);
// - `max_matches` (default 100), `min_matches` (default 0) and `default_match`:
//   when fewer than min_matches rows match, the outputs take default_match;
// - `collection` + `fields_list`: a KV-store collection, loaded as an empty table.
// A table is found by its name or by its CSV file name (`x.csv`).
#pragma once
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/diagnostic.h"
#include "core/result.h"
#include "core/strings.h"
#include "core/wildcard.h"

namespace vigil::content {

/// RFC 4180 CSV: quoted fields with `""` escapes and embedded newlines, CRLF or LF.
/// Fails on an unterminated quote (with the byte offset).
Result<std::vector<std::vector<std::string>>> parse_csv(std::string_view text);

class LookupTable {
 public:
  std::string name;
  std::string filename;  ///< CSV file name as the YAML gives it (empty for KV store)
  std::string path;      ///< where it was loaded from
  bool kvstore = false;
  bool case_sensitive = true;
  size_t max_matches = 100;
  size_t min_matches = 0;
  std::optional<std::string> default_match;
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;  ///< every row has columns.size() cells

  /// Column index or -1.
  int column(std::string_view name) const;
  bool is_wildcard(int col) const { return col >= 0 && static_cast<size_t>(col) < wildcard_.size() && wildcard_[col]; }
  /// Declare WILDCARD(col) (before prepare()).
  void set_wildcard(std::string_view col);
  /// Compile wildcard cells; call once after the rows are set.
  void prepare();

  /// One lookup input: a table column and the event's values for it (any may match).
  struct Input {
    int column;
    std::vector<std::string> values;
  };
  /// Rows where every input matches, in file order, at most max_matches.
  /// An empty cell in a WILDCARD column matches only an empty value.
  std::vector<size_t> match(const std::vector<Input>& inputs) const;

 private:
  /// `wild`: the column's compiled patterns when it is a wildcard column.
  bool cell_matches(size_t row, int col, std::string_view value, const std::vector<WildcardPattern>* wild) const;
  const std::vector<WildcardPattern>& patterns(int col) const;  // compiled on first use
  /// Rows of a wildcard column whose cell can match: cells of the forms `lit`, `lit*`, `*lit` by
  /// hashed literals, `*lit*` by the literal's first three characters (tried at every position of
  /// the value), the others (`a*b`, `*`, short literals) always. A superset: cell_matches decides.
  struct WildIndex {
    using Rows = std::unordered_map<std::string, std::vector<uint32_t>, TextHash, TextEq>;  // found by views
    Rows exact, prefix, suffix;                                                           // folded literals
    std::vector<size_t> prefix_lens, suffix_lens;                                   // their distinct lengths
    std::unordered_map<uint32_t, std::vector<std::pair<uint32_t, std::string>>> contains;  // trigram -> rows
    std::vector<uint32_t> other, empty;
  };
  const WildIndex& wild_index(int col) const;  // built on first use
  void build_wild_index(int col, const std::vector<WildcardPattern>& pats, WildIndex& w) const;
  void wild_candidates(int col, std::string_view value, std::vector<size_t>& out) const;
  std::vector<bool> wildcard_;
  std::vector<std::string> wildcard_names_;
  // Built on a column's first use (a table is read-only once LookupRegistry::find has returned it):
  // its wildcard patterns [row], its exact-match index, its literal index. Each once, by whichever
  // thread asks first; after that a lookup reads them without a lock, so the hunt's workers do not
  // write a shared line on every row they look up.
  struct Column {
    std::once_flag patterns_once, index_once, wild_once;
    std::vector<WildcardPattern> patterns;
    std::unordered_multimap<std::string, size_t> index;
    WildIndex wild;
  };
  const std::unordered_multimap<std::string, size_t>& exact_index(int col) const;  // built on first use
  mutable std::unique_ptr<Column[]> cols_;
};

class LookupRegistry {
 public:
  /// Load every `*.yml` lookup definition under `dir`; returns the number of tables registered
  /// (also counted by size(), including tables whose CSV later fails to parse).
  /// Bad definitions and missing CSVs are reported to `diags` and skipped. A table's CSV is read
  /// when find() first returns it; a CSV that cannot be parsed is reported by report_pending().
  size_t load_dir(const std::string& security_content_lookups_dir, DiagnosticSink& diags);
  /// Add a table built in code (tests, engine extensions); prepare() is called here.
  void add(std::unique_ptr<LookupTable> t);
  /// By table name, or by CSV file name; null when there is none or its CSV cannot be parsed.
  const LookupTable* find(std::string_view name) const;
  size_t size() const { return tables_.size(); }
  /// Hand the CSV errors that find() met since the last call to `diags`.
  void report_pending(DiagnosticSink& diags) const;

 private:
  bool read_csv(size_t idx) const;  // under mu_
  std::vector<std::unique_ptr<LookupTable>> tables_;
  mutable std::vector<std::string> csv_;  // [table]: its CSV path while not yet read
  mutable std::set<size_t> failed_;
  mutable std::vector<Diagnostic> pending_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, size_t> by_name_;
  std::unordered_map<std::string, size_t> by_file_;
};

}  // namespace vigil::content
