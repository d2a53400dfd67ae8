#include "core/diagnostic.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "core/escape.h"
#include "core/strings.h"

namespace vigil {

static const char* severity_name(Severity s) {
  switch (s) {
    case Severity::note: return "note";
    case Severity::warning: return "warning";
    case Severity::error: return "error";
  }
  return "error";
}

// Text diagnostics go to a terminal: every part that can come from input
// (file names, messages quoting values, the source line) is escaped, so a
// log line cannot send terminal controls or forge a diagnostic line.
std::string render_text(const Diagnostic& d) {
  std::string out;
  const auto& l = d.location;
  if (!l.file.empty()) out += escape_controls(l.file);
  if (l.line) {
    out += fmt::format(":{}", l.line);
    if (l.column) out += fmt::format(":{}", l.column);
  } else if (l.offset != SourceLocation::npos) {
    out += fmt::format(":@{}", l.offset);
  }
  if (!out.empty()) out += ": ";
  out += fmt::format("{}: {}", severity_name(d.severity), escape_controls(d.message));
  if (!d.source_line.empty()) {
    std::string line = escape_controls(d.source_line.size() > 200 ? d.source_line.substr(0, 200) : d.source_line);
    if (d.source_line.size() > 200) line += "…";
    out += "\n  " + line;
    if (l.column && l.column <= line.size() + 1) out += "\n  " + std::string(l.column - 1, ' ') + "^";
  }
  if (!d.hint.empty()) out += "\n  hint: " + escape_controls(d.hint);
  return out;
}

std::string render_json(const Diagnostic& d) {
  std::string out = "{";
  out += fmt::format("\"severity\":\"{}\"", severity_name(d.severity));
  out += ",\"file\":" + json_quote(d.location.file);
  if (d.location.line) out += fmt::format(",\"line\":{}", d.location.line);
  if (d.location.column) out += fmt::format(",\"column\":{}", d.location.column);
  if (d.location.offset != SourceLocation::npos) out += fmt::format(",\"offset\":{}", d.location.offset);
  out += ",\"message\":" + json_quote(d.message);
  if (!d.reason.empty()) out += ",\"reason\":" + json_quote(d.reason);
  if (!d.hint.empty()) out += ",\"hint\":" + json_quote(d.hint);
  out += "}";
  return out;
}

DiagnosticSink::DiagnosticSink(std::FILE* out, Format format) : out_(out), format_(format) {}
DiagnosticSink::~DiagnosticSink() { print_groups(); }

void DiagnosticSink::report(Diagnostic d) {
  std::lock_guard lock(mu_);
  // Only diagnostics without a line or offset can repeat (a record's are unique by place), so only
  // those are remembered; bounded, so that hostile input cannot grow the set without end.
  bool repeat = false;
  std::string identity;
  if (d.location.line == 0 && d.location.offset == SourceLocation::npos && seen_.size() < 100000) {
    identity = fmt::format("{}\x1f{}\x1f{}", static_cast<int>(d.severity), d.location.file, d.message);
    repeat = !seen_.insert(identity).second;
  }
  if (repeat && d.once) return;  // neither counted nor kept again
  if (d.once) d.repeats = 0;
  const size_t times = size_t(1) + d.repeats;  // a folded diagnostic counts for each time it was told
  if (d.severity == Severity::error) errors_ += times;
  if (d.severity == Severity::error && quiet_ && !repeat && first_errors_.size() < kFirstErrors) first_errors_.push_back(d);
  if (d.severity == Severity::warning) warnings_ += times;
  if (d.severity == Severity::note) notes_ += times;
  const std::string& key = d.reason.empty() ? d.message : d.reason;
  if (repeat) {
    // Counted (the totals stay true), printed once.
    by_reason_[key] += times;
    if (!keep_) return;
    if (fold_repeats_) {
      if (auto it = folded_.find(identity); it != folded_.end() && it->second < kept_.size()) {
        kept_[it->second].repeats += uint32_t(times);
        return;
      }
      folded_[identity] = kept_.size();  // its first copy was taken (take_kept): this one starts anew
    }
    kept_.push_back(std::move(d));
    return;
  }
  if (fold_repeats_ && keep_ && !identity.empty()) folded_[identity] = kept_.size();
  size_t& count = by_reason_[key];
  const size_t n = ++count;  // this one's place among its reason's (the print limit)
  count += d.repeats;
  if (grouped_ && format_ == Format::text) {
    if (quiet_) {  // counted only, as when printing
      if (keep_) kept_.push_back(std::move(d));
      return;
    }
    auto [it, fresh] = group_index_.try_emplace(key, groups_.size());
    if (fresh) groups_.push_back({key, d.severity, 0, {}});
    Group& g = groups_[it->second];
    ++g.count;
    if (d.severity > g.severity) g.severity = d.severity;
    if (g.first.size() < 3) g.first.push_back(d);
  } else if (out_ && !quiet_ && n <= print_limit_) {
    if (before_print_) before_print_();
    std::string s = format_ == Format::json ? render_json(d) : render_text(d);
    std::fprintf(out_, "%s\n", s.c_str());
    if (n == print_limit_ && format_ == Format::text)
      std::fprintf(out_, "note: further '%s' diagnostics are counted, not printed\n",
                   escape_controls(key).c_str());
  }
  if (keep_) kept_.push_back(std::move(d));
}

void DiagnosticSink::print_first_errors() {
  std::lock_guard lock(mu_);
  if (!out_) return;
  for (auto& d : first_errors_) std::fprintf(out_, "%s\n", (format_ == Format::json ? render_json(d) : render_text(d)).c_str());
  if (errors_ > first_errors_.size() && format_ == Format::text)
    std::fprintf(out_, "note: %zu errors in all; run without -q for each\n", errors_);
  first_errors_.clear();
}

size_t DiagnosticSink::print_groups(size_t full_up_to) {
  std::lock_guard lock(mu_);
  if (!out_ || quiet_ || groups_.empty()) return 0;
  if (before_print_) before_print_();
  size_t lines = 0;
  auto put = [&](const std::string& s) {
    std::fprintf(out_, "%s\n", s.c_str());
    for (char c : s) lines += c == '\n';
    ++lines;
  };
  // Errors first, then warnings, then notes; within a severity, by first arrival.
  std::vector<const Group*> order;
  for (auto& g : groups_) order.push_back(&g);
  std::stable_sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->severity > b->severity; });
  for (const Group* g : order) {
    if (g->count <= full_up_to) {
      for (auto& d : g->first) put(render_text(d));
      continue;
    }
    // One line: the reason and count, then the first instance's place and message.
    const Diagnostic& d = g->first.front();
    Diagnostic head = d;
    head.severity = g->severity;
    head.source_line.clear();
    head.hint.clear();
    std::string first = render_text(head);
    if (first.size() > 220) {
      size_t cut = 219;
      while (cut > 0 && (static_cast<unsigned char>(first[cut]) & 0xC0) == 0x80) --cut;
      first = first.substr(0, cut) + "…";
    }
    put(fmt::format("{} (and {} more '{}'; --verbose prints each)", first, g->count - 1, escape_controls(g->reason)));
  }
  groups_.clear();
  group_index_.clear();
  return lines;
}

void DiagnosticSink::error(SourceLocation loc, std::string message, std::string reason) {
  report({Severity::error, std::move(loc), std::move(message), std::move(reason), {}, {}});
}
void DiagnosticSink::warning(SourceLocation loc, std::string message, std::string reason) {
  report({Severity::warning, std::move(loc), std::move(message), std::move(reason), {}, {}});
}
void DiagnosticSink::note(SourceLocation loc, std::string message, std::string reason) {
  report({Severity::note, std::move(loc), std::move(message), std::move(reason), {}, {}});
}
size_t DiagnosticSink::errors() const { std::lock_guard lock(mu_); return errors_; }
size_t DiagnosticSink::warnings() const { std::lock_guard lock(mu_); return warnings_; }
size_t DiagnosticSink::notes() const { std::lock_guard lock(mu_); return notes_; }
std::map<std::string, size_t> DiagnosticSink::counts_by_reason() const { std::lock_guard lock(mu_); return by_reason_; }
std::vector<Diagnostic> DiagnosticSink::kept() const { std::lock_guard lock(mu_); return kept_; }

std::vector<Diagnostic> DiagnosticSink::take_kept() {
  std::lock_guard lock(mu_);
  folded_.clear();
  return std::exchange(kept_, {});
}

}  // namespace vigil
