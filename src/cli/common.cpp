#include "cli/common.h"

#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>

#include <algorithm>
#include <filesystem>
#include <mutex>

#include <fmt/format.h>

#include "core/regex.h"
#include "core/source_cache.h"
#include "core/strings.h"
#include "core/time.h"

namespace vigil::cli {

void add_common(CLI::App& app, Common& c, const CommonOptions& o) {
  // Each verb lists only the options it acts on (its --help is its own).
  if (o.content) {
    app.add_option("--content", c.content, "security_content root (macros/, lookups/, data_sources/, stories/); "
                                           "found automatically from a rule path inside such a tree");
    app.add_option("--attack", c.attack, "MITRE ATT&CK table (enterprise-attack.json)");
    app.add_flag("--no-cache", c.no_cache,
                 "keep nothing between runs (default: the rule texts are kept in one bundle and the compiled "
                 "literal matchers beside it, under $XDG_CACHE_HOME/vigil or ~/.cache/vigil, so a start reads one "
                 "file and compiles less; a changed rule file is always read again)");
  }
  app.add_option("--data", c.data_dir, "vigil data tables (normalization, built-in macros, Sigma logsources)");
  if (o.format) {
    std::string list;
    for (auto& f : o.formats) list += (list.empty() ? "" : ", ") + f;
    app.add_option("--format", c.format, "output format: " + list + " (default: table on a terminal, else jsonl)")
        ->check(CLI::IsMember(o.formats));
    app.add_option("-o,--output", c.output, "write results to FILE instead of stdout");
  }
  if (o.color)
    app.add_option("--color", c.color, "colour the table and summary by level: auto (on a terminal), always, never")
        ->check(CLI::IsMember({"auto", "always", "never"}));
  app.add_option("--diagnostics", c.diagnostics, "diagnostics on stderr as text or json")->check(CLI::IsMember({"text", "json"}));
  if (o.run) {
    app.add_option("--threads", c.threads, "worker threads (default: all cores); output is the same for any number");
    app.add_option("--now", c.now, "pin now() for relative-time functions (ISO-8601 or epoch seconds)");
    app.add_option("--allow-writes", c.allow_writes, "let rules write lookups under DIR (refused otherwise)");
  }
  app.add_flag("-q,--quiet", c.quiet, "no progress line, no run summary, diagnostics counted only (a run that ends without results still prints its first errors)");
  if (o.verbose)
    app.add_flag("-v,--verbose", c.verbose, "print every diagnostic as it happens (default: grouped by reason at the end)");
  if (o.strict) app.add_flag("--strict", c.strict, "exit 1 when any input record or rule was rejected");
  if (o.fail_on_findings)
    app.add_flag("--fail-on-findings", c.fail_on_findings, "exit 10 when there are findings (for CI pipelines)");
}

std::string counted(uint64_t n, std::string_view noun) { return fmt::format("{} {}{}", n, noun, n == 1 ? "" : "s"); }

std::string reason_category(std::string_view why) {
  // "path/rule.yml:14:5: no logsource mapping for 'x' in …": the place is not the reason.
  if (size_t yml = why.find(".yml:"); yml != std::string_view::npos && yml < 400) {
    size_t p = yml + 5;
    while (p < why.size() && (std::isdigit(static_cast<unsigned char>(why[p])) || why[p] == ':')) ++p;
    if (p < why.size() && why[p] == ' ') why.remove_prefix(p + 1);
  }
  std::string out;
  bool quoted = false;
  for (char ch : why) {
    if (ch == '\'') {
      out += quoted ? "…'" : "'";
      quoted = !quoted;
    } else if (!quoted) {
      out += ch;
    }
  }
  if (out.size() > 100) {
    size_t cut = 99;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out = out.substr(0, cut) + "…";
  }
  return out.empty() ? std::string("?") : out;
}

size_t terminal_width(std::FILE* f) {
  winsize ws{};
  if (isatty(fileno(f)) && ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40) return ws.ws_col;
  if (const char* cols = std::getenv("COLUMNS"); cols && std::atoi(cols) >= 40) return std::atoi(cols);
  return 160;
}

bool use_color(const Common& c, std::FILE* out) {
  if (c.color == "always") return true;
  if (c.color == "never") return false;
  if (const char* nc = std::getenv("NO_COLOR"); nc && *nc) return false;
  return isatty(fileno(out));
}

// Results go out in large writes: a finding is ~4 KB, and stdio's default buffer (the file system's
// block) made that one write(2) per finding. A regular file gets 1 MB; a pipe 64 KB (its capacity), so a
// reader such as `head` still sees findings, and stops the hunt, early; a terminal keeps line buffering.
// glibc ignores the size without a buffer, so one is given: stdout's lives to the exit, a file's until
// its fclose (Output). Set before the stream's first output; stdout once per process.
static size_t output_buffer_size(std::FILE* f) {
  struct stat st {};
  if (isatty(fileno(f)) || fstat(fileno(f), &st) != 0) return 0;
  return S_ISREG(st.st_mode) ? size_t(1) << 20 : size_t(64) << 10;
}

bool open_output(const Common& c, Output& out) {
  if (c.output.empty() || c.output == "-") {
    static std::once_flag stdout_set;
    std::call_once(stdout_set, [] {
      if (const size_t size = output_buffer_size(stdout)) std::setvbuf(stdout, new char[size], _IOFBF, size);
    });
    return true;
  }
  out.file = std::fopen(c.output.c_str(), "w");
  if (!out.file) {
    std::fprintf(stderr, "error: cannot write %s\n", c.output.c_str());
    out.file = stdout;
    return false;
  }
  if (const size_t size = output_buffer_size(out.file)) {
    out.buffer = std::make_unique<char[]>(size);
    std::setvbuf(out.file, out.buffer.get(), _IOFBF, size);
  }
  out.owned = true;
  return true;
}

bool resolve_format(const Common& c, const Output& out, report::Format& f) {
  if (c.format.empty()) {
    f = (!out.owned && isatty(fileno(stdout))) ? report::Format::table : report::Format::jsonl;
    return true;
  }
  if (report::parse_format(c.format, f)) return true;
  std::fprintf(stderr, "error: unknown --format '%s' (jsonl, csv, table)%s\n", c.format.c_str(),
               c.format == "json" ? "; for JSON lines, one finding per line, use --format jsonl" : "");
  return false;
}

std::string data_dir(const Common& c) { return c.data_dir.empty() ? default_data_dir() : c.data_dir; }

std::string cache_dir(const Common& c) { return c.no_cache ? std::string() : SourceCache::default_dir(); }

std::unique_ptr<content::AttackTable> load_attack(const Common& c, DiagnosticSink& diags) {
  namespace fs = std::filesystem;
  std::vector<std::string> candidates;
  if (!c.attack.empty()) candidates.push_back(c.attack);
  if (const char* e = std::getenv("VIGIL_ATTACK"); e && *e) candidates.push_back(e);
  std::string dd = data_dir(c);
  candidates.push_back(dd + "/attack/enterprise-attack.json");
  candidates.push_back(dd + "/../../shared/data/attack/enterprise-attack.json");
  for (auto& p : candidates) {
    std::error_code ec;
    if (!fs::exists(p, ec)) {
      if (&p == &candidates.front() && !c.attack.empty()) diags.error({p}, "ATT&CK table not found", "attack-table");
      continue;
    }
    auto t = content::AttackTable::load(p);
    if (t) return std::make_unique<content::AttackTable>(std::move(t.value()));
    diags.error(t.error().location, t.error().message, "attack-table");
  }
  // Tactics come from the table too: risk events carry none, so correlation rules that count
  // distinct tactics (ESCU's risk-based ones) find fewer or no findings.
  diags.note({},
             "no ATT&CK table found (--attack FILE or VIGIL_ATTACK); techniques are listed without names or "
             "tactics, and correlation rules that count tactics see none",
             "no-attack-table");
  return nullptr;
}

bool parse_now(const Common& c, double& now) {
  now = 0;
  if (c.now.empty()) return true;
  if (parse_number(c.now, now)) return true;
  if (auto t = parse_time(c.now)) {
    now = *t;
    return true;
  }
  std::fprintf(stderr, "error: --now takes ISO-8601 or epoch seconds, got '%s'\n", c.now.c_str());
  return false;
}

ReadOptions read_options(const Common& c, Progress* progress) {
  ReadOptions o;
  o.threads = c.threads;
  o.recover = c.recover;
  if (progress && progress->active()) o.progress = [progress](uint64_t done, uint64_t total) { progress->bytes(done, total); };
  return o;
}

void configure_diagnostics(DiagnosticSink& d, const Common& c, Progress* progress) {
  d.set_format(c.diagnostics == "json" ? DiagnosticSink::Format::json : DiagnosticSink::Format::text);
  d.set_keep(false);
  d.set_quiet(c.quiet);
  d.set_grouped(!c.verbose);
  if (progress && progress->active()) d.set_before_print([progress] { progress->clear(); });
}

int ended(DiagnosticSink& d, const Common& c, int code) {
  if (c.quiet && (code == usage || code == nothing_ran)) d.print_first_errors();
  return code;
}

std::unique_ptr<Normalizer> load_normalizer(const Common& c, DiagnosticSink& diags) {
  auto norm = Normalizer::load(data_dir(c) + "/normalize");
  if (!norm) {
    diags.error(norm.error().location, norm.error().message, "data");
    return nullptr;
  }
  return std::make_unique<Normalizer>(std::move(norm.value()));
}

RunOptions run_options(const Common& c, double now, Progress* progress) {
  RunOptions ro;
  ro.engine.now = now;
  ro.engine.allow_writes = !c.allow_writes.empty();
  ro.engine.writes_dir = c.allow_writes;
  ro.engine.threads = c.threads;
  ro.engine.cache_dir = cache_dir(c);
  ro.read = read_options(c, progress);
  if (progress && progress->active()) {
    ro.on_read_done = [progress] { progress->phase("evaluating"); };
    // Files and events for the progress line, once per record, on the thread that reads it: a file
    // is read by one thread, so each thread notices when its file changes.
    ro.accept = [progress](const Record& r) {
      thread_local std::string last;
      if (r.file != last) {
        last.assign(r.file);
        progress->add_file();
      }
      progress->add_event();
      return true;
    };
  }
  return ro;
}

void report_regex_limits(const std::vector<const ir::CompiledRule*>& rules, DiagnosticSink& diags) {
  for (auto& [pattern, hits] : Regex::limit_report()) {
    // Core knows patterns, not rules: name the rules whose text holds the pattern.
    std::string names;
    SourceLocation where;
    for (const ir::CompiledRule* r : rules) {
      if (r->info.body.find(pattern) == std::string::npos && r->info.query.find(pattern) == std::string::npos) continue;
      names += (names.empty() ? "'" : ", '") + r->info.name + "'";
      if (where.file.empty()) where = r->location.file.empty() ? SourceLocation{r->info.file} : r->location;
    }
    diags.warning(std::move(where),
                  fmt::format("regex match limit hit {} time(s) for pattern '{}' in rule {}: those events are "
                              "undecided for it (neither matched nor excluded); review them by hand",
                              hits, pattern, names.empty() ? std::string("(query)") : names),
                  "regex-undecided");
  }
}

void hint_missing_macros(const RuleSet& rs, const Common& c, DiagnosticSink& diags) {
  size_t n = 0;
  std::string example;
  const ir::CompiledRule* first = nullptr;
  for (auto& r : rs.rules())
    for (auto& why : r.reasons)
      if (why.rfind("undefined macro", 0) == 0) {
        if (!n++) {
          example = why.substr(16);
          first = &r;
        }
        break;
      }
  if (!n) return;
  Diagnostic d;
  d.severity = Severity::note;
  d.location = first->location.file.empty() ? SourceLocation{first->info.file} : first->location;
  d.reason = "undefined-macro";
  d.message = fmt::format("{} rule(s) use macros that are not defined, e.g. {} in '{}'", n, example, first->info.name);
  d.hint = c.content.empty()
               ? "ESCU macros live in the security_content tree: pass --content DIR (the directory holding "
                 "macros/ and lookups/) when the rules are not inside that tree"
               : "--content " + c.content + " does not define it: check that it is the security_content root (with macros/)";
  diags.report(std::move(d));
}

RuleCounts count_rules(const RuleSet& rs) {
  RuleCounts c;
  for (auto& r : rs.rules()) {
    ++c.loaded;
    if (r.parsed && r.executable) {
      ++c.executable;
      continue;
    }
    ++c.not_executable;
    std::string why = r.reasons.empty() ? std::string("?") : reason_category(r.reasons.front());
    ++c.reasons[r.parsed ? why : "not parsed: " + why];
  }
  return c;
}

std::string RuleCounts::text(size_t top) const {
  std::string s = fmt::format("rules loaded {}: {} executable, {} not executable", loaded, executable, not_executable);
  if (reasons.empty()) return s;
  std::vector<std::pair<uint64_t, std::string>> by_n;
  for (auto& [why, n] : reasons) by_n.emplace_back(n, why);
  std::stable_sort(by_n.begin(), by_n.end(), [](auto& a, auto& b) { return a.first > b.first; });
  s += " (";
  for (size_t i = 0; i < by_n.size() && i < top; ++i) s += fmt::format("{}{} {}", i ? ", " : "", by_n[i].first, by_n[i].second);
  if (by_n.size() > top) s += fmt::format(", {} more reasons", by_n.size() - top);
  return s + ")";
}

namespace {
// "2 unreadable, 1 unrecognised-format": counts by reason.
std::string reasons_of(const std::map<std::string, uint64_t>& m) {
  std::string s;
  for (auto& [why, n] : m) s += fmt::format("{}{} {}", s.empty() ? "" : ", ", n, why);
  return s;
}
}  // namespace

void tell_nothing_read(const ReadStats* read, DiagnosticSink& diags) {
  if (!read || !nothing_readable(*read)) return;
  std::string why = read->files == 0 ? "the inputs hold no file (an empty directory?)"
                                     : fmt::format("all {} input files were skipped ({})", read->files,
                                                   reasons_of(read->file_skip_reasons));
  diags.error({}, "no log read: " + why, "nothing-read");
}

void Summary::print(const Common& c, const ReadStats* read, uint64_t evaluated, const RuleSet* rules, long findings,
                    DiagnosticSink& diags) const {
  tell_nothing_read(read, diags);
  // Grouped diagnostics first, so that the summary line ends the run.
  diags.print_groups();
  if (c.quiet) return;
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  auto reasons_json = [](const std::map<std::string, uint64_t>& m) {
    std::string s = "{";
    for (auto& [why, n] : m) s += fmt::format("{}{}:{}", s.size() > 1 ? "," : "", json_quote(why), n);
    return s + "}";
  };
  if (c.diagnostics == "json") {
    // One JSON object like every other line of --diagnostics json.
    std::string s = "{\"summary\":{";
    if (read)
      s += fmt::format("\"files\":{},\"files_skipped\":{},\"file_reasons\":{},\"records_read\":{},"
                       "\"records_evaluated\":{},\"records_skipped\":{},\"record_reasons\":{},",
                       read->files, read->files_skipped, reasons_json(read->file_skip_reasons), read->records_read,
                       evaluated, read->records_skipped, reasons_json(read->record_skip_reasons()));
    if (rules) {
      auto rc = count_rules(*rules);
      s += fmt::format("\"rules_loaded\":{},\"rules_rejected\":{},\"rules_executable\":{},\"rules_not_executable\":{},"
                       "\"not_executable_reasons\":{},",
                       rules->loaded(), rules->rejected(), rc.executable, rc.not_executable, reasons_json(rc.reasons));
    }
    if (findings >= 0) s += fmt::format("{}:{},", json_quote(noun_), findings);
    std::map<std::string, uint64_t> by_reason;
    for (auto& [k, v] : diags.counts_by_reason()) by_reason[k] = v;
    s += fmt::format("\"errors\":{},\"warnings\":{},\"diagnostics\":{},\"seconds\":{:.2f}}}}}", diags.errors(),
                     diags.warnings(), reasons_json(by_reason), secs);
    std::fprintf(stderr, "%s\n", s.c_str());
    return;
  }
  std::string s = "summary:";
  if (read) {
    // Inputs and records are counted apart, each with its own reasons, so that
    // records read = evaluated + skipped can be checked from the line itself.
    auto skipped = read->file_skip_reasons;
    uint64_t cut = 0;
    if (auto it = skipped.find("truncated-input"); it != skipped.end()) {
      cut = it->second;  // read up to the cut: not skipped
      skipped.erase(it);
    }
    s += fmt::format(" files {} ({} skipped", read->files, read->files_skipped);
    if (!skipped.empty()) s += ": " + reasons_of(skipped);
    if (cut) s += fmt::format("; {} cut short", cut);
    s += fmt::format("); records read {}, evaluated {}, skipped {}", read->records_read, evaluated,
                     read->records_skipped);
    // Only with --recover: the live summary line stays as it was.
    if (read->records_recovered) s += fmt::format(", recovered {}", read->records_recovered);
    if (auto rr = read->record_skip_reasons(); !rr.empty()) s += " (" + reasons_of(rr) + ")";
    s += ";";
  }
  if (rules) s += " " + count_rules(*rules).text() + ";";
  if (findings >= 0) s += fmt::format(" {} {};", noun_, findings);
  s += fmt::format(" {}, {}; {:.2f}s", counted(diags.errors(), "error"), counted(diags.warnings(), "warning"), secs);
  std::fprintf(stderr, "%s\n", s.c_str());
}

}  // namespace vigil::cli
