#include "spl/subsearch.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "spl/operators.h"

namespace vigil::spl {

namespace {

// Commands whose output depends only on their input rows: safe and deterministic to run at load.
bool is_table_only(std::string_view name) {
  static constexpr std::array<std::string_view, 9> kOk = {"inputlookup", "rename", "table", "fields", "search",
                                                          "where",       "eval",   "dedup", "head"};
  for (auto n : kOk)
    if (n == name) return true;
  return false;
}

class LoadContext final : public ir::ExecContext {
 public:
  Table stream_result(size_t) override { return {}; }
};

std::optional<std::vector<FormatRow>> resolve(const Pipeline& p, const content::LookupRegistry* lookups,
                                              ir::AtomTable* atoms) {
  if (!lookups || p.commands.empty() || p.commands[0].name != "inputlookup") return std::nullopt;
  OperatorEnv env;
  env.atoms = atoms;
  env.lookups = lookups;
  env.allow_writes = false;  // no add_subsearch either: nested subsearches stay unresolved
  Table rows;
  LoadContext ctx;
  for (const Command& c : p.commands) {
    if (!is_table_only(c.name)) return std::nullopt;
    auto r = make_operator(c, env);
    if (!r.op) return std::nullopt;
    r.op->run(rows, ctx);
  }
  return format_rows(rows);
}

}  // namespace

std::optional<std::vector<FormatRow>> format_rows(const Table& rows) {
  std::vector<FormatRow> out;
  out.reserve(std::min(rows.size(), kSubsearchMaxResults));
  for (const Row& row : rows) {
    if (out.size() == kSubsearchMaxResults) break;
    FormatRow f;
    for (const auto& [name, value] : row.entries()) {
      // `search` and `query` paste their value as raw search text: not a field filter.
      if (name == "search" || name == "query") return std::nullopt;
      if (!name.empty() && name[0] == '_') continue;  // format ignores internal fields
      auto texts = value.all_texts();
      if (!texts.empty()) f.emplace_back(name, std::move(texts));
    }
    out.push_back(std::move(f));  // no fields: `( )`, which matches everything, as in Splunk
  }
  return out;
}

SubsearchResolver lookup_subsearch_resolver(const content::LookupRegistry* lookups, ir::AtomTable* atoms) {
  return [lookups, atoms](const Pipeline& p) { return resolve(p, lookups, atoms); };
}

}  // namespace vigil::spl
