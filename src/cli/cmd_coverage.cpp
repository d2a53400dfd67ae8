// vigil coverage: which rules can run on these logs, which cannot and why.
//
// One pass over the logs records, per event source (channel + event code) and
// per CIM dataset, how many events there are and which fields ever occur.
// Each rule is then judged against the sources it reads (its ESCU data
// sources, else the EventCode/channel its filter requires, else every event):
//   runs               events of its source exist and every field it reads occurs;
//   runs, fields missing  events exist, some field it reads never occurs, but its
//                      filter can still match (the field is in an OR branch, a
//                      NOT, a BY clause or the message);
//   field never present   its filter cannot match without a field that never occurs;
//   no events          no event of any source it reads;
//   not executable / rejected   as lint says.
// Counts per data source and per ATT&CK tactic answer "what do my logs let me detect?".
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <unordered_map>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/strings.h"
#include "engine/field_usage.h"

namespace vigil::cli {

namespace {

struct CoverageArgs {
  Common common;
  std::vector<std::string> rules;
  std::vector<std::string> logs;
  std::string format = "table";
  bool all = false;
};

enum class Verdict : uint8_t { runs, runs_fields_missing, field_never_present, no_events, not_executable, rejected };
constexpr const char* kVerdictName[] = {"runs", "runs, fields missing", "field never present", "no events",
                                        "not executable", "rejected"};
constexpr const char* kVerdictKey[] = {"runs", "runs_fields_missing", "field_never_present", "no_events",
                                       "not_executable", "rejected"};

// Fields seen for one source, as a bitmap over field Symbols (dense, so per event only bit sets).
struct Seen {
  uint64_t events = 0;
  std::vector<uint8_t> has;
  void mark(Symbol s) {
    if (s >= has.size()) has.resize(std::max<size_t>(s + 1, has.size() * 2), 0);
    has[s] = 1;
  }
  bool contains(std::string_view f) const {
    Symbol s = field_names().find(f);
    return s != kNoSymbol && s < has.size() && has[s];
  }
};

struct RuleResult {
  const ir::CompiledRule* rule;
  Verdict verdict;
  std::vector<std::string> reasons;
  std::vector<std::string> sources;  ///< data source labels it reads
  uint64_t events = 0;               ///< events of those sources
  std::vector<std::string> tactics;
};

}  // namespace

static int run_coverage(CoverageArgs& a) {
  Summary summary("rules");
  Common& c = a.common;
  DiagnosticSink diags;
  configure_diagnostics(diags, c);
  Output out;
  if (!open_output(c, out)) return ended(diags, c, usage);
  if (a.format != "table" && a.format != "json") {
    std::fprintf(stderr, "error: coverage --format is table or json\n");
    return ended(diags, c, usage);
  }
  auto norm = load_normalizer(c, diags);
  if (!norm) return ended(diags, c, nothing_ran);
  RuleSet rs({c.content, data_dir(c), !c.allow_writes.empty(), cache_dir(c)});
  {
    // Per-rule problems are this verb's output; the loader's own diagnostics would repeat them.
    DiagnosticSink quiet(nullptr);
    rs.load(a.rules, quiet);
  }
  if (rs.rules().empty()) {
    std::fprintf(stderr, "error: no rules found in the --rules paths\n");
    return ended(diags, c, nothing_ran);
  }
  auto attack = load_attack(c, diags);
  const DataSourceCatalog catalog = DataSourceCatalog::load(find_content_root(a.rules, c.content), *norm);

  // ---- one pass over the logs
  std::unordered_map<std::string, Seen> by_key;  // "channel\x1f" + "event id"
  std::vector<Seen> by_dataset(norm->datasets().size());
  Seen all;
  // By raw-view sourcetype, for non-Windows data sources (few distinct values: a linear scan).
  std::vector<std::pair<std::string, Seen>> by_sourcetype;
  const Symbol sourcetype_sym = field_id("sourcetype");
  ReadStats stats;
  Event ev;
  std::string key;
  const Symbol channel_sym = field_id(sys::Channel), eid_sym = field_id(sys::EventID);
  read_inputs(a.logs, read_options(c), [&](const Record& r) {
    norm->normalize(r, ev);
    std::string_view ch, id;
    ev.get(channel_sym, ch);
    ev.get(eid_sym, id);
    key.assign(ch);
    key += '\x1f';
    key += id;
    auto it = by_key.find(key);
    if (it == by_key.end()) it = by_key.emplace(key, Seen{}).first;
    Seen& k = it->second;
    k.events++;
    all.events++;
    for (auto& f : ev.fields()) {
      if (f.view == 0) {
        k.mark(f.name);
        all.mark(f.name);
      } else {
        by_dataset[f.view - 1].mark(f.name);
      }
    }
    for (auto d : ev.datasets()) by_dataset[d].events++;
    std::string_view st;
    if (ev.get(sourcetype_sym, st)) {
      auto sit = std::find_if(by_sourcetype.begin(), by_sourcetype.end(), [&](auto& p) { return iequals(p.first, st); });
      if (sit == by_sourcetype.end()) sit = by_sourcetype.insert(by_sourcetype.end(), {std::string(st), Seen{}});
      sit->second.events++;
      for (auto& f : ev.fields())
        if (f.view == 0) sit->second.mark(f.name);
    }
  }, diags, stats);

  // Sources matching a key; an empty channel or event id matches any.
  auto matching = [&](const SourceKey& want, std::vector<const Seen*>& out) {
    for (auto& [k, seen] : by_key) {
      size_t sep = k.find('\x1f');
      std::string_view ch(k.data(), sep), id(k.data() + sep + 1, k.size() - sep - 1);
      if ((want.channel.empty() || iequals(want.channel, ch)) && (want.event_id.empty() || want.event_id == id))
        out.push_back(&seen);
    }
  };

  // ---- judge every rule
  std::vector<RuleResult> results;
  for (auto& r : rs.rules()) {
    RuleResult res{&r, Verdict::runs, {}, {}, 0, {}};
    for (auto& t : content::rule_techniques(attack.get(), r.info.mitre_attack, r.info.attack_tactics))
      for (auto& tac : t.tactics)
        if (std::find(res.tactics.begin(), res.tactics.end(), tac) == res.tactics.end()) res.tactics.push_back(tac);
    if (!r.parsed || !r.executable) {
      res.verdict = r.parsed ? Verdict::not_executable : Verdict::rejected;
      res.reasons = r.reasons;
      results.push_back(std::move(res));
      continue;
    }
    RuleFieldUsage use = analyze_field_usage(r, rs.atoms());
    bool any_stream = false;
    for (size_t k = 0; k < r.plan.streams.size(); ++k) {
      const ir::Stream& s = r.plan.streams[k];
      std::vector<const Seen*> seen;
      std::string label;
      if (s.source.kind == ir::Source::Kind::none) continue;
      if (s.source.kind == ir::Source::Kind::datamodel) {
        int d = norm->dataset_id(s.source.datamodel + "." + s.source.dataset);
        label = s.source.datamodel + "." + s.source.dataset;
        if (d >= 0) seen.push_back(&by_dataset[d]);
      } else {
        // ESCU data sources name exactly what a raw search reads: Windows event logs by channel
        // and event code, others by sourcetype. Otherwise the filter's EventCode/channel, else all.
        bool resolved = k == 0 && !r.info.data_sources.empty();
        std::vector<const DataSourceCatalog::Entry*> named;
        if (resolved)
          for (auto& n : r.info.data_sources) {
            const auto* e = catalog.find(n);
            if (!e) resolved = false;
            named.push_back(e);
          }
        if (resolved) {
          for (auto* e : named) {
            if (!e->key.channel.empty()) {
              matching(e->key, seen);
            } else {
              for (auto& [st, sn] : by_sourcetype)
                if (iequals(st, e->sourcetype)) seen.push_back(&sn);
            }
            label += (label.empty() ? "" : " or ") + e->name;
          }
        } else {
          auto keys = rule_sources(r, rs.atoms(), catalog);
          if (keys.empty()) {
            seen.push_back(&all);
            label = "any event";
          }
          for (auto& key : keys) {
            matching(key, seen);
            label += (label.empty() ? "" : " or ") + key.label();
          }
        }
      }
      any_stream = true;
      if (k == 0) res.sources.push_back(label);
      uint64_t events = 0;
      for (auto* sn : seen) events += sn->events;
      if (k == 0) res.events = events;
      if (events == 0) {
        res.verdict = std::max(res.verdict, Verdict::no_events);
        res.reasons.push_back("no events of " + label);
        continue;
      }
      std::set<std::string> missing;
      for (auto& rd : use.reads) {
        if (rd.stream != k || is_internal_field(rd.field)) continue;
        bool present = false;
        for (auto* sn : seen) present |= sn->contains(rd.field);
        if (!present) missing.insert(rd.field);
      }
      if (missing.empty()) continue;
      // Same rule as lint: only a filter that cannot match without the field stops the rule.
      const bool dead = !filter_can_match(s.filter, rs.atoms(), missing);
      for (auto& f : missing) {
        std::string where;
        for (auto& rd : use.reads)
          if (rd.stream == k && rd.field == f) where = rd.where;
        res.reasons.push_back("field " + f + " (" + where + ") never occurs in " + (label == "any event" ? std::string("any event") : "events of " + label));
      }
      res.verdict = std::max(res.verdict, dead ? Verdict::field_never_present : Verdict::runs_fields_missing);
    }
    if (!any_stream) res.reasons.push_back("reads no events (generating search)");
    results.push_back(std::move(res));
  }

  // ---- aggregate
  std::array<size_t, 6> totals{};
  struct Group {
    uint64_t events = 0;
    size_t rules = 0, can_run = 0;
  };
  std::map<std::string, Group> per_source, per_tactic;
  for (auto& res : results) {
    totals[static_cast<size_t>(res.verdict)]++;
    const bool ok = res.verdict <= Verdict::runs_fields_missing;
    for (auto& s : res.sources) {
      auto& g = per_source[s];
      g.rules++;
      g.can_run += ok;
      g.events = res.events;
    }
    for (auto& t : res.tactics) {
      auto& g = per_tactic[t];
      g.rules++;
      g.can_run += ok;
    }
  }
  // Tactics in matrix order, as ATT&CK lists them.
  std::vector<std::string> tactic_order;
  if (attack)
    for (auto& t : attack->tactics())
      if (per_tactic.count(t.name)) tactic_order.push_back(t.name);
  for (auto& [t, g] : per_tactic)
    if (std::find(tactic_order.begin(), tactic_order.end(), t) == tactic_order.end()) tactic_order.push_back(t);

  const size_t can_run = totals[0] + totals[1];
  if (a.format == "json") {
    std::string s = fmt::format("{{\"events\":{},\"rules\":{},\"can_run\":{},\"verdicts\":{{", all.events,
                                results.size(), can_run);
    for (size_t i = 0; i < totals.size(); ++i) s += fmt::format("{}\"{}\":{}", i ? "," : "", kVerdictKey[i], totals[i]);
    s += "},\"sources\":[";
    bool first = true;
    for (auto& [name, g] : per_source) {
      s += fmt::format("{}{{\"source\":{},\"events\":{},\"rules\":{},\"can_run\":{}}}", first ? "" : ",",
                       json_quote(name), g.events, g.rules, g.can_run);
      first = false;
    }
    s += "],\"tactics\":[";
    first = true;
    for (auto& t : tactic_order) {
      auto& g = per_tactic[t];
      s += fmt::format("{}{{\"tactic\":{},\"rules\":{},\"can_run\":{}}}", first ? "" : ",", json_quote(t), g.rules,
                       g.can_run);
      first = false;
    }
    s += "],\"rules\":[";
    first = true;
    for (auto& res : results) {
      s += std::string(first ? "" : ",") + "{\"id\":" + json_quote(res.rule->info.id) +
           ",\"name\":" + json_quote(res.rule->info.name) + ",\"file\":" + json_quote(res.rule->info.file) +
           ",\"verdict\":" + json_quote(kVerdictKey[static_cast<size_t>(res.verdict)]) +
           fmt::format(",\"events\":{}", res.events) + ",\"sources\":[";
      for (size_t i = 0; i < res.sources.size(); ++i) s += (i ? "," : "") + json_quote(res.sources[i]);
      s += "],\"reasons\":[";
      for (size_t i = 0; i < res.reasons.size(); ++i) s += (i ? "," : "") + json_quote(res.reasons[i]);
      s += "]}";
      first = false;
    }
    s += "]}\n";
    std::fputs(s.c_str(), out.file);
  } else {
    std::FILE* o = out.file;
    std::fprintf(o, "%zu rules over %llu events: %zu can run (%zu with fields that never occur), %zu cannot\n",
                 results.size(), static_cast<unsigned long long>(all.events), can_run, totals[1],
                 results.size() - can_run);
    for (size_t i = 2; i < totals.size(); ++i)
      if (totals[i]) std::fprintf(o, "  %-22s %6zu\n", kVerdictName[i], totals[i]);
    std::fprintf(o, "\n%-70s %9s %6s %8s\n", "data source", "events", "rules", "can run");
    // Sources with events first (largest first), then the ones the logs lack.
    std::vector<std::pair<std::string, Group>> src(per_source.begin(), per_source.end());
    std::stable_sort(src.begin(), src.end(), [](auto& x, auto& y) {
      if (x.second.events != y.second.events) return x.second.events > y.second.events;
      return x.second.rules > y.second.rules;
    });
    size_t shown = 0, hidden_rules = 0, hidden_sources = 0;
    for (auto& [name, g] : src) {
      if (!a.all && g.events == 0 && shown >= 25) {
        hidden_rules += g.rules;
        ++hidden_sources;
        continue;
      }
      std::fprintf(o, "%-70s %9llu %6zu %8zu\n", name.substr(0, 70).c_str(), static_cast<unsigned long long>(g.events),
                   g.rules, g.can_run);
      ++shown;
    }
    if (hidden_sources)
      std::fprintf(o, "%-70s %9d %6zu %8d\n",
                   fmt::format("({} more sources without events; --all lists them)", hidden_sources).c_str(), 0,
                   hidden_rules, 0);
    if (!tactic_order.empty()) {
      std::fprintf(o, "\n%-30s %6s %8s\n", "ATT&CK tactic", "rules", "can run");
      for (auto& t : tactic_order)
        std::fprintf(o, "%-30s %6zu %8zu\n", t.c_str(), per_tactic[t].rules, per_tactic[t].can_run);
    }
    bool header = false;
    for (auto& res : results) {
      const bool listed = a.all || res.verdict == Verdict::field_never_present ||
                          res.verdict == Verdict::runs_fields_missing;
      if (!listed) continue;
      if (!header) std::fprintf(o, "\n%s\n", a.all ? "rules:" : "rules held back or weakened by missing fields:");
      header = true;
      std::fprintf(o, "%s: %s: %s\n", kVerdictName[static_cast<size_t>(res.verdict)], res.rule->info.name.c_str(),
                   res.rule->info.file.c_str());
      for (auto& why : res.reasons) std::fprintf(o, "    %s\n", why.c_str());
    }
  }
  std::fflush(out.file);
  summary.print(c, &stats, all.events, nullptr, -1, diags);
  if (stats.records_read == 0 && stats.files == 0) return ended(diags, c, nothing_ran);
  if (c.strict && (stats.records_skipped || stats.files_skipped)) return rejected;
  return ok;
}

std::function<int()> register_coverage(CLI::App& app) {
  auto a = std::make_shared<CoverageArgs>();
  auto* sub = app.add_subcommand("coverage", "Which rules can run on these logs, which cannot and why");
  sub->footer(
      "Reads the logs once, then judges each rule against the event sources it reads:\n"
      "runs | runs, fields missing (a field it reads never occurs, its filter can still match) |\n"
      "field never present (its filter cannot match) | no events (of its sources) | not executable.\n"
      "Counts per data source and per ATT&CK tactic.\n"
      "Examples:\n"
      "  vigil coverage --rules security_content/detections/endpoint logs/\n"
      "  vigil coverage --format json --rules sigma/rules Security.evtx | jq .verdicts");
  sub->add_option("-r,--rules", a->rules, "rule files or directories (repeat for more)")->required()->allow_extra_args(false);
  sub->add_option("logs", a->logs, "log files, directories or archives ('-' = stdin)")->required();
  sub->add_option("--format", a->format, "table (default) or json");
  sub->add_flag("--all", a->all, "table: list every data source and every rule");
  CommonOptions co;
  co.strict = true;
  add_common(*sub, a->common, co);
  sub->add_option("--allow-writes", a->common.allow_writes, "let rules write lookups under DIR (refused otherwise)");
  sub->add_option("-o,--output", a->common.output, "write the report to FILE");
  return [a, sub]() { return sub->parsed() ? run_coverage(*a) : -1; };
}

}  // namespace vigil::cli
