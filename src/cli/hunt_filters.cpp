#include "cli/hunt_filters.h"

#include <cstdio>
#include <fstream>

#include <fmt/format.h>

#include "core/strings.h"
#include "core/time.h"
#include "core/wildcard.h"

namespace vigil::cli {

void HuntFilters::add_options(CLI::App& app) {
  auto* g = "Filters";
  app.add_option("--min-level", min_level,
                 "only rules of this level or above: informational, low, medium, high, critical "
                 "(ESCU rules: level from risk score, 80+ critical, 60+ high, 40+ medium, 20+ low)")
      ->check(CLI::IsMember({"informational", "low", "medium", "high", "critical"}))
      ->group(g);
  app.add_option("--min-risk", min_risk, "only rules whose risk score is at least N (0-100)")->group(g);
  app.add_option("--from", from, "only findings with events at or after TIME (ISO-8601 or epoch seconds)")->group(g);
  app.add_option("--to", to, "only findings with events at or before TIME (ISO-8601 or epoch seconds)")->group(g);
  app.add_option("--include-rule", include_rules,
                 "run only rules matching: id, ATT&CK technique (T1059), tag or story, or name glob (repeatable)")
      ->allow_extra_args(false)
      ->group(g);
  app.add_option("--exclude-rule", exclude_rules, "skip rules matching (same forms as --include-rule; repeatable)")
      ->allow_extra_args(false)
      ->group(g);
  app.add_option("--exclude-status", exclude_status,
                 "skip rules with this status: deprecated, experimental, test, unsupported, … (repeatable)")
      ->allow_extra_args(false)
      ->group(g);
  app.add_option("--noisy-rules", noisy_rules, "skip the rules listed in FILE (one id, technique, tag or name glob "
                                               "per line; # comments)")
      ->group(g);
}

static bool parse_when(const std::string& text, const char* flag, std::optional<double>& out) {
  if (text.empty()) return true;
  double n;
  if (parse_number(text, n)) {
    out = n;
    return true;
  }
  if (auto t = parse_time(text)) {
    out = *t;
    return true;
  }
  // A date alone is its midnight (UTC).
  if (auto t = parse_time(text + "T00:00:00Z")) {
    out = *t;
    return true;
  }
  std::fprintf(stderr, "error: %s takes ISO-8601 or epoch seconds, got '%s'\n", flag, text.c_str());
  return false;
}

bool HuntFilters::prepare() {
  if (!parse_when(from, "--from", from_) || !parse_when(to, "--to", to_)) return false;
  if (to_ && !to.empty() && to.size() == 10 && to[4] == '-') *to_ += 86399.999999;  // --to DATE: the whole day
  if (from_ && to_ && *from_ > *to_) {
    std::fprintf(stderr, "error: --from %s is after --to %s\n", from.c_str(), to.c_str());
    return false;
  }
  if (!noisy_rules.empty()) {
    std::ifstream in(noisy_rules);
    if (!in) {
      std::fprintf(stderr, "error: cannot read --noisy-rules %s\n", noisy_rules.c_str());
      return false;
    }
    for (std::string line; std::getline(in, line);) {
      if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
      std::string t(trim(line));
      if (!t.empty()) noisy_.push_back(std::move(t));
    }
  }
  return true;
}

bool HuntFilters::active() const {
  return !min_level.empty() || min_risk >= 0 || from_ || to_ || !include_rules.empty() || !exclude_rules.empty() ||
         !exclude_status.empty() || !noisy_.empty();
}

static bool technique_id(std::string_view p) {
  if (p.size() < 5 || (p[0] != 'T' && p[0] != 't')) return false;
  for (size_t i = 1; i < p.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(p[i])) && p[i] != '.') return false;
  return true;
}

bool rule_matches(const ir::RuleInfo& r, const std::string& p) {
  if (p.empty()) return false;
  if (!r.id.empty() && iequals(r.id, p)) return true;
  if (technique_id(p)) {
    for (auto& t : r.mitre_attack)
      if (iequals(t, p) || (t.size() > p.size() && iequals(t.substr(0, p.size()), p) && t[p.size()] == '.'))
        return true;
    return false;
  }
  for (auto& t : r.tags)
    if (iequals(t, p)) return true;
  for (auto& s : r.stories)
    if (iequals(s, p)) return true;
  return WildcardPattern(p, WildcardPattern::Syntax::sigma, true).matches(r.name);
}

bool HuntFilters::rule_selected(const ir::RuleInfo& r) const {
  if (!include_rules.empty()) {
    bool any = false;
    for (auto& p : include_rules) any = any || rule_matches(r, p);
    if (!any) return false;
  }
  for (auto& p : exclude_rules)
    if (rule_matches(r, p)) return false;
  for (auto& p : noisy_)
    if (rule_matches(r, p)) return false;
  for (auto& s : exclude_status)
    if (!r.status.empty() && iequals(r.status, s)) return false;
  if (!min_level.empty() &&
      report::level_rank(report::effective_level(r.level, r.risk_score)) < report::level_rank(min_level))
    return false;
  if (min_risk >= 0 && r.risk_score < min_risk) return false;
  return true;
}

bool HuntFilters::finding_selected(const report::FindingView& f) const {
  if (!from_ && !to_) return true;
  auto first = parse_time(f.first_time), last = parse_time(f.last_time);
  if (!first && !last) return false;
  if (!first) first = last;
  if (!last) last = first;
  if (from_ && *last < *from_) return false;
  if (to_ && *first > *to_) return false;
  return true;
}

std::string HuntFilters::describe() const {
  std::string s;
  auto add = [&](const std::string& part) { s += (s.empty() ? "" : ", ") + part; };
  if (!min_level.empty()) add("level >= " + min_level);
  if (min_risk >= 0) add(fmt::format("risk >= {}", min_risk));
  if (!include_rules.empty()) add(fmt::format("{} include pattern(s)", include_rules.size()));
  if (!exclude_rules.empty()) add(fmt::format("{} exclude pattern(s)", exclude_rules.size()));
  if (!noisy_.empty()) add(fmt::format("{} noisy rule pattern(s)", noisy_.size()));
  for (auto& st : exclude_status) add("status != " + st);
  if (from_) add("from " + format_iso8601(*from_, 0));
  if (to_) add("to " + format_iso8601(*to_, 0));
  return s;
}

}  // namespace vigil::cli
