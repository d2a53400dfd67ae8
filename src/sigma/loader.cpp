// Sigma rule documents -> ir::CompiledRule (sigma.h), and correlation linking.
#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

#include "core/budget.h"
#include "core/strings.h"
#include "sigma/condition.h"
#include "sigma/correlation.h"
#include "sigma/detection.h"
#include "sigma/sigma.h"

namespace vigil::sigma {
namespace {

constexpr const char* kReason = "sigma-rule";

SourceLocation loc_of(const std::string& file, const yaml::Mark& m, uint32_t extra_columns = 0) {
  SourceLocation l;
  l.file = file;
  if (m.line >= 0) {
    l.line = static_cast<uint32_t>(m.line + 1);
    l.column = static_cast<uint32_t>(m.column + 1) + extra_columns;
  }
  l.offset = static_cast<uint64_t>(m.pos);
  return l;
}

std::string line_text(std::string_view text, uint32_t line) {
  if (line == 0) return {};
  size_t b = 0;
  for (uint32_t l = 1; l < line; ++l) {
    b = text.find('\n', b);
    if (b == std::string_view::npos) return {};
    ++b;
  }
  size_t e = text.find('\n', b);
  std::string s(text.substr(b, e == std::string_view::npos ? std::string_view::npos : e - b));
  if (!s.empty() && s.back() == '\r') s.pop_back();
  return s;
}

std::string located(const SourceLocation& l, const std::string& msg) {
  return l.line ? fmt::format("{}:{}:{}: {}", l.file, l.line, l.column, msg) : fmt::format("{}: {}", l.file, msg);
}

std::string scalar(const yaml::Node& doc, const char* key) {
  const yaml::Node n = doc[key];
  return n && n.IsScalar() ? n.Scalar() : std::string();
}

std::vector<std::string> scalars(const yaml::Node& n) {
  std::vector<std::string> out;
  if (n && n.IsSequence()) {
    for (const auto& v : n)
      if (v.IsScalar()) out.push_back(v.Scalar());
  } else if (n && n.IsScalar()) {
    out.push_back(n.Scalar());
  }
  return out;
}

// The text of the top-level `detection:` block as written (comments included), for RuleInfo::query.
std::string block_text(std::string_view text, const yaml::Mark& key_mark) {
  if (key_mark.pos >= text.size()) return {};
  size_t b = text.rfind('\n', static_cast<size_t>(key_mark.pos));
  b = b == std::string_view::npos ? 0 : b + 1;
  size_t e = text.find('\n', b);
  while (e != std::string_view::npos) {
    size_t next = e + 1;
    if (next >= text.size()) break;
    char c = text[next];
    // A new top-level key or document marker ends the block; blank/indented/comment lines continue it.
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '#') break;
    e = text.find('\n', next);
  }
  std::string s(text.substr(b, e == std::string_view::npos ? std::string_view::npos : e - b));
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// `attack.t1059` or `attack.t1059.001`, any case: the technique id, upper-cased (T1059.001). By
// hand: a std::regex (compiled once, run per tag) cost ~19 M instructions of every both-corpora load.
std::vector<std::string> attack_ids(const std::vector<std::string>& tags) {
  auto digits = [](std::string_view s, size_t from, size_t n) {
    for (size_t i = from; i < from + n; ++i)
      if (i >= s.size() || s[i] < '0' || s[i] > '9') return false;
    return true;
  };
  std::vector<std::string> out;
  for (std::string_view t : tags) {
    if (t.size() < 12 || !iequals(t.substr(0, 8), "attack.t") || !digits(t, 8, 4)) continue;
    if (t.size() == 12 || (t.size() == 16 && t[12] == '.' && digits(t, 13, 3))) out.push_back(to_upper(t.substr(7)));
  }
  return out;
}

// `attack.<tactic>` tags: the shortname after `attack.`, letters and hyphens only, so that techniques
// (t1047), groups (g0016), software (s0002) and other ids (ds0005) are not taken for tactics.
std::vector<std::string> attack_tactic_tags(const std::vector<std::string>& tags) {
  std::vector<std::string> out;
  for (std::string_view t : tags) {
    if (t.size() < 8 || !iequals(t.substr(0, 7), "attack.")) continue;
    std::string_view name = t.substr(7);
    if (!std::all_of(name.begin(), name.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_'; }))
      continue;
    std::string s = to_lower(name);
    std::replace(s.begin(), s.end(), '_', '-');  // older rules wrote attack.defense_evasion
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(std::move(s));
  }
  return out;
}

ir::Predicate logsource_predicate(const Logsources::Entry& e, ir::AtomTable& atoms) {
  if (e.any) return ir::Predicate::always_true();
  std::vector<ir::Predicate> alts;
  for (const auto& sel : e.when) {
    std::vector<ir::Predicate> conj;
    for (const auto& [field, values] : sel) {
      std::vector<ir::Predicate> any;
      for (const auto& v : values)
        any.push_back(ir::Predicate::make_atom(atoms.intern(ir::Atom{field_id(field), ir::AtomKind::eq, v, false})));
      conj.push_back(ir::Predicate::make_or(std::move(any)));
    }
    alts.push_back(ir::Predicate::make_and(std::move(conj)));
  }
  return ir::Predicate::make_or(std::move(alts));
}

void register_atoms(const ir::Predicate& p, ir::AtomTable& atoms, uint32_t rule_index) {
  std::vector<ir::AtomId> ids;
  p.collect_atoms(ids);
  for (auto id : ids) atoms.add_reference(id, ir::Language::sigma, rule_index);
}

class RuleBuilder {
 public:
  RuleBuilder(const std::string& path, std::string_view text, DiagnosticSink& diags)
      : path_(path), text_(text), diags_(diags) {}

  // A problem that stops the rule from compiling.
  void error(ir::CompiledRule& r, const SourceLocation& l, const std::string& msg) {
    report(Severity::error, l, msg);
    r.parsed = false;
    r.executable = false;
    if (!has_error_) r.location = l;  // the first error locates the rule
    has_error_ = true;
    r.reasons.push_back(located(l, msg));
  }
  bool has_error() const { return has_error_; }
  // The rule compiled but cannot run as configured.
  void unresolved(ir::CompiledRule& r, const SourceLocation& l, const std::string& msg, Severity sev) {
    report(sev, l, msg);
    r.executable = false;
    r.reasons.push_back(located(l, msg));
  }

 private:
  void report(Severity sev, const SourceLocation& l, const std::string& msg) {
    Diagnostic d;
    d.severity = sev;
    d.location = l;
    d.message = msg;
    d.reason = sev == Severity::note ? "sigma-logsource-unmapped" : kReason;
    d.source_line = line_text(text_, l.line);
    diags_.report(std::move(d));
  }
  const std::string& path_;
  std::string_view text_;
  DiagnosticSink& diags_;
  bool has_error_ = false;
};

void fill_info(ir::RuleInfo& info, const yaml::Node& doc, const std::string& path, std::string_view text) {
  info.language = ir::Language::sigma;
  info.id = scalar(doc, "id");
  info.name = scalar(doc, "title");
  info.type = "sigma";
  info.status = scalar(doc, "status");
  info.level = to_lower(scalar(doc, "level"));
  info.description = scalar(doc, "description");
  info.author = scalar(doc, "author");
  info.file = path;
  info.tags = scalars(doc["tags"]);
  info.references = scalars(doc["references"]);
  info.mitre_attack = attack_ids(info.tags);
  info.attack_tactics = attack_tactic_tags(info.tags);
  info.risk_score = risk_score_for_level(info.level);
  info.message = info.name;
  info.body = std::string(text);
}

void compile_detection(ir::CompiledRule& r, const yaml::Node& doc, const std::string& path, std::string_view text,
                       ir::AtomTable& atoms, const Logsources& ls, RuleBuilder& rb) {
  const yaml::Node logsource = doc["logsource"];
  const yaml::Node detection = doc["detection"];
  if (!logsource || !logsource.IsMap()) {
    rb.error(r, loc_of(path, doc.Mark()), "rule has no `logsource` map");
    return;
  }
  if (!detection || !detection.IsMap()) {
    rb.error(r, loc_of(path, doc.Mark()), "rule has no `detection` map");
    return;
  }
  std::string product = scalar(logsource, "product"), category = scalar(logsource, "category"),
              service = scalar(logsource, "service");
  std::string summary;
  for (const auto& part : {product, category, service})
    if (!part.empty()) summary += (summary.empty() ? "" : "/") + part;
  r.info.data_sources.push_back(summary.empty() ? "(no logsource)" : summary);

  // The key node of `detection` locates the query text.
  for (auto it = doc.begin(); it != doc.end(); ++it)
    if (it->first.Scalar() == "detection") r.info.query = block_text(text, it->first.Mark());

  const Logsources::Entry* entry = ls.find(product, category, service);
  LowerContext cx{atoms, ls, entry, {}, {}};
  std::map<std::string, ir::Predicate> searches;
  yaml::Node condition;
  yaml::Mark condition_key;
  for (auto it = detection.begin(); it != detection.end(); ++it) {
    const std::string& name = it->first.Scalar();
    if (name == "condition") {
      condition = it->second;
      condition_key = it->first.Mark();
      continue;
    }
    if (name == "timeframe") continue;  // Sigma v1 aggregation window; meaningless without an aggregation
    searches[name] = lower_search(it->second, cx);
  }
  for (auto& p : cx.errors) rb.error(r, loc_of(path, p.mark), p.message);
  if (!condition) {
    rb.error(r, loc_of(path, detection.Mark()), "detection has no `condition`");
    return;
  }
  std::vector<ir::Predicate> conds;
  std::vector<yaml::Node> cond_nodes;
  if (condition.IsSequence()) {
    for (const auto& c : condition) cond_nodes.push_back(c);  // Sigma v1: a list of conditions is their OR
  } else {
    cond_nodes.push_back(condition);
  }
  for (const auto& c : cond_nodes) {
    if (!c.IsScalar()) {
      rb.error(r, loc_of(path, c.Mark().line >= 0 ? c.Mark() : condition_key), "`condition` must be text");
      continue;
    }
    ConditionResult cr = parse_condition(c.Scalar(), searches);
    if (cr.error) {
      // Quoted scalars start one column after their mark.
      uint32_t quote = c.Tag() == "!" ? 1 : 0;
      rb.error(r, loc_of(path, c.Mark(), static_cast<uint32_t>(cr.error->offset) + quote),
               "condition: " + cr.error->message);
      continue;
    }
    conds.push_back(std::move(cr.predicate));
  }
  if (rb.has_error()) return;
  r.parsed = true;
  r.executable = true;
  for (auto& p : cx.unresolved) rb.unresolved(r, loc_of(path, p.mark), p.message, Severity::warning);

  ir::Predicate source = ir::Predicate::always_true();
  if (!entry) {
    rb.unresolved(r, loc_of(path, logsource.Mark()),
                  fmt::format("no logsource mapping for '{}' in data/sigma/logsources.yml", summary), Severity::note);
  } else {
    source = logsource_predicate(*entry, atoms);
  }
  ir::Stream s;
  s.source.kind = ir::Source::Kind::raw;
  s.filter = ir::Predicate::make_and({std::move(source), ir::Predicate::make_or(std::move(conds))});
  s.capture_all = true;
  r.plan.streams.push_back(std::move(s));
}

void compile_correlation(ir::CompiledRule& r, const yaml::Node& doc, const std::string& path, uint32_t rule_index,
                         RuleBuilder& rb) {
  auto spec = parse_correlation(doc["correlation"]);
  if (!spec) {
    SourceLocation l = spec.error().location;
    l.file = path;
    rb.error(r, l, spec.error().message);
    return;
  }
  r.info.data_sources.push_back("correlation:" + std::string(correlation_type_name(spec->type)));
  for (auto it = doc.begin(); it != doc.end(); ++it)
    if (it->first.Scalar() == "correlation") r.info.query = block_text(r.info.body, it->first.Mark());
  ir::Stream s;
  s.source.kind = ir::Source::Kind::none;
  s.filter = ir::Predicate::always_true();
  s.capture_all = false;
  s.operators.push_back(std::make_unique<CorrelationOperator>(std::move(spec.value()), rule_index));
  r.plan.streams.push_back(std::move(s));
  r.parsed = true;
  r.executable = false;  // until link_correlations resolves the referenced rules
  r.reasons.push_back("correlation rule not linked yet (sigma::link_correlations)");
  r.location = loc_of(path, doc.Mark());
}

}  // namespace

bool looks_like_sigma(const yaml::Node& doc) {
  if (!doc.IsMap()) return false;
  return (doc["detection"] && doc["logsource"]) || doc["correlation"];
}

double risk_score_for_level(std::string_view level) {
  std::string l = to_lower(level);
  if (l == "informational") return 10;
  if (l == "low") return 30;
  if (l == "medium") return 50;
  if (l == "high") return 70;
  if (l == "critical") return 90;
  return 50;
}

std::vector<ir::CompiledRule> load_file(const std::string& path, std::string_view text, ir::AtomTable& atoms,
                                        const Logsources& ls, uint32_t& next_rule_index, DiagnosticSink& diags) {
  std::vector<ir::CompiledRule> out;
  std::vector<yaml::Node> docs;
  if (text.size() > budget::kMaxRuleFileBytes) {
    // A YAML tree costs several times its text: a huge rule file is refused unparsed.
    ir::CompiledRule r;
    r.info.language = ir::Language::sigma;
    r.info.type = "sigma";
    r.info.file = path;
    r.info.name = path;
    ++next_rule_index;
    RuleBuilder rb(path, text, diags);
    rb.error(r, {path, 1, 1},
             "rule file is " + std::to_string(text.size() >> 20) + " MiB, above the " +
                 std::to_string(budget::kMaxRuleFileBytes >> 20) + " MiB budget for one rule file");
    out.push_back(std::move(r));
    return out;
  }
  try {
    docs = yaml::load_all(std::string(text));
  } catch (const yaml::Exception& e) {
    ir::CompiledRule r;
    r.info.language = ir::Language::sigma;
    r.info.type = "sigma";
    r.info.file = path;
    r.info.body = std::string(text);
    ++next_rule_index;
    RuleBuilder rb(path, text, diags);
    rb.error(r, loc_of(path, e.mark), "YAML: " + e.msg);
    out.push_back(std::move(r));
    return out;
  }
  return load_docs(path, text, docs, atoms, ls, next_rule_index, diags);
}

std::vector<ir::CompiledRule> load_docs(const std::string& path, std::string_view text,
                                        const std::vector<yaml::Node>& docs, ir::AtomTable& atoms,
                                        const Logsources& ls, uint32_t& next_rule_index, DiagnosticSink& diags) {
  std::vector<ir::CompiledRule> out;
  for (const yaml::Node& doc : docs) {
    if (!doc.IsMap()) continue;  // empty documents between `---`
    const bool sigma_like = doc["detection"] || doc["logsource"] || doc["correlation"];
    if (!sigma_like) continue;  // not a rule (e.g. a Sigma v1 `action: global` header we do not merge)
    ir::CompiledRule r;
    const uint32_t rule_index = next_rule_index++;
    RuleBuilder rb(path, text, diags);
    try {
      fill_info(r.info, doc, path, text);
      r.location = loc_of(path, doc.Mark());
      if (r.info.name.empty()) rb.unresolved(r, r.location, "rule has no `title`", Severity::warning);
      if (doc["correlation"])
        compile_correlation(r, doc, path, rule_index, rb);
      else
        compile_detection(r, doc, path, text, atoms, ls, rb);
    } catch (const yaml::Exception& e) {
      // Shapes the checks above did not foresee (e.g. a map where a scalar belongs).
      r.plan.streams.clear();
      rb.error(r, loc_of(path, e.mark), "YAML: " + e.msg);
    }
    if (!r.parsed) r.plan.streams.clear();
    for (const auto& s : r.plan.streams) register_atoms(s.filter, atoms, rule_index);
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<ir::CompiledRule> adopt(std::vector<ir::CompiledRule> rules, const ir::AtomTable& own,
                                    ir::AtomTable& atoms, uint32_t& next_rule_index) {
  // In `own`'s order, which is the order load_docs met them in: the ones new to `atoms` get the
  // ids interning them there directly would have given.
  std::vector<ir::AtomId> to(own.size());
  for (ir::AtomId id = 0; id < own.size(); ++id) to[id] = atoms.intern_from(own, id);
  for (auto& r : rules) {
    const uint32_t rule_index = next_rule_index++;
    for (auto& s : r.plan.streams) {
      s.filter.remap_atoms(to);
      register_atoms(s.filter, atoms, rule_index);
    }
  }
  return rules;
}

LinkStats link_correlations(std::vector<ir::CompiledRule>& rules, ir::AtomTable& atoms, DiagnosticSink& diags) {
  LinkStats st;
  std::unordered_map<std::string, size_t> by_id;
  for (size_t i = 0; i < rules.size(); ++i)
    if (rules[i].info.language == ir::Language::sigma && !rules[i].info.id.empty()) by_id.emplace(rules[i].info.id, i);
  // Sigma `name`s are not part of RuleInfo: read them from the rule bodies, once, only if needed.
  std::unordered_map<std::string, size_t> by_name;
  bool names_built = false;
  auto build_names = [&] {
    names_built = true;
    std::unordered_map<std::string, bool> seen_files;
    for (size_t i = 0; i < rules.size(); ++i) {
      const auto& info = rules[i].info;
      if (info.language != ir::Language::sigma || seen_files[info.file]) continue;
      seen_files[info.file] = true;
      try {
        for (const auto& doc : yaml::load_all(info.body)) {
          if (!doc.IsMap()) continue;
          std::string name = scalar(doc, "name"), id = scalar(doc, "id");
          auto it = by_id.find(id);
          if (!name.empty() && it != by_id.end()) by_name.emplace(name, it->second);
        }
      } catch (const yaml::Exception&) {
      }
    }
  };

  for (auto& r : rules) {
    if (r.plan.streams.empty() || r.plan.streams[0].operators.empty()) continue;
    auto* op = dynamic_cast<CorrelationOperator*>(r.plan.streams[0].operators[0].get());
    if (!op || r.plan.streams.size() > 1) continue;  // not a correlation, or already linked
    ++st.correlations;
    std::vector<std::string> problems;
    std::vector<const ir::CompiledRule*> refs;
    std::vector<size_t> ref_index;
    for (const auto& ref : op->spec().rules) {
      auto it = by_id.find(ref);
      if (it == by_id.end()) {
        if (!names_built) build_names();
        it = by_name.find(ref);
        if (it == by_name.end()) {
          problems.push_back(fmt::format("correlation references unknown rule '{}'", ref));
          continue;
        }
      }
      const ir::CompiledRule& target = rules[it->second];
      if (!target.parsed || target.plan.streams.size() != 1 || !target.plan.streams[0].operators.empty()) {
        problems.push_back(fmt::format("referenced rule '{}' is not a compiled plain Sigma rule", ref));
        continue;
      }
      refs.push_back(&target);
      ref_index.push_back(it->second);
    }
    std::erase_if(r.reasons, [](const std::string& s) { return s.find("not linked yet") != std::string::npos; });
    if (!problems.empty()) {
      ++st.failed;
      for (auto& p : problems) {
        r.reasons.push_back(located(r.location, p));
        diags.error(r.location, p, kReason);
      }
      r.executable = false;
      continue;
    }
    bool all_exec = true;
    for (const auto* t : refs) {
      ir::Stream s;
      s.source.kind = ir::Source::Kind::raw;
      s.filter = t->plan.streams[0].filter;
      s.capture_all = true;
      register_atoms(s.filter, atoms, op->rule_index());
      r.plan.streams.push_back(std::move(s));
      if (!t->executable) {
        all_exec = false;
        r.reasons.push_back(located(r.location, fmt::format("referenced rule '{}' is not executable", t->info.id)));
      }
    }
    r.executable = all_exec;
    if (all_exec) ++st.linked; else ++st.failed;
    if (!op->spec().generate)
      for (size_t i : ref_index) rules[i].info.generate = false;
  }
  return st;
}

}  // namespace vigil::sigma
