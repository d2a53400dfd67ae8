#include "risk/risk.h"

#include <cassert>

#include <algorithm>
#include <cmath>
#include <tuple>

#include "core/escape.h"
#include "core/intern.h"
#include "core/strings.h"
#include "core/time.h"
#include "report/writers.h"

namespace vigil::risk {

namespace {

bool is_null_text(std::string_view v) { return v.empty() || v == "-" || v == "null" || v == "NULL"; }

void add_unique(std::vector<std::string>& to, std::string v) {
  if (std::find(to.begin(), to.end(), v) == to.end()) to.push_back(std::move(v));
}

std::string fmt_double(double d) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.6g", d);
  return buf;
}

std::string number_text(double d) {
  if (std::floor(d) == d && std::fabs(d) < 1e15) return std::to_string(static_cast<long long>(d));
  return fmt_double(d);
}

}  // namespace

std::string risk_object_type(std::string_view t) {
  std::string l = to_lower(t);
  static const char* users[] = {"user", "username", "user name", "email address", "email"};
  static const char* systems[] = {"system", "hostname", "ip address", "endpoint", "device", "host", "ip"};
  for (auto* u : users)
    if (l == u) return "user";
  for (auto* s : systems)
    if (l == s) return "system";
  return "other";
}

std::string risk_source(const ir::RuleInfo& r) {
  return std::string(r.language == ir::Language::sigma ? "Sigma - " : "ESCU - ") + r.name + " - Rule";
}

bool reads_risk(const ir::CompiledRule& rule) {
  for (auto& s : rule.plan.streams)
    if (s.source.kind == ir::Source::Kind::datamodel && iequals(s.source.datamodel, "Risk")) return true;
  return false;
}

RiskEvent risk_event_base(const Finding& f, const report::FindingView& v, const content::AttackTable* attack) {
  RiskEvent base;
  const ir::RuleInfo& r = f.rule->info;
  if (auto t = parse_time(v.first_time); t && !v.first_time.empty()) {
    base.time = *t;
    base.has_time = true;
  }
  base.risk_message = v.message;
  base.source = risk_source(r);
  base.search_name = base.source;
  base.rule_id = r.id;
  base.rule_language = v.rule_language;
  for (auto& t : v.mitre_attack) {
    add_unique(base.technique_ids, t.id);
    for (auto& name : t.tactics) {
      // A tactic newer than the table (a rule's own tag) has a shortname but no id to give.
      if (const content::Tactic* tac = attack ? attack->find_tactic_named(name) : nullptr) {
        add_unique(base.tactic_ids, tac->id);
        add_unique(base.tactics, tac->shortname);
      } else {
        add_unique(base.tactics, content::tactic_shortname(nullptr, name));
      }
    }
  }
  base.analyticstories = v.analytic_story;
  if (r.language == ir::Language::sigma) base.tags = r.tags;
  for (auto& e : v.entities)
    if (e.role == "threat" || e.role == "attacker") {
      base.threat_objects.push_back(e.value);
      base.threat_object_types.push_back(e.type);
    }
  return base;
}

bool is_risk_object(const report::EntityView& e) {
  return e.role != "threat" && e.role != "attacker" && !is_null_text(e.value);
}

RiskEvent with_object(RiskEvent base, const report::EntityView& e, double finding_score) {
  base.risk_object = e.value;
  base.risk_object_type = risk_object_type(e.type);
  base.risk_object_field = e.field;
  base.risk_score = e.score ? e.score : finding_score;
  base.calculated_risk_score = base.risk_score;
  return base;
}

std::vector<RiskEvent> risk_events(const Finding& f, const report::FindingView& v, const content::AttackTable* attack) {
  std::vector<RiskEvent> out;
  if (!f.rule) return out;
  const RiskEvent base = risk_event_base(f, v, attack);
  for (auto& e : v.entities)
    if (is_risk_object(e)) out.push_back(with_object(base, e, v.risk_score));
  return out;
}

std::string to_json(const RiskEvent& e) {
  auto str = [](const std::string& s) { return report::value_json(Value(s)); };
  auto list = [&](const std::vector<std::string>& l) {
    std::string o = "[";
    for (size_t i = 0; i < l.size(); ++i) {
      if (i) o += ',';
      o += str(l[i]);
    }
    return o + "]";
  };
  std::string o = "{";
  o += "\"_time\":" + (e.has_time ? number_text(e.time) : std::string("null"));
  o += ",\"_time_iso\":" + (e.has_time ? str(format_iso8601(e.time, 0)) : std::string("null"));
  o += ",\"risk_object\":" + str(e.risk_object);
  o += ",\"risk_object_type\":" + str(e.risk_object_type);
  o += ",\"risk_score\":" + number_text(e.risk_score);
  o += ",\"calculated_risk_score\":" + number_text(e.calculated_risk_score);
  o += ",\"risk_message\":" + str(e.risk_message);
  o += ",\"source\":" + str(e.source);
  o += ",\"search_name\":" + str(e.search_name);
  o += ",\"annotations.mitre_attack.mitre_technique_id\":" + list(e.technique_ids);
  o += ",\"annotations.mitre_attack.mitre_tactic_id\":" + list(e.tactic_ids);
  o += ",\"annotations.mitre_attack.mitre_tactic\":" + list(e.tactics);
  o += ",\"analyticstories\":" + list(e.analyticstories);
  o += ",\"threat_object\":" + list(e.threat_objects);
  o += ",\"threat_object_type\":" + list(e.threat_object_types);
  o += ",\"tag\":" + list(e.tags);
  o += ",\"rule_id\":" + str(e.rule_id);
  o += ",\"rule_language\":" + str(e.rule_language);
  o += ",\"risk_object_field\":" + str(e.risk_object_field);
  return o + "}";
}

void RiskRecords::add(const RiskEvent& e) { events_.push_back(e); }

void risk_record(const RiskEvent& e, size_t line, Record& r, std::vector<std::string>& storage) {
  // The event's own texts are viewed where they are (the caller keeps the event while the record
  // is read: the engine copies a record as it takes it); only the values made here are stored, at
  // most kMade, reserved so that views into storage do not move. The vectors keep their room from
  // record to record.
  constexpr size_t kMade = 4;  // time, normalized object, two scores
  storage.clear();
  storage.reserve(kMade);
  r.format = LogFormat::unknown;
  r.file = "risk";
  r.offset = 0;
  r.line = line;
  r.recovered = false;
  r.system.clear();
  r.data.clear();
  auto keep = [&](std::string s) -> std::string_view {
    assert(storage.size() < kMade);
    return storage.emplace_back(std::move(s));
  };
  if (e.has_time) r.system.push_back({sys::TimeCreated, keep(format_iso8601(e.time, 6))});
  auto put = [&](std::string_view name, std::string_view s) { r.data.push_back({name, s}); };
  auto put_all = [&](std::string_view name, const std::vector<std::string>& l) {
    for (auto& s : l) put(name, s);
  };
  put("index", "risk");
  put("sourcetype", "stash");
  put("source", e.source);
  put("host", "vigil");
  put("risk_object", e.risk_object);
  put("normalized_risk_object", keep(to_lower(e.risk_object)));
  put("risk_object_type", e.risk_object_type);
  put("risk_score", keep(number_text(e.risk_score)));
  put("calculated_risk_score", keep(number_text(e.calculated_risk_score)));
  put("risk_message", e.risk_message);
  put("search_name", e.search_name);
  put_all("annotations.mitre_attack.mitre_technique_id", e.technique_ids);
  put_all("annotations.mitre_attack.mitre_tactic_id", e.tactic_ids);
  put_all("annotations.mitre_attack.mitre_tactic", e.tactics);
  put_all("analyticstories", e.analyticstories);
  put_all("threat_object", e.threat_objects);
  put_all("threat_object_type", e.threat_object_types);
  put_all("tag", e.tags);
}

bool rule_wide_field(Symbol field) {
  static const std::vector<Symbol> fields = [] {
    std::vector<Symbol> out;
    for (const char* n : {"index", "sourcetype", "source", "host", "search_name", "analyticstories", "tag",
                          "annotations.mitre_attack.mitre_technique_id", "annotations.mitre_attack.mitre_tactic_id",
                          "annotations.mitre_attack.mitre_tactic", "risk_object_type"}) {
      out.push_back(field_id(n));
      out.push_back(field_id(std::string("All_Risk.") + n));
    }
    return out;
  }();
  return std::find(fields.begin(), fields.end(), field) != fields.end();
}

std::vector<ObjectTotal> top_objects(const std::vector<RiskEvent>& events) {
  std::map<std::pair<std::string, std::string>, ObjectTotal> by;
  std::map<std::pair<std::string, std::string>, std::set<std::string>> sources;
  for (auto& e : events) {
    sources[{e.risk_object, e.risk_object_type}].insert(e.source);
    auto& t = by[{e.risk_object, e.risk_object_type}];
    t.object = e.risk_object;
    t.type = e.risk_object_type;
    t.score += e.calculated_risk_score;
    ++t.events;
    t.tactics.insert(e.tactics.begin(), e.tactics.end());
  }
  std::vector<ObjectTotal> out;
  for (auto& [k, t] : by) {
    t.source_count = sources[k].size();
    out.push_back(std::move(t));
  }
  std::stable_sort(out.begin(), out.end(), [](auto& a, auto& b) {
    return a.score != b.score ? a.score > b.score : std::tie(a.object, a.type) < std::tie(b.object, b.type);
  });
  return out;
}

void print_risk_summary(std::FILE* out, const std::vector<report::FindingView>* incidents,
                        const std::vector<ObjectTotal>& top, size_t limit, size_t risk_events) {
  if (incidents) {
    // Incidents as a timeline, like the findings above them.
    std::vector<const report::FindingView*> inc;
    for (auto& v : *incidents) inc.push_back(&v);
    std::stable_sort(inc.begin(), inc.end(), [](auto* x, auto* y) {
      return std::tie(x->first_time, x->rule_name) < std::tie(y->first_time, y->rule_name);
    });
    std::fprintf(out, "\nIncidents (%zu)\n", inc.size());
    if (inc.empty()) std::fprintf(out, "  none\n");
    for (auto* v : inc)
      std::fprintf(out, "  %-20s  %s: %s\n", v->first_time.c_str(), escape_controls(v->rule_name).c_str(),
                   escape_controls(v->message).c_str());
  }
  std::fprintf(out, "\nTop risk objects (%zu objects, %zu risk events)\n", top.size(), risk_events);
  if (top.empty()) return;
  size_t w = 6;
  for (size_t i = 0; i < top.size() && i < limit; ++i) w = std::max(w, std::min<size_t>(48, top[i].object.size()));
  std::fprintf(out, "  %-*s  %-6s  %7s  %10s  %s\n", int(w), "object", "type", "score", "detections", "tactics");
  for (size_t i = 0; i < top.size() && i < limit; ++i) {
    auto& t = top[i];
    std::string tactics = std::to_string(t.tactics.size());
    for (auto& x : t.tactics) tactics += (tactics.find(' ') == std::string::npos ? " " : ",") + x;
    std::string obj = escape_controls(t.object);
    if (obj.size() > 48) obj = obj.substr(0, 45) + "...";
    std::fprintf(out, "  %-*s  %-6s  %7s  %10zu  %s\n", int(w), obj.c_str(), escape_controls(t.type).c_str(),
                 number_text(t.score).c_str(), t.source_count, escape_controls(tactics).c_str());
  }
  if (top.size() > limit) std::fprintf(out, "  ... %zu more (--risk-out FILE writes every risk event)\n", top.size() - limit);
}

}  // namespace vigil::risk
