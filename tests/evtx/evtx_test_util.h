// Helpers shared by the EVTX tests: file loading, owned copies of Records
// (a Record's views die with the visitor call), and the evtxexport oracle.
#pragma once
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ingest/evtx/evtx_reader.h"

namespace evtx_test {

struct OwnedRecord {
  uint64_t offset = 0;
  bool recovered = false;
  std::vector<std::pair<std::string, std::string>> system, data;
  std::string sys(std::string_view name) const {
    for (auto& [k, v] : system)
      if (k == name) return v;
    return {};
  }
  bool operator==(const OwnedRecord&) const = default;
};

struct ReadResult {
  std::vector<OwnedRecord> records;
  vigil::ReadStats stats;
  std::vector<vigil::Diagnostic> diags;
};

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline OwnedRecord own_record(const vigil::Record& rec) {
  OwnedRecord o;
  o.offset = rec.offset;
  o.recovered = rec.recovered;
  for (auto& f : rec.system) o.system.emplace_back(f.name, f.value);
  for (auto& f : rec.data) o.data.emplace_back(f.name, f.value);
  return o;
}

inline ReadResult read_bytes(std::string_view bytes, unsigned threads = 1, std::string_view name = "test.evtx",
                             bool recover = false) {
  ReadResult r;
  vigil::DiagnosticSink sink(nullptr);
  sink.set_keep(true);
  vigil::ReadOptions opts;
  opts.threads = threads;
  opts.recover = recover;
  vigil::evtx::read_evtx(
      name, bytes, opts,
      [&](const vigil::Record& rec) { r.records.push_back(own_record(rec)); },
      sink, r.stats);
  r.diags = sink.kept();
  return r;
}

inline std::vector<std::filesystem::path> evtx_files(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  if (!std::filesystem::exists(dir)) return out;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".evtx") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

inline bool have_evtxexport() { return std::filesystem::exists("/usr/bin/evtxexport"); }

/// EventRecordIDs in the order `evtxexport -f xml` prints them (the oracle).
inline std::vector<std::string> evtxexport_record_ids(const std::filesystem::path& p) {
  std::string quoted = "'";
  for (char c : p.string()) {
    if (c == '\'')
      quoted += "'\\''";
    else
      quoted += c;
  }
  quoted += "'";
  std::string cmd = "/usr/bin/evtxexport -f xml " + quoted + " 2>/dev/null";
  std::vector<std::string> ids;
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return ids;
  std::string out;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  pclose(f);
  const std::string open = "<EventRecordID>";
  for (size_t pos = out.find(open); pos != std::string::npos; pos = out.find(open, pos)) {
    pos += open.size();
    size_t end = out.find('<', pos);
    if (end == std::string::npos) break;
    ids.push_back(out.substr(pos, end - pos));
  }
  return ids;
}

}  // namespace evtx_test
