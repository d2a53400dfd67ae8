#include "normalize/normalizer.h"

#include "core/yaml.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <filesystem>

#include "core/strings.h"
#include "core/time.h"

namespace vigil {

namespace {

LogFormat format_by_name(std::string_view n) {
  for (int i = 0; i <= static_cast<int>(LogFormat::wineventlog); ++i)
    if (n == log_format_name(static_cast<LogFormat>(i))) return static_cast<LogFormat>(i);
  return LogFormat::unknown;
}

struct Loader {
  std::vector<std::string> map_names;
  std::string error;

  bool parse_spec(const std::string& target, const std::string& text, Normalizer::Spec& out) {
    out.target = field_id(target);
    size_t i = 0;
    while (i < text.size()) {
      size_t open = text.find('{', i);
      if (open == std::string::npos) {
        out.parts.push_back({text.substr(i), {}, Normalizer::Part::Fn::none, -1});
        break;
      }
      if (open > i) out.parts.push_back({text.substr(i, open - i), {}, Normalizer::Part::Fn::none, -1});
      size_t close = text.find('}', open);
      if (close == std::string::npos) {
        error = "unclosed '{' in field spec '" + text + "' for " + target;
        return false;
      }
      std::string inner = text.substr(open + 1, close - open - 1);
      Normalizer::Part p;
      if (!inner.empty() && inner[0] == '=') {
        if (inner == "=eventdata_xml") p.fn = Normalizer::Part::Fn::eventdata_xml;
        else if (inner == "=system_xml") p.fn = Normalizer::Part::Fn::system_xml;
        else {
          error = "unknown record function '" + inner + "' in spec for " + target;
          return false;
        }
        out.parts.push_back(std::move(p));
        i = close + 1;
        continue;
      }
      std::string fn;
      if (auto colon = inner.find(':'); colon != std::string::npos) {
        fn = inner.substr(colon + 1);
        inner = inner.substr(0, colon);
      }
      for (auto f : split(inner, '|')) p.fields.push_back(field_id(trim(f)));
      if (fn == "basename") p.fn = Normalizer::Part::Fn::basename;
      else if (fn == "lower") p.fn = Normalizer::Part::Fn::lower;
      else if (fn == "upper") p.fn = Normalizer::Part::Fn::upper;
      else if (fn == "regdata") p.fn = Normalizer::Part::Fn::regdata;
      else if (fn == "first_component") p.fn = Normalizer::Part::Fn::first_component;
      else if (fn == "all") {
        p.fn = Normalizer::Part::Fn::all;
        if (p.fields.size() != 1) {
          error = "all needs one field in spec for " + target;
          return false;
        }
      }
      else if (fn.rfind("nth=", 0) == 0) {
        p.fn = Normalizer::Part::Fn::nth;
        p.map = std::atoi(fn.c_str() + 4);
        if (p.map < 1 || p.fields.size() != 1) {
          error = "nth=N needs one field and N >= 1 in spec for " + target;
          return false;
        }
      } else if (fn.rfind("kv=", 0) == 0) {
        p.fn = Normalizer::Part::Fn::kv;
        p.literal = fn.substr(3);
      } else if (fn.rfind("map=", 0) == 0 || fn.rfind("strict_map=", 0) == 0) {
        const bool strict = fn[0] == 's';
        std::string name = fn.substr(strict ? 11 : 4);
        p.fn = strict ? Normalizer::Part::Fn::strict_map : Normalizer::Part::Fn::map;
        auto it = std::find(map_names.begin(), map_names.end(), name);
        if (it == map_names.end()) {
          error = "unknown value map '" + name + "' in spec for " + target;
          return false;
        }
        p.map = static_cast<int>(it - map_names.begin());
      } else if (!fn.empty()) {
        error = "unknown function '" + fn + "' in spec for " + target;
        return false;
      }
      out.parts.push_back(std::move(p));
      i = close + 1;
    }
    return true;
  }
};

void append_escaped(std::string& out, std::string_view v) {
  // Runs of plain text are appended whole: most values have nothing to escape.
  size_t from = 0;
  while (true) {
    size_t at = v.find_first_of("<>&'", from);
    out.append(v.data() + from, (at == std::string_view::npos ? v.size() : at) - from);
    if (at == std::string_view::npos) return;
    switch (v[at]) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      default: out += "&apos;"; break;
    }
    from = at + 1;
  }
}

// EventData_Xml as the add-on shows it: the <Data Name='…'> elements of <EventData>.
void append_eventdata_xml(const Record& r, std::string& out) {
  for (auto& f : r.data) {
    if (f.name == "Message") continue;  // RenderingInfo, not EventData
    out += "<Data Name='";
    append_escaped(out, f.name);
    out += "'>";
    append_escaped(out, f.value);
    out += "</Data>";
  }
}

// System_Props_Xml: the children of <System>, in Windows' element order.
void append_system_xml(const Record& r, std::string& out) {
  auto v = [&](std::string_view n) { return r.system_value(n); };
  out += "<Provider Name='";
  append_escaped(out, v(sys::Provider));
  out += "'";
  if (auto g = v(sys::ProviderGuid); !g.empty()) {
    out += " Guid='";
    append_escaped(out, g);
    out += "'";
  }
  out += "/>";
  auto elem = [&](std::string_view n) {
    if (!r.find_system(n)) return;
    out += '<';
    out += n;
    out += '>';
    append_escaped(out, v(n));
    out += "</";
    out += n;
    out += '>';
  };
  elem(sys::EventID), elem(sys::Version), elem(sys::Level), elem(sys::Task), elem(sys::Opcode), elem(sys::Keywords);
  out += "<TimeCreated SystemTime='";
  append_escaped(out, v(sys::TimeCreated));
  out += "'/>";
  elem(sys::EventRecordID);
  out += "<Correlation";
  if (auto a = v(sys::ActivityID); !a.empty()) {
    out += " ActivityID='";
    append_escaped(out, a);
    out += "'";
  }
  out += "/><Execution ProcessID='";
  append_escaped(out, v(sys::ProcessID));
  out += "' ThreadID='";
  append_escaped(out, v(sys::ThreadID));
  out += "'/>";
  elem(sys::Channel), elem(sys::Computer);
  if (auto u = v(sys::UserID); !u.empty()) {
    out += "<Security UserID='";
    append_escaped(out, u);
    out += "'/>";
  } else {
    out += "<Security/>";
  }
}

bool holds(const std::vector<Normalizer::Condition>& when, const Event& e) {
  for (auto& c : when) {
    std::string_view v;
    if (!e.get(c.field, v)) return false;
    if (std::none_of(c.values.begin(), c.values.end(), [&](const std::string& want) { return iequals(v, want); }))
      return false;
  }
  return true;
}

// `_time` as Splunk prints it: epoch seconds with up to 6 decimals. Into `buf` (any double in fixed
// notation fits 512), not a string: every event has one, and with its microseconds (17 characters)
// it is past a string's short buffer.
std::string_view format_number_time(double t, char (&buf)[512]) {
  auto r = std::to_chars(buf, buf + sizeof buf, t, std::chars_format::fixed, 6);  // as "%.6f", without the locale
  std::string_view s(buf, r.ec == std::errc() ? size_t(r.ptr - buf) : 0);
  while (!s.empty() && s.back() == '0') s.remove_suffix(1);
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  return s;
}

}  // namespace

// A `when:` map: field -> value or list of values (any of them, case-insensitively).
static std::vector<Normalizer::Condition> parse_when(const yaml::Node& when) {
  std::vector<Normalizer::Condition> out;
  for (auto c : when) {
    Normalizer::Condition cond{field_id(c.first.as<std::string>()), {}};
    if (c.second.IsSequence())
      for (auto v : c.second) cond.values.push_back(v.as<std::string>());
    else
      cond.values.push_back(c.second.as<std::string>());
    out.push_back(std::move(cond));
  }
  return out;
}

Result<Normalizer> Normalizer::load(const std::string& dir) {
  namespace fs = std::filesystem;
  Normalizer n;
  Loader L;
  std::vector<fs::path> files;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".yml") files.push_back(e.path());
  if (ec || files.empty()) return Error{"no normalization tables (*.yml) in " + dir, {dir}};
  std::sort(files.begin(), files.end());
  // Value maps first, from every file, so that a table may use a map another file defines.
  std::vector<yaml::Node> roots;
  for (auto& path : files) {
    try {
      roots.push_back(yaml::load_file(path.string()));
      if (auto vm = roots.back()["value_maps"]) {
        for (auto it : vm) {
          L.map_names.push_back(it.first.as<std::string>());
          auto& map = n.value_maps_.emplace_back();
          for (auto kv : it.second)  // the first of two keys that differ only in case wins
            map.emplace(to_lower(kv.first.as<std::string>()), kv.second.as<std::string>());
        }
      }
    } catch (const yaml::Exception& e) {
      return Error{e.msg, {path.string(), static_cast<uint32_t>(e.mark.line + 1), static_cast<uint32_t>(e.mark.column + 1)}};
    }
  }
  for (size_t fi = 0; fi < files.size(); ++fi) {
    const fs::path& path = files[fi];
    try {
      yaml::Node& root = roots[fi];
      for (auto rv : root["raw_views"]) {
        RawView v;
        for (auto f : rv["formats"]) v.formats.push_back(format_by_name(f.as<std::string>()));
        for (auto kv : rv["fields"]) {
          Spec s;
          if (!L.parse_spec(kv.first.as<std::string>(), kv.second.as<std::string>(), s))
            return Error{L.error, {path.string(), static_cast<uint32_t>(kv.second.Mark().line + 1)}};
          v.fields.push_back(std::move(s));
        }
        n.raw_views_.push_back(std::move(v));
      }
      for (auto rf : root["raw_fields"]) {
        RawFieldSet set;
        set.label = rf["label"].as<std::string>("");
        set.when = parse_when(rf["when"]);
        for (auto kv : rf["fields"]) {
          std::string target = kv.first.as<std::string>();
          std::vector<yaml::Node> values;
          if (kv.second.IsSequence())
            for (auto v : kv.second) values.push_back(v);
          else
            values.push_back(kv.second);
          for (size_t k = 0; k < values.size(); ++k) {
            Spec sp;
            if (!L.parse_spec(target, values[k].as<std::string>(), sp))
              return Error{L.error, {path.string(), static_cast<uint32_t>(values[k].Mark().line + 1)}};
            sp.append = k > 0;
            set.fields.push_back(std::move(sp));
          }
        }
        for (auto kv : rf["unavailable"]) set.unavailable.emplace_back(kv.first.as<std::string>(), kv.second.as<std::string>());
        n.raw_sets_.push_back(std::move(set));
      }
      for (auto ds : root["datasets"]) {
        std::string name = ds["name"].as<std::string>();
        std::string prefix = ds["prefix"].as<std::string>();
        int id = n.dataset_id(name);
        if (id < 0) {
          DatasetInfo fresh;
          fresh.name = name;
          fresh.prefix = prefix;
          n.datasets_.push_back(std::move(fresh));
          id = static_cast<int>(n.datasets_.size() - 1);
        }
        DatasetInfo& info = n.datasets_[id];
        for (auto a : ds["aliases"]) info.aliases.push_back(a.as<std::string>());
        for (auto src : ds["sources"]) {
          SourceMapping m;
          m.dataset = static_cast<DatasetId>(id);
          m.label = src["label"].as<std::string>("");
          info.source_labels.push_back(m.label);
          m.when = parse_when(src["when"]);
          for (auto kv : src["fields"]) {
            std::string f = kv.first.as<std::string>();
            if (std::find(info.fields.begin(), info.fields.end(), f) == info.fields.end()) info.fields.push_back(f);
            Spec s;
            if (!L.parse_spec(prefix.empty() ? f : prefix + "." + f, kv.second.as<std::string>(), s))
              return Error{L.error, {path.string(), static_cast<uint32_t>(kv.second.Mark().line + 1)}};
            m.fields.push_back(std::move(s));
          }
          // Fields the data model root defines (source, sourcetype, host): in the dataset's view,
          // under their own names, as tstats reads them (`values(source)`).
          for (auto kv : src["root_fields"]) {
            Spec s;
            if (!L.parse_spec(kv.first.as<std::string>(), kv.second.as<std::string>(), s))
              return Error{L.error, {path.string(), static_cast<uint32_t>(kv.second.Mark().line + 1)}};
            m.fields.push_back(std::move(s));
          }
          n.mappings_.push_back(std::move(m));
        }
      }
    } catch (const yaml::Exception& e) {
      return Error{e.msg, {path.string(), static_cast<uint32_t>(e.mark.line + 1), static_cast<uint32_t>(e.mark.column + 1)}};
    }
  }
  n.time_created_ = field_id(sys::TimeCreated);
  // Splunk's default fields that the raw views set (Event::Field::metadata).
  for (auto& v : n.raw_views_)
    for (auto& spec : v.fields) spec.metadata = is_metadata_field(field_names().name(spec.target));
  n.event_id_ = field_id(sys::EventID);
  n.sets_by_id_ = index_by_event_id(n.raw_sets_, n.event_id_);
  n.mappings_by_id_ = index_by_event_id(n.mappings_, n.event_id_);
  return n;
}

namespace {
// `a` (lower case) before `b` (any case), comparing ASCII letters without case.
bool lower_less(std::string_view a, std::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    const char x = a[i], y = ascii_lower(b[i]);
    if (x != y) return static_cast<unsigned char>(x) < static_cast<unsigned char>(y);
  }
  return a.size() < b.size();
}
}  // namespace

// Each entry with an EventID condition is listed under each id it names, one without under every
// id and in `generic`, in file order (the order entries add fields and datasets). An event then
// tries its id's list; the full condition is still checked.
template <class Entry>
Normalizer::ByEventId Normalizer::index_by_event_id(const std::vector<Entry>& entries, Symbol event_id) {
  ByEventId x;
  // An entry that sets EventID itself (a dataset without prefix extends the raw view) could make
  // a later one's condition hold: then every event tries every entry, as with no index.
  for (auto& en : entries)
    for (auto& f : en.fields)
      if (f.target == event_id) {
        for (uint32_t i = 0; i < entries.size(); ++i) x.generic.push_back(i);
        return x;
      }
  std::vector<std::string> ids;
  for (auto& en : entries)
    for (auto& c : en.when)
      if (c.field == event_id)
        for (auto& v : c.values) ids.push_back(to_lower(v));  // conditions ignore case
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  for (auto& id : ids) x.ids.push_back({id, {}});
  for (uint32_t i = 0; i < entries.size(); ++i) {
    const Condition* eid = nullptr;  // (a second EventID condition must hold too: one is enough)
    for (auto& c : entries[i].when)
      if (c.field == event_id) eid = &c;
    if (!eid) x.generic.push_back(i);
    for (auto& entry : x.ids)  // not a structured binding: clang 14 (the fuzz build) cannot capture one
      if (!eid || std::any_of(eid->values.begin(), eid->values.end(), [&](auto& v) { return iequals(v, entry.first); }))
        entry.second.push_back(i);
  }
  return x;
}

const std::vector<uint32_t>& Normalizer::ByEventId::lookup(const Event& e, Symbol event_id) const {
  std::string_view eid;
  if (ids.empty() || !e.get(event_id, eid)) return generic;
  auto it = std::lower_bound(ids.begin(), ids.end(), eid, [](const auto& a, std::string_view b) {
    return lower_less(a.first, b);
  });
  return it != ids.end() && iequals(it->first, eid) ? it->second : generic;
}

bool Normalizer::set_may_hold(const RawFieldSet& set, std::string_view channel, std::string_view event_id) const {
  static const Symbol channel_sym = field_id(sys::Channel);
  for (auto& c : set.when) {
    std::string_view have = c.field == event_id_ ? event_id : c.field == channel_sym ? channel : std::string_view();
    if (have.empty()) continue;  // a condition on a field the caller does not know may hold
    bool any = false;
    for (auto& v : c.values) any |= iequals(v, have);
    if (!any) return false;
  }
  return true;
}

std::vector<std::string> Normalizer::mapped_raw_fields(std::string_view channel, std::string_view event_id) const {
  std::vector<std::string> out;
  auto add = [&](Symbol s) {
    std::string n(field_names().name(s));
    if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(std::move(n));
  };
  add(field_id("_time"));
  for (auto& v : raw_views_) {
    if (std::find(v.formats.begin(), v.formats.end(), LogFormat::evtx) == v.formats.end()) continue;
    for (auto& s : v.fields) add(s.target);
  }
  for (auto& set : raw_sets_)
    if (set_may_hold(set, channel, event_id))
      for (auto& s : set.fields) add(s.target);
  for (auto& m : mappings_) {
    if (!datasets_[m.dataset].prefix.empty()) continue;
    RawFieldSet probe{m.label, m.when, {}, {}};
    if (set_may_hold(probe, channel, event_id))
      for (auto& s : m.fields) add(s.target);
  }
  return out;
}

std::vector<std::string> Normalizer::mapped_raw_inputs(std::string_view channel, std::string_view event_id) const {
  std::vector<std::string> out;
  for (auto& set : raw_sets_) {
    bool specific = false;  // only entries tied to this event code name its own fields
    for (auto& c : set.when) specific |= c.field == event_id_;
    if (!specific || !set_may_hold(set, channel, event_id)) continue;
    bool classic = false;  // entries for classic text read the message labels, not the event's XML names
    for (auto& c : set.when) classic |= field_names().name(c.field) == "sourcetype";
    if (classic) continue;
    for (auto& sp : set.fields)
      for (auto& p : sp.parts)
        for (Symbol f : p.fields) {
          std::string n(field_names().name(f));
          if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(std::move(n));
        }
  }
  return out;
}

std::string Normalizer::unavailable_reason(std::string_view channel, std::string_view event_id,
                                           std::string_view field) const {
  for (auto& set : raw_sets_)
    if (set_may_hold(set, channel, event_id))
      for (auto& [f, why] : set.unavailable)
        if (f == field) return why;
  return {};
}

int Normalizer::dataset_id(std::string_view name) const {
  for (size_t i = 0; i < datasets_.size(); ++i)
    if (datasets_[i].name == name) return static_cast<int>(i);
  for (size_t i = 0; i < datasets_.size(); ++i)
    for (auto& a : datasets_[i].aliases)
      if (a == name) return static_cast<int>(i);
  return -1;
}

const std::string* Normalizer::map_value(uint32_t map, std::string_view v) const {
  const auto& values = value_maps_[map];
  thread_local std::string key;
  key.assign(v);
  for (auto& c : key) c = ascii_lower(c);
  auto it = values.find(std::string_view(key));
  return it == values.end() ? nullptr : &it->second;
}

bool Normalizer::apply(const Spec& s, Event& e, uint16_t view) const {
  // Fast path: one placeholder, no literal -> a view (or sub-view) of the source value.
  auto resolve = [&](const Part& p, std::string_view& v) {
    for (Symbol f : p.fields)
      if (e.get(f, v)) return true;
    return false;
  };
  if (s.parts.size() == 1 && (!s.parts[0].fields.empty() || s.parts[0].fn == Part::Fn::none)) {
    const Part& p = s.parts[0];
    if (p.fields.empty() && p.fn == Part::Fn::none) {
      e.add(s.target, p.literal, view);  // literal lives in the Normalizer
      return true;
    }
    if (p.fn == Part::Fn::none) {
      for (Symbol f : p.fields)
        if (const Event::Field* from = e.first(f)) {
          e.add_copy(s.target, from->value, view, *from);
          return true;
        }
      return false;
    }
    std::string_view v;
    if (!resolve(p, v)) return false;
    switch (p.fn) {
      case Part::Fn::basename: e.add(s.target, path_basename(v), view); return true;
      default: break;
    }
  }
  if (s.parts.size() == 1 && s.parts[0].fn == Part::Fn::eventdata_xml) {
    e.add_deferred(s.target, view, &append_eventdata_xml);
    return true;
  }
  if (s.parts.size() == 1 && s.parts[0].fn == Part::Fn::system_xml) {
    e.add_deferred(s.target, view, &append_system_xml);
    return true;
  }
  if (s.parts.size() == 1 && s.parts[0].fn == Part::Fn::all) {
    // Every value of a multivalue field, in order (risk events: one value per tactic, story …).
    const Symbol from = s.parts[0].fields[0];
    bool any = false;
    const size_t n = e.fields().size();  // add() appends: index, never iterate, while adding
    for (size_t i = 0; i < n; ++i)
      if (e.fields()[i].name == from) {
        e.add_copy(s.target, e.fields()[i].value, view, e.fields()[i]);
        any = true;
      }
    return any;
  }
  if (s.parts.size() == 1 && s.parts[0].fn == Part::Fn::nth) {
    // The N-th value of a multivalue field (classic messages repeat labels: Subject, then Target).
    const Part& p = s.parts[0];
    int seen = 0;
    for (auto& f : e.fields())
      if (f.name == p.fields[0] && ++seen == p.map) {
        e.add_copy(s.target, f.value, view, f);
        return true;
      }
    return false;
  }
  std::string& out = e.scratch();
  for (const Part& p : s.parts) {
    if (p.fields.empty()) {
      if (p.fn == Part::Fn::eventdata_xml) append_eventdata_xml(e.record(), out);
      else if (p.fn == Part::Fn::system_xml) append_system_xml(e.record(), out);
      else out += p.literal;
      continue;
    }
    std::string_view v;
    if (!resolve(p, v)) return false;
    switch (p.fn) {
      case Part::Fn::none: out += v; break;
      case Part::Fn::basename: out += path_basename(v); break;
      case Part::Fn::lower: out += to_lower(v); break;
      case Part::Fn::upper: out += to_upper(v); break;
      case Part::Fn::regdata: {
        // Sysmon renders registry numbers as `DWORD (0x00000001)`; the TA keeps the hex.
        size_t open = v.find(" (0x");
        if (open != std::string_view::npos && v.back() == ')') out += v.substr(open + 2, v.size() - open - 3);
        else out += v;
        break;
      }
      case Part::Fn::first_component: out += v.substr(0, v.find_first_of("\\/")); break;
      case Part::Fn::kv: {
        // `SHA1=…,MD5=…,IMPHASH=…` (Sysmon Hashes): the value of one key, else absent.
        std::string_view val;
        bool found = false;
        for (size_t pos = 0; pos <= v.size() && !found;) {
          size_t comma = v.find(',', pos);
          if (comma == std::string_view::npos) comma = v.size();
          std::string_view item = trim(v.substr(pos, comma - pos));
          pos = comma + 1;
          size_t eq = item.find('=');
          if (eq != std::string_view::npos && iequals(item.substr(0, eq), p.literal)) {
            val = item.substr(eq + 1);
            found = true;
          }
        }
        if (!found) return false;
        out += val;
        break;
      }
      case Part::Fn::strict_map: {
        const std::string* to = map_value(uint32_t(p.map), v);
        if (!to) return false;  // no entry: the field stays absent rather than carrying the raw code
        out += *to;
        break;
      }
      case Part::Fn::eventdata_xml:
      case Part::Fn::system_xml:
      case Part::Fn::nth:
      case Part::Fn::all: break;
      case Part::Fn::map: {
        const std::string* to = map_value(uint32_t(p.map), v);
        out += to ? std::string_view(*to) : v;
        break;
      }
    }
  }
  e.add(s.target, out, view);
  return true;
}

void Normalizer::normalize(const Record& r, Event& e) const {
  e.reset(&r);
  for (auto& f : r.system) e.add(field_id(f.name), f.value, 0);
  for (auto& f : r.data) e.add(field_id(f.name), f.value, 0);
  std::string_view tc;
  if (e.get(time_created_, tc))
    if (auto t = parse_time(tc)) e.set_time(*t);
  static const Symbol time_sym = field_id("_time");
  if (e.has_time()) {
    char buf[512];
    e.add(time_sym, e.store(format_number_time(e.time(), buf)), 0);
  }
  for (auto& v : raw_views_) {
    if (std::find(v.formats.begin(), v.formats.end(), r.format) == v.formats.end()) continue;
    for (auto& s : v.fields)
      if (!e.has(s.target) && apply(s, e, 0) && s.metadata) e.mark_metadata();
  }
  if (!raw_sets_.empty()) {
    // The add-on's names: only the entries that can apply to this EventID.
    for (uint32_t i : sets_by_id_.lookup(e, event_id_)) {
      const RawFieldSet& set = raw_sets_[i];
      if (!holds(set.when, e)) continue;
      // A field present before this entry is kept as it is; a list value adds each of its
      // values in order (a multivalue field, as the add-on extracts Subject then Target).
      bool group_on = false;
      for (auto& sp : set.fields) {
        if (!sp.append) group_on = !e.has(sp.target);
        if (group_on) apply(sp, e, 0);
      }
    }
  }
  // The data model mappings, likewise (~20: each compared the event's Channel and EventID).
  for (uint32_t mi : mappings_by_id_.lookup(e, event_id_)) {
    const SourceMapping& m = mappings_[mi];
    bool ok = true;
    for (auto& c : m.when) {
      std::string_view v;
      if (!e.get(c.field, v)) {
        ok = false;
        break;
      }
      if (std::none_of(c.values.begin(), c.values.end(), [&](const std::string& want) { return iequals(v, want); })) {
        ok = false;
        break;
      }
    }
    if (!ok || e.in_dataset(m.dataset)) continue;
    e.add_dataset(m.dataset);
    // A dataset without prefix extends the raw view (view 0).
    uint16_t view = datasets_[m.dataset].prefix.empty() ? 0 : static_cast<uint16_t>(m.dataset + 1);
    for (auto& s : m.fields) apply(s, e, view);
  }
}

}  // namespace vigil
