#include "engine/field_usage.h"

#include "core/yaml.h"

#include <algorithm>
#include <filesystem>

#include "core/regex.h"
#include "core/strings.h"
#include "ingest/reader.h"

namespace vigil {

namespace {

void add_read(RuleFieldUsage& u, std::string field, std::string where, size_t stream) {
  for (auto& r : u.reads)
    if (r.stream == stream && r.field == field) return;
  u.reads.push_back({std::move(field), std::move(where), stream});
}

// Every match of `re` in `text`: the text of group `g` (0: the whole match) into `out`.
void collect_matches(const Regex& re, std::string_view text, int g, std::set<std::string>& out) {
  Regex::Match m;
  for (size_t at = 0; at <= text.size() && re.find(text, at, m);) {
    const Regex::Group& want = m.groups[size_t(g)];
    if (want.begin != SIZE_MAX) out.emplace(text.substr(want.begin, want.end - want.begin));
    const Regex::Group& all = m.groups[0];
    at = all.end > all.begin ? all.end : all.end + 1;  // an empty match moves on by one
  }
}

// Names some stage may create: eval targets, `as` names (rename, stats, lookup), rex groups,
// lookup OUTPUT fields. Over-approximate on purpose: a created name is never reported missing.
// PCRE2 (core/regex.h) like every other pattern of vigil: std::regex was the one use of it.
std::set<std::string> created_names(const ir::CompiledRule& r) {
  static const Regex as_re = Regex::compile(R"(\bas\s+"?([A-Za-z_][\w.:]*))", {.caseless = true}).value();
  static const Regex assign_re = Regex::compile(R"re((?:^|,)\s*"?([A-Za-z_][\w.:]*)"?\s*=[^=])re").value();
  static const Regex rex_re = Regex::compile(R"re(\(\?P?<([A-Za-z_]\w*)>)re").value();
  static const Regex output_re = Regex::compile(R"(\bOUTPUT(?:NEW)?\s+(.*))", {.caseless = true}).value();
  static const Regex word_re = Regex::compile(R"re([A-Za-z_][\w.:]*)re").value();
  std::set<std::string> out;
  for (auto& st : r.stages) {
    const std::string& t = st.text;
    collect_matches(as_re, t, 1, out);
    collect_matches(rex_re, t, 1, out);
    std::string cmd = to_lower(st.command);
    if (cmd == "eval") {
      // The text may start with the command name: drop it so the first assignment is at ^.
      std::string_view body = t;
      if (to_lower(body.substr(0, 4)) == "eval") body.remove_prefix(4);
      collect_matches(assign_re, body, 1, out);
    }
    if (cmd == "lookup" || cmd == "inputlookup") {
      Regex::Match m;
      if (output_re.find(t, 0, m) && m.groups[1].begin != SIZE_MAX)
        collect_matches(word_re, std::string_view(t).substr(m.groups[1].begin, m.groups[1].end - m.groups[1].begin), 0, out);
    }
  }
  return out;
}

std::vector<std::string> placeholders(const std::string& message) {
  std::vector<std::string> out;
  size_t i = 0;
  while ((i = message.find('$', i)) != std::string::npos) {
    size_t j = message.find('$', i + 1);
    if (j == std::string::npos) break;
    std::string f = message.substr(i + 1, j - i - 1);
    if (!f.empty() && f.find(' ') == std::string::npos) out.push_back(f);
    i = j + 1;
  }
  return out;
}

// EventID values required by a predicate (an EventCode/EventID equality conjunct or an OR of them).
std::optional<std::set<std::string>> required_values(const ir::Predicate& p, const ir::AtomTable& atoms,
                                                     const std::vector<Symbol>& fields) {
  using Op = ir::Predicate::Op;
  switch (p.op) {
    case Op::atom: {
      const ir::Atom& a = atoms.get(p.atom);
      if (a.kind == ir::AtomKind::eq && std::find(fields.begin(), fields.end(), a.field) != fields.end())
        return std::set<std::string>{a.value};
      return std::nullopt;
    }
    case Op::and_:
      for (auto& c : p.children)
        if (auto r = required_values(c, atoms, fields)) return r;
      return std::nullopt;
    case Op::or_: {
      std::set<std::string> all;
      for (auto& c : p.children) {
        auto r = required_values(c, atoms, fields);
        if (!r) return std::nullopt;
        all.insert(r->begin(), r->end());
      }
      return all;
    }
    default: return std::nullopt;
  }
}

// Channels named by the filter: source=XmlWinEventLog:X, Channel=X, eventtype=wineventlog_x.
void channels_of(const ir::Predicate& p, const ir::AtomTable& atoms, std::set<std::string>& out) {
  static const Symbol source = field_id("source"), channel = field_id("Channel"), eventtype = field_id("eventtype");
  if (p.op == ir::Predicate::Op::not_) return;
  if (p.op == ir::Predicate::Op::atom) {
    const ir::Atom& a = atoms.get(p.atom);
    if (a.kind != ir::AtomKind::eq) return;
    std::string v = a.value;
    if (a.field == source) {
      size_t colon = v.find(':');
      if (colon != std::string::npos && to_lower(v.substr(0, colon)).find("wineventlog") != std::string::npos)
        out.insert(v.substr(colon + 1));
    } else if (a.field == channel) {
      out.insert(v);
    } else if (a.field == eventtype) {
      std::string lv = to_lower(v);
      if (lv == "wineventlog_security") out.insert("Security");
      else if (lv == "wineventlog_system") out.insert("System");
      else if (lv == "wineventlog_application") out.insert("Application");
    }
    return;
  }
  for (auto& c : p.children) channels_of(c, atoms, out);
}

}  // namespace

// Atoms on a missing field are false (predicate.h); NOT is taken as possibly true, so only
// certain dead ends count.
bool filter_can_match(const ir::Predicate& p, const ir::AtomTable& atoms, const std::set<std::string>& missing) {
  using Op = ir::Predicate::Op;
  switch (p.op) {
    case Op::never: return false;
    case Op::atom: {
      const ir::Atom& a = atoms.get(p.atom);
      if (a.kind == ir::AtomKind::keyword || a.field == kNoSymbol) return true;
      return !missing.count(std::string(field_names().name(a.field)));
    }
    case Op::and_:
      for (auto& c : p.children)
        if (!filter_can_match(c, atoms, missing)) return false;
      return true;
    case Op::or_:
      for (auto& c : p.children)
        if (filter_can_match(c, atoms, missing)) return true;
      return p.children.empty();
    default: return true;
  }
}

bool is_internal_field(std::string_view f) {
  if (f.empty() || f[0] == '_') return true;  // _time, _raw, _indextime …
  static constexpr std::string_view kInternal[] = {"index", "splunk_server", "punct", "linecount", "tag", "eventtype",
                                                   "source", "sourcetype", "host", "timeendpos", "timestartpos",
                                                   "count"};
  for (auto x : kInternal)
    if (f == x) return true;
  return f.rfind("date_", 0) == 0 || f.rfind("tag::", 0) == 0;
}

RuleFieldUsage analyze_field_usage(const ir::CompiledRule& r, const ir::AtomTable& atoms) {
  RuleFieldUsage u;
  const std::set<std::string> created = created_names(r);
  bool row_is_event = false;  // stream 0's result rows are (projected) events: no aggregation
  for (size_t k = 0; k < r.plan.streams.size(); ++k) {
    const ir::Stream& s = r.plan.streams[k];
    if (s.source.kind == ir::Source::Kind::none) continue;
    std::vector<ir::AtomId> ids;
    s.filter.collect_atoms(ids);
    for (auto id : ids) {
      const ir::Atom& a = atoms.get(id);
      if (a.kind == ir::AtomKind::keyword || a.field == kNoSymbol) continue;
      add_read(u, std::string(field_names().name(a.field)), "filter", k);
      if (ir::is_field_ref(a.kind)) add_read(u, a.value, "filter", k);
    }
    bool blocked = false, known = true;
    for (auto& op : s.operators) {
      std::vector<std::string> f;
      if (!op->reads(f)) {
        // What it reads is unknown, and so is what later operators read of its output.
        known = false;
        u.complete = false;
        u.unknown_operators.push_back(op->name());
        break;
      }
      for (auto& x : f)
        if (!created.count(x) && x.find('*') == std::string::npos) add_read(u, x, "operator " + op->name(), k);
      if (op->shape() != ir::OpShape::per_row) {
        blocked = true;
        break;
      }
    }
    if (k == 0) row_is_event = known && !blocked;
  }
  if (row_is_event && !r.plan.streams.empty() && r.plan.streams[0].source.kind != ir::Source::Kind::none) {
    for (auto& f : placeholders(r.info.message))
      if (!created.count(f)) add_read(u, f, "message", 0);
    for (auto& e : r.info.entities)
      if (!e.field.empty() && !created.count(e.field)) add_read(u, e.field, "entity", 0);
  }
  return u;
}

std::string SourceKey::label() const {
  // Short channel names, as people say them: "Sysmon 10", "Security 4624".
  std::string ch = channel;
  if (ch.rfind("Microsoft-Windows-", 0) == 0) ch = ch.substr(18);
  if (auto slash = ch.find('/'); slash != std::string::npos) ch = ch.substr(0, slash);
  if (ch.empty()) return "EventCode " + event_id;
  return event_id.empty() ? ch : ch + " " + event_id;
}

DataSourceCatalog DataSourceCatalog::load(const std::string& content_root, const Normalizer& norm) {
  namespace fs = std::filesystem;
  DataSourceCatalog c;
  std::error_code ec;
  std::vector<fs::path> files;
  for (auto& e : fs::directory_iterator(fs::path(content_root) / "data_sources", ec))
    if (e.path().extension() == ".yml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  DiagnosticSink quiet(nullptr);
  Event ev;
  for (auto& path : files) {
    Entry e;
    std::string example;
    try {
      yaml::Node d = yaml::load_file(path.string());
      e.name = d["name"].as<std::string>("");
      std::string src = d["source"].as<std::string>("");
      // `XmlWinEventLog:<channel>` or `WinEventLog:<channel>`, any case; the event code is the
      // number the source's name ends with ("Windows Event Log Security 4624").
      std::string_view rest = src;
      if (istarts_with(rest, "xml")) rest.remove_prefix(3);
      if (istarts_with(rest, "wineventlog:")) {
        e.key.channel = rest.substr(12);
        size_t digits = e.name.size();
        while (digits > 0 && e.name[digits - 1] >= '0' && e.name[digits - 1] <= '9') --digits;
        e.key.event_id = e.name.substr(digits);
      }
      example = d["example_log"].as<std::string>("");
      e.sourcetype = d["sourcetype"].as<std::string>("");
      for (auto f : d["fields"]) e.listed.push_back(f.as<std::string>());
    } catch (const yaml::Exception&) {
      continue;  // lint reports content problems elsewhere; an unreadable source just offers nothing
    }
    if (e.name.empty()) continue;
    if (!example.empty()) {
      ReadStats stats;
      read_buffer(path.filename().string(), example, LogFormat::unknown, {}, [&](const Record& r) {
        norm.normalize(r, ev);
        e.example_read = true;
        for (auto& f : ev.fields())
          if (f.view == 0) e.fields.insert(std::string(field_names().name(f.name)));
      }, quiet, stats);
    }
    if (!e.key.channel.empty())
      for (auto& f : norm.mapped_raw_fields(e.key.channel, e.key.event_id)) e.fields.insert(f);
    c.by_name_.emplace(e.name, c.entries_.size());
    c.entries_.push_back(std::move(e));
  }
  return c;
}

const DataSourceCatalog::Entry* DataSourceCatalog::find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &entries_[it->second];
}

std::string find_content_root(const std::vector<std::string>& paths, const std::string& explicit_root) {
  namespace fs = std::filesystem;
  if (!explicit_root.empty()) return explicit_root;
  std::error_code ec;
  for (auto& p : paths) {
    fs::path at = fs::absolute(p, ec);
    for (; !at.empty(); at = at.parent_path()) {
      if (fs::is_directory(at / "data_sources", ec)) return at.string();
      if (at == at.parent_path()) break;
    }
  }
  return {};
}

std::vector<SourceKey> rule_sources(const ir::CompiledRule& r, const ir::AtomTable& atoms,
                                    const DataSourceCatalog& catalog) {
  std::vector<SourceKey> out;
  bool all_resolved = !r.info.data_sources.empty();
  for (auto& name : r.info.data_sources) {
    const auto* e = catalog.find(name);
    if (!e || e->key.channel.empty()) {
      all_resolved = false;
      break;
    }
    out.push_back(e->key);
  }
  if (all_resolved) return out;
  out.clear();
  if (r.plan.streams.empty() || r.plan.streams[0].source.kind != ir::Source::Kind::raw) return out;
  const ir::Predicate& f = r.plan.streams[0].filter;
  static const std::vector<Symbol> id_fields = {field_id("EventCode"), field_id("EventID")};
  auto ids = required_values(f, atoms, id_fields);
  std::set<std::string> channels;
  channels_of(f, atoms, channels);
  if (!ids && channels.empty()) return out;
  if (channels.empty()) channels.insert("");
  for (auto& ch : channels) {
    if (!ids) out.push_back({ch, ""});
    else
      for (auto& id : *ids) out.push_back({ch, id});
  }
  return out;
}

std::string FieldWarning::message() const {
  std::string m = "reads " + field + ", which no " + sources + " mapping produces";
  if (!detail.empty()) m += " (" + detail + ")";
  if (filter_dead) m += "; the filter can never match";
  return m;
}

std::vector<FieldWarning> check_rule_fields(const ir::CompiledRule& r, const ir::AtomTable& atoms,
                                            const Normalizer& norm, const DataSourceCatalog& catalog,
                                            bool* checked) {
  std::vector<FieldWarning> out;
  if (checked) *checked = false;
  if (!r.parsed || r.plan.streams.empty()) return out;
  RuleFieldUsage u = analyze_field_usage(r, atoms);
  for (size_t k = 0; k < r.plan.streams.size(); ++k) {
    const ir::Stream& s = r.plan.streams[k];
    std::set<std::string> offered;
    std::string label, prefix;
    std::vector<SourceKey> keys;
    if (s.source.kind == ir::Source::Kind::datamodel) {
      int d = norm.dataset_id(s.source.datamodel + "." + s.source.dataset);
      if (d < 0) continue;  // an unmapped data model is lint's own "no mapping" matter
      const DatasetInfo& info = norm.datasets()[d];
      prefix = info.prefix + ".";
      for (auto& f : info.fields) offered.insert(prefix + f);
      label = info.name;
    } else if (s.source.kind == ir::Source::Kind::raw && k == 0) {
      // Only ESCU data sources say exactly what a raw search reads; a filter's EventCode alone
      // does not (another product may log the same code), so those rules are not checked.
      for (auto& name : r.info.data_sources) {
        const auto* e = catalog.find(name);
        if (!e || e->key.channel.empty()) {
          offered.clear();
          label.clear();
          break;
        }
        offered.insert(e->fields.begin(), e->fields.end());
        if (!e->example_read) {
          // No usable example (several are truncated upstream): every Windows event's System
          // fields, the fields the tables read for this event code, and Splunk's list for the
          // source except the names the tables document as underivable.
          for (auto n : {sys::Provider, sys::ProviderGuid, sys::EventID, sys::Version, sys::Level, sys::Task,
                         sys::Opcode, sys::Keywords, sys::TimeCreated, sys::EventRecordID, sys::ProcessID,
                         sys::ThreadID, sys::Channel, sys::Computer})
            offered.insert(std::string(n));
          for (auto& f : norm.mapped_raw_inputs(e->key.channel, e->key.event_id)) offered.insert(f);
          for (auto& f : e->listed)
            if (norm.unavailable_reason(e->key.channel, e->key.event_id, f).empty()) offered.insert(f);
        }
        keys.push_back(e->key);
        label += (label.empty() ? "" : " or ") + e->key.label();
      }
      if (label.empty()) continue;
    } else {
      continue;
    }
    if (checked) *checked = true;
    std::set<std::string> missing;
    for (auto& rd : u.reads)
      if (rd.stream == k && !is_internal_field(rd.field) && !offered.count(rd.field)) missing.insert(rd.field);
    const bool dead = !filter_can_match(s.filter, atoms, missing);
    for (auto& rd : u.reads) {
      if (rd.stream != k || is_internal_field(rd.field) || offered.count(rd.field)) continue;
      if (!prefix.empty() && rd.field.rfind(prefix, 0) != 0) continue;  // datamodel: only its own fields
      FieldWarning w{rd.field, rd.where, label, {}, rd.where == "filter" && dead};
      for (auto& key : keys)
        if (auto why = norm.unavailable_reason(key.channel, key.event_id, rd.field); !why.empty()) {
          w.detail = why;
          break;
        }
      out.push_back(std::move(w));
    }
  }
  return out;
}

}  // namespace vigil
