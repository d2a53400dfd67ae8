#include "cli/field_hints.h"

#include <algorithm>
#include <cstdint>

#include "core/strings.h"
#include "engine/field_usage.h"
#include "match/compiled_atom.h"

namespace vigil::cli {

namespace {

std::string squash(const std::string& s) {
  std::string out;
  for (char c : s)
    if (c != '_' && c != '.' && c != ' ') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::string closest_field(const std::string& field, const std::vector<std::string>& candidates) {
  const std::string want = squash(field), lower = to_lower(field);
  std::string best;
  size_t best_score = SIZE_MAX;
  for (auto& c : candidates) {
    std::string sc = squash(c);
    size_t d = edit_distance(to_lower(c), lower);
    // Same letters once case and separators are ignored (Logon_type ~ Logon_Type, LogonType)
    // beats any typo; among those, the fewest edits wins.
    size_t score = sc == want ? d : (d <= 2 ? 100 + d : SIZE_MAX);
    if (score < best_score || (score == best_score && score != SIZE_MAX && c < best)) {
      best = c;
      best_score = score;
    }
  }
  return best;
}

std::vector<std::string> missing_field_hints(const ir::CompiledRule& rule, const ir::AtomTable& atoms,
                                             const Engine::FieldsSeen& seen) {
  std::vector<std::string> out;
  RuleFieldUsage use = analyze_field_usage(rule, atoms);
  std::vector<std::string> wanted;
  for (auto& r : use.reads)
    if (!is_internal_field(r.field) && r.field.find('*') == std::string::npos &&
        std::find(wanted.begin(), wanted.end(), r.field) == wanted.end())
      wanted.push_back(r.field);
  // `index=…` terms (Splunk habit: `index=wineventlog …`): local events are in `main` unless a
  // record names its own, so a term for another index selects nothing.
  // Each term is tested as the filter tests it (match::CompiledAtom: `index=win*` is a prefix).
  static const Symbol index_sym = field_id("index");
  struct IndexTerm {
    match::CompiledAtom test;
    std::string written;  // as an SPL term would write it
  };
  std::vector<IndexTerm> index_terms;
  for (auto& st : rule.plan.streams) {
    std::vector<ir::AtomId> ids;
    st.filter.collect_atoms(ids);
    for (ir::AtomId id : ids) {
      const ir::Atom& at = atoms.get(id);
      if (at.field != index_sym || at.kind == ir::AtomKind::exists || at.kind == ir::AtomKind::keyword ||
          ir::is_field_ref(at.kind) ||
          std::any_of(index_terms.begin(), index_terms.end(), [&](auto& t) { return t.test.atom() == at; }))
        continue;
      auto c = match::CompiledAtom::compile(at);
      if (!c) continue;
      const bool lead = at.kind == ir::AtomKind::contains || at.kind == ir::AtomKind::ends_with;
      const bool trail = at.kind == ir::AtomKind::contains || at.kind == ir::AtomKind::starts_with;
      index_terms.push_back({std::move(*c), (lead ? "*" : "") + at.value + (trail ? "*" : "")});
    }
  }
  if (wanted.empty() && index_terms.empty()) return out;
  std::vector<std::string> names;
  for (Symbol s = 0; s < seen.names.size(); ++s)
    if (seen.names[s]) names.emplace_back(field_names().name(s));
  for (auto& f : wanted) {
    Symbol s = field_names().find(f);
    if (s != kNoSymbol && s < seen.names.size() && seen.names[s]) continue;
    std::string hint = "no event has field " + f;
    if (auto near = closest_field(f, names); !near.empty()) hint += "; did you mean " + near + "?";
    out.push_back(std::move(hint));
  }
  for (auto& term : index_terms) {
    if (std::any_of(seen.indexes.begin(), seen.indexes.end(), [&](auto& i) { return term.test.test(i); })) continue;
    std::string in;
    for (auto& i : seen.indexes) in += (in.empty() ? "" : ", ") + i;
    out.push_back("no event is in index " + term.written +
                  (in.empty() ? std::string() : "; the events read are in index " + in) +
                  " (events from local logs are in main unless a record names its own)");
  }
  return out;
}

}  // namespace vigil::cli
