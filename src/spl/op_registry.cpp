// Command name -> operator builder, plus helpers shared by the op_*.cpp files.
#include <array>

#include "core/strings.h"
#include "spl/operators.h"

namespace vigil::spl {

namespace ops {

OperatorResult error(std::string why) { return OperatorResult{nullptr, std::move(why)}; }

std::string opt(const std::map<std::string, std::string>& options, std::string_view key, std::string def) {
  for (auto& [k, v] : options)
    if (iequals(k, key)) return v;
  return def;
}

bool opt_true(const std::map<std::string, std::string>& options, std::string_view key) {
  auto v = opt(options, key);
  return iequals(v, "true") || iequals(v, "t") || v == "1";
}

bool field_glob(std::string_view pat, std::string_view name, std::vector<std::string_view>* caps) {
  // Backtracking over stars; patterns are short field names, so recursion depth is tiny.
  size_t star = pat.find('*');
  if (star == std::string_view::npos) return pat == name;
  if (name.substr(0, star) != pat.substr(0, star)) return false;
  std::string_view rest = pat.substr(star + 1);
  if (rest.find('*') == std::string_view::npos) {
    // The last star (`Processes.*`): it takes what lies between the prefix and the suffix.
    if (name.size() < star + rest.size() || name.substr(name.size() - rest.size()) != rest) return false;
    if (caps) caps->push_back(name.substr(star, name.size() - star - rest.size()));
    return true;
  }
  for (size_t take = 0; star + take <= name.size(); ++take) {
    size_t before = caps ? caps->size() : 0;
    if (caps) caps->push_back(name.substr(star, take));
    if (field_glob(rest, name.substr(star + take), caps)) return true;
    if (caps) caps->resize(before);
  }
  return false;
}

std::string glob_fill(std::string_view to, const std::vector<std::string_view>& caps) {
  std::string out;
  size_t k = 0;
  for (char c : to) {
    if (c == '*' && k < caps.size()) out.append(caps[k++]);
    else out += c;
  }
  return out;
}

std::string unquote_field(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s)
    if (c != '"') out += c;
  return out;
}

}  // namespace ops

namespace {

constexpr std::array<std::string_view, 12> kRefused = {"outputlookup", "map",     "sendemail", "script",
                                                       "collect",      "run",     "runshellscript", "outputcsv",
                                                       "delete",       "sendalert", "tscollect", "mcollect"};

bool is_refused(std::string_view n) {
  for (auto r : kRefused)
    if (r == n) return true;
  return false;
}

}  // namespace

OperatorResult make_operator(const Command& cmd, OperatorEnv& env) {
  using namespace ops;
  const std::string& n = cmd.name;
  if (is_refused(n)) {
    if (!env.allow_writes) return error("refused: writes/executes; enable with --allow-writes");
    if (n == "outputlookup")
      if (auto* g = std::get_if<GenericCmd>(&cmd.body)) return make_outputlookup(cmd, *g, env);
    return error("'" + n + "' is not implemented");
  }
  if (n == "iplocation") return error("unavailable: no local GeoIP database");

  return std::visit(
      [&](const auto& body) -> OperatorResult {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, SearchCmd>) return make_search(cmd, body, env);
        else if constexpr (std::is_same_v<T, WhereCmd>) return make_where(cmd, body);
        else if constexpr (std::is_same_v<T, EvalCmd>) return make_eval(cmd, body);
        else if constexpr (std::is_same_v<T, TstatsCmd>) return make_tstats_operator(body);
        else if constexpr (std::is_same_v<T, StatsCmd>) return make_stats(cmd, body);
        else if constexpr (std::is_same_v<T, RenameCmd>) return make_rename(cmd, body);
        else if constexpr (std::is_same_v<T, ConvertCmd>) return make_convert(cmd, body);
        else if constexpr (std::is_same_v<T, FieldsCmd>) return make_fields(cmd, body);
        else if constexpr (std::is_same_v<T, RexCmd>) return make_rex(cmd, body);
        else if constexpr (std::is_same_v<T, RegexCmd>) return make_regex(cmd, body);
        else if constexpr (std::is_same_v<T, LookupCmd>) return make_lookup(cmd, body, env);
        else if constexpr (std::is_same_v<T, JoinCmd>) return make_join(cmd, body, env);
        else if constexpr (std::is_same_v<T, AppendCmd>) return make_append(cmd, body, env);
        else if constexpr (std::is_same_v<T, BinCmd>) return make_bin(cmd, body);
        else if constexpr (std::is_same_v<T, DedupCmd>) return make_dedup(cmd, body);
        else if constexpr (std::is_same_v<T, FillnullCmd>) return make_fillnull(cmd, body);
        else if constexpr (std::is_same_v<T, ForeachCmd>) return make_foreach(cmd, body, env);
        else if constexpr (std::is_same_v<T, MvexpandCmd>) return make_mvexpand(cmd, body);
        else if constexpr (std::is_same_v<T, SortCmd>) return make_sort(cmd, body);
        else return make_generic(cmd, body, env);
      },
      cmd.body);
}

bool is_supported_command(std::string_view name) {
  static constexpr std::array<std::string_view, 42> kSupported = {
      "search",   "where",      "eval",       "stats",     "eventstats", "streamstats", "tstats",   "rename",
      "convert",  "table",      "fields",     "rex",       "regex",      "lookup",      "join",     "append",
      "appendpipe", "bucket",   "bin",        "discretize", "dedup",     "fillnull",    "foreach",  "mvexpand",
      "sort",     "inputlookup", "spath",     "makemv",    "xmlkv",      "addtotals",   "noop",
      "head",     "tail",       "reverse",    "uniq",      "nomv",     "replace",  "transaction", "top",
      "rare",     "chart",      "timechart"};
  for (auto s : kSupported)
    if (s == name) return true;
  return false;
}

}  // namespace vigil::spl
