// Diagnostics: user-caused problems (bad rule, bad query, bad record) as values.
//
// Every problem a user can cause is reported through a DiagnosticSink with the
// place it happened (file, line/column or byte offset) and a reason, then the
// run goes on. The sink is thread-safe, counts by severity and by reason, and
// renders as `file:line:col: error: message` (plus source line and caret) or JSON.
#pragma once
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace vigil {

enum class Severity : uint8_t { note, warning, error };

/// Where something happened. Unset fields are 0 / npos.
struct SourceLocation {
  static constexpr uint64_t npos = UINT64_MAX;
  std::string file;
  uint32_t line = 0;    ///< 1-based; 0 = unknown
  uint32_t column = 0;  ///< 1-based; 0 = unknown
  uint64_t offset = npos;  ///< byte offset in the file, for binary/streamed inputs
};

struct Diagnostic {
  Severity severity = Severity::error;
  SourceLocation location;
  std::string message;
  std::string reason;       ///< short category used for counting (e.g. "bad-json")
  std::string source_line;  ///< the offending line, shown with a caret under `column`
  std::string hint;
  /// Told this many more times after this one: a holding sink's repeats, folded (set_fold_repeats).
  uint32_t repeats = 0;
  /// Counted the first time its place and message are told to a sink only: a warning of work the
  /// engine repeats as it sees fit (an early filter, run once per group key and worker), whose number
  /// would otherwise depend on --threads.
  bool once = false;
};

std::string render_text(const Diagnostic& d);
std::string render_json(const Diagnostic& d);

/// Collects diagnostics from any thread; prints them as they arrive unless quiet.
///
/// Identical diagnostics (same severity, place and message: a runtime warning
/// raised once per event) are counted every time but printed once. In grouped
/// mode (text only) nothing is printed as it arrives: print_groups() writes one
/// block at the end, a line per reason with its count and first instance, so a
/// corpus-wide run does not bury its results under hundreds of lines.
class DiagnosticSink {
 public:
  enum class Format : uint8_t { text, json };
  explicit DiagnosticSink(std::FILE* out = stderr, Format format = Format::text);
  /// Prints what grouped mode still holds: a verb that ends early loses nothing.
  ~DiagnosticSink();
  DiagnosticSink(const DiagnosticSink&) = delete;
  DiagnosticSink& operator=(const DiagnosticSink&) = delete;

  void report(Diagnostic d);
  void error(SourceLocation loc, std::string message, std::string reason = {});
  void warning(SourceLocation loc, std::string message, std::string reason = {});
  /// Told, counted by reason, never a failure: a file skipped as not a log, a cache left unwritten.
  void note(SourceLocation loc, std::string message, std::string reason = {});

  /// Print at most this many diagnostics per reason; the rest are only counted.
  void set_print_limit(size_t per_reason) { print_limit_ = per_reason; }
  void set_quiet(bool q) { quiet_ = q; }
  void set_format(Format f) { format_ = f; }
  void set_keep(bool k) { keep_ = k; }  ///< keep copies (tests, lint)
  /// With keep: a repeat (same severity, file and message, no line or offset) is kept as a count on
  /// the copy kept first (Diagnostic::repeats), not as another copy: a sink that holds a batch's
  /// warnings stays small when a rule warns once per row. Counts and what is printed are the same.
  void set_fold_repeats(bool f) { fold_repeats_ = f; }
  /// Hold text diagnostics for print_groups() instead of printing them as they arrive.
  void set_grouped(bool g) { grouped_ = g; }
  bool grouped() const { return grouped_ && format_ == Format::text && !quiet_; }
  /// Called (under the sink's lock) before anything is printed: the progress line clears itself.
  void set_before_print(std::function<void()> f) { before_print_ = std::move(f); }
  /// Grouped mode: one line per reason (count, first instance), reasons in order of first arrival;
  /// a reason seen at most `full_up_to` times is printed in full. Returns the lines written.
  size_t print_groups(size_t full_up_to = 2);
  /// Quiet: prints the first errors told (they are only counted otherwise), for a run that ends
  /// without results: its errors are why.
  void print_first_errors();
  size_t notes() const;

  size_t errors() const;
  size_t warnings() const;
  std::map<std::string, size_t> counts_by_reason() const;
  std::vector<Diagnostic> kept() const;
  /// The kept diagnostics, in arrival order; the sink keeps none after.
  std::vector<Diagnostic> take_kept();

 private:
  mutable std::mutex mu_;
  std::FILE* out_;
  Format format_;
  size_t print_limit_ = 20;
  bool quiet_ = false;
  bool keep_ = true;
  bool grouped_ = false;
  bool fold_repeats_ = false;
  std::unordered_map<std::string, size_t> folded_;  ///< fold_repeats: identity -> its copy in kept_
  std::function<void()> before_print_;
  size_t errors_ = 0, warnings_ = 0, notes_ = 0;
  std::map<std::string, size_t> by_reason_;
  std::vector<Diagnostic> kept_;
  static constexpr size_t kFirstErrors = 5;
  std::vector<Diagnostic> first_errors_;  ///< quiet: the first errors, for print_first_errors()
  std::unordered_set<std::string> seen_;  ///< identity of every diagnostic printed or held
  struct Group {
    std::string reason;
    Severity severity = Severity::note;  ///< the worst in the group
    size_t count = 0;                    ///< distinct diagnostics
    std::vector<Diagnostic> first;       ///< the first few, in arrival order
  };
  std::vector<Group> groups_;
  std::map<std::string, size_t> group_index_;
};

/// A sink that prints nothing and keeps what it is told, for a caller that tells it later in its
/// place (take_kept(), then report() into the run's sink): a unit read on a worker, a batch's
/// evaluation, what the walk found before the next unit.
class HoldingSink : public DiagnosticSink {
 public:
  HoldingSink() : DiagnosticSink(nullptr) {
    set_quiet(true);
    set_keep(true);
  }
};

}  // namespace vigil
