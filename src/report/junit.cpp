#include "report/junit.h"

#include <fmt/format.h>

#include <map>
#include <string>

#include "core/escape.h"

namespace vigil::report {

namespace {

std::string xml(std::string_view s) {
  std::string in = escape_controls(s), out;
  out.reserve(in.size());
  for (char c : in) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      case '\t': out += "&#9;"; break;
      default: out += c;
    }
  }
  return out;
}

struct Counts {
  size_t tests = 0, failures = 0, skipped = 0;
  double seconds = 0;
};

}  // namespace

void write_junit(std::FILE* out, const std::vector<RuleTestResult>& results) {
  std::map<std::string, std::vector<const RuleTestResult*>> suites;
  std::map<std::string, Counts> counts;
  Counts all;
  for (auto& r : results) {
    std::string suite = r.suite.empty() ? "vigil" : r.suite;
    suites[suite].push_back(&r);
    for (Counts* c : {&counts[suite], &all}) {
      ++c->tests;
      c->failures += !r.passed && !r.skipped;
      c->skipped += r.skipped;
      c->seconds += r.seconds;
    }
  }
  std::string o = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  o += fmt::format("<testsuites name=\"vigil test\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{:.3f}\">\n",
                   all.tests, all.failures, all.skipped, all.seconds);
  for (auto& [name, cases] : suites) {
    const Counts& c = counts[name];
    o += fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{:.3f}\">\n",
                     xml(name), c.tests, c.failures, c.skipped, c.seconds);
    for (auto* r : cases) {
      std::string cls = r->rule_name.empty() ? r->rule_id : r->rule_name;
      o += fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3f}\"", xml(cls), xml(r->name), r->seconds);
      if (r->skipped) {
        o += fmt::format(">\n      <skipped message=\"{}\"/>\n    </testcase>\n", xml(r->detail));
      } else if (!r->passed) {
        o += fmt::format(">\n      <failure message=\"{}\" type=\"{}\">rule {} ({}): {} results. {}</failure>\n    </testcase>\n",
                         xml(r->detail), r->matches ? "fields" : "no-result", xml(cls), xml(r->rule_id), r->matches,
                         xml(r->detail));
      } else {
        o += fmt::format(">\n      <system-out>{} results</system-out>\n    </testcase>\n", r->matches);
      }
    }
    o += "  </testsuite>\n";
  }
  o += "</testsuites>\n";
  std::fwrite(o.data(), 1, o.size(), out);
}

}  // namespace vigil::report
