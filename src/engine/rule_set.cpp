#include "engine/rule_set.h"

#include "core/yaml.h"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/budget.h"
#include "core/ordered_pipeline.h"
#include "core/source_cache.h"
#include "core/strings.h"
#include "sigma/sigma.h"
#include "spl/compile.h"
#include "spl/parser.h"

namespace vigil {

namespace fs = std::filesystem;

static std::string fmt_reason(const std::string& name, const std::vector<std::string>& reasons) {
  std::string m = "rule '" + name + "' rejected";
  if (!reasons.empty()) m += ": " + reasons.front();
  return m;
}

RuleSet::RuleSet(RuleSetOptions opts) : opts_(std::move(opts)) {}
RuleSet::~RuleSet() = default;

size_t RuleSet::loaded() const {
  return std::count_if(rules_.begin(), rules_.end(), [](auto& r) { return r.parsed && r.executable; });
}
size_t RuleSet::rejected() const { return rules_.size() - loaded(); }

void RuleSet::ensure_content(const std::string& root, DiagnosticSink& diags) {
  if (!builtins_loaded_) {
    macros_.load_file(opts_.data_dir + "/macros.yml", diags);
    builtins_loaded_ = true;
  }
  if (root.empty() || root == loaded_root_) return;
  if (!loaded_root_.empty()) {
    diags.warning({root}, "a second security_content root is ignored; using " + loaded_root_, "content-root");
    return;
  }
  loaded_root_ = root;
  macros_.load_dir(root + "/macros", diags);
  if (fs::is_directory(root + "/lookups")) lookups_.load_dir(root + "/lookups", diags);
  // Built-ins must not shadow real definitions, and real ones may override built-ins: reload the
  // content macros after the built-ins (MacroTable::add replaces by name and arity).
}

static std::vector<std::string> rule_files(const std::string& path) {
  std::vector<std::string> out;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      auto ext = it->path().extension().string();
      if (ext == ".yml" || ext == ".yaml") out.push_back(it->path().string());
    }
    std::sort(out.begin(), out.end());
  } else {
    out.push_back(path);
  }
  return out;
}

// A rule file read and parsed as YAML (on a worker thread), waiting to be compiled in file order.
struct RuleSet::ParsedFile {
  std::string path, text;
  bool readable = false;
  std::vector<yaml::Node> docs;
  std::string yaml_error;
  yaml::Mark yaml_mark;
  std::string budget_error;  ///< refused before parsing (core/budget.h)
  // Per document (as docs), when it is an ESCU detection: read and its search parsed on the
  // parsing thread (most of an ESCU rule's compile time, and it interns nothing); else null.
  struct Escu {
    Result<content::EscuDetection> detection;
    spl::ParsedSearch search;
  };
  std::vector<std::unique_ptr<Escu>> escu;
  // A file of Sigma detections only (no ESCU document, no correlation), compiled on the parsing
  // thread against atoms of its own (sigma_atoms; null: compiled by load_parsed), its diagnostics
  // held: load_parsed adopts the rules into the corpus' table in file order (sigma::adopt), so
  // atom ids, rule indexes and the diagnostics' order are what compiling it there gives. Sigma
  // lowering was most of the loading thread's time (perf), while the parsing threads waited.
  std::unique_ptr<ir::AtomTable> sigma_atoms;
  std::vector<ir::CompiledRule> sigma_rules;
  std::vector<Diagnostic> sigma_diags;
};

namespace {
// Sigma detections that can be compiled apart from the corpus (sigma::adopt): no ESCU document,
// no correlation (whose operator keeps its rule index), at least one Sigma rule.
bool sigma_detections_only(const RuleSet::ParsedFile& f) {
  bool sigma = false;
  for (size_t i = 0; i < f.docs.size(); ++i) {
    if (i < f.escu.size() && f.escu[i]) return false;
    const yaml::Node& doc = f.docs[i];
    if (doc.IsMap() && doc["correlation"]) return false;
    if (sigma::looks_like_sigma(doc)) sigma = true;
  }
  return sigma;
}

struct ParseBatch {
  std::vector<std::string> paths;
};
using ParsedBatch = std::vector<std::unique_ptr<RuleSet::ParsedFile>>;
constexpr size_t kFilesPerBatch = 16;
}  // namespace

void RuleSet::load(const std::vector<std::string>& paths, DiagnosticSink& diags) {
  // Every corpus file this load reads (rules, macros, lookup descriptors) goes through the bundle.
  std::unique_ptr<SourceCache> cache;
  std::optional<SourceCacheScope> scope;
  if (!opts_.cache_dir.empty()) {
    cache = std::make_unique<SourceCache>(SourceCache::bundle_for(opts_.cache_dir, paths, opts_.content_root));
    scope.emplace(cache.get());
  }
  if (!opts_.content_root.empty()) ensure_content(opts_.content_root, diags);
  // YAML parsing is most of the load time and needs nothing shared: workers parse files ahead,
  // and this thread compiles them in file order (atom interning and rule indexes stay deterministic).
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  OrderedPipeline<ParseBatch, ParsedBatch> pipe(
      threads > 1 ? threads : 0,
      [this](ParseBatch& b, unsigned) {
        ParsedBatch out;
        for (auto& path : b.paths) {
          auto f = std::make_unique<ParsedFile>();
          f->path = path;
          f->readable = read_source_file(path, f->text);
          // A YAML tree costs several times its text: a huge rule file is refused before it is parsed.
          if (f->readable && f->text.size() > budget::kMaxRuleFileBytes) {
            f->budget_error = "rule file is " + std::to_string(f->text.size() >> 20) + " MiB, above the " +
                              std::to_string(budget::kMaxRuleFileBytes >> 20) + " MiB budget";
            f->text.clear();
          } else if (f->readable) {
            try {
              f->docs = yaml::load_source(path, f->text);
            } catch (const yaml::Exception& e) {
              f->yaml_error = e.msg;
              f->yaml_mark = e.mark;
            }
            // The macro table does not change while files are in flight: load() reads more
            // content only after finish_pending().
            f->escu.resize(f->docs.size());
            for (size_t i = 0; i < f->docs.size(); ++i)
              if (content::looks_like_escu(f->docs[i])) {
                auto d = content::load_escu(path, f->text, f->docs[i]);
                spl::ParsedSearch search;
                if (d) search = spl::parse_search(d->search, macros_);
                f->escu[i] = std::make_unique<ParsedFile::Escu>(ParsedFile::Escu{std::move(d), std::move(search)});
              }
            if (f->yaml_error.empty() && sigma_detections_only(*f))
              if (const sigma::Logsources* ls = logsources()) {
                f->sigma_atoms = std::make_unique<ir::AtomTable>();
                HoldingSink held;
                uint32_t first_index = 0;
                f->sigma_rules = sigma::load_docs(path, f->text, f->docs, *f->sigma_atoms, *ls, first_index, held);
                f->sigma_diags = held.take_kept();
              }
          }
          out.push_back(std::move(f));
        }
        return out;
      },
      [&](ParsedBatch&& out) {
        for (auto& f : out) load_parsed(*f, diags);
      });
  for (auto& p : paths) {
    std::error_code ec;
    if (!fs::exists(p, ec)) {
      diags.error({p}, "no such file or directory", "missing-path");
      continue;
    }
    // Content (macros, lookups) must be there before this path's rules compile.
    pipe.finish_pending();
    if (opts_.content_root.empty()) ensure_content(content::find_content_root(p), diags);
    else ensure_content({}, diags);
    auto files = rule_files(p);
    // A rule file mostly holds one rule: room for them at once. Grown by doubling, the rules were
    // moved into fresh memory a dozen times (8% of a start's loading thread, most of it page faults).
    rules_.reserve(rules_.size() + files.size());
    for (size_t i = 0; i < files.size(); i += kFilesPerBatch) {
      auto b = pipe.take_empty();
      b->paths.assign(files.begin() + long(i), files.begin() + long(std::min(files.size(), i + kFilesPerBatch)));
      pipe.submit(std::move(b));
    }
  }
  pipe.finish();
  if (logsources_) sigma::link_correlations(rules_, atoms_, diags);
  if (cache) {
    files_read_ = cache->hits() + cache->misses();
    files_from_cache_ = cache->hits();
    trees_from_cache_ = cache->trees_used();
    if (std::string why = cache->save(); !why.empty())
      diags.note({cache->path()}, "rule texts not bundled for the next run: " + why, "cache-unwritable");
  }
}

void RuleSet::load_parsed(ParsedFile& pf, DiagnosticSink& diags) {
  const std::string& path = pf.path;
  const std::string& text = pf.text;
  if (!pf.readable) {
    diags.error({path}, "cannot read rule file", "unreadable-rule");
    return;
  }
  if (!pf.budget_error.empty()) {
    ir::CompiledRule r;
    r.info.file = path;
    r.info.name = fs::path(path).stem().string();
    r.location = {path, 1, 1};
    r.reasons.push_back(pf.budget_error);
    diags.error(r.location, pf.budget_error, "budget");
    rules_.push_back(std::move(r));
    return;
  }
  if (!pf.yaml_error.empty()) {
    ir::CompiledRule r;
    r.info.file = path;
    r.info.name = fs::path(path).stem().string();
    r.location = {path, static_cast<uint32_t>(pf.yaml_mark.line + 1), static_cast<uint32_t>(pf.yaml_mark.column + 1)};
    r.reasons.push_back("YAML: " + pf.yaml_error);
    diags.error(r.location, "invalid YAML: " + pf.yaml_error, "bad-rule-yaml");
    rules_.push_back(std::move(r));
    return;
  }
  auto& docs = pf.docs;
  bool any = false;
  bool sigma_file = false;
  for (size_t i = 0; i < docs.size(); ++i) {
    const yaml::Node& doc = docs[i];
    if (i < pf.escu.size() && pf.escu[i]) {
      any = true;
      auto& d = pf.escu[i]->detection;
      if (!d) {
        ir::CompiledRule r;
        r.info.file = path;
        r.location = d.error().location;
        r.reasons.push_back(d.error().message);
        diags.error(r.location, d.error().message, "bad-escu-rule");
        rules_.push_back(std::move(r));
        continue;
      }
      auto tests = d->tests;
      rules_.push_back(compile_escu(std::move(d.value()), std::move(pf.escu[i]->search), diags));
      if (!tests.empty()) escu_tests_[rules_.size() - 1] = std::move(tests);
    } else if (sigma::looks_like_sigma(doc)) {
      sigma_file = true;
    }
  }
  // Sigma has no risk objects: findings name the host and, where the event has one, the user.
  auto add_sigma = [&](std::vector<ir::CompiledRule> rs) {
    for (auto& r : rs) {
      if (r.info.entities.empty())
        r.info.entities = {{"Computer", "system", r.info.risk_score, "victim"},
                           {"User", "user", r.info.risk_score, "victim"},
                           {"SubjectUserName", "user", r.info.risk_score, "victim"}};
      rules_.push_back(std::move(r));
    }
  };
  if (pf.sigma_atoms) {  // compiled on the parsing thread
    for (auto& d : pf.sigma_diags) diags.report(std::move(d));
    add_sigma(sigma::adopt(std::move(pf.sigma_rules), *pf.sigma_atoms, atoms_, next_rule_index_));
    return;
  }
  if (sigma_file) {
    any = true;
    if (!logsources_tried_) {
      logsources_tried_ = true;
      if (!logsources())
        diags.error(logsources_error_->location, "Sigma logsource table: " + logsources_error_->message,
                    "sigma-logsources");
    }
    if (logsources_) add_sigma(sigma::load_docs(path, text, docs, atoms_, *logsources_, next_rule_index_, diags));
  }
  if (!any) ++files_ignored_;
}

const sigma::Logsources* RuleSet::logsources() {
  std::call_once(logsources_once_, [this] {
    auto ls = sigma::Logsources::load(opts_.data_dir);
    if (ls) logsources_ = std::make_unique<sigma::Logsources>(std::move(ls.value()));
    else logsources_error_ = ls.error();
  });
  return logsources_.get();
}

ir::CompiledRule RuleSet::compile_escu(content::EscuDetection d, spl::ParsedSearch parsed, DiagnosticSink& diags) {
  ir::CompiledRule r;
  r.info = std::move(d.info);
  r.location = {r.info.file, d.search_line, 0};
  spl::CompileEnv env{&macros_, &lookups_, &atoms_, opts_.allow_writes};
  auto cs = spl::compile_parsed(std::move(parsed), env);
  lookups_.report_pending(diags);  // a table the search names whose CSV is bad
  r.parsed = cs.parsed;
  r.executable = cs.parsed && cs.executable;
  r.reasons = cs.reasons;
  r.plan = std::move(cs.plan);
  r.stages = std::move(cs.stages);
  r.macros_used = cs.macros_used;
  uint32_t index = next_rule_index_++;
  // Every atom the rule tests, in its streaming filters or in later filtering stages, is one of its indicators.
  std::vector<ir::AtomId> ids;
  for (auto& s : r.plan.streams) s.filter.collect_atoms(ids);
  for (auto& st : r.stages)
    if (st.has_predicate) st.predicate.collect_atoms(ids);
  for (auto id : ids) atoms_.add_reference(id, ir::Language::escu, index);
  if (!cs.parsed) {
    Diagnostic diag;
    diag.severity = Severity::error;
    diag.location = r.location;
    diag.reason = "spl-parse";
    diag.message = fmt_reason(r.info.name, cs.reasons);
    if (cs.error_offset != UINT32_MAX) {
      auto [line, col] = spl::line_col(cs.expanded, cs.error_offset);
      std::string where = " (search line " + std::to_string(line) + ", column " + std::to_string(col) + " after macro expansion)";
      diag.message += where;
      if (!r.reasons.empty()) r.reasons.front() += where;
      auto lines = split(cs.expanded, '\n');
      if (line >= 1 && line <= lines.size()) {
        diag.source_line = std::string(lines[line - 1]);
        diag.location.column = col;
      }
    }
    diags.report(std::move(diag));
  }
  return r;
}

ir::CompiledRule RuleSet::compile_query(const std::string& spl, DiagnosticSink& diags) {
  ensure_content(opts_.content_root, diags);
  ir::CompiledRule r;
  r.info.name = "search";
  r.info.type = "search";
  r.info.query = spl;
  spl::CompileEnv env{&macros_, &lookups_, &atoms_, opts_.allow_writes};
  auto cs = spl::compile_search(spl, env);
  lookups_.report_pending(diags);
  r.parsed = cs.parsed;
  r.executable = cs.parsed && cs.executable;
  r.reasons = cs.reasons;
  r.plan = std::move(cs.plan);
  if (!cs.parsed) {
    Diagnostic diag;
    diag.location = {"<query>", 1, 0};
    diag.reason = "spl-parse";
    diag.message = cs.reasons.empty() ? "cannot parse query" : cs.reasons.front();
    if (cs.error_offset != UINT32_MAX) {
      auto [line, col] = spl::line_col(cs.expanded, cs.error_offset);
      diag.location.line = line;
      diag.location.column = col;
      auto lines = split(cs.expanded, '\n');
      if (line >= 1 && line <= lines.size()) diag.source_line = std::string(lines[line - 1]);
    }
    diags.report(std::move(diag));
  } else if (!r.executable) {
    for (auto& why : r.reasons) diags.error({"<query>"}, why, "not-executable");
  }
  return r;
}

}  // namespace vigil
