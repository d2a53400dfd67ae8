// vigil dump: print records as read (evtx-crate JSON shape or Windows XML) or as normalized.
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/strings.h"
#include "ingest/evtx/render.h"
#include "normalize/normalizer.h"

namespace vigil::cli {

namespace {
struct DumpArgs {
  Common common;
  std::vector<std::string> logs;
  std::string format = "jsonl";
  std::string view = "record";
};

// evtx-crate shape: {"Event":{"System":{…},"EventData":{…}}} with System attributes as the crate writes them.
std::string record_json(const Record& r) {
  std::string s = "{\"Event\":{\"System\":{";
  bool first = true;
  auto put = [&](std::string_view k, const std::string& v) {
    s += (first ? "" : ",") + json_quote(k) + ":" + v;
    first = false;
  };
  for (auto& f : r.system) {
    if (f.name == sys::Provider) put("Provider", "{\"#attributes\":{\"Name\":" + json_quote(f.value) +
                                                    (r.find_system(sys::ProviderGuid)
                                                         ? ",\"Guid\":" + json_quote(r.system_value(sys::ProviderGuid))
                                                         : "") + "}}");
    else if (f.name == sys::ProviderGuid) continue;
    else if (f.name == sys::TimeCreated) put("TimeCreated", "{\"#attributes\":{\"SystemTime\":" + json_quote(f.value) + "}}");
    else if (f.name == sys::ProcessID) put("Execution", "{\"#attributes\":{\"ProcessID\":" + json_quote(f.value) +
                                                           ",\"ThreadID\":" + json_quote(r.system_value(sys::ThreadID)) + "}}");
    else if (f.name == sys::ThreadID) continue;
    else if (f.name == sys::UserID) put("Security", "{\"#attributes\":{\"UserID\":" + json_quote(f.value) + "}}");
    else put(f.name, json_quote(f.value));
  }
  s += "},\"EventData\":{";
  first = true;
  for (auto& f : r.data) {
    s += (first ? "" : ",") + json_quote(f.name) + ":" + json_quote(f.value);
    first = false;
  }
  s += fmt::format("}}}},\"vigil\":{{\"file\":{},\"offset\":{},\"format\":\"{}\"}}}}", json_quote(r.file), r.offset,
                   log_format_name(r.format));
  return s;
}

}  // namespace

static int run_dump(DumpArgs& a) {
  Summary summary;
  Common& c = a.common;
  DiagnosticSink diags;
  configure_diagnostics(diags, c);
  Output out;
  if (!open_output(c, out)) return usage;
  if (a.format != "jsonl" && a.format != "xml") {
    std::fprintf(stderr, "error: dump --format is jsonl or xml\n");
    return usage;
  }
  std::unique_ptr<Normalizer> norm;
  if (a.view != "record" && !(norm = load_normalizer(c, diags))) return nothing_ran;
  Event ev;
  std::string line;
  ReadStats stats;
  uint64_t n = 0;
  read_inputs(a.logs, read_options(c), [&](const Record& r) {
    ++n;
    if (!norm) {
      if (a.format == "xml") {
        line.clear();
        evtx::render_xml(r, line);
      } else {
        line = record_json(r);
      }
      line += '\n';
      std::fwrite(line.data(), 1, line.size(), out.file);
      return;
    }
    norm->normalize(r, ev);
    std::string s = "{";
    bool first = true;
    for (auto& f : ev.fields()) {
      bool cim = f.view != 0;
      if ((a.view == "raw" && cim) || (a.view == "cim" && !cim)) continue;
      s += (first ? "" : ",") + json_quote(field_names().name(f.name)) + ":" + json_quote(f.value);
      first = false;
    }
    std::fprintf(out.file, "%s}\n", s.c_str());
  }, diags, stats);
  std::fflush(out.file);
  summary.print(c, &stats, n, nullptr, -1, diags);
  if (nothing_readable(stats)) return nothing_ran;
  if (c.strict && (stats.records_skipped || stats.files_skipped)) return rejected;
  return ok;
}

std::function<int()> register_dump(CLI::App& app) {
  auto a = std::make_shared<DumpArgs>();
  auto* sub = app.add_subcommand("dump", "Print records as read, or as normalized (--view raw|cim|all)");
  sub->footer(
      "Examples:\n"
      "  vigil dump Security.evtx | jq .Event.EventData      # evtx-crate JSON shape\n"
      "  vigil dump --format xml Sysmon.evtx                 # Windows XML rendering\n"
      "  vigil dump --view cim attack_data.tar.gz            # the CIM fields rules see (Processes.*)");
  sub->add_option("logs", a->logs, "log files, directories or archives ('-' = stdin)")->required();
  sub->add_option("--format", a->format, "jsonl (evtx-crate shape) or xml (records only)");
  sub->add_option("--view", a->view, "record (as read), raw (Splunk raw fields), cim (data-model fields), all")
      ->check(CLI::IsMember({"record", "raw", "cim", "all"}));
  add_common(*sub, a->common, false);
  sub->add_option("-o,--output", a->common.output, "write to FILE");
  return [a, sub]() { return sub->parsed() ? run_dump(*a) : -1; };
}

}  // namespace vigil::cli
