// Helpers shared by the verbs: output files, ATT&CK table discovery, the
// progress line and the end-of-run summary on stderr.
#pragma once
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "cli/options.h"
#include "content/attack.h"
#include "core/diagnostic.h"
#include "engine/rule_set.h"
#include "engine/run.h"
#include "ingest/reader.h"
#include "normalize/normalizer.h"
#include "report/writers.h"

namespace vigil::cli {

enum Exit : int { ok = 0, rejected = 1, usage = 2, nothing_ran = 3, findings = 10 };

struct Output {
  std::FILE* file = stdout;
  bool owned = false;
  ~Output() {
    if (owned && file) std::fclose(file);
  }
};
/// Opens -o FILE (or stdout). nullopt (after printing why) when the file cannot be created.
bool open_output(const Common& c, Output& out);
/// --format, defaulting to table on a terminal and jsonl otherwise.
bool resolve_format(const Common& c, const Output& out, report::Format& f);
std::string data_dir(const Common& c);
/// The ATT&CK table from --attack, $VIGIL_ATTACK, or the known locations; null (with a note) when none.
std::unique_ptr<content::AttackTable> load_attack(const Common& c, DiagnosticSink& diags);
/// --now as epoch seconds (ISO-8601 or epoch); 0 = wall clock.
bool parse_now(const Common& c, double& now);
ReadOptions read_options(const Common& c);
/// Sets up the stderr diagnostic sink every verb uses (--diagnostics, --quiet); copies are not kept.
void configure_diagnostics(DiagnosticSink& d, const Common& c);
/// The normalization tables from the data directory; null (after a diagnostic) when they cannot load.
std::unique_ptr<Normalizer> load_normalizer(const Common& c, DiagnosticSink& diags);
/// Engine and reader options from the shared flags (--now already parsed).
RunOptions run_options(const Common& c, double now);

/// No input could be read: every input was skipped (missing, unreadable,
/// empty, unrecognised) and no record was found. The README promises exit 3.
inline bool nothing_readable(const ReadStats& r) { return r.records_read == 0 && r.files_skipped >= r.files; }

/// Regex questions left unanswered (a PCRE2 match limit hit) are not "no
/// match": one located warning per pattern naming the rules that use it and
/// how many evaluations were undecided, counted as `regex-undecided`.
void report_regex_limits(const std::vector<const ir::CompiledRule*>& rules, DiagnosticSink& diags);

class Summary {
 public:
  explicit Summary(const char* noun = "findings") : noun_(noun), start_(std::chrono::steady_clock::now()) {}
  /// `findings` < 0 leaves the findings count out (verbs that produce none).
  void print(const Common& c, const ReadStats* read, uint64_t evaluated, const RuleSet* rules, long findings,
             const DiagnosticSink& diags) const;

 private:
  const char* noun_;  ///< what the output rows are called: findings (hunt) or results (search)
  std::chrono::steady_clock::time_point start_;
};

}  // namespace vigil::cli
