#include "report/explain.h"

#include <fmt/format.h>
#include "core/yaml.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "content/escu.h"
#include "core/strings.h"
#include "match/compiled_atom.h"
#include "match/event_matcher.h"
#include "match/prefilter.h"
#include "sigma/sigma.h"
#include "spl/macro_expand.h"
#include "spl/parser.h"

namespace vigil::report {

namespace fs = std::filesystem;

namespace {

bool read_text(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

std::string unquote(std::string_view v) {
  v = trim(v);
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) v = v.substr(1, v.size() - 2);
  return std::string(v);
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

// ------------------------------------------------------------------ EventTable

Result<EventTable> EventTable::load(const std::string& data_dir) {
  std::string path = data_dir + "/events/events.yml";
  std::string text;
  if (!read_text(path, text)) return Error{"cannot read event table", {path}};
  return parse(text, path);
}

Result<EventTable> EventTable::parse(std::string_view yaml_text, const std::string& file) {
  EventTable t;
  try {
    yaml::Node root = yaml::load(std::string(yaml_text));
    auto read_group = [](const yaml::Node& group, std::map<std::string, Channel, std::less<>>& out) {
      if (!group || !group.IsMap()) return;
      for (auto it = group.begin(); it != group.end(); ++it) {
        Channel ch;
        const yaml::Node body = it->second;  // a copy: `it->second` lives in a temporary proxy
        ch.provider = body.IsMap() && body["provider"] ? body["provider"].as<std::string>("") : it->first.as<std::string>("");
        if (body.IsMap() && body["events"] && body["events"].IsMap()) {
          for (auto e = body["events"].begin(); e != body["events"].end(); ++e) {
            Event ev{ch.provider, {}};
            if (e->second.IsMap()) {
              if (e->second["provider"]) ev.provider = e->second["provider"].as<std::string>("");
              if (e->second["title"]) ev.title = e->second["title"].as<std::string>("");
            } else {
              ev.title = e->second.as<std::string>("");
            }
            ch.events[to_lower(e->first.as<std::string>(""))] = std::move(ev);
          }
        }
        out[to_lower(it->first.as<std::string>(""))] = std::move(ch);
      }
    };
    read_group(root["channels"], t.channels_);
    read_group(root["sources"], t.sources_);
  } catch (const yaml::Exception& e) {
    return Error{"event table: " + e.msg, {file, static_cast<uint32_t>(e.mark.line + 1), static_cast<uint32_t>(e.mark.column + 1)}};
  }
  return t;
}

EventTable::Event EventTable::find(std::string_view channel, std::string_view event_id) const {
  auto it = channels_.find(to_lower(channel));
  if (it == channels_.end()) return {std::string(channel), {}};
  auto e = it->second.events.find(to_lower(event_id));
  if (e == it->second.events.end()) return {it->second.provider, {}};
  return e->second;
}

const EventTable::Event* EventTable::find_source(std::string_view source, std::string_view event_name) const {
  auto it = sources_.find(to_lower(source));
  if (it == sources_.end()) return nullptr;
  auto e = it->second.events.find(to_lower(event_name));
  return e == it->second.events.end() ? nullptr : &e->second;
}

bool EventTable::knows_channel(std::string_view channel) const { return channels_.count(to_lower(channel)) > 0; }

std::string EventTable::provider(std::string_view channel) const {
  auto it = channels_.find(to_lower(channel));
  return it == channels_.end() ? std::string(channel) : it->second.provider;
}

// ------------------------------------------------------------------ DataSourceTable

DataSourceTable DataSourceTable::load_dir(const std::string& dir, DiagnosticSink& diags) {
  DataSourceTable t;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return t;
  std::vector<std::string> files;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    auto ext = it->path().extension().string();
    if (ext == ".yml" || ext == ".yaml") files.push_back(it->path().string());
  }
  std::sort(files.begin(), files.end());
  for (auto& f : files) {
    std::string text;
    if (!read_text(f, text)) {
      diags.warning({f}, "cannot read data source file", "data-source");
      continue;
    }
    // Only four top-level scalars are needed; a line scan avoids a YAML parse of the
    // (large) example_log and field lists every file carries.
    DataSourceDef d;
    d.file = f;
    for (auto line : split(text, '\n')) {
      if (line.empty() || line[0] == ' ' || line[0] == '-' || line[0] == '#') continue;
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string_view key = line.substr(0, colon);
      std::string value = unquote(line.substr(colon + 1));
      if (key == "name") d.name = value;
      else if (key == "source") d.source = value;
      else if (key == "sourcetype") d.sourcetype = value;
      else if (key == "separator") d.separator = value == "null" ? "" : value;
    }
    if (d.name.empty()) {
      diags.warning({f}, "data source file has no `name`", "data-source");
      continue;
    }
    t.index_.emplace(to_lower(d.name), t.defs_.size());
    t.defs_.push_back(std::move(d));
  }
  return t;
}

const DataSourceDef* DataSourceTable::find(std::string_view name) const {
  auto it = index_.find(to_lower(trim(name)));
  return it == index_.end() ? nullptr : &defs_[it->second];
}

// ------------------------------------------------------------------ tables

ExplainTables::ExplainTables() = default;
ExplainTables::ExplainTables(ExplainTables&&) noexcept = default;
ExplainTables& ExplainTables::operator=(ExplainTables&&) noexcept = default;
ExplainTables::~ExplainTables() = default;

ExplainContext ExplainTables::context(const RuleSet& rules, const content::AttackTable* attack) const {
  return {&rules, attack, events.get(), data_sources.get(), logsources.get()};
}

ExplainTables load_explain_tables(const std::string& data_dir, const std::string& content_root, DiagnosticSink& diags) {
  ExplainTables t;
  if (auto ev = EventTable::load(data_dir)) t.events = std::make_unique<EventTable>(std::move(ev.value()));
  else diags.warning(ev.error().location, ev.error().message, "event-table");
  if (!content_root.empty())
    t.data_sources = std::make_unique<DataSourceTable>(DataSourceTable::load_dir(content_root + "/data_sources", diags));
  if (auto ls = sigma::Logsources::load(data_dir)) t.logsources = std::make_unique<sigma::Logsources>(std::move(ls.value()));
  else diags.warning(ls.error().location, "Sigma logsource table: " + ls.error().message, "sigma-logsources");
  return t;
}

// ------------------------------------------------------------------ helpers

std::string format_counts(const ir::AtomTable::Counts& c) {
  return fmt::format("corpus {} (sigma {}, splunk {})", c.total(), c.sigma, c.escu);
}

const char* language_label(ir::Language l) { return l == ir::Language::sigma ? "sigma" : "splunk"; }

std::string discover_content_root(const std::string& explicit_root, const std::vector<std::string>& paths) {
  if (!explicit_root.empty()) return explicit_root;
  for (auto& p : paths) {
    std::string r = content::find_content_root(p);
    if (!r.empty()) return r;
  }
  // A corpus directory that holds security_content/ next to sigma/ and seed_rules/
  // (../shared/corpus): look for a security_content/ child of each path and of its parents.
  for (auto& p : paths) {
    std::error_code ec;
    fs::path dir = fs::absolute(p, ec).lexically_normal();
    if (!fs::is_directory(dir, ec)) dir = dir.parent_path();
    for (int depth = 0; depth < 4 && !dir.empty(); ++depth) {
      fs::path c = dir / "security_content";
      if (fs::is_directory(c / "macros", ec)) return c.string();
      if (dir == dir.parent_path()) break;
      dir = dir.parent_path();
    }
  }
  return {};
}

namespace {

struct Block {
  std::string key;
  std::string text;
};

size_t indent_of(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && line[i] == ' ') ++i;
  return i;
}

// Children of a YAML block given as text (`detection:` and its indented lines), split at
// the first child's indentation. A text split, not a YAML parse: the catalog shows
// thousands of Sigma rules and the loader has already validated the YAML.
std::vector<Block> split_children(std::string_view block) {
  std::vector<Block> out;
  auto lines = split(block, '\n');
  size_t first = 0;
  if (!lines.empty() && indent_of(lines[0]) == 0 && !trim(lines[0]).empty() && trim(lines[0]).back() == ':') first = 1;
  size_t child_indent = std::string::npos;
  for (size_t i = first; i < lines.size(); ++i) {
    std::string_view l = lines[i];
    std::string_view t = trim(l);
    if (t.empty() || t[0] == '#') {
      if (!out.empty()) out.back().text += std::string(l) + "\n";
      continue;
    }
    size_t ind = indent_of(l);
    if (child_indent == std::string::npos) child_indent = ind;
    if (ind < child_indent) break;  // the block ended
    if (ind == child_indent && t[0] != '-') {
      Block b;
      size_t colon = t.find(':');
      b.key = std::string(trim(t.substr(0, colon == std::string_view::npos ? t.size() : colon)));
      out.push_back(std::move(b));
    }
    if (out.empty()) continue;
    out.back().text += std::string(l.substr(std::min(child_indent, l.size()))) + "\n";
  }
  for (auto& b : out)
    while (!b.text.empty() && (b.text.back() == '\n' || b.text.back() == ' ')) b.text.pop_back();
  return out;
}

// The top-level `key:` block of a YAML text, as written.
std::string top_block(std::string_view body, std::string_view key) {
  auto lines = split(body, '\n');
  std::string out;
  bool in = false;
  for (auto l : lines) {
    if (!in) {
      if (l.size() > key.size() && l.substr(0, key.size()) == key && l[key.size()] == ':') {
        in = true;
        out += std::string(l) + "\n";
      }
      continue;
    }
    if (!l.empty() && l[0] != ' ' && l[0] != '#' && l[0] != '\r') break;
    out += std::string(l) + "\n";
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ' || out.back() == '\r')) out.pop_back();
  return out;
}

std::string source_text(const ir::Source& s) {
  switch (s.kind) {
    case ir::Source::Kind::raw: return "raw events";
    case ir::Source::Kind::datamodel:
      return "datamodel " + s.datamodel + (s.dataset.empty() ? "" : "." + s.dataset);
    case ir::Source::Kind::none: return "none (generating command)";
  }
  return "?";
}

std::string kind_text(const ir::Atom& a) {
  std::string k = ir::atom_kind_name(a.kind);
  bool textual = a.kind != ir::AtomKind::exists && a.kind != ir::AtomKind::lt && a.kind != ir::AtomKind::le &&
                 a.kind != ir::AtomKind::gt && a.kind != ir::AtomKind::ge && a.kind != ir::AtomKind::regex &&
                 a.kind != ir::AtomKind::cidr;
  if (a.case_sensitive && textual) k += ", case-sensitive";
  return k;
}

}  // namespace

// ------------------------------------------------------------------ Explainer

struct Explainer::Impl {
  // Sigma logsource summary ("windows/process_creation") -> its mapping entry.
  std::unordered_map<std::string, const sigma::Logsources::Entry*> logsource_by_summary;
  // The prefilter as the matcher builds it (match/event_matcher.cpp): atoms with a necessary
  // literal, grouped by field; a field's group is scanned only when it holds at least
  // min_group_atoms of them. Counted over the loaded rule set, once.
  std::vector<std::optional<match::PrefilterPattern>> literal;  // by atom id
  std::unordered_map<Symbol, size_t> literal_atoms_by_field;
  size_t min_group_atoms = match::EventMatcher::Options{}.min_group_atoms;
};

// Sigma's windash modifier writes one value five times, once per dash Windows accepts in a
// command-line switch. Values equal up to those dashes are one indicator with variants.
static std::string windash_key(std::string_view v, bool& had_dash) {
  static const std::string_view dashes[] = {"\u2013", "\u2014", "\u2015", "/", "-"};
  std::string out;
  for (size_t i = 0; i < v.size();) {
    bool hit = false;
    for (auto d : dashes)
      if (v.substr(i, d.size()) == d) {
        out += '-';
        i += d.size();
        hit = had_dash = true;
        break;
      }
    if (!hit) out += v[i++];
  }
  return out;
}

static void mark_windash_variants(IndicatorRow& row) {
  std::map<std::string, int> first;
  for (size_t j = 0; j < row.values.size(); ++j) {
    bool dash = false;
    std::string key = windash_key(row.values[j].value, dash);
    if (!dash) continue;
    auto [it, fresh] = first.emplace(key, int(j));
    if (!fresh) row.values[j].variant_of = it->second;
  }
  // A lone value with a dash is not a windash set: nothing points to it, nothing changes.
}

static std::string quote_value(std::string_view v) {
  if (v.size() > 80) return "'" + std::string(v.substr(0, 79)) + "…'";
  return "'" + std::string(v) + "'";
}

Explainer::Explainer(ExplainContext ctx) : ctx_(ctx), impl_(std::make_unique<Impl>()) {
  if (ctx_.logsources) {
    for (auto& e : ctx_.logsources->entries()) {
      std::string summary;
      for (const auto* part : {&e.product, &e.category, &e.service})
        if (!part->empty()) summary += (summary.empty() ? "" : "/") + to_lower(*part);
      impl_->logsource_by_summary.emplace(summary, &e);  // first entry wins, as Logsources::find does
    }
  }
  if (ctx_.rules) {
    const ir::AtomTable& atoms = ctx_.rules->atoms();
    impl_->literal.resize(atoms.size());
    for (ir::AtomId id = 0; id < atoms.size(); ++id) {
      const ir::Atom& a = atoms.get(id);
      if (!match::may_have_literal(a.kind)) continue;
      auto c = match::CompiledAtom::compile(a);
      if (!c) continue;
      impl_->literal[id] = match::necessary_literal(*c);
      if (impl_->literal[id]) ++impl_->literal_atoms_by_field[a.kind == ir::AtomKind::keyword ? kNoSymbol : a.field];
    }
  }
}
Explainer::~Explainer() = default;

std::string Explainer::describe_prefilter(const RuleView& v, const ir::AtomTable& atoms) const {
  if (!match::Prefilter::available()) return "none in this build (no Hyperscan): every atom is tested on each candidate event";
  std::vector<std::string> scanned, direct;
  std::set<ir::AtomId> seen;
  for (auto& row : v.indicators)
    for (auto& val : row.values) {
      if (!seen.insert(val.atom).second) continue;
      const ir::Atom& a = atoms.get(val.atom);
      std::string what = row.field + " " + row.kind + " " + quote_value(val.value);
      const auto* lit = val.atom < impl_->literal.size() && impl_->literal[val.atom] ? &*impl_->literal[val.atom] : nullptr;
      if (!lit) {
        direct.push_back(what + " (no literal)");
        continue;
      }
      Symbol key = a.kind == ir::AtomKind::keyword ? kNoSymbol : a.field;
      size_t n = impl_->literal_atoms_by_field.count(key) ? impl_->literal_atoms_by_field.at(key) : 0;
      if (n < impl_->min_group_atoms) {
        direct.push_back(fmt::format("{} (field has {} literal atoms in the loaded rules, below {})", what, n,
                                     impl_->min_group_atoms));
        continue;
      }
      // The literal is shown when it is not the value itself (a wildcard's longest piece).
      std::string l = lit->literal != val.value ? " via " + quote_value(lit->literal) : "";
      if (lit->at_start && lit->at_end) l += " (whole value)";
      else if (lit->at_start) l += " (at start)";
      else if (lit->at_end) l += " (at end)";
      if (!lit->caseless) l += " (case-sensitive)";
      scanned.push_back(what + l);
    }
  if (scanned.empty() && direct.empty()) return "none: the rule tests no indicator";
  std::string s = fmt::format("Hyperscan literal prefilter for {} of {} indicators (an event reaches them only when the "
                              "field holds the literal)",
                              scanned.size(), scanned.size() + direct.size());
  for (size_t i = 0; i < scanned.size(); ++i) s += (i ? "; " : ": ") + scanned[i];
  for (size_t i = 0; i < direct.size(); ++i) s += (i ? "; " : ". Tested directly on each candidate event: ") + direct[i];
  return s;
}

RuleView Explainer::view(const ir::CompiledRule& r) const {
  RuleView v;
  v.rule = &r;
  v.language = language_label(r.info.language);
  v.status = r.info.status;
  if (!r.parsed) v.status = v.status.empty() ? "not parsed" : "not parsed; " + v.status;
  else if (!r.executable) v.status = v.status.empty() ? "not executable" : "not executable; " + v.status;
  const ir::AtomTable& atoms = ctx_.rules->atoms();
  const bool sigma = r.info.language == ir::Language::sigma;

  // ---- ATT&CK: one row per (tactic, technique), grouped in matrix order.
  {
    std::vector<TechniqueRow> rows;
    for (auto& t : content::rule_techniques(ctx_.attack, r.info.mitre_attack, r.info.attack_tactics)) {
      if (t.tactics.empty()) {
        rows.push_back({"(unknown tactic)", t.id, t.name});
        continue;
      }
      for (auto& tac : t.tactics) rows.push_back({tac, t.id, t.name});
    }
    auto order = [&](const std::string& tactic) -> size_t {
      if (ctx_.attack)
        for (size_t i = 0; i < ctx_.attack->tactics().size(); ++i)
          if (ctx_.attack->tactics()[i].name == tactic) return i;
      return SIZE_MAX;
    };
    std::stable_sort(rows.begin(), rows.end(), [&](auto& a, auto& b) { return order(a.tactic) < order(b.tactic); });
    v.attack = std::move(rows);
  }

  // ---- Sigma: the logsource entry, and which top-level filter terms are its event selection.
  const sigma::Logsources::Entry* entry = nullptr;
  std::set<ir::AtomId> logsource_atoms;
  ir::Predicate detection_pred;  // the filter without the logsource selection
  bool have_detection_pred = false;
  if (sigma && !r.info.data_sources.empty()) {
    auto it = impl_->logsource_by_summary.find(to_lower(r.info.data_sources.front()));
    if (it != impl_->logsource_by_summary.end()) entry = it->second;
  }
  if (sigma && !r.plan.streams.empty() && r.plan.streams[0].source.kind == ir::Source::Kind::raw) {
    std::set<std::pair<std::string, std::string>> selection;  // (field, lower-cased value)
    if (entry)
      for (auto& alt : entry->when)
        for (auto& [field, values] : alt)
          for (auto& val : values) selection.emplace(field, to_lower(val));
    auto is_logsource_atom = [&](ir::AtomId id) {
      const ir::Atom& a = atoms.get(id);
      return a.kind == ir::AtomKind::eq &&
             selection.count({std::string(field_names().name(a.field)), to_lower(a.value)}) > 0;
    };
    const ir::Predicate& f = r.plan.streams[0].filter;
    std::vector<const ir::Predicate*> parts;
    if (f.op == ir::Predicate::Op::and_) for (auto& c : f.children) parts.push_back(&c);
    else parts.push_back(&f);
    std::vector<ir::Predicate> kept;
    for (auto* p : parts) {
      std::vector<ir::AtomId> ids;
      p->collect_atoms(ids);
      bool source = !ids.empty() && !selection.empty() && std::all_of(ids.begin(), ids.end(), is_logsource_atom);
      if (source) logsource_atoms.insert(ids.begin(), ids.end());
      else kept.push_back(*p);
    }
    detection_pred = ir::Predicate::make_and(std::move(kept));
    have_detection_pred = true;
  }

  // ---- Indicators: every atom the rule's predicates test (what the RuleSet counted).
  std::vector<ir::AtomId> ids;
  for (auto& s : r.plan.streams) s.filter.collect_atoms(ids);
  for (auto& st : r.stages)
    if (st.has_predicate) st.predicate.collect_atoms(ids);
  {
    std::set<ir::AtomId> seen;
    std::map<std::pair<std::string, std::string>, IndicatorRow> rows;
    for (auto id : ids) {
      if (!seen.insert(id).second || logsource_atoms.count(id)) continue;
      const ir::Atom& a = atoms.get(id);
      std::string field = a.kind == ir::AtomKind::keyword ? "(any field)" : std::string(field_names().name(a.field));
      std::string kind = kind_text(a);
      auto& row = rows[{field, kind}];
      row.field = field;
      row.kind = kind;
      row.values.push_back({id, a.kind == ir::AtomKind::exists ? "(present)" : a.value, atoms.counts(id)});
    }
    for (auto& [k, row] : rows) {
      mark_windash_variants(row);
      v.indicators.push_back(std::move(row));
    }
  }

  // ---- Event coverage.
  auto add_event = [&](EventRow row) {
    for (auto& e : v.events)
      if (e.provider == row.provider && e.event == row.event) return;
    v.events.push_back(std::move(row));
  };
  bool reads_risk = false;
  for (auto& s : r.plan.streams)
    reads_risk |= s.source.kind == ir::Source::Kind::datamodel && iequals(s.source.datamodel, "Risk");
  if (!sigma && reads_risk)  // a correlation over risk events: its events are the hunt's own findings
    add_event({"vigil risk events", "Risk.All_Risk",
               "one per risk object of each finding of the same `vigil hunt` (second pass)", "Risk data model"});
  if (!sigma) {
    for (auto& name : r.info.data_sources) {
      const DataSourceDef* d = ctx_.data_sources ? ctx_.data_sources->find(name) : nullptr;
      if (!d) {
        add_event({"?", "", "", name});
        continue;
      }
      std::string channel = d->source;
      bool windows = false;
      for (std::string_view prefix : {"XmlWinEventLog:", "WinEventLog:", "Syslog:"}) {
        if (istarts_with(channel, prefix)) {
          channel = channel.substr(prefix.size());
          windows = true;
        }
      }
      // The event id/name is the last word of the data source name ("Sysmon EventID 1",
      // "Windows Event Log Security 4688", "CrowdStrike ProcessRollup2").
      std::string_view nm = trim(d->name);
      std::string last(nm.substr(nm.rfind(' ') == std::string_view::npos ? 0 : nm.rfind(' ') + 1));
      bool id_sep = iequals(d->separator, "EventID") || iequals(d->separator, "EventCode");
      if ((windows || (ctx_.events && ctx_.events->knows_channel(channel))) && id_sep && all_digits(last)) {
        EventTable::Event ev = ctx_.events ? ctx_.events->find(channel, last) : EventTable::Event{channel, {}};
        add_event({ev.provider, "Event ID " + last, ev.title, d->name});
      } else if (windows) {
        std::string prov = ctx_.events ? ctx_.events->provider(channel) : channel;
        add_event({prov, "any event", "", d->name});
      } else if (const EventTable::Event* ev = ctx_.events ? ctx_.events->find_source(d->source, last) : nullptr) {
        add_event({ev->provider, last, ev->title, d->name});
      } else {
        add_event({d->sourcetype.empty() ? d->source : d->sourcetype, "", d->name, d->name});
      }
    }
  } else if (!r.info.data_sources.empty()) {
    const std::string& via = r.info.data_sources.front();
    // Event ids the rule itself selects (`EventID: 4624` under `service: security`).
    std::vector<std::string> rule_ids;
    for (auto& row : v.indicators)
      if (row.field == "EventID" && row.kind == "eq")
        for (auto& val : row.values) rule_ids.push_back(val.value);
    if (!entry) {
      add_event({via, "", "(no mapping in data/sigma/logsources.yml)", via});
    } else if (entry->any) {
      add_event({"(any provider)", "any event", "", via});
    } else {
      for (auto& alt : entry->when) {
        std::vector<std::string> channels, eids, names;
        for (auto& [field, values] : alt) {
          if (iequals(field, "Channel")) channels = values;
          else if (iequals(field, "EventID") || iequals(field, "EventCode")) eids = values;
          else if (iequals(field, "event_simpleName")) names = values;
        }
        if (eids.empty()) eids = rule_ids;
        for (auto& ch : channels) {
          if (eids.empty()) {
            add_event({ctx_.events ? ctx_.events->provider(ch) : ch, "any event", "", via});
            continue;
          }
          for (auto& id : eids) {
            EventTable::Event ev = ctx_.events ? ctx_.events->find(ch, id) : EventTable::Event{ch, {}};
            add_event({ev.provider, "Event ID " + id, ev.title, via});
          }
        }
        // event_simpleName is CrowdStrike's event-name field.
        for (auto& n : names) {
          const EventTable::Event* ev = ctx_.events ? ctx_.events->find_source("crowdstrike", n) : nullptr;
          add_event({ev ? ev->provider : "CrowdStrike", n, ev ? ev->title : "", via});
        }
      }
    }
  }

  // ---- Stages.
  if (!sigma) {
    for (auto& st : r.stages)
      v.stages.push_back({st.command, st.text, st.has_predicate ? st.predicate.to_string(atoms) : ""});
  } else {
    std::string ls = top_block(r.info.body, "logsource");
    if (!ls.empty()) {
      std::string pred;
      if (!entry) pred = "(no mapping: the rule is not restricted to an event type)";
      else if (entry->any) pred = "true (every event)";
      else {
        std::vector<std::string> alts;
        for (auto& alt : entry->when) {
          std::vector<std::string> conj;
          for (auto& [field, values] : alt) {
            std::vector<std::string> any;
            for (auto& val : values) any.push_back(field + " = " + val);
            conj.push_back(any.size() > 1 ? "(" + fmt::format("{}", fmt::join(any, " OR ")) + ")" : any.front());
          }
          std::string all = fmt::format("{}", fmt::join(conj, " AND "));
          alts.push_back(conj.size() > 1 && entry->when.size() > 1 ? "(" + all + ")" : all);
        }
        pred = fmt::format("{}", fmt::join(alts, " OR "));
      }
      v.stages.push_back({"logsource", ls, pred});
    }
    std::string_view q = r.info.query;
    bool detection = q.substr(0, 10) == "detection:";
    for (auto& b : split_children(q)) {
      if (detection && b.key == "condition")
        v.stages.push_back({"condition", b.text, have_detection_pred ? detection_pred.to_string(atoms) : ""});
      else
        v.stages.push_back({b.key, b.text, ""});
    }
    if (!detection && !q.empty() && v.stages.size() <= 1) v.stages.push_back({"correlation", std::string(q), ""});
  }

  // ---- Plan.
  for (auto& s : r.plan.streams) {
    StreamView sv;
    sv.source = source_text(s.source);
    sv.filter = s.filter.to_string(atoms);
    sv.capture = s.capture_all ? "all fields" : fmt::format("{}", fmt::join(s.capture, ", "));
    for (auto& op : s.operators) sv.operators.push_back(op->name());
    v.plan.push_back(std::move(sv));
  }
  v.prefilter = describe_prefilter(v, atoms);
  return v;
}

// ------------------------------------------------------------------ Markdown

namespace {

std::string md_cell(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '|') out += "\\|";
    else if (c == '\n' || c == '\r') out += ' ';
    else out += c;
  }
  return out;
}

std::string fence_for(std::string_view text) {
  std::string f = "```";
  while (text.find(f) != std::string_view::npos) f += '`';
  return f;
}

void md_code(std::string& out, std::string_view text, std::string_view lang = {}) {
  std::string f = fence_for(text);
  out += f;
  out += lang;
  out += '\n';
  out += text;
  if (text.empty() || text.back() != '\n') out += '\n';
  out += f + "\n";
}

// Values in a table cell: inline code spans need a fence longer than any backtick run inside.
std::string md_inline_code(std::string_view s) {
  size_t longest = 0, run = 0;
  for (char c : s) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  std::string tick(longest + 1, '`');
  bool pad = !s.empty() && (s.front() == '`' || s.back() == '`' || s.front() == ' ' || s.back() == ' ');
  return tick + (pad ? " " : "") + md_cell(s) + (pad ? " " : "") + tick;
}

}  // namespace

std::string render_markdown(const RuleView& v) {
  const ir::RuleInfo& info = v.rule->info;
  std::string o;
  o += fmt::format("# {}\n\n", info.name.empty() ? "(unnamed rule)" : info.name);
  o += fmt::format("Detection rules › {} · {}", v.language == "sigma" ? "Sigma" : "Splunk", info.type.empty() ? "-" : info.type);
  if (!v.status.empty()) o += " · " + v.status;
  if (!info.level.empty()) o += " · level " + info.level;
  o += "\n\n";
  if (!info.id.empty()) o += fmt::format("id `{}` · file `{}`\n\n", info.id, info.file);
  if (!info.description.empty()) o += std::string(trim(info.description)) + "\n\n";
  if (!v.rule->reasons.empty()) {
    o += "Problems:\n";
    for (auto& why : v.rule->reasons) o += "- " + why + "\n";
    o += "\n";
  }

  o += "## MITRE ATT&CK coverage\n\n| Tactic | Techniques |\n|---|---|\n";
  for (size_t i = 0; i < v.attack.size();) {
    size_t j = i;
    std::vector<std::string> techs;
    while (j < v.attack.size() && v.attack[j].tactic == v.attack[i].tactic) {
      // A technique the table lacks (newer than it) has no name to show: say so, not a bare id.
      techs.push_back(v.attack[j].id + " " + (v.attack[j].name.empty() ? std::string(kNotInAttackTable) : v.attack[j].name));
      ++j;
    }
    o += fmt::format("| {} | {} |\n", md_cell(v.attack[i].tactic), md_cell(fmt::format("{}", fmt::join(techs, ", "))));
    i = j;
  }
  if (v.attack.empty()) o += "| (none) | |\n";

  o += "\n## Event coverage\n\n| Provider | Event | Title | Data source |\n|---|---|---|---|\n";
  for (auto& e : v.events)
    o += fmt::format("| {} | {} | {} | {} |\n", md_cell(e.provider), md_cell(e.event), md_cell(e.title), md_cell(e.via));
  if (v.events.empty()) o += "| (none) | | | |\n";

  o += "\n## Stages and predicates\n";
  for (size_t i = 0; i < v.stages.size(); ++i) {
    o += fmt::format("\n### Stage {}: {}\n\n", i + 1, v.stages[i].command);
    md_code(o, v.stages[i].text);
    if (!v.stages[i].predicate.empty()) {
      o += "\nPredicate:\n\n";
      md_code(o, v.stages[i].predicate);
    }
  }
  if (v.stages.empty()) o += "\n(none: the rule did not compile)\n";

  o += "\n## Indicators\n\n"
       "Each row is a field, a match kind and the values the rule tests, as interned atoms of the engine's IR "
       "(macros expanded, field names canonical). `corpus N (sigma a, splunk b)` counts the loaded rules that "
       "test the same atom, this rule included: high numbers point to widely shared indicators, 1 to an "
       "indicator specific to this rule.\n\n"
       "| Field | Kind | Values |\n|---|---|---|\n";
  for (auto& row : v.indicators) {
    std::vector<std::string> vals;
    for (size_t j = 0; j < row.values.size(); ++j) {
      auto& val = row.values[j];
      if (val.variant_of >= 0) continue;
      std::string variants;
      for (auto& other : row.values)
        if (other.variant_of == int(j)) {
          if (!variants.empty()) variants += ' ';
          variants += md_inline_code(other.value);
        }
      vals.push_back(md_inline_code(val.value) + (variants.empty() ? "" : " (windash: " + variants + ")") + " " +
                     format_counts(val.counts));
    }
    o += fmt::format("| {} | {} | {} |\n", md_cell(row.field), md_cell(row.kind), fmt::format("{}", fmt::join(vals, "<br>")));
  }
  if (v.indicators.empty()) o += "| (none) | | |\n";

  o += "\n## Compiled plan\n";
  for (size_t i = 0; i < v.plan.size(); ++i) {
    auto& s = v.plan[i];
    o += fmt::format("\n### Stream {}{}\n\n", i, i == 0 ? " (result)" : "");
    o += fmt::format("- source: {}\n- capture: {}\n- operators: {}\n- filter:\n\n", s.source, s.capture,
                     s.operators.empty() ? std::string("(none)") : fmt::format("{}", fmt::join(s.operators, " | ")));
    md_code(o, s.filter);
  }
  if (v.plan.empty()) o += "\n(no plan: the rule did not compile)\n";
  o += "\nPrefilter: " + v.prefilter + "\n";
  // The rule as written last: the sections above are what the engine runs.
  o += fmt::format("\n## Rule body ({})\n\n", v.language);
  md_code(o, info.body, "yaml");
  return o;
}

// ------------------------------------------------------------------ JSON

std::string render_json(const RuleView& v) {
  const ir::RuleInfo& info = v.rule->info;
  auto arr = [](const std::vector<std::string>& xs) {
    std::string s = "[";
    for (size_t i = 0; i < xs.size(); ++i) {
      if (i) s += ',';
      s += json_quote(xs[i]);
    }
    return s + "]";
  };
  std::string o = "{";
  o += "\"id\":" + json_quote(info.id) + ",\"name\":" + json_quote(info.name) + ",\"language\":" + json_quote(v.language);
  o += ",\"type\":" + json_quote(info.type) + ",\"status\":" + json_quote(v.status) + ",\"file\":" + json_quote(info.file);
  o += ",\"description\":" + json_quote(info.description);
  o += fmt::format(",\"parsed\":{},\"executable\":{}", v.rule->parsed, v.rule->parsed && v.rule->executable);
  o += ",\"reasons\":" + arr(v.rule->reasons);
  o += ",\"data_sources\":" + arr(info.data_sources) + ",\"stories\":" + arr(info.stories);
  o += ",\"attack\":[";
  for (size_t i = 0; i < v.attack.size(); ++i)
    o += (i ? "," : "") + fmt::format("{{\"tactic\":{},\"id\":{},\"name\":{}}}", json_quote(v.attack[i].tactic),
                                      json_quote(v.attack[i].id), json_quote(v.attack[i].name));
  o += "],\"events\":[";
  for (size_t i = 0; i < v.events.size(); ++i)
    o += (i ? "," : "") + fmt::format("{{\"provider\":{},\"event\":{},\"title\":{},\"data_source\":{}}}",
                                      json_quote(v.events[i].provider), json_quote(v.events[i].event),
                                      json_quote(v.events[i].title), json_quote(v.events[i].via));
  o += "],\"stages\":[";
  for (size_t i = 0; i < v.stages.size(); ++i)
    o += (i ? "," : "") + fmt::format("{{\"command\":{},\"text\":{},\"predicate\":{}}}", json_quote(v.stages[i].command),
                                      json_quote(v.stages[i].text), json_quote(v.stages[i].predicate));
  o += "],\"indicators\":[";
  for (size_t i = 0; i < v.indicators.size(); ++i) {
    auto& row = v.indicators[i];
    o += (i ? "," : "") + fmt::format("{{\"field\":{},\"kind\":{},\"values\":[", json_quote(row.field), json_quote(row.kind));
    for (size_t j = 0; j < row.values.size(); ++j) {
      auto& val = row.values[j];
      if (j) o += ',';
      o += fmt::format("{{\"value\":{},\"atom\":{},\"corpus\":{},\"sigma\":{},\"splunk\":{}{}}}",
                                        json_quote(val.value), val.atom, val.counts.total(), val.counts.sigma,
                                        val.counts.escu,
                                        val.variant_of >= 0 ? fmt::format(",\"variant_of\":{}", val.variant_of) : "");
    }
    o += "]}";
  }
  o += "],\"plan\":[";
  for (size_t i = 0; i < v.plan.size(); ++i)
    o += (i ? "," : "") + fmt::format("{{\"source\":{},\"capture\":{},\"filter\":{},\"operators\":{}}}",
                                      json_quote(v.plan[i].source), json_quote(v.plan[i].capture),
                                      json_quote(v.plan[i].filter), arr(v.plan[i].operators));
  o += "],\"prefilter\":" + json_quote(v.prefilter) + ",\"body\":" + json_quote(info.body) + "}";
  return o;
}

// ------------------------------------------------------------------ dumps

namespace {

void dump_pred(std::string& o, const ir::Predicate& p, const ir::AtomTable& atoms, int depth) {
  std::string pad(size_t(depth) * 2, ' ');
  switch (p.op) {
    case ir::Predicate::Op::always: o += pad + "TRUE\n"; return;
    case ir::Predicate::Op::never: o += pad + "FALSE\n"; return;
    case ir::Predicate::Op::atom: o += fmt::format("{}#{} {}\n", pad, p.atom, atoms.describe(p.atom)); return;
    case ir::Predicate::Op::not_: o += pad + "NOT\n"; break;
    case ir::Predicate::Op::and_: o += pad + "AND\n"; break;
    case ir::Predicate::Op::or_: o += pad + "OR\n"; break;
  }
  for (auto& c : p.children) dump_pred(o, c, atoms, depth + 1);
}

void dump_expr(std::string& o, const spl::Expr& e, int depth) {
  static const char* names[] = {"string", "number", "field", "call", "unary", "binary", "in_list", "null"};
  o += fmt::format("{}{} {}\n", std::string(size_t(depth) * 2, ' '), names[size_t(e.kind)], json_quote(e.text));
  for (auto& a : e.args)
    if (a) dump_expr(o, *a, depth + 1);
}

void dump_pipeline(std::string& o, const spl::Pipeline& p, std::string_view text, int depth);

void dump_search(std::string& o, const spl::SearchExpr& s, std::string_view text, int depth) {
  std::string pad(size_t(depth) * 2, ' ');
  switch (s.kind) {
    case spl::SearchKind::compare:
      o += fmt::format("{}compare {} {} {}{}\n", pad, s.field, s.op, json_quote(s.values.empty() ? "" : s.values[0]),
                       s.case_sensitive ? " CASE" : "");
      break;
    case spl::SearchKind::in_list: {
      std::vector<std::string> q;
      for (auto& v : s.values) q.push_back(json_quote(v));
      o += fmt::format("{}in {} ({})\n", pad, s.field, fmt::join(q, ", "));
      break;
    }
    case spl::SearchKind::keyword:
      if (s.subsearch) {
        o += pad + "subsearch\n";
        dump_pipeline(o, *s.subsearch, text, depth + 1);
      } else {
        o += fmt::format("{}keyword {}{}\n", pad, json_quote(s.values.empty() ? "" : s.values[0]), s.term ? " TERM" : "");
      }
      break;
    case spl::SearchKind::and_: o += pad + "AND\n"; break;
    case spl::SearchKind::or_: o += pad + "OR\n"; break;
    case spl::SearchKind::not_: o += pad + "NOT\n"; break;
  }
  for (auto& c : s.children)
    if (c) dump_search(o, *c, text, depth + 1);
}

void dump_pipeline(std::string& o, const spl::Pipeline& p, std::string_view text, int depth) {
  std::string pad(size_t(depth) * 2, ' ');
  for (auto& c : p.commands) {
    std::string_view src;
    if (c.span.begin <= c.span.end && c.span.end <= text.size()) src = text.substr(c.span.begin, c.span.end - c.span.begin);
    std::string one(trim(src));
    std::replace(one.begin(), one.end(), '\n', ' ');
    if (one.size() > 120) one = one.substr(0, 117) + "...";
    o += fmt::format("{}command {} [{}..{}] {}\n", pad, c.name, c.span.begin, c.span.end, one);
    std::visit(
        [&](const auto& body) {
          using T = std::decay_t<decltype(body)>;
          if constexpr (std::is_same_v<T, spl::SearchCmd>) {
            if (body.expr) dump_search(o, *body.expr, text, depth + 1);
          } else if constexpr (std::is_same_v<T, spl::TstatsCmd>) {
            o += fmt::format("{}  from {}{}\n", pad, body.datamodel, body.dataset.empty() ? "" : "." + body.dataset);
            for (auto& a : body.aggregates) o += fmt::format("{}  aggregate {}\n", pad, a.output_name());
            if (body.where) {
              o += pad + "  where\n";
              dump_search(o, *body.where, text, depth + 2);
            }
            for (auto& b : body.by) o += fmt::format("{}  by {}\n", pad, b.field);
          } else if constexpr (std::is_same_v<T, spl::WhereCmd>) {
            if (body.expr) dump_expr(o, *body.expr, depth + 1);
          } else if constexpr (std::is_same_v<T, spl::EvalCmd>) {
            for (auto& [field, e] : body.assignments) {
              o += fmt::format("{}  {} =\n", pad, field);
              if (e) dump_expr(o, *e, depth + 2);
            }
          } else if constexpr (std::is_same_v<T, spl::StatsCmd>) {
            for (auto& a : body.aggregates) o += fmt::format("{}  aggregate {}\n", pad, a.output_name());
            for (auto& b : body.by) o += fmt::format("{}  by {}\n", pad, b.field);
          } else if constexpr (std::is_same_v<T, spl::JoinCmd> || std::is_same_v<T, spl::AppendCmd>) {
            if (body.subsearch) {
              o += pad + "  subsearch\n";
              dump_pipeline(o, *body.subsearch, text, depth + 2);
            }
          } else if constexpr (std::is_same_v<T, spl::GenericCmd>) {
            for (auto& sub : body.subsearches)
              if (sub) {
                o += pad + "  subsearch\n";
                dump_pipeline(o, *sub, text, depth + 2);
              }
          }
        },
        c.body);
  }
}

}  // namespace

std::string dump_ir(const ir::CompiledRule& r, const ir::AtomTable& atoms) {
  std::string o = fmt::format("rule {} ({}; parsed {}, executable {})\n", json_quote(r.info.name),
                              language_label(r.info.language), r.parsed, r.parsed && r.executable);
  for (auto& why : r.reasons) o += "  reason: " + why + "\n";
  if (!r.macros_used.empty()) o += fmt::format("macros used: {}\n", fmt::join(r.macros_used, ", "));
  std::vector<ir::AtomId> ids;
  for (size_t i = 0; i < r.plan.streams.size(); ++i) {
    auto& s = r.plan.streams[i];
    o += fmt::format("stream {}: source {}; capture {}\n", i, source_text(s.source),
                     s.capture_all ? std::string("all") : fmt::format("{}", fmt::join(s.capture, ",")));
    o += "  filter:\n";
    dump_pred(o, s.filter, atoms, 2);
    for (auto& op : s.operators) o += "  operator " + op->name() + "\n";
    s.filter.collect_atoms(ids);
  }
  for (size_t i = 0; i < r.stages.size(); ++i) {
    o += fmt::format("stage {}: {}\n", i + 1, r.stages[i].command);
    if (r.stages[i].has_predicate) {
      dump_pred(o, r.stages[i].predicate, atoms, 2);
      r.stages[i].predicate.collect_atoms(ids);
    }
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  o += fmt::format("atoms ({}):\n", ids.size());
  for (auto id : ids) {
    const ir::Atom& a = atoms.get(id);
    o += fmt::format("  #{} field={} kind={} value={} case_sensitive={} {}\n", id, field_names().name(a.field),
                     ir::atom_kind_name(a.kind), json_quote(a.value), a.case_sensitive, format_counts(atoms.counts(id)));
  }
  return o;
}

std::string dump_ast(const ir::CompiledRule& r, const content::MacroTable& macros) {
  if (r.info.language == ir::Language::sigma) {
    // The Sigma front end lowers YAML straight to IR; its "AST" is the detection mapping.
    return "sigma detection (as loaded):\n" + r.info.query + "\n";
  }
  spl::MacroExpansion ex = spl::expand_macros(r.info.query, macros);
  std::string o = "expanded SPL:\n" + ex.text + "\n";
  if (ex.error) return o + "macro expansion error: " + ex.error->message + "\n";
  for (auto& m : ex.missing) o += "undefined macro `" + m + "`\n";
  spl::ParseResult pr = spl::parse_pipeline(ex.text);
  if (pr.error) {
    auto [line, col] = spl::line_col(ex.text, pr.error->span.begin);
    return o + fmt::format("parse error at line {}, column {}: {}\n", line, col, pr.error->message);
  }
  o += "ast:\n";
  dump_pipeline(o, *pr.pipeline, ex.text, 1);
  return o;
}

}  // namespace vigil::report
