#include "normalize/normalizer.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "core/strings.h"
#include "core/time.h"

namespace vigil {

namespace {

LogFormat format_by_name(std::string_view n) {
  for (int i = 0; i <= static_cast<int>(LogFormat::json_crowdstrike); ++i)
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
      else if (fn.rfind("map=", 0) == 0) {
        p.fn = Normalizer::Part::Fn::map;
        auto it = std::find(map_names.begin(), map_names.end(), fn.substr(4));
        if (it == map_names.end()) {
          error = "unknown value map '" + fn.substr(4) + "' in spec for " + target;
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

// `_time` as Splunk prints it: epoch seconds with up to 6 decimals.
std::string format_number_time(double t) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.6f", t);
  std::string s(buf);
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

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
  for (auto& path : files) {
    try {
      YAML::Node root = YAML::LoadFile(path.string());
      if (auto vm = root["value_maps"]) {
        for (auto it : vm) {
          L.map_names.push_back(it.first.as<std::string>());
          std::vector<std::pair<std::string, std::string>> pairs;
          for (auto kv : it.second) pairs.emplace_back(kv.first.as<std::string>(), kv.second.as<std::string>());
          n.value_maps_.push_back(std::move(pairs));
        }
      }
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
      for (auto ds : root["datasets"]) {
        std::string name = ds["name"].as<std::string>();
        std::string prefix = ds["prefix"].as<std::string>();
        int id = n.dataset_id(name);
        if (id < 0) {
          n.datasets_.push_back({name, prefix, {}, {}});
          id = static_cast<int>(n.datasets_.size() - 1);
        }
        DatasetInfo& info = n.datasets_[id];
        for (auto a : ds["aliases"]) info.aliases.push_back(a.as<std::string>());
        for (auto src : ds["sources"]) {
          SourceMapping m;
          m.dataset = static_cast<DatasetId>(id);
          m.label = src["label"].as<std::string>("");
          info.source_labels.push_back(m.label);
          for (auto c : src["when"]) {
            Condition cond{field_id(c.first.as<std::string>()), {}};
            if (c.second.IsSequence())
              for (auto v : c.second) cond.values.push_back(v.as<std::string>());
            else
              cond.values.push_back(c.second.as<std::string>());
            m.when.push_back(std::move(cond));
          }
          for (auto kv : src["fields"]) {
            std::string f = kv.first.as<std::string>();
            if (std::find(info.fields.begin(), info.fields.end(), f) == info.fields.end()) info.fields.push_back(f);
            Spec s;
            if (!L.parse_spec(prefix.empty() ? f : prefix + "." + f, kv.second.as<std::string>(), s))
              return Error{L.error, {path.string(), static_cast<uint32_t>(kv.second.Mark().line + 1)}};
            m.fields.push_back(std::move(s));
          }
          n.mappings_.push_back(std::move(m));
        }
      }
    } catch (const YAML::Exception& e) {
      return Error{e.msg, {path.string(), static_cast<uint32_t>(e.mark.line + 1), static_cast<uint32_t>(e.mark.column + 1)}};
    }
  }
  n.time_created_ = field_id(sys::TimeCreated);
  return n;
}

int Normalizer::dataset_id(std::string_view name) const {
  for (size_t i = 0; i < datasets_.size(); ++i)
    if (datasets_[i].name == name) return static_cast<int>(i);
  for (size_t i = 0; i < datasets_.size(); ++i)
    for (auto& a : datasets_[i].aliases)
      if (a == name) return static_cast<int>(i);
  return -1;
}

bool Normalizer::apply(const Spec& s, Event& e, uint16_t view) const {
  // Fast path: one placeholder, no literal -> a view (or sub-view) of the source value.
  auto resolve = [&](const Part& p, std::string_view& v) {
    for (Symbol f : p.fields)
      if (e.get(f, v)) return true;
    return false;
  };
  if (s.parts.size() == 1) {
    const Part& p = s.parts[0];
    if (p.fields.empty()) {
      e.add(s.target, p.literal, view);  // literal lives in the Normalizer
      return true;
    }
    std::string_view v;
    if (!resolve(p, v)) return false;
    switch (p.fn) {
      case Part::Fn::none: e.add(s.target, v, view); return true;
      case Part::Fn::basename: e.add(s.target, path_basename(v), view); return true;
      default: break;
    }
  }
  std::string out;
  for (const Part& p : s.parts) {
    if (p.fields.empty()) {
      out += p.literal;
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
      case Part::Fn::map: {
        bool found = false;
        for (auto& [from, to] : value_maps_[p.map])
          if (iequals(from, v)) {
            out += to;
            found = true;
            break;
          }
        if (!found) out += v;
        break;
      }
    }
  }
  e.add(s.target, e.store(out), view);
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
  if (e.has_time()) e.add(time_sym, e.store(format_number_time(e.time())), 0);
  for (auto& v : raw_views_) {
    if (std::find(v.formats.begin(), v.formats.end(), r.format) == v.formats.end()) continue;
    for (auto& s : v.fields)
      if (!e.has(s.target)) apply(s, e, 0);
  }
  for (auto& m : mappings_) {
    bool ok = true;
    for (auto& c : m.when) {
      std::string_view v;
      if (!e.get(c.field, v)) {
        ok = false;
        break;
      }
      bool any = false;
      for (auto& want : c.values) any |= iequals(v, want);
      if (!any) {
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
