#include "engine/rule_tests.h"

#include "core/yaml.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>

#include "core/strings.h"

namespace vigil {

namespace fs = std::filesystem;

namespace {

std::map<std::string, const ir::CompiledRule*> rules_by_id(const RuleSet& rules) {
  std::map<std::string, const ir::CompiledRule*> m;
  for (auto& r : rules.rules())
    if (!r.info.id.empty()) m.emplace(r.info.id, &r);
  return m;
}

std::vector<Finding> find(const ir::CompiledRule* rule, const RuleSet& rules, const Normalizer& normalizer,
                          const std::vector<std::string>& inputs, const RunOptions& opts, DiagnosticSink& diags,
                          uint64_t* evaluated = nullptr) {
  RunResult res = run_rules({rule}, rules.atoms(), normalizer, inputs, opts, diags);
  if (evaluated) *evaluated = res.evaluated;
  return std::move(res.findings);
}

size_t count_matches(const ir::CompiledRule* rule, const RuleSet& rules, const Normalizer& normalizer,
                     const std::vector<std::string>& inputs, const RunOptions& opts, DiagnosticSink& diags,
                     uint64_t* evaluated = nullptr) {
  return find(rule, rules, normalizer, inputs, opts, diags, evaluated).size();
}

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Splunk's `source` of a Windows record as the XmlWinEventLog TA sets it.
bool source_matches(const Record& r, const std::vector<std::string>& sources) {
  std::string_view channel = r.system_value(sys::Channel);
  if (channel.empty()) return false;
  std::string src = "XmlWinEventLog:" + std::string(channel);
  for (auto& s : sources)
    if (iequals(s, src) || iequals(s, "WinEventLog:" + std::string(channel))) return true;
  return false;
}

}  // namespace

std::vector<std::string> missing_object_fields(const ir::CompiledRule& rule, const std::vector<Finding>& findings) {
  std::vector<std::string> fields, missing;
  for (auto* list : {&rule.info.entities, &rule.info.threat_objects})
    for (auto& e : *list)
      if (!e.field.empty() && std::find(fields.begin(), fields.end(), e.field) == fields.end()) fields.push_back(e.field);
  for (auto& f : fields)
    for (auto& finding : findings) {
      const Value* v = finding.row.get(f);
      bool null = !v || v->is_null();
      if (!null) {
        null = true;
        for (auto& t : v->all_texts()) null &= t.empty() || t == "null";
      }
      if (null) {
        missing.push_back(f);
        break;
      }
    }
  return missing;
}

// Every case runs a small engine over the same atom table: compiling its atoms and prefilter once
// instead of per case is most of the time of a case.
static RunOptions with_shared_matcher(const RunOptions& opts, const RuleSet& rules) {
  RunOptions o = opts;
  if (!o.engine.matcher) o.engine.matcher = Engine::shared_matcher(rules.atoms(), o.engine);
  return o;
}

std::vector<RuleTestResult> run_sigma_regression(const std::string& dir, const RuleSet& rules,
                                                 const Normalizer& normalizer, const RunOptions& given,
                                                 DiagnosticSink& diags, const RuleTestSink& on_result) {
  const RunOptions opts = with_shared_matcher(given, rules);
  std::vector<RuleTestResult> out;
  auto by_id = rules_by_id(rules);
  std::vector<fs::path> infos;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (it->is_regular_file() && it->path().filename() == "info.yml") infos.push_back(it->path());
  if (ec) diags.error({dir}, "cannot read regression directory: " + ec.message(), "regression");
  std::sort(infos.begin(), infos.end());
  for (auto& info : infos) {
    yaml::Node y;
    try {
      y = yaml::load_file(info.string());
    } catch (const yaml::Exception& e) {
      diags.error({info.string(), static_cast<uint32_t>(e.mark.line + 1)}, e.msg, "regression");
      RuleTestResult bad;
      bad.suite = "sigma-regression";
      bad.name = info.parent_path().filename().string();
      bad.detail = "bad info.yml: " + e.msg;
      out.push_back(std::move(bad));
      if (on_result) on_result(out.back());
      continue;
    }
    std::string rule_id;
    if (auto md = y["rule_metadata"]; md && md.IsSequence() && md.size() && md[0]["id"])
      rule_id = md[0]["id"].as<std::string>();
    for (auto t : y["regression_tests_info"]) {
      auto t0 = std::chrono::steady_clock::now();
      RuleTestResult r;
      r.suite = "sigma-regression";
      r.name = info.parent_path().filename().string();
      r.rule_id = rule_id;
      std::string path = t["path"] ? t["path"].as<std::string>() : "";
      fs::path evtx = info.parent_path() / fs::path(path).filename();
      long expected = t["match_count"] ? t["match_count"].as<long>() : -1;
      auto it = by_id.find(rule_id);
      if (it == by_id.end()) {
        r.detail = "rule " + rule_id + " is not loaded";
      } else if (!it->second->parsed || !it->second->executable) {
        r.rule_name = it->second->info.name;
        r.detail = "rule not executable: " + (it->second->reasons.empty() ? std::string("?") : it->second->reasons[0]);
      } else if (!fs::exists(evtx)) {
        r.rule_name = it->second->info.name;
        r.detail = "missing " + evtx.string();
      } else {
        r.rule_name = it->second->info.name;
        r.matches = count_matches(it->second, rules, normalizer, {evtx.string()}, opts, diags);
        r.passed = expected >= 0 ? r.matches == static_cast<size_t>(expected) : r.matches > 0;
        if (!r.passed)
          r.detail = expected >= 0 ? "matched " + std::to_string(r.matches) + " times, expected " + std::to_string(expected)
                                   : "no match";
      }
      r.seconds = since(t0);
      out.push_back(std::move(r));
      if (on_result) on_result(out.back());
    }
  }
  return out;
}

std::vector<RuleTestResult> run_escu_tests(const std::string& root, const RuleSet& rules, const Normalizer& normalizer,
                                           const RunOptions& given, DiagnosticSink& diags,
                                           const RuleTestSink& on_result) {
  const RunOptions opts = with_shared_matcher(given, rules);
  std::vector<RuleTestResult> out;
  const std::string marker = "attack_techniques/";
  for (auto& [index, tests] : rules.escu_tests()) {
    const ir::CompiledRule& rule = rules.rules()[index];
    for (auto& t : tests) {
      auto t0 = std::chrono::steady_clock::now();
      RuleTestResult r;
      r.suite = "escu";
      r.name = rule.info.name + ": " + t.name;
      r.rule_id = rule.info.id;
      r.rule_name = rule.info.name;
      std::vector<std::string> inputs;
      std::vector<std::string> sources;  // declared sources of data we had to take from a merged folder archive
      bool merged = false;
      for (auto& d : t.attack_data) {
        auto k = d.data.find(marker);
        if (k == std::string::npos) continue;
        fs::path rel = d.data.substr(k + marker.size());
        fs::path exact = fs::path(root) / rel;
        std::error_code ec;
        if (fs::exists(exact, ec)) {
          inputs.push_back(exact.string());
        } else if (fs::is_directory(exact.parent_path(), ec)) {
          // The folder holds the technique's datasets merged into one archive: replay only the
          // records of the declared source, as Splunk's replay of that one file would index.
          merged = true;
          sources.push_back(d.source);
          for (auto& e : fs::directory_iterator(exact.parent_path(), ec)) {
            auto ext = e.path().extension().string();
            if (e.is_regular_file() && ext != ".yml" && ext != ".yaml" && ext != ".md")
              inputs.push_back(e.path().string());
          }
        }
      }
      std::sort(inputs.begin(), inputs.end());
      inputs.erase(std::unique(inputs.begin(), inputs.end()), inputs.end());
      if (inputs.empty()) {
        r.skipped = true;
        r.detail = "no local attack data";
      } else if (!rule.parsed || !rule.executable) {
        r.detail = "rule not executable: " + (rule.reasons.empty() ? std::string("?") : rule.reasons[0]);
      } else {
        RunOptions o = opts;
        if (merged) o.accept = [&sources](const Record& rec) { return source_matches(rec, sources); };
        uint64_t evaluated = 0;
        std::vector<Finding> found = find(&rule, rules, normalizer, inputs, o, diags, &evaluated);
        r.matches = found.size();
        auto missing = missing_object_fields(rule, found);
        r.passed = r.matches > 0 && missing.empty();
        if (evaluated == 0) {
          r.skipped = true;
          r.detail = "no local events of the declared source";
        } else if (r.matches == 0) {
          r.detail = "no result";
        } else if (!missing.empty()) {
          r.detail = "risk/threat object field";
          r.detail += missing.size() > 1 ? "s " : " ";
          for (size_t i = 0; i < missing.size(); ++i) r.detail += (i ? ", " : "") + missing[i];
          r.detail += " absent or null in some of the " + std::to_string(r.matches) + " results";
        }
      }
      r.seconds = since(t0);
      out.push_back(std::move(r));
      if (on_result) on_result(out.back());
    }
  }
  return out;
}

}  // namespace vigil
