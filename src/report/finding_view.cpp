#include "report/finding_view.h"

#include <algorithm>
#include <bitset>
#include <cctype>
#include <unordered_map>

#include "core/strings.h"
#include "core/time.h"

#include <fmt/format.h>

namespace vigil::report {

namespace {

// Where a value usually lives when the row lacks the CIM name a template asks for.
const std::vector<std::pair<std::string_view, std::vector<std::string_view>>>& aliases() {
  static const std::vector<std::pair<std::string_view, std::vector<std::string_view>>> a = {
      {"dest", {"Computer", "host", "ComputerName", "dest_nt_host", "dvc", "Hostname"}},
      {"src", {"src_ip", "IpAddress", "SourceAddress", "SourceIp", "src_host", "WorkstationName"}},
      {"user", {"User", "SubjectUserName", "TargetUserName", "user_name", "AccountName", "UserName"}},
      {"process", {"CommandLine", "process_command_line", "ScriptBlockText"}},
      {"process_name", {"Image", "NewProcessName", "process_path"}},
      {"process_path", {"Image", "NewProcessName"}},
      {"parent_process", {"ParentCommandLine"}},
      {"parent_process_name", {"ParentImage", "ParentProcessName"}},
      {"parent_process_path", {"ParentImage"}},
      {"EventCode", {"EventID", "signature_id"}},
      {"signature_id", {"EventCode", "EventID"}},
      {"dest_port", {"DestinationPort"}},
      {"dest_ip", {"DestinationIp"}},
      {"registry_path", {"TargetObject", "ObjectName"}},
      {"registry_value_name", {"TargetObject"}},
      {"file_name", {"TargetFilename"}},
      {"file_path", {"TargetFilename"}},
      {"service_name", {"ServiceName"}},
      {"process_id", {"ProcessId", "NewProcessId"}},
  };
  return a;
}

const Value* present(const Row& row, std::string_view name) {
  const Value* v = row.get(name);
  return v && !v->is_null() && !(v->is_string() && v->string().empty()) ? v : nullptr;
}

// The row's value for `name`: itself, else any case, else its aliases (each any case).
const Value* lookup(const Row& row, std::string_view name) {
  if (const Value* v = present(row, name)) return v;
  auto any_case = [&](std::string_view n) -> const Value* {
    for (auto& [k, v] : row.entries())
      if (k.size() == n.size() && iequals(k, n) && !v.is_null()) return &v;
    return nullptr;
  };
  if (const Value* v = any_case(name)) return v;
  // A data-model prefix (Processes.dest) is the same field for a template.
  if (size_t dot = name.rfind('.'); dot != std::string_view::npos)
    if (const Value* v = lookup(row, name.substr(dot + 1))) return v;
  for (auto& [field, alts] : aliases())
    if (iequals(field, name))
      for (auto alt : alts)
        if (const Value* v = any_case(alt)) return v;
  return nullptr;
}

std::string joined(const Value& v) {
  auto vals = v.all_texts();
  std::string out;
  for (size_t k = 0; k < vals.size(); ++k) out += (k ? ", " : "") + vals[k];
  return out;
}

bool token_name(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' || c == ':')) return false;
  return true;
}

}  // namespace

std::string substitute_message(const std::string& t, const Row& row, std::vector<std::string>* missing) {
  std::string out;
  size_t i = 0;
  while (i < t.size()) {
    size_t a = t.find('$', i);
    if (a == std::string::npos) break;
    size_t b = t.find('$', a + 1);
    if (b == std::string::npos) break;
    std::string name = t.substr(a + 1, b - a - 1);
    if (!token_name(name)) {
      // "$5 and $10$": not a token; keep the first '$' and look again from the second.
      out.append(t, i, b - i);
      i = b;
      continue;
    }
    out.append(t, i, a - i);
    if (const Value* v = lookup(row, name)) {
      out += joined(*v);
    } else {
      out += "<" + name + "?>";
      if (missing && std::find(missing->begin(), missing->end(), name) == missing->end()) missing->push_back(name);
    }
    i = b + 1;
  }
  out.append(t, i);
  return out;
}

std::string effective_level(const std::string& level, double risk) {
  if (level_rank(level) >= 0) return level;
  if (risk >= 80) return "critical";
  if (risk >= 60) return "high";
  if (risk >= 40) return "medium";
  if (risk >= 20) return "low";
  return "informational";
}

int level_rank(std::string_view l) {
  if (l == "informational" || l == "info") return 0;
  if (l == "low") return 1;
  if (l == "medium") return 2;
  if (l == "high") return 3;
  if (l == "critical") return 4;
  return -1;
}

std::string to_iso_time(const Value* v) {
  if (!v || v->is_null()) return {};
  if (auto n = v->to_number(); n && *n > 0) return format_iso8601(*n, 0);
  if (auto t = parse_time(v->text())) return format_iso8601(*t, 0);
  return {};
}

namespace {

// What a value says in a finding's description: empty when it says nothing ("null", "-", empty).
std::string text_of(const Value* v) {
  if (!v || v->is_null()) return {};
  if (v->is_string()) {  // the common case, without a list of one
    const std::string& t = v->string();
    if (t.empty() || t == "null" || t == "-") return {};
    return t;
  }
  auto vals = v->all_texts();
  // Splunk renders a missing value as "null" in some ESCU rows; "-" is Windows' "none".
  if (vals.empty() || vals[0].empty() || vals[0] == "null" || vals[0] == "-") return {};
  return vals.size() > 1 ? fmt::format("{} (+{})", vals[0], vals.size() - 1) : vals[0];
}

// The fields a finding's one-line description reads, in order of preference per part.
enum Part { kHost, kUser, kImage, kCmd, kParent, kTarget, kParts };
const std::vector<std::string_view> kPartFields[kParts] = {
    {"dest", "Computer", "host", "ComputerName", "dvc"},
    {"user", "User", "SubjectUserName", "TargetUserName", "AccountName", "UserName"},
    {"Image", "process_name", "NewProcessName", "process_path", "ImageLoaded"},
    {"CommandLine", "process", "ScriptBlockText", "Payload"},
    {"ParentImage", "parent_process_name", "ParentProcessName"},
    {"TargetFilename", "TargetObject", "TargetImage", "ServiceName", "ObjectName", "ServiceFileName", "ImagePath",
     "QueryName", "DestinationHostname", "DestinationIp", "dest_ip", "registry_path", "file_path", "file_name",
     "TargetUserName", "ShareName", "RelativeTargetName"},
};

// Every name of kPartFields, numbered; a name in two parts (TargetUserName) is one number.
struct PartNames {
  std::unordered_map<std::string_view, uint32_t> id;
  std::vector<uint32_t> order[kParts];  // per part, its names' numbers in preference order
  // The names' lengths and first letters: most of a row's ~90 names fail one of them, which is
  // cheaper than hashing the name.
  uint64_t lengths = 0;
  std::bitset<256> firsts;
  PartNames() {
    for (int p = 0; p < kParts; ++p)
      for (auto n : kPartFields[p]) {
        order[p].push_back(id.emplace(n, uint32_t(id.size())).first->second);
        lengths |= uint64_t(1) << n.size();
        firsts.set(static_cast<unsigned char>(n[0]));
      }
  }
  bool may_be(std::string_view k) const {
    return !k.empty() && k.size() < 64 && (lengths >> k.size() & 1) && firsts.test(static_cast<unsigned char>(k[0]));
  }
};

// The row's first entry of each name (as Row::get finds it), in one pass over the row instead
// of a walk of the row per name (~40 names, ~90 fields in a Sigma finding).
struct PartValues {
  const PartNames& names;
  std::vector<const Value*> first;
  PartValues(const PartNames& n, const Row& row) : names(n), first(n.id.size(), nullptr) {
    for (auto& [k, v] : row.entries()) {
      if (!names.may_be(k)) continue;
      auto it = names.id.find(k);
      if (it != names.id.end() && !first[it->second]) first[it->second] = &v;
    }
  }
  // The first name of the part whose value says something.
  std::string text(Part p) const {
    for (uint32_t i : names.order[p])
      if (std::string t = text_of(first[i]); !t.empty()) return t;
    return {};
  }
};

void describe_people(FindingView& v, const Row& row) {
  for (auto& e : v.entities) {
    if (e.value.empty() || e.value == "null" || e.value == "-") continue;
    if (v.host.empty() && (e.type == "system" || e.type == "hostname" || e.type == "endpoint")) v.host = e.value;
    if (v.user.empty() && e.type == "user") v.user = e.value;
  }
  static const PartNames names;
  const PartValues values(names, row);
  if (v.host.empty()) v.host = values.text(kHost);
  if (v.user.empty()) v.user = values.text(kUser);
  v.image = values.text(kImage);
  std::string cmd = values.text(kCmd);
  std::string parent = values.text(kParent);
  std::string target = values.text(kTarget);
  std::string d;
  auto add = [&](std::string_view k, const std::string& val) {
    if (!val.empty()) d += fmt::format("{}{}={}", d.empty() ? "" : " ", k, val);
  };
  add("user", v.user);
  if (cmd.empty()) add("image", v.image);
  add("cmd", cmd);
  add("parent", parent);
  if (target != v.user) add("target", target);
  v.details = std::move(d);
}

}  // namespace

FindingView describe(const Finding& f, const content::AttackTable* attack, bool for_people) {
  FindingView v;
  const ir::RuleInfo& r = f.rule->info;
  v.rule_id = r.id;
  v.rule_name = r.name;
  v.rule_language = r.language == ir::Language::sigma ? "sigma" : "escu";
  v.rule_type = r.type;
  v.level = r.level;
  v.file = r.file;
  v.risk_score = r.risk_score;
  v.message = substitute_message(r.message.empty() ? r.name : r.message, f.row, &v.message_missing);
  v.status = r.status;
  v.tags = r.tags;
  for (auto& s : r.stories) v.tags.push_back(s);
  auto add_entities = [&](const std::vector<ir::RiskEntity>& list, const char* default_role) {
    for (auto& e : list) {
      const Value* val = f.row.get(e.field);
      if (!val || val->is_null()) continue;
      for (auto& text : val->all_texts())
        v.entities.push_back({e.field, e.type, text, e.role.empty() ? default_role : e.role, e.score});
    }
  };
  add_entities(r.entities, "victim");
  add_entities(r.threat_objects, "threat");
  for (auto& t : content::rule_techniques(attack, r.mitre_attack, r.attack_tactics))
    v.mitre_attack.push_back({std::move(t.id), std::move(t.name), std::move(t.tactics)});
  v.analytic_story = r.stories;
  // firstTime/lastTime as the rule computed them; else the event time; a side still unknown takes
  // the other's value (a row with only lastTime started no later than that).
  v.first_time = to_iso_time(f.row.get("firstTime"));
  v.last_time = to_iso_time(f.row.get("lastTime"));
  std::string event_time = to_iso_time(f.row.get("_time"));
  if (v.first_time.empty()) v.first_time = event_time;
  if (v.last_time.empty()) v.last_time = event_time;
  if (v.first_time.empty()) v.first_time = v.last_time;
  if (v.last_time.empty()) v.last_time = v.first_time;
  if (const Value* c = f.row.get("count"); c)
    if (auto n = c->to_number()) v.count = *n;
  if (v.count == 0) v.count = f.sources.empty() ? 1 : static_cast<double>(f.sources.size());
  v.fields = &f.row;
  v.sources = f.sources;
  if (for_people) describe_people(v, f.row);
  return v;
}

}  // namespace vigil::report
