// vigil dump: print records as read (evtx-crate JSON shape or Windows XML) or as normalized.
#include <fmt/format.h>

#include <iterator>
#include <thread>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/ordered_pipeline.h"
#include "core/strings.h"
#include "ingest/record_batch.h"
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
// Appended to `s` piece by piece: rendering is most of a dump's time.
void record_json(const Record& r, std::string& s) {
  auto quoted = [&](std::string_view v) { json_quote_to(s, v); };
  // "Name":{"#attributes":{"Attr":value[,"Attr2":value2]}}
  auto attrs = [&](std::string_view name, std::string_view attr, std::string_view v, std::string_view attr2 = {},
                   const std::string_view* v2 = nullptr) {
    quoted(name);
    s += ":{\"#attributes\":{";
    quoted(attr);
    s += ':';
    quoted(v);
    if (v2) {
      s += ',';
      quoted(attr2);
      s += ':';
      quoted(*v2);
    }
    s += "}}";
  };
  s += "{\"Event\":{\"System\":{";
  bool first = true;
  for (auto& f : r.system) {
    if (f.name == sys::ProviderGuid || f.name == sys::ThreadID) continue;
    if (!first) s += ',';
    first = false;
    if (f.name == sys::Provider) {
      std::string_view guid;
      const bool has_guid = r.find_system(sys::ProviderGuid);
      if (has_guid) guid = r.system_value(sys::ProviderGuid);
      attrs("Provider", "Name", f.value, "Guid", has_guid ? &guid : nullptr);
    } else if (f.name == sys::TimeCreated) {
      attrs("TimeCreated", "SystemTime", f.value);
    } else if (f.name == sys::ProcessID) {
      std::string_view thread = r.system_value(sys::ThreadID);
      attrs("Execution", "ProcessID", f.value, "ThreadID", &thread);
    } else if (f.name == sys::UserID) {
      attrs("Security", "UserID", f.value);
    } else {
      quoted(f.name);
      s += ':';
      quoted(f.value);
    }
  }
  s += "},\"EventData\":{";
  first = true;
  for (auto& f : r.data) {
    if (!first) s += ',';
    first = false;
    quoted(f.name);
    s += ':';
    quoted(f.value);
  }
  s += "}},\"vigil\":{\"file\":";
  quoted(r.file);
  fmt::format_to(std::back_inserter(s), ",\"offset\":{},\"format\":\"{}\"", r.offset, log_format_name(r.format));
  if (r.recovered) s += ",\"recovered\":true";  // absent on live records: their output is unchanged
  s += "}}";
}

}  // namespace

static int run_dump(DumpArgs& a) {
  Summary summary;
  Common& c = a.common;
  DiagnosticSink diags;
  configure_diagnostics(diags, c);
  Output out;
  if (!open_output(c, out)) return ended(diags, c, usage);
  if (a.format != "jsonl" && a.format != "xml") {
    std::fprintf(stderr, "error: dump --format is jsonl or xml\n");
    return ended(diags, c, usage);
  }
  std::unique_ptr<Normalizer> norm;
  if (a.view != "record" && !(norm = load_normalizer(c, diags))) return ended(diags, c, nothing_ran);
  // Rendering is the costly part: workers render batches of records, and read and render the
  // small files themselves (a triage folder is thousands of them). The output is written here in
  // input order, so it is the same for any --threads.
  struct Batch {
    RecordBatch records;
    InputUnit unit;  // files a worker reads itself, when not empty
  };
  struct Rendered {
    std::string text;
    uint64_t records = 0;
    UnitReport read;  // of the unit, replayed in order
  };
  struct Worker {
    Event ev;
    Record rec;
  };
  unsigned threads = c.threads ? c.threads : std::max(1u, std::thread::hardware_concurrency());
  std::vector<Worker> workers(std::max(1u, threads));
  auto render_one = [&](Worker& w, const Record& r, std::string& text) {
    if (!norm) {
      if (a.format == "xml") {
        // A recovered record is not a live event: say so, and where it was, before it.
        if (r.recovered) text += fmt::format("<!-- recovered: file offset {} -->", r.offset);
        evtx::render_xml(r, text);
      } else {
        record_json(r, text);
      }
      text += '\n';
      return;
    }
    norm->normalize(r, w.ev);
    text += '{';
    bool first = true;
    for (auto& f : w.ev.fields()) {
      bool cim = f.view != 0;
      if ((a.view == "raw" && cim) || (a.view == "cim" && !cim)) continue;
      if (!first) text += ',';
      text += json_quote(field_name(f.name));
      text += ':';
      text += json_quote(f.value);
      first = false;
    }
    if (r.recovered) text += fmt::format("{}\"vigil_recovered\":true,\"vigil_offset\":{}", first ? "" : ",", r.offset);
    text += "}\n";
  };
  ReadOptions ro = read_options(c);
  auto render = [&](Batch& b, unsigned id) {
    Worker& w = workers[id];
    Rendered out;
    // EVTX renders to about a quarter of its bytes as JSON lines: grown by doubling instead, the
    // text was copied about once more.
    out.text.reserve(b.unit.bytes / 4 + b.records.bytes());
    if (!b.unit.files.empty() || !b.unit.notes.empty()) {  // notes only: what a file read here said
      out.read = read_unit(b.unit, ro, [&](const Record& r) {
        ++out.records;
        render_one(w, r, out.text);
      });
    }
    for (size_t i = 0; i < b.records.size(); ++i) {
      b.records.get(i, w.rec);
      render_one(w, w.rec, out.text);
    }
    return out;
  };
  ReadStats stats;
  uint64_t n = 0;
  OrderedPipeline<Batch, Rendered> pipe(threads > 1 ? threads : 0, render, [&](Rendered&& r) {
    r.read.replay(diags, stats);
    n += r.records;
    std::fwrite(r.text.data(), 1, r.text.size(), out.file);
  });
  std::unique_ptr<Batch> filling;
  auto take = [&] {
    auto b = pipe.take_empty();
    b->records.clear();
    b->unit = {};
    return b;
  };
  // Units of input go to the workers whole, with one thread too: rendered where they are read,
  // their records are not copied into a batch first.
  ro.threads = 1;  // the pipeline's workers (or this thread, with one) are the parallel part
  ro.unit_bytes = uint64_t(2) << 20;  // a 1.1 MB EVTX file (a full Windows log) is a small file
  // A unit's text is held until its turn: a small archive can hold a hundred times its size.
  ro.defer_archives = false;
  ro.defer = [&](InputUnit&& unit) {
    if (filling && filling->records.size()) pipe.submit(std::move(filling));
    auto b = take();
    b->unit = std::move(unit);
    pipe.submit(std::move(b));
  };
  // A file this thread reads itself reports as it reads: the units before it report first.
  ro.drain = [&] { pipe.finish_pending(); };
  // A live input that paused (`tail -f … | vigil dump -`): what it gave is rendered and out now.
  ro.on_pause = [&] {
    if (filling && filling->records.size()) pipe.submit(std::move(filling));
    pipe.finish_pending();
    std::fflush(out.file);
  };
  read_inputs(a.logs, ro, [&](const Record& r) {
    ++n;
    if (!filling) filling = take();
    filling->records.add(r);
    if (filling->records.size() >= 512 || filling->records.bytes() >= RecordBatch::kBytesCut)
      pipe.submit(std::move(filling));
  }, diags, stats);
  if (filling && filling->records.size()) pipe.submit(std::move(filling));
  pipe.finish();
  std::fflush(out.file);
  summary.print(c, &stats, n, nullptr, -1, diags);
  if (nothing_readable(stats)) return ended(diags, c, nothing_ran);
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
  CommonOptions co;
  co.content = false;
  co.strict = true;
  add_common(*sub, a->common, co);
  sub->add_option("--threads", a->common.threads, "worker threads: they read the small files and render (default: all cores); output is the same for any number");
  sub->add_flag("--recover", a->common.recover,
                "EVTX: also read deleted records (chunk slack, chunks the header dropped, unallocated slots), "
                "marked recovered with their offset");
  sub->add_option("-o,--output", a->common.output, "write to FILE");
  return [a, sub]() { return sub->parsed() ? run_dump(*a) : -1; };
}

}  // namespace vigil::cli
