// vigil load: normalized events into ClickHouse (clickhouse/loader.h).
#include <unistd.h>

#include <chrono>

#include "clickhouse/loader.h"
#include "cli/commands.h"
#include "cli/common.h"

namespace vigil::cli {

namespace {
struct LoadArgs {
  Common common;
  std::string url;
  std::string cluster;
  std::vector<std::string> shards;
  std::vector<std::string> logs;
  size_t batch_mb = 16;
};

int run_load(LoadArgs& a) {
  Common& c = a.common;
  DiagnosticSink diags;
  configure_diagnostics(diags, c);
  auto norm = load_normalizer(c, diags);
  if (!norm) return ended(diags, c, nothing_ran);
  clickhouse::HttpClient client(a.url);
  clickhouse::LoadOptions lo;
  lo.cluster = a.cluster;
  lo.shard_urls = a.shards;
  lo.batch_bytes = std::max<size_t>(1, a.batch_mb) << 20;
  lo.read = read_options(c);
  lo.read.progress = nullptr;
  auto start = std::chrono::steady_clock::now();
  auto secs = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  if (!c.quiet && isatty(fileno(stderr)))
    lo.on_batch = [&](uint64_t n) {
      std::fprintf(stderr, "\r\033[Kloading: %llu events inserted (%.0f events/s)", static_cast<unsigned long long>(n),
                   n / std::max(1e-9, secs()));
    };
  auto r = clickhouse::load(client, *norm, a.logs, lo, diags);
  if (!c.quiet && isatty(fileno(stderr))) std::fprintf(stderr, "\r\033[K");
  if (!r) {
    diags.error({a.url}, r.error().message, "clickhouse");
    return ended(diags, c, nothing_ran);
  }
  tell_nothing_read(&r->read, diags);
  double s = secs();
  if (!c.quiet) {
    const auto& rd = r->read;
    std::fprintf(stderr,
                 "summary: files %llu (%llu skipped); records read %llu, inserted %llu, skipped %llu; "
                 "%llu dataset rows; %llu inserts; %.0f events/s; %s, %s; %.2fs\n",
                 static_cast<unsigned long long>(rd.files), static_cast<unsigned long long>(rd.files_skipped),
                 static_cast<unsigned long long>(rd.records_read), static_cast<unsigned long long>(r->inserted),
                 static_cast<unsigned long long>(rd.records_skipped), static_cast<unsigned long long>(r->dataset_rows),
                 static_cast<unsigned long long>(r->inserts), r->inserted / std::max(1e-9, s), counted(diags.errors(), "error").c_str(),
                 counted(diags.warnings(), "warning").c_str(), s);
  }
  if (nothing_readable(r->read)) return ended(diags, c, nothing_ran);
  if (c.strict && (r->read.records_skipped || r->read.files_skipped)) return rejected;
  return ok;
}
}  // namespace

std::function<int()> register_load(CLI::App& app) {
  auto a = std::make_shared<LoadArgs>();
  auto* sub = app.add_subcommand("load", "Normalize logs as hunt does and insert them into ClickHouse");
  sub->footer(
      "Tables (created when missing): vigil_raw (one row per event: common Splunk fields as columns, the\n"
      "rest as key/value arrays, the record as read) and vigil_dm_<dataset> per CIM dataset. With\n"
      "--cluster: <table>_local (MergeTree) on every shard and <table> (Distributed, sharded by host).\n"
      "Examples:\n"
      "  vigil load --clickhouse http://127.0.0.1:8123 logs/\n"
      "  vigil load --clickhouse http://127.0.0.1:18121 --cluster vigil \\\n"
      "             --shard http://127.0.0.1:18121 --shard http://127.0.0.1:18122 evtx/\n"
      "Then: vigil hunt --clickhouse URL --rules RULES");
  sub->add_option("--clickhouse", a->url, "ClickHouse HTTP URL (http://host:8123)")->required();
  sub->add_option("--cluster", a->cluster, "create sharded tables on this remote_servers cluster");
  sub->add_option("--shard", a->shards,
                  "a shard's HTTP URL, for creating tables when ON CLUSTER is unavailable (no ZooKeeper); repeat")
      ->allow_extra_args(false);
  sub->add_option("--batch-mb", a->batch_mb, "insert batch size in MB (default 16)");
  sub->add_option("logs", a->logs, "log files, directories or archives ('-' = stdin)")->required();
  CommonOptions co;
  co.content = false;
  co.run = true;
  add_common(*sub, a->common, co);
  sub->add_flag("--recover", a->common.recover, "EVTX: also read deleted records");
  return [a, sub]() { return sub->parsed() ? run_load(*a) : -1; };
}

}  // namespace vigil::cli
