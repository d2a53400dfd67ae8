// Commands combining result sets: join, append (subsearch streams of the same
// plan, read through ExecContext::stream_result) and appendpipe (a sub-pipeline
// run over a copy of the current rows).
#include <unordered_map>
#include <unordered_set>

#include "core/strings.h"
#include "spl/operators.h"

namespace vigil::spl::ops {

namespace {


class JoinOp final : public ir::Operator {
 public:
  JoinOp(size_t stream, std::vector<std::string> fields, bool left, size_t max, bool overwrite)
      : stream_(stream), fields_(std::move(fields)), left_(left), max_(max), overwrite_(overwrite) {}
  std::string name() const override { return "join"; }
  // An inner join keeps only rows with a partner (a left join keeps them all).
  std::optional<size_t> empty_with_stream() const override {
    return left_ ? std::nullopt : std::optional<size_t>(stream_);
  }
  void run(Table& rows, ir::ExecContext& ctx) override {
    // No row to join: the output is empty, inner or left, whatever the right side holds (ESCU's
    // `tstats … Filesystem … | join process_guid [tstats … Processes …]` with no file event matched
    // would make a row per process to join none of them).
    if (rows.empty()) return ctx.skip_stream(stream_);
    Table right = ctx.stream_result(stream_);
    std::vector<std::string> fields = fields_;
    if (fields.empty()) fields = common_fields(rows, right);
    std::unordered_map<std::string, std::vector<size_t>> index;
    std::string key;
    for (size_t i = 0; i < right.size(); ++i)
      if (make_key(right[i], fields, key)) index[key].push_back(i);
    Table out;
    out.reserve(rows.size());
    for (Row& l : rows) {
      const std::vector<size_t>* hits = nullptr;
      if (!fields.empty() && make_key(l, fields, key))
        if (auto it = index.find(key); it != index.end()) hits = &it->second;
      if (!hits) {
        if (left_) out.push_back(std::move(l));
        continue;
      }
      size_t n = max_ ? std::min(max_, hits->size()) : hits->size();
      for (size_t k = 0; k < n; ++k) {
        Row merged = (k + 1 == n) ? std::move(l) : l;
        for (auto& [f, v] : right[(*hits)[k]].entries())
          if (overwrite_ || !merged.has(f)) merged.set(f, v);
        out.push_back(std::move(merged));
      }
    }
    rows = std::move(out);
  }

 private:
  static bool make_key(const Row& r, const std::vector<std::string>& fields, std::string& key) {
    key.clear();
    for (auto& f : fields) {
      const Value* v = r.get(f);
      if (!v) return false;  // a row without a join field matches nothing
      key += v->to_string();
      key += '\x1f';
    }
    return true;
  }
  static std::vector<std::string> common_fields(const Table& a, const Table& b) {
    std::unordered_set<std::string> in_b;
    for (auto& r : b)
      for (auto& e : r.entries()) in_b.insert(e.first);
    std::vector<std::string> out;
    std::unordered_set<std::string> seen;
    for (auto& r : a)
      for (auto& e : r.entries())
        if (in_b.count(e.first) && seen.insert(e.first).second) out.push_back(e.first);
    return out;
  }
  size_t stream_;
  std::vector<std::string> fields_;
  bool left_;
  size_t max_;
  bool overwrite_;
};

class AppendOp final : public ir::Operator {
 public:
  explicit AppendOp(size_t stream) : stream_(stream) {}
  std::string name() const override { return "append"; }
  void run(Table& rows, ir::ExecContext& ctx) override {
    Table more = ctx.stream_result(stream_);
    for (auto& r : more) rows.push_back(std::move(r));
  }

 private:
  size_t stream_;
};

class AppendpipeOp final : public ir::Operator {
 public:
  explicit AppendpipeOp(std::vector<std::unique_ptr<ir::Operator>> ops) : ops_(std::move(ops)) {}
  std::string name() const override { return "appendpipe"; }
  void run(Table& rows, ir::ExecContext& ctx) override {
    Table sub = rows;
    for (auto& op : ops_) op->run(sub, ctx);
    for (auto& r : sub) rows.push_back(std::move(r));
  }

 private:
  std::vector<std::unique_ptr<ir::Operator>> ops_;
};



}  // namespace

OperatorResult make_join(const Command&, const JoinCmd& j, OperatorEnv& env) {
  if (!j.subsearch) return error("join needs a [subsearch]");
  std::string type = to_lower(opt(j.options, "type", "inner"));
  if (type != "inner" && type != "left" && type != "outer") return error("join: unknown type '" + type + "'");
  long long max = 1;  // Splunk's join default (documented for selfjoin; spl.md §5)
  if (auto m = opt(j.options, "max"); !m.empty() && (!parse_int(m, max) || max < 0))
    return error("join: bad max '" + m + "'");
  std::string why;
  auto k = compile_subsearch(*j.subsearch, env, why);
  if (!k) return error(why);
  std::vector<std::string> fields;
  for (auto& f : j.fields) fields.push_back(unquote_field(f));
  bool overwrite = opt(j.options, "overwrite").empty() || opt_true(j.options, "overwrite");
  return ok<JoinOp>(*k, std::move(fields), type != "inner", static_cast<size_t>(max), overwrite);
}

OperatorResult make_append(const Command& c, const AppendCmd& a, OperatorEnv& env) {
  if (!a.subsearch) return error(c.name + " needs a [subsearch]");
  if (c.name == "appendpipe") {
    std::vector<std::unique_ptr<ir::Operator>> ops;
    for (auto& sc : a.subsearch->commands) {
      auto r = make_operator(sc, env);
      if (!r.op) return error("appendpipe: " + sc.name + ": " + r.error);
      ops.push_back(std::move(r.op));
    }
    return ok<AppendpipeOp>(std::move(ops));
  }
  std::string why;
  auto k = compile_subsearch(*a.subsearch, env, why);
  if (!k) return error(why);
  return ok<AppendOp>(*k);
}

std::optional<size_t> compile_subsearch(const Pipeline& p, OperatorEnv& env, std::string& why) {
  if (!env.add_subsearch) {
    why = "subsearches are not available here";
    return std::nullopt;
  }
  std::string err;
  auto k = env.add_subsearch(p, &err);
  if (!k || !err.empty()) {
    why = "subsearch: " + (err.empty() ? std::string("cannot be compiled") : err);
    return std::nullopt;
  }
  return k;
}

}  // namespace vigil::spl::ops
