#include "sigma/correlation.h"

#include <fmt/format.h>
#include "core/yaml.h"

#include <algorithm>
#include <set>
#include <unordered_map>

#include "core/strings.h"

namespace vigil::sigma {
namespace {

Error node_error(const yaml::Node& n, std::string msg) {
  Error e;
  e.message = std::move(msg);
  yaml::Mark m = n.Mark();
  if (m.line >= 0) {
    e.location.line = static_cast<uint32_t>(m.line + 1);
    e.location.column = static_cast<uint32_t>(m.column + 1);
  }
  return e;
}

bool compare(double v, CorrelationSpec::Cmp c, double t) {
  using C = CorrelationSpec::Cmp;
  switch (c) {
    case C::gt: return v > t;
    case C::gte: return v >= t;
    case C::lt: return v < t;
    case C::lte: return v <= t;
    case C::eq: return v == t;
    case C::neq: return v != t;
  }
  return false;
}

struct Ev {
  double time;
  size_t rule;        // 0-based index into spec.rules
  std::string value;  // value_count's field value
};

}  // namespace

const char* correlation_type_name(CorrelationSpec::Type t) {
  switch (t) {
    case CorrelationSpec::Type::event_count: return "event_count";
    case CorrelationSpec::Type::value_count: return "value_count";
    case CorrelationSpec::Type::temporal: return "temporal";
    case CorrelationSpec::Type::temporal_ordered: return "temporal_ordered";
  }
  return "?";
}

std::optional<double> parse_timespan(std::string_view s) {
  s = trim(s);
  if (s.size() < 2) return std::nullopt;
  long long n;
  if (!parse_int(s.substr(0, s.size() - 1), n) || n <= 0) return std::nullopt;
  switch (s.back()) {
    case 's': return double(n);
    case 'm': return double(n) * 60;
    case 'h': return double(n) * 3600;
    case 'd': return double(n) * 86400;
    case 'w': return double(n) * 7 * 86400;
    default: return std::nullopt;
  }
}

Result<CorrelationSpec> parse_correlation(const yaml::Node& node) {
  CorrelationSpec s;
  if (!node.IsMap()) return node_error(node, "`correlation` must be a map");
  const yaml::Node type = node["type"];
  if (!type || !type.IsScalar()) return node_error(node, "correlation needs a `type`");
  const std::string& t = type.Scalar();
  if (t == "event_count") s.type = CorrelationSpec::Type::event_count;
  else if (t == "value_count") s.type = CorrelationSpec::Type::value_count;
  else if (t == "temporal") s.type = CorrelationSpec::Type::temporal;
  else if (t == "temporal_ordered") s.type = CorrelationSpec::Type::temporal_ordered;
  else return node_error(type, fmt::format("unknown correlation type '{}'", t));

  const yaml::Node rules = node["rules"];
  if (rules && rules.IsSequence()) {
    for (auto r : rules)
      if (r.IsScalar()) s.rules.push_back(r.Scalar());
  } else if (rules && rules.IsScalar()) {
    s.rules.push_back(rules.Scalar());
  }
  if (s.rules.empty()) return node_error(node, "correlation needs `rules` (the referenced rules' ids or names)");

  const yaml::Node gb = node["group-by"];
  if (gb && gb.IsSequence()) {
    for (auto g : gb)
      if (g.IsScalar()) s.group_by.push_back(g.Scalar());
  } else if (gb && gb.IsScalar()) {
    s.group_by.push_back(gb.Scalar());
  }

  const yaml::Node al = node["aliases"];
  if (al && al.IsMap()) {
    for (auto a = al.begin(); a != al.end(); ++a) {
      if (!a->second.IsMap()) return node_error(a->second, "each alias maps rule references to field names");
      for (auto f = a->second.begin(); f != a->second.end(); ++f)
        s.aliases[a->first.Scalar()][f->first.Scalar()] = f->second.Scalar();
    }
  }

  yaml::Node ts = node["timespan"];
  if (!ts) ts = node["timeframe"];  // draft spelling
  if (!ts || !ts.IsScalar()) return node_error(node, "correlation needs a `timespan` (e.g. 5m)");
  auto span = parse_timespan(ts.Scalar());
  if (!span) return node_error(ts, fmt::format("bad timespan '{}' (expected e.g. 30s, 5m, 1h, 2d)", ts.Scalar()));
  s.timespan = *span;

  if (const yaml::Node gen = node["generate"]) {
    std::string g = gen.IsScalar() ? to_lower(gen.Scalar()) : "";
    if (g == "true" || g == "yes") s.generate = true;
    else if (g == "false" || g == "no") s.generate = false;
    else return node_error(gen, "correlation `generate` must be true or false");
  }

  const yaml::Node cond = node["condition"];
  if (cond) {
    if (!cond.IsMap()) return node_error(cond, "correlation `condition` must be a map such as {gte: 10}");
    for (auto c = cond.begin(); c != cond.end(); ++c) {
      std::string k = c->first.Scalar();
      if (k == "field") {
        s.field = c->second.Scalar();
        continue;
      }
      using C = CorrelationSpec::Cmp;
      if (k == "gt") s.cmp = C::gt;
      else if (k == "gte") s.cmp = C::gte;
      else if (k == "lt") s.cmp = C::lt;
      else if (k == "lte") s.cmp = C::lte;
      else if (k == "eq") s.cmp = C::eq;
      else if (k == "neq") s.cmp = C::neq;
      else return node_error(c->first, fmt::format("unknown correlation condition '{}'", k));
      if (!c->second.IsScalar() || !parse_number(c->second.Scalar(), s.threshold))
        return node_error(c->second, "correlation condition needs a number");
      s.has_condition = true;
    }
  }
  if ((s.type == CorrelationSpec::Type::event_count || s.type == CorrelationSpec::Type::value_count) &&
      !s.has_condition)
    return node_error(node, fmt::format("{} correlation needs a `condition`", t));
  if (s.type == CorrelationSpec::Type::value_count && s.field.empty())
    return node_error(cond ? cond : node, "value_count correlation needs `condition: {field: …}`");
  return s;
}

void CorrelationOperator::run(Table& rows, ir::ExecContext& ctx) {
  using T = CorrelationSpec::Type;
  const auto& s = spec_;
  // Field of a group-by name (or the counted field) in rule k's events, through aliases.
  auto field_for = [&](const std::string& name, size_t k) -> const std::string& {
    auto a = s.aliases.find(name);
    if (a != s.aliases.end()) {
      auto f = a->second.find(s.rules[k]);
      if (f != a->second.end()) return f->second;
    }
    return name;
  };

  std::map<std::vector<std::string>, std::vector<Ev>> groups;
  for (size_t k = 0; k < s.rules.size(); ++k) {
    Table events = ctx.stream_result(k + 1);
    for (const Row& r : events) {
      const Value* tv = r.get("_time");
      std::optional<double> t = tv ? tv->to_number() : std::nullopt;
      if (!t) continue;
      std::vector<std::string> key;
      bool complete = true;
      for (auto& g : s.group_by) {
        const Value* v = r.get(field_for(g, k));
        if (!v || v->is_null()) {
          complete = false;  // events without a group-by field do not correlate
          break;
        }
        key.push_back(v->to_string());
      }
      if (!complete) continue;
      Ev ev{*t, k, {}};
      if (s.type == T::value_count) {
        const Value* v = r.get(field_for(s.field, k));
        if (!v || v->is_null()) continue;
        ev.value = v->to_string();
      }
      groups[std::move(key)].push_back(std::move(ev));
    }
  }

  const size_t nrules = s.rules.size();
  for (auto& [key, evs] : groups) {
    std::stable_sort(evs.begin(), evs.end(), [](const Ev& a, const Ev& b) { return a.time < b.time; });
    for (size_t i = 0; i < evs.size(); ++i) {
      const double end = evs[i].time + s.timespan;
      size_t j = i;
      while (j < evs.size() && evs[j].time <= end) ++j;  // window = [i, j)
      bool hit = false;
      double measure = 0;
      size_t last = j - 1;
      if (s.type == T::event_count) {
        measure = double(j - i);
        hit = compare(measure, s.cmp, s.threshold);
      } else if (s.type == T::value_count) {
        std::set<std::string> distinct;
        for (size_t x = i; x < j; ++x) distinct.insert(evs[x].value);
        measure = double(distinct.size());
        hit = compare(measure, s.cmp, s.threshold);
      } else if (s.type == T::temporal) {
        std::vector<bool> seen(nrules, false);
        for (size_t x = i; x < j; ++x) seen[evs[x].rule] = true;
        measure = double(std::count(seen.begin(), seen.end(), true));
        hit = s.has_condition ? compare(measure, s.cmp, s.threshold) : measure == double(nrules);
      } else {
        // Ordered: the window starts at an event of the first rule; take each next rule greedily.
        if (evs[i].rule != 0) continue;
        size_t want = 1, x = i + 1;
        for (; x < j && want < nrules; ++x)
          if (evs[x].rule == want) {
            ++want;
            last = x;
          }
        if (nrules == 1) last = i;
        measure = double(want);
        hit = want == nrules;
      }
      if (!hit) continue;
      Row out;
      for (size_t g = 0; g < s.group_by.size(); ++g) out.set(s.group_by[g], Value(key[g]));
      out.set("_time", Value(evs[i].time));
      out.set("firstTime", Value(evs[i].time));
      out.set("lastTime", Value(evs[last].time));
      out.set("count", Value(double(j - i)));
      if (s.type == T::value_count) out.set("value_count", Value(measure));
      out.set("correlation_type", Value(correlation_type_name(s.type)));
      rows.push_back(std::move(out));
      break;  // one row per group
    }
  }
}

}  // namespace vigil::sigma
