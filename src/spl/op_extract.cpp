// Field extraction: rex (named groups, max_match, mode=sed), spath (JSON and
// XML), xmlkv (innermost `<tag>value</tag>` pairs).
#include <pugixml.hpp>
#include <simdjson.h>

#include <map>

#include "core/budget.h"
#include "core/regex.h"
#include "core/strings.h"
#include "spl/eval.h"
#include "spl/operators.h"

namespace vigil::spl::ops {

namespace {

constexpr size_t kMaxMatches = budget::kMaxValues;  // max_match=0 ("unlimited") still needs a bound on hostile input


// ---------------------------------------------------------------- rex
class RexOp final : public ir::Operator {
 public:
  RexOp(std::string field, Regex re, size_t max_match) : field_(std::move(field)), re_(std::move(re)), max_(max_match) {}
  std::string name() const override { return "rex"; }
  ir::OpShape shape() const override { return ir::OpShape::per_row; }
  bool reads(std::vector<std::string>& f) const override {
    f.push_back(field_);
    return true;
  }
  bool writes(std::vector<std::string>& f) const override {
    for (auto& n : re_.names()) f.push_back(n.first);
    return true;
  }
  void run(Table& rows, ir::ExecContext& ctx) override {
    const auto& names = re_.names();
    if (names.empty()) return;
    for (Row& r : rows) {
      const Value* v = r.get(field_);
      if (!v) continue;
      std::vector<std::vector<std::string>> got(names.size());
      size_t matches = 0;
      for (size_t i = 0; i < v->count() && matches < max_; ++i) {
        std::string text = v->text(i);
        size_t pos = 0;
        Regex::Match m;
        while (matches < max_ && pos <= text.size() && re_.find(text, pos, m)) {
          ++matches;
          for (size_t g = 0; g < names.size(); ++g) {
            auto& grp = m.groups[static_cast<size_t>(names[g].second)];
            if (grp.begin != SIZE_MAX) got[g].push_back(text.substr(grp.begin, grp.end - grp.begin));
          }
          pos = m.groups[0].end > m.groups[0].begin ? m.groups[0].end : m.groups[0].end + 1;
        }
      }
      if (matches == max_ && max_ == kMaxMatches)
        budget_exceeded(ctx, "rex max_match=0 stopped at " + std::to_string(kMaxMatches) + " matches");
      // Groups that captured nothing leave the field as it was (Splunk keeps prior values).
      for (size_t g = 0; g < names.size(); ++g)
        if (!got[g].empty()) r.set(names[g].first, Value::multi(std::move(got[g])));
    }
  }

 private:
  std::string field_;
  Regex re_;
  size_t max_;
};

class SedOp final : public ir::Operator {
 public:
  SedOp(std::string field, Regex re, std::string repl, bool global)
      : field_(std::move(field)), re_(std::move(re)), repl_(std::move(repl)), global_(global) {}
  std::string name() const override { return "rex"; }
  ir::OpShape shape() const override { return ir::OpShape::per_row; }
  bool reads(std::vector<std::string>& f) const override {
    f.push_back(field_);
    return true;
  }
  bool writes(std::vector<std::string>& f) const override {
    f.push_back(field_);
    return true;
  }
  void run(Table& rows, ir::ExecContext&) override {
    for (Row& r : rows) {
      const Value* v = r.get(field_);
      if (!v) continue;
      std::vector<std::string> out;
      for (size_t i = 0; i < v->count(); ++i) out.push_back(re_.replace(v->text(i), repl_, global_));
      r.set(field_, Value::multi(std::move(out)));
    }
  }

 private:
  std::string field_;
  Regex re_;
  std::string repl_;
  bool global_;
};

// `s/regex/replacement/flags` with any delimiter; backslash escapes the delimiter.
bool parse_sed(std::string_view s, std::string& re, std::string& repl, std::string& flags) {
  if (s.size() < 4 || s[0] != 's') return false;
  char d = s[1];
  std::string parts[3];
  size_t k = 0;
  for (size_t i = 2; i < s.size(); ++i) {
    if (k < 2 && s[i] == '\\' && i + 1 < s.size() && s[i + 1] == d) {
      parts[k] += d;
      ++i;
      continue;
    }
    if (s[i] == d && k < 2) {
      ++k;
      continue;
    }
    parts[k] += s[i];
  }
  if (k != 2) return false;
  re = parts[0];
  repl = parts[1];
  flags = parts[2];
  return true;
}

// ---------------------------------------------------------------- spath
using Fields = std::vector<std::pair<std::string, std::vector<std::string>>>;

void add_field(Fields& out, const std::string& name, std::string value) {
  for (auto& [n, vs] : out)
    if (n == name) {
      vs.push_back(std::move(value));
      return;
    }
  out.push_back({name, {std::move(value)}});
}

std::string json_scalar(simdjson::dom::element e) {
  using T = simdjson::dom::element_type;
  switch (e.type()) {
    case T::STRING: return std::string(std::string_view(e.get_string().value()));
    case T::INT64: return std::to_string(int64_t(e.get_int64().value()));
    case T::UINT64: return std::to_string(uint64_t(e.get_uint64().value()));
    case T::DOUBLE: return format_number(double(e.get_double().value()));
    case T::BOOL: return bool(e.get_bool().value()) ? "true" : "false";
    case T::NULL_VALUE: return "null";
    default: return simdjson::minify(e);
  }
}

void flatten_json(simdjson::dom::element e, const std::string& prefix, Fields& out, int depth) {
  using T = simdjson::dom::element_type;
  if (depth > 64) return;
  if (e.type() == T::OBJECT) {
    simdjson::dom::object obj = e.get_object().value();  // named: iterating a temporary result dangles
    for (auto [k, v] : obj)
      flatten_json(v, prefix.empty() ? std::string(k) : prefix + "." + std::string(k), out, depth + 1);
  } else if (e.type() == T::ARRAY) {
    simdjson::dom::array arr = e.get_array().value();
    for (auto v : arr) flatten_json(v, prefix + "{}", out, depth + 1);
  } else {
    add_field(out, prefix, json_scalar(e));
  }
}

// Walk `a.b{}.c` / `a{2}` (1-based index) through JSON, collecting every reached value.
void json_path(simdjson::dom::element e, const std::vector<std::string>& segs, size_t i, std::vector<std::string>& out,
               int depth) {
  using T = simdjson::dom::element_type;
  if (depth > 64) return;
  if (i == segs.size()) {
    out.push_back(json_scalar(e));
    return;
  }
  std::string seg = segs[i];
  std::string index;
  bool all = false;
  if (size_t b = seg.find('{'); b != std::string::npos && seg.back() == '}') {
    index = seg.substr(b + 1, seg.size() - b - 2);
    all = index.empty();
    seg = seg.substr(0, b);
  }
  simdjson::dom::element cur = e;
  if (!seg.empty()) {
    if (cur.type() != T::OBJECT) return;
    simdjson::dom::object obj = cur.get_object().value();
    auto child = obj[seg];
    if (child.error()) return;
    cur = child.value();
  }
  if (all || !index.empty()) {
    if (cur.type() != T::ARRAY) return;
    long long want = 0;
    if (!all && !parse_int(index, want)) return;
    long long k = 0;
    simdjson::dom::array arr = cur.get_array().value();
    for (auto v : arr) {
      ++k;
      if (all || k == want) json_path(v, segs, i + 1, out, depth + 1);
    }
    return;
  }
  json_path(cur, segs, i + 1, out, depth + 1);
}

void flatten_xml(const pugi::xml_node& n, const std::string& prefix, Fields& out, int depth) {
  if (depth > 64) return;
  for (auto a : n.attributes()) add_field(out, prefix + "{@" + a.name() + "}", a.value());
  bool has_child_elem = false;
  for (auto c : n.children())
    if (c.type() == pugi::node_element) {
      has_child_elem = true;
      flatten_xml(c, prefix + "." + c.name(), out, depth + 1);
    }
  if (!has_child_elem) {
    std::string text = n.text().get();
    if (!text.empty()) add_field(out, prefix, text);
  }
}

class SpathOp final : public ir::Operator {
 public:
  SpathOp(std::string input, std::string output, std::string path)
      : input_(std::move(input)), output_(std::move(output)), path_(std::move(path)) {
    for (auto s : split(path_, '.'))
      if (!s.empty()) segs_.emplace_back(s);
  }
  std::string name() const override { return "spath"; }
  void run(Table& rows, ir::ExecContext&) override {
    simdjson::dom::parser parser;
    for (Row& r : rows) {
      const Value* v = r.get(input_);
      if (!v || v->is_multi()) continue;
      std::string text = v->text();
      std::string_view t = trim(text);
      if (t.empty()) continue;
      if (t[0] == '{' || t[0] == '[') apply_json(r, parser, t);
      else if (t[0] == '<') apply_xml(r, t);
    }
  }

 private:
  void apply_json(Row& r, simdjson::dom::parser& parser, std::string_view t) {
    simdjson::padded_string ps(t);
    auto doc = parser.parse(ps);
    if (doc.error()) return;  // not JSON: leave the row as it is
    if (path_.empty()) {
      Fields f;
      flatten_json(doc.value(), "", f, 0);
      for (auto& [n, vs] : f) r.set(n, Value::multi(std::move(vs)));
      return;
    }
    std::vector<std::string> out;
    json_path(doc.value(), segs_, 0, out, 0);
    if (!out.empty()) r.set(output_.empty() ? path_ : output_, Value::multi(std::move(out)));
  }
  void apply_xml(Row& r, std::string_view t) {
    pugi::xml_document doc;
    if (!doc.load_buffer(t.data(), t.size(), pugi::parse_default, pugi::encoding_utf8)) return;
    Fields f;
    for (auto c : doc.children())
      if (c.type() == pugi::node_element) flatten_xml(c, c.name(), f, 0);
    if (path_.empty()) {
      for (auto& [n, vs] : f) r.set(n, Value::multi(std::move(vs)));
      return;
    }
    for (auto& [n, vs] : f)
      if (n == path_) r.set(output_.empty() ? path_ : output_, Value::multi(std::move(vs)));
  }
  std::string input_, output_, path_;
  std::vector<std::string> segs_;
};

// ---------------------------------------------------------------- xmlkv
class XmlkvOp final : public ir::Operator {
 public:
  explicit XmlkvOp(std::string field) : field_(std::move(field)) {}
  std::string name() const override { return "xmlkv"; }
  void run(Table& rows, ir::ExecContext&) override {
    for (Row& r : rows) {
      const Value* v = r.get(field_);
      if (!v) continue;
      std::string s = v->to_string();
      std::vector<std::pair<std::string, std::string>> found;
      // Innermost elements only: `<tag attrs>text</tag>` where text holds no '<'. First value wins.
      size_t pos = 0;
      while ((pos = s.find('<', pos)) != std::string::npos) {
        size_t name_b = pos + 1;
        size_t name_e = name_b;
        while (name_e < s.size() && (std::isalnum(static_cast<unsigned char>(s[name_e])) || s[name_e] == '_' ||
                                     s[name_e] == '-' || s[name_e] == ':' || s[name_e] == '.'))
          ++name_e;
        size_t gt = s.find('>', name_e);
        if (name_e == name_b || gt == std::string::npos || s[gt - 1] == '/') {
          pos = name_b;
          continue;
        }
        std::string tag = s.substr(name_b, name_e - name_b);
        size_t text_b = gt + 1;
        size_t lt = s.find('<', text_b);
        if (lt == std::string::npos) break;
        std::string close = "</" + tag + ">";
        if (s.compare(lt, close.size(), close) == 0) {
          bool dup = false;
          for (auto& [k, _] : found) dup = dup || k == tag;
          if (!dup) found.emplace_back(tag, s.substr(text_b, lt - text_b));
        }
        pos = lt;
      }
      for (auto& [k, val] : found) r.set(k, Value(val));
    }
  }

 private:
  std::string field_;
};

}  // namespace

OperatorResult make_rex(const Command&, const RexCmd& r) {
  std::string field = r.field.empty() ? std::string("_raw") : unquote_field(r.field);
  if (iequals(r.mode, "sed")) {
    std::string re, repl, flags;
    if (!parse_sed(r.regex, re, repl, flags)) return error("rex mode=sed: expected s/regex/replacement/[g]");
    auto cre = Regex::compile(re);
    if (!cre.ok()) return error("rex: " + cre.error().message);
    return ok<SedOp>(std::move(field), std::move(cre.value()), std::move(repl), flags.find('g') != std::string::npos);
  }
  if (!r.mode.empty()) return error("rex: unsupported mode '" + r.mode + "'");
  if (!r.offset_field.empty()) return error("rex offset_field is not supported");
  auto cre = Regex::compile(r.regex);
  if (!cre.ok()) return error("rex: " + cre.error().message);
  if (cre.value().names().empty()) return error("rex: the regular expression has no named group");
  size_t max = r.max_match <= 0 ? kMaxMatches : static_cast<size_t>(r.max_match);
  return ok<RexOp>(std::move(field), std::move(cre.value()), max);
}

OperatorResult make_spath(const Command&, const GenericCmd& g) {
  std::string path = opt(g.options, "path");
  if (path.empty() && !g.words.empty()) path = g.words[0];
  return ok<SpathOp>(unquote_field(opt(g.options, "input", "_raw")), unquote_field(opt(g.options, "output")), path);
}

OperatorResult make_xmlkv(const Command&, const GenericCmd& g) {
  std::string field = g.words.empty() ? std::string("_raw") : unquote_field(g.words[0]);
  if (auto f = opt(g.options, "field"); !f.empty()) field = unquote_field(f);
  return ok<XmlkvOp>(std::move(field));
}

}  // namespace vigil::spl::ops
