// Helpers shared by the verbs: output files, ATT&CK table discovery, the
// progress line and the end-of-run summary on stderr.
#pragma once
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/options.h"
#include "cli/progress.h"
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
  std::unique_ptr<char[]> buffer;  // the owned file's stdio buffer (open_output): freed after its fclose
  ~Output() {
    if (owned && file) std::fclose(file);
  }
};
/// Opens -o FILE (or stdout). nullopt (after printing why) when the file cannot be created.
bool open_output(const Common& c, Output& out);
/// --format, defaulting to table on a terminal and jsonl otherwise.
bool resolve_format(const Common& c, const Output& out, report::Format& f);
std::string data_dir(const Common& c);
/// Where rule bundles and compiled matchers are kept between runs; empty with --no-cache.
std::string cache_dir(const Common& c);
/// The ATT&CK table from --attack, $VIGIL_ATTACK, or the known locations; null (with a note) when none.
std::unique_ptr<content::AttackTable> load_attack(const Common& c, DiagnosticSink& diags);
/// --now as epoch seconds (ISO-8601 or epoch); 0 = wall clock.
bool parse_now(const Common& c, double& now);
/// Reader options from the shared flags; the progress line (when given and active) follows the bytes read.
ReadOptions read_options(const Common& c, Progress* progress = nullptr);
/// Sets up the stderr diagnostic sink every verb uses (--diagnostics, --quiet, --verbose): text
/// diagnostics grouped by reason at the end unless --verbose; copies are not kept. The progress
/// line, when given, is cleared before any diagnostic is printed.
void configure_diagnostics(DiagnosticSink& d, const Common& c, Progress* progress = nullptr);
/// A verb's exit: with -q, a run that ends without results (usage, nothing_ran) prints its first
/// errors, which -q otherwise only counts, so a script learns why. Returns `code`.
int ended(DiagnosticSink& d, const Common& c, int code);
/// A rule's not-executable reason as a category: its place removed and quoted names elided
/// ("no logsource mapping for '…' in data/sigma/logsources.yml"), so that rules group by reason.
std::string reason_category(std::string_view why);
/// "1 warning", "2 warnings", "0 errors": a count and its noun, in the singular for one.
std::string counted(uint64_t n, std::string_view noun);
/// Columns of the terminal `f` is on ($COLUMNS, else 160, when it is not one).
size_t terminal_width(std::FILE* f);
/// --color: auto = on when `out` is a terminal and NO_COLOR is unset.
bool use_color(const Common& c, std::FILE* out);
/// The normalization tables from the data directory; null (after a diagnostic) when they cannot load.
std::unique_ptr<Normalizer> load_normalizer(const Common& c, DiagnosticSink& diags);
/// Engine and reader options from the shared flags (--now already parsed).
/// With a progress line: it counts files and events as they are read and shows the evaluating phase.
RunOptions run_options(const Common& c, double now, Progress* progress = nullptr);

/// Hands `p` to the process: its memory goes back to the OS at exit, without its destructor. For
/// what a verb builds once and drops when the process ends anyway (the rule set of a hunt: ~100k
/// small allocations whose freeing was 7% of a start's perf samples with both corpora). Nothing with effects
/// outside memory (files, threads) may be kept here.
template <class T>
T& keep_until_exit(std::unique_ptr<T> p) {
  // Reachable from a static, so leak checkers do not count it.
  static auto* kept = new std::vector<T*>;  // never destroyed
  kept->push_back(p.release());
  return *kept->back();
}

/// No input could be read: every input was skipped (missing, unreadable,
/// empty, unrecognised) and no record was found. The README promises exit 3.
inline bool nothing_readable(const ReadStats& r) { return r.records_read == 0 && r.files_skipped >= r.files; }
/// When nothing was readable, an error that says so (an empty folder, or one with no log in it, ended
/// with exit 3 and only a count of zero files); Summary::print tells it, before the summary.
void tell_nothing_read(const ReadStats* read, DiagnosticSink& diags);

/// Regex questions left unanswered (a PCRE2 match limit hit) are not "no
/// match": one located warning per pattern naming the rules that use it and
/// how many evaluations were undecided, counted as `regex-undecided`.
void report_regex_limits(const std::vector<const ir::CompiledRule*>& rules, DiagnosticSink& diags);

/// One vocabulary for every verb: rules loaded (every rule found), executable, not executable
/// with the reasons (by category, see reason_category; "not parsed: …" for rules that did not parse).
struct RuleCounts {
  uint64_t loaded = 0, executable = 0, not_executable = 0;
  std::map<std::string, uint64_t> reasons;
  /// "rules loaded N: X executable, Y not executable (n reason, …)", the `top` commonest reasons.
  std::string text(size_t top = 4) const;
};
RuleCounts count_rules(const RuleSet& rs);
/// One note when rules use undefined ESCU macros, with the hint to pass --content (or check it).
void hint_missing_macros(const RuleSet& rs, const Common& c, DiagnosticSink& diags);

class Summary {
 public:
  explicit Summary(const char* noun = "findings") : noun_(noun), start_(std::chrono::steady_clock::now()) {}
  /// `findings` < 0 leaves the findings count out (verbs that produce none).
  void print(const Common& c, const ReadStats* read, uint64_t evaluated, const RuleSet* rules, long findings,
             DiagnosticSink& diags) const;

 private:
  const char* noun_;  ///< what the output rows are called: findings (hunt) or results (search)
  std::chrono::steady_clock::time_point start_;
};

/// What lint/explain/sql --clickhouse say of a rule that reads datamodel=Risk (risk::reads_risk):
/// hunt runs it over its own risk events, never over the cluster's tables.
inline constexpr const char* kSecondPass =
    "runs locally: it reads datamodel=Risk, so hunt runs it in its second pass over the hunt's risk events";

}  // namespace vigil::cli
