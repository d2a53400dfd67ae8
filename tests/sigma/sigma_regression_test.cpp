// De-risks the lead's `vigil test --sigma-regression` harness: for every case
// under ../shared/corpus/sigma/regression_data (info.yml + the companion
// evtx-crate `.json`), load the rule by id from the rules* folders and evaluate
// its filter with match::RowMatcher over rows built from the JSON events:
// EventData (or UserData leaves) under their own names, System EventID /
// Channel / Computer / Provider Name, and for Sysmon 1 / Security 4688 the CIM
// `Processes.*` fields exactly as data/normalize/windows.yml derives them.
// A case passes when at least one event matches and, where info.yml sets
// match_count, exactly that many. Failures are listed with reasons.
#include <gtest/gtest.h>
#include <fmt/format.h>
#include <simdjson.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "core/strings.h"
#include "match/row_matcher.h"
#include "sigma/sigma.h"

namespace vigil::sigma {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string scalar_text(simdjson::dom::element e) {
  switch (e.type()) {
    case simdjson::dom::element_type::STRING: return std::string(std::string_view(e.get_string()));
    case simdjson::dom::element_type::INT64: return std::to_string(int64_t(e.get_int64()));
    case simdjson::dom::element_type::UINT64: return std::to_string(uint64_t(e.get_uint64()));
    case simdjson::dom::element_type::DOUBLE: return format_number(double(e.get_double()));
    case simdjson::dom::element_type::BOOL: return bool(e.get_bool()) ? "true" : "false";
    case simdjson::dom::element_type::NULL_VALUE: return "";
    default: return simdjson::minify(e);
  }
}

// EventData / UserData: scalar leaves under their own key; `#text` stands for its parent.
void flatten(simdjson::dom::element e, const std::string& name, Row& row) {
  if (e.type() == simdjson::dom::element_type::OBJECT) {
    for (auto [k, v] : e.get_object()) {
      std::string key(k);
      if (key == "#attributes") continue;
      flatten(v, key == "#text" ? name : key, row);
    }
  } else if (e.type() == simdjson::dom::element_type::ARRAY) {
    std::vector<std::string> values;
    for (auto v : e.get_array()) values.push_back(scalar_text(v));
    if (!name.empty()) row.set(name, Value::multi(std::move(values)));
  } else if (!name.empty()) {
    row.set(name, Value(scalar_text(e)));
  }
}

Row row_from_event(simdjson::dom::element ev) {
  Row row;
  simdjson::dom::element sys, data;
  if (ev["Event"]["System"].get(sys) != simdjson::SUCCESS) return row;
  simdjson::dom::element x;
  if (sys["EventID"].get(x) == simdjson::SUCCESS) {
    simdjson::dom::element t;
    std::string id = x.type() == simdjson::dom::element_type::OBJECT && x["#text"].get(t) == simdjson::SUCCESS
                         ? scalar_text(t)
                         : scalar_text(x);
    row.set("EventID", Value(id));
    row.set("EventCode", Value(id));
  }
  if (sys["Channel"].get(x) == simdjson::SUCCESS) row.set("Channel", Value(scalar_text(x)));
  if (sys["Computer"].get(x) == simdjson::SUCCESS) row.set("Computer", Value(scalar_text(x)));
  if (sys["Provider"]["#attributes"]["Name"].get(x) == simdjson::SUCCESS) row.set("Provider", Value(scalar_text(x)));
  if (ev["Event"]["EventData"].get(data) == simdjson::SUCCESS) flatten(data, "", row);
  if (ev["Event"]["UserData"].get(data) == simdjson::SUCCESS) flatten(data, "", row);

  // The CIM Endpoint.Processes view (data/normalize/windows.yml): Sysmon 1 and Security 4688.
  auto get = [&](const char* f) -> std::optional<std::string> {
    const Value* v = row.get(f);
    if (!v) return std::nullopt;
    return v->to_string();
  };
  auto put = [&](const char* target, std::optional<std::string> v, bool base = false, bool lower = false) {
    if (!v) return;
    std::string s = base ? std::string(path_basename(*v)) : *v;
    row.set(target, Value(lower ? to_lower(s) : s));
  };
  const std::string channel = get("Channel").value_or(""), eid = get("EventID").value_or("");
  if (channel == "Microsoft-Windows-Sysmon/Operational" && eid == "1") {
    put("Processes.process_path", get("Image"));
    put("Processes.process_name", get("Image"), true);
    put("Processes.process", get("CommandLine"));
    put("Processes.parent_process_path", get("ParentImage"));
    put("Processes.parent_process_name", get("ParentImage"), true);
    put("Processes.parent_process", get("ParentCommandLine"));
    put("Processes.original_file_name", get("OriginalFileName"));
    put("Processes.user", get("User"));
    put("Processes.process_id", get("ProcessId"));
    put("Processes.parent_process_id", get("ParentProcessId"));
    put("Processes.process_guid", get("ProcessGuid"));
    put("Processes.parent_process_guid", get("ParentProcessGuid"));
    put("Processes.process_integrity_level", get("IntegrityLevel"), false, true);
    put("Processes.process_hash", get("Hashes"));
    put("Processes.process_current_directory", get("CurrentDirectory"));
    put("Processes.dest", get("Computer"));
  } else if (channel == "Security" && eid == "4688") {
    put("Processes.process_path", get("NewProcessName"));
    put("Processes.process_name", get("NewProcessName"), true);
    put("Processes.process", get("CommandLine"));
    put("Processes.parent_process_path", get("ParentProcessName"));
    put("Processes.parent_process_name", get("ParentProcessName"), true);
    put("Processes.user", get("SubjectUserSid"));
    put("Processes.process_id", get("NewProcessId"));
    put("Processes.parent_process_id", get("ProcessId"));
    put("Processes.dest", get("Computer"));
  }
  return row;
}

TEST(SigmaRegression, RulesMatchTheirRegressionEvents) {
  const fs::path sigma = fs::path(VIGIL_SHARED_DIR) / "corpus" / "sigma";
  const fs::path data = sigma / "regression_data";
  if (!fs::exists(data)) GTEST_SKIP() << "no regression data at " << data;
  auto ls = Logsources::load(VIGIL_DATA_DIR);
  ASSERT_TRUE(ls.ok()) << ls.error().message;

  ir::AtomTable atoms;
  DiagnosticSink diags(nullptr);
  diags.set_quiet(true);
  uint32_t next = 0;
  std::vector<ir::CompiledRule> rules;
  for (const auto& dir : fs::directory_iterator(sigma)) {
    if (!dir.is_directory() || dir.path().filename().string().rfind("rules", 0) != 0) continue;
    for (const auto& f : fs::recursive_directory_iterator(dir.path()))
      if (f.is_regular_file() && f.path().extension() == ".yml")
        for (auto& r : load_file(f.path().string(), read_text(f.path()), atoms, *ls, next, diags))
          rules.push_back(std::move(r));
  }
  std::map<std::string, const ir::CompiledRule*> by_id;
  for (const auto& r : rules) by_id[r.info.id] = &r;

  size_t cases = 0, passed = 0, matched = 0, skipped = 0;
  std::vector<std::string> failures, count_mismatch;
  simdjson::dom::parser parser;
  for (const auto& f : fs::recursive_directory_iterator(data)) {
    if (!f.is_regular_file() || f.path().filename() != "info.yml") continue;
    yaml::Node info = yaml::load_file(f.path().string());
    std::string id = info["rule_metadata"][0]["id"].as<std::string>();
    const yaml::Node test = info["regression_tests_info"][0];
    long long want = test["match_count"] ? test["match_count"].as<long>() : -1;
    fs::path json;
    for (const auto& g : fs::directory_iterator(f.path().parent_path()))
      if (g.path().extension() == ".json") json = g.path();
    if (json.empty()) {
      ++skipped;  // e.g. the Cisco AAA case ships a .raw log, not Windows events
      continue;
    }
    ++cases;
    std::string where = f.path().parent_path().lexically_relative(data).string();
    auto it = by_id.find(id);
    if (it == by_id.end()) {
      failures.push_back(where + ": rule " + id + " not found");
      continue;
    }
    const ir::CompiledRule& rule = *it->second;
    if (!rule.executable) {
      failures.push_back(where + ": rule not executable: " + (rule.reasons.empty() ? "" : rule.reasons[0]));
      continue;
    }
    match::RowMatcher m(rule.plan.streams[0].filter, atoms);
    std::string text = read_text(json);
    simdjson::padded_string padded(text);
    simdjson::dom::document_stream docs;
    ASSERT_EQ(parser.parse_many(padded).get(docs), simdjson::SUCCESS) << json;
    long long events = 0, hits = 0;
    for (auto doc : docs) {
      simdjson::dom::element ev;
      if (doc.get(ev) != simdjson::SUCCESS) continue;
      ++events;
      if (m.matches(row_from_event(ev))) ++hits;
    }
    if (hits > 0) ++matched;
    bool ok = hits > 0 && (want < 0 || hits == want);
    if (ok) {
      ++passed;
    } else if (hits > 0) {
      count_mismatch.push_back(fmt::format("{}: {} of {} events match, info.yml match_count {}", where, hits, events, want));
    } else {
      failures.push_back(fmt::format("{}: {} of {} events match (want {}); filter: {}", where, hits, events,
                                     want < 0 ? std::string(">0") : std::to_string(want),
                                     rule.plan.streams[0].filter.to_string(atoms).substr(0, 400)));
    }
  }
  std::printf("sigma regression (json rows): %zu cases, %zu passed, %zu matched but not match_count times, "
              "%zu did not match, %zu without .json\n",
              cases, passed, count_mismatch.size(), failures.size(), skipped);
  for (auto& s : count_mismatch) std::printf("  COUNT %s\n", s.c_str());
  for (auto& s : failures) std::printf("  FAIL %s\n", s.c_str());
  EXPECT_EQ(cases, 202u);  // 203 folders, one (Cisco AAA) without .json (docs/data.md)
  // Floors measured on this corpus. The 4 count mismatches were checked by hand with python3
  // over the .json events: every event counted really satisfies the rule (e.g. both
  // AutoShareServer and AutoShareWks set to 0 in registry_set_disable_administrative_share),
  // so info.yml's match_count disagrees with the events it ships (evtxexport finds the same
  // number of records in the .evtx), not with the rule semantics.
  EXPECT_GE(matched, 202u);
  EXPECT_GE(passed, 198u);
}

}  // namespace
}  // namespace vigil::sigma
