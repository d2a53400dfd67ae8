// Helpers shared by the ingest tests: owned copies of records (a Record's
// views die with the visitor call), file helpers, and a minimal reader for
// the YAML flow scalars that hold data_sources' example_log (test_ingest does
// not link a YAML library; the three scalar styles used there are handled here).
#pragma once
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "core/diagnostic.h"
#include "ingest/reader.h"

namespace vigil::test {

inline std::string shared(const std::string& rel) { return std::string(VIGIL_SHARED_DIR) + "/" + rel; }

struct OwnedRecord {
  LogFormat format = LogFormat::unknown;
  std::string file;
  uint64_t offset = 0, line = 0;
  std::vector<std::pair<std::string, std::string>> system, data;

  std::string sys(const std::string& n) const {
    for (auto& [k, v] : system)
      if (k == n) return v;
    return {};
  }
  std::string get(const std::string& n) const {
    for (auto& [k, v] : data)
      if (k == n) return v;
    return {};
  }
  bool has_data(const std::string& n) const {
    for (auto& [k, v] : data)
      if (k == n) return true;
    return false;
  }
  bool has_sys(const std::string& n) const {
    for (auto& [k, v] : system)
      if (k == n) return true;
    return false;
  }
  std::vector<std::string> all(const std::string& n) const {
    std::vector<std::string> out;
    for (auto& [k, v] : data)
      if (k == n) out.push_back(v);
    return out;
  }
};

inline OwnedRecord own(const Record& r) {
  OwnedRecord o;
  o.format = r.format;
  o.file = std::string(r.file);
  o.offset = r.offset;
  o.line = r.line;
  for (auto& f : r.system) o.system.emplace_back(std::string(f.name), std::string(f.value));
  for (auto& f : r.data) o.data.emplace_back(std::string(f.name), std::string(f.value));
  return o;
}

/// Everything one read produced.
struct Collected {
  std::vector<OwnedRecord> records;
  ReadStats stats;
  std::vector<Diagnostic> diags;
  size_t count_reason(const std::string& reason) const {
    size_t n = 0;
    for (auto& d : diags) n += d.reason == reason;
    return n;
  }
  /// Each record's System field `name` (EventID …), in delivery order.
  std::vector<std::string> sys_values(const std::string& name) const {
    std::vector<std::string> out;
    for (auto& r : records) out.push_back(r.sys(name));
    return out;
  }
  /// Each record's file, in delivery order.
  std::vector<std::string> files() const {
    std::vector<std::string> out;
    for (auto& r : records) out.push_back(r.file);
    return out;
  }
};

inline Collected read_mem(const std::string& name, const std::string& bytes, LogFormat fmt = LogFormat::unknown) {
  Collected c;
  DiagnosticSink sink(nullptr);
  sink.set_keep(true);
  read_buffer(name, bytes, fmt, ReadOptions{}, [&](const Record& r) { c.records.push_back(own(r)); }, sink, c.stats);
  c.diags = sink.kept();
  return c;
}

inline Collected read_paths(const std::vector<std::string>& paths, ReadOptions opts = {}) {
  Collected c;
  DiagnosticSink sink(nullptr);
  sink.set_keep(true);
  read_inputs(paths, opts, [&](const Record& r) { c.records.push_back(own(r)); }, sink, c.stats);
  c.diags = sink.kept();
  return c;
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void spit(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

/// A JSON-lines file of one event with this EventID.
inline void spit_event(const std::string& path, int event_id) {
  spit(path, "{\"EventID\":" + std::to_string(event_id) + "}\n");
}

/// Under `dir`, one such file per (relative path, EventID), its folders made as needed.
inline void spit_events(const std::string& dir, const std::vector<std::pair<std::string, int>>& files) {
  for (auto& [rel, id] : files) {
    std::filesystem::create_directories(std::filesystem::path(dir + "/" + rel).parent_path());
    spit_event(dir + "/" + rel, id);
  }
}

/// A fresh empty directory under the system temp dir.
inline std::string temp_dir(const std::string& tag) {
  auto dir = std::filesystem::temp_directory_path() / ("vigil_ingest_" + tag + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

namespace detail {
inline std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}
inline void append_utf8(std::string& out, unsigned cp) {
  if (cp < 0x80) out += char(cp);
  else if (cp < 0x800) out += char(0xC0 | (cp >> 6)), out += char(0x80 | (cp & 0x3F));
  else out += char(0xE0 | (cp >> 12)), out += char(0x80 | ((cp >> 6) & 0x3F)), out += char(0x80 | (cp & 0x3F));
}
}  // namespace detail

/// The value of a top-level `key:` whose value is a plain, single-quoted or
/// double-quoted flow scalar (YAML 1.2 line folding: a line break becomes a
/// space, an empty line a newline; in double quotes `\` + break joins).
/// Empty when the key is absent or uses a block scalar.
inline std::string yaml_scalar(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  const std::string prefix = key + ":";
  size_t i = 0;
  while (i < lines.size() && lines[i].rfind(prefix, 0) != 0) ++i;
  if (i == lines.size()) return {};
  std::string first = detail::trim(lines[i].substr(prefix.size()));
  if (first.empty() || first[0] == '|' || first[0] == '>') return {};
  // Collect the scalar's raw lines: the first, then indented continuations.
  std::vector<std::string> raw{first};
  for (size_t j = i + 1; j < lines.size(); ++j) {
    const std::string& l = lines[j];
    if (!l.empty() && l[0] != ' ' && l[0] != '\t') break;
    raw.push_back(l);
  }
  const char quote = (first[0] == '\'' || first[0] == '"') ? first[0] : 0;
  std::string out;
  if (!quote) {
    // Plain scalar: fold, stop at the first non-indented line (already cut).
    int pending_breaks = 0;
    for (size_t k = 0; k < raw.size(); ++k) {
      std::string t = detail::trim(raw[k]);
      if (t.empty()) {
        ++pending_breaks;
        continue;
      }
      if (k > 0) out += pending_breaks ? std::string(pending_breaks, '\n') : " ";
      pending_breaks = 0;
      out += t;
    }
    return out;
  }
  // Quoted: join the text, folding breaks, then scan up to the closing quote.
  std::string text = raw[0].substr(1);
  bool escaped_break = false;
  int empty_run = 0;
  for (size_t k = 1; k < raw.size(); ++k) {
    std::string t = detail::trim(raw[k]);
    if (t.empty()) {
      ++empty_run;
      continue;
    }
    // Trailing spaces before a folded break are dropped.
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.pop_back();
    // An odd run of trailing backslashes ends in an escaped line break.
    size_t run = 0;
    while (run < text.size() && text[text.size() - 1 - run] == '\\') ++run;
    escaped_break = quote == '"' && run % 2 == 1;
    if (escaped_break) text.pop_back();
    else text += empty_run ? std::string(empty_run, '\n') : " ";
    empty_run = 0;
    text += t;
  }
  for (size_t k = 0; k < text.size(); ++k) {
    char c = text[k];
    if (quote == '\'') {
      if (c == '\'') {
        if (k + 1 < text.size() && text[k + 1] == '\'') {
          out += '\'';
          ++k;
          continue;
        }
        return out;
      }
      out += c;
      continue;
    }
    if (c == '"') return out;
    if (c != '\\' || k + 1 >= text.size()) {
      out += c;
      continue;
    }
    char e = text[++k];
    switch (e) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case '0': out += '\0'; break;
      case ' ': out += ' '; break;
      case '/': out += '/'; break;
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case 'x': detail::append_utf8(out, std::stoul(text.substr(k + 1, 2), nullptr, 16)); k += 2; break;
      case 'u': detail::append_utf8(out, std::stoul(text.substr(k + 1, 4), nullptr, 16)); k += 4; break;
      default: out += e; break;
    }
  }
  return out;
}

}  // namespace vigil::test
