#include "report/writers.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <unordered_map>

#include <fcntl.h>
#include <unistd.h>

#include "core/escape.h"
#include "core/strings.h"
#include "core/time.h"

namespace vigil::report {

bool parse_format(std::string_view s, Format& out) {
  if (s == "jsonl") out = Format::jsonl;  // not "json": that would promise one JSON document
  else if (s == "csv") out = Format::csv;
  else if (s == "table") out = Format::table;
  else return false;
  return true;
}

// Findings are written into one buffer with a cursor (JsonOut): a finding carries ~100 fields,
// and a string append per piece (each with its own size check and copy call) was most of the
// cost of writing findings.
static bool internal_field(std::string_view n) { return n.rfind("_vigil", 0) == 0; }

namespace {

class JsonOut {
 public:
  /// Writes into `buf` from `at` on, growing it as needed. Its size is room, not text: what is
  /// written ends at end(), and a buffer kept from line to line is not zeroed again.
  JsonOut(std::string& buf, size_t at) : s_(buf), at_(at) {}
  JsonOut(const JsonOut&) = delete;
  JsonOut& operator=(const JsonOut&) = delete;
  size_t end() const { return at_; }

  /// Room for `n` more bytes: the writes below that say "unchecked" need it first.
  void room(size_t n) {
    if (s_.size() - at_ < n) s_.resize(std::max(s_.size() * 2, at_ + n));
  }
  void raw(std::string_view v) {
    room(v.size());
    put(v);
  }
  void quoted(std::string_view v) {
    room(quoted_max(v));
    put_quoted(v);
  }
  /// `key` as written (its separator, quotes and colon), then `v` quoted.
  void member(std::string_view key, std::string_view v) {
    room(key.size() + quoted_max(v));
    put(key);
    put_quoted(v);
  }
  void number(double d) {
    NumberText buf;
    raw(format_number(d, buf));
  }
  void value(const Value& v) {
    room(value_max(v));
    put_value(v);
  }
  /// A row as an object (internal `_vigil…` fields left out), with one room() for all of it.
  void row(const Row& r) {
    size_t need = 2;
    for (auto& [k, v] : r.entries()) need += quoted_max(k) + 1 + value_max(v) + 1;
    room(need);
    put('{');
    bool first = true;
    for (auto& [k, v] : r.entries()) {
      if (internal_field(k)) continue;
      if (!first) put(',');
      first = false;
      put_quoted(k);
      put(':');
      put_value(v);
    }
    put('}');
  }

 private:
  static size_t quoted_max(std::string_view v) { return kJsonEscapeMax * v.size() + 2; }
  static size_t value_max(const Value& v) {
    if (v.is_string()) return quoted_max(v.string());
    if (!v.is_multi()) return sizeof(NumberText) + 4;  // a number or null
    size_t n = 2;
    for (auto& t : v.values()) n += quoted_max(t) + 1;
    return n;
  }
  // Unchecked writes: room() was asked for them.
  void put(char c) {
    assert(at_ < s_.size());
    s_[at_++] = c;
  }
  void put(std::string_view v) {
    assert(v.size() <= s_.size() - at_);
    std::memcpy(s_.data() + at_, v.data(), v.size());
    at_ += v.size();
  }
  void put_quoted(std::string_view v) {
    assert(kJsonEscapeMax * v.size() + 2 <= s_.size() - at_);
    put('"');
    at_ = size_t(json_escape_raw(s_.data() + at_, v) - s_.data());
    put('"');
  }
  void put_value(const Value& v) {
    if (v.is_null()) {
      put(std::string_view("null"));
    } else if (v.is_number()) {
      NumberText buf;
      put(format_number(v.number(), buf));
    } else if (v.is_string()) {
      put_quoted(v.string());
    } else {
      put('[');
      for (size_t i = 0; i < v.values().size(); ++i) {
        if (i) put(',');
        put_quoted(v.values()[i]);
      }
      put(']');
    }
  }

  std::string& s_;
  size_t at_;
};

}  // namespace

std::string value_json(const Value& v) {
  std::string s;
  JsonOut o(s, 0);
  o.value(v);
  s.resize(o.end());
  return s;
}

std::string row_json(const Row& row) {
  std::string s;
  JsonOut o(s, 0);
  o.row(row);
  s.resize(o.end());
  return s;
}

// One JSON object per finding, written into `buf` from `at` on (JsonOut); returns its end.
static size_t write_finding_json(std::string& buf, size_t at, const FindingView& f) {
  JsonOut o(buf, at);
  auto text_or_null = [&](const std::string& t) {
    if (t.empty()) o.raw("null");
    else o.quoted(t);
  };
  auto texts = [&](const std::vector<std::string>& v) {
    o.raw("[");
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) o.raw(",");
      o.quoted(v[i]);
    }
    o.raw("]");
  };
  o.member("{\"rule_id\":", f.rule_id);
  o.member(",\"rule_name\":", f.rule_name);
  o.member(",\"rule_language\":", f.rule_language);
  o.member(",\"rule_type\":", f.rule_type);
  o.raw(",\"level\":");
  text_or_null(f.level);
  o.raw(",\"risk_score\":");
  o.number(f.risk_score);
  o.member(",\"message\":", f.message);
  if (!f.message_missing.empty()) {
    o.raw(",\"message_missing\":");
    texts(f.message_missing);
  }
  o.raw(",\"entities\":[");
  for (size_t i = 0; i < f.entities.size(); ++i) {
    auto& e = f.entities[i];
    o.member(i ? ",{\"field\":" : "{\"field\":", e.field);
    o.member(",\"type\":", e.type);
    o.member(",\"value\":", e.value);
    o.member(",\"role\":", e.role);
    o.raw(",\"score\":");
    o.number(e.score);
    o.raw("}");
  }
  o.raw("],\"mitre_attack\":[");
  for (size_t i = 0; i < f.mitre_attack.size(); ++i) {
    auto& t = f.mitre_attack[i];
    o.member(i ? ",{\"id\":" : "{\"id\":", t.id);
    o.raw(",\"name\":");
    text_or_null(t.name);
    o.raw(",\"tactics\":");
    texts(t.tactics);
    o.raw("}");
  }
  o.raw("],\"analytic_story\":");
  texts(f.analytic_story);
  o.raw(",\"first_time\":");
  text_or_null(f.first_time);
  o.raw(",\"last_time\":");
  text_or_null(f.last_time);
  o.raw(",\"count\":");
  o.number(f.count);
  o.raw(",\"fields\":");
  if (f.fields) o.row(*f.fields);
  else o.raw("{}");
  o.raw(",\"source\":");
  if (f.sources.size() == 1) {
    auto& src = f.sources[0];
    o.member("{\"file\":", src.file);
    o.member(",\"record_id\":", src.record_id);
    if (src.line) {
      o.raw(",\"line\":");
      o.raw(std::to_string(src.line));
    }
    if (src.recovered) {
      o.raw(",\"recovered\":true,\"offset\":");
      o.raw(std::to_string(src.offset));
    }
    o.raw("}");
  } else {
    o.raw("null");
  }
  o.raw("}\n");
  return o.end() - 1;  // the object's end; the "\n" after it is there for a writer of lines
}

std::string finding_json(const FindingView& f) {
  std::string s;
  s.resize(write_finding_json(s, 0, f));
  return s;
}

namespace {

// Cells are log values: line breaks are quoted (CSV allows them), every other
// control character is escaped so that `cat`ing the file cannot drive the terminal.
std::string csv_cell(std::string_view raw) { return csv_field(escape_controls(raw, true)); }

class JsonlWriter : public FindingWriter {
 public:
  explicit JsonlWriter(std::FILE* o) : out_(o) {}
  void write(const FindingView& f) override {
    // ~6 KB for a Sigma finding (every field of the event): the buffer is kept from line to line.
    const size_t n = write_finding_json(line_, 0, f) + 1;  // with the "\n" written after it
    std::fwrite(line_.data(), 1, n, out_);
    if (line_.size() > kKeptLine) std::string().swap(line_);  // one huge finding is not kept
  }
  static constexpr size_t kKeptLine = 1 << 20;

 private:
  std::FILE* out_;
  std::string line_;
};

class CsvWriter : public FindingWriter {
 public:
  explicit CsvWriter(std::FILE* o) : out_(o) {
    std::fprintf(out_, "first_time,last_time,rule_name,rule_id,rule_language,rule_type,level,risk_score,message,entities,"
                       "mitre_attack,analytic_story,count,source_file,record_id,fields\n");
  }
  void write(const FindingView& f) override {
    std::string ents, techs;
    for (auto& e : f.entities) ents += (ents.empty() ? "" : ";") + e.type + ":" + e.value;
    for (auto& t : f.mitre_attack) techs += (techs.empty() ? "" : ";") + t.id;
    std::string stories;
    for (auto& s : f.analytic_story) stories += (stories.empty() ? "" : ";") + s;
    std::vector<std::string> cells = {f.first_time, f.last_time, f.rule_name, f.rule_id, f.rule_language, f.rule_type,
                                      f.level, format_number(f.risk_score), f.message, ents, techs, stories,
                                      format_number(f.count), f.sources.size() == 1 ? f.sources[0].file : "",
                                      f.sources.size() == 1 ? f.sources[0].record_id : "",
                                      f.fields ? row_json(*f.fields) : "{}"};
    std::string line;
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i) line += ',';
      line += csv_cell(cells[i]);
    }
    std::fprintf(out_, "%s\n", line.c_str());
  }

 private:
  std::FILE* out_;
};

// A table cell: one line, control characters escaped, then cut to the width
// (at a UTF-8 boundary, so a cut never leaves half a character).
std::string clip(std::string s, size_t w) {
  for (auto& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  s = escape_controls(s);
  if (s.size() > w) {
    size_t cut = w - 1;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    s = s.substr(0, cut) + "…";
  }
  return s;
}

class TableWriter : public FindingWriter {
 public:
  explicit TableWriter(std::FILE* o) : out_(o) {}
  void write(const FindingView& f) override {
    // The host column: the first system-like entity (ESCU dest, Sigma Computer).
    std::string host = "-";
    for (auto& e : f.entities)
      if (e.type == "system" || e.type == "hostname" || e.type == "endpoint") {
        host = e.value;
        break;
      }
    rows_.push_back({f.first_time.empty() ? "-" : clip(f.first_time, 40), format_number(f.risk_score), clip(host, 32),
                     clip(f.rule_name, 48), clip(f.message, 80)});
  }
  void finish() override {
    std::vector<std::string> head = {"first_time", "risk", "host", "rule", "message"};
    std::vector<size_t> w(head.size());
    for (size_t c = 0; c < head.size(); ++c) {
      w[c] = head[c].size();
      for (auto& r : rows_) w[c] = std::max(w[c], r[c].size());
    }
    auto line = [&](const std::vector<std::string>& r) {
      std::string s;
      for (size_t c = 0; c < r.size(); ++c) s += r[c] + std::string(w[c] - r[c].size() + 2, ' ');
      std::fprintf(out_, "%s\n", std::string(trim(s)).c_str());
    };
    line(head);
    for (auto& r : rows_) line(r);
  }

 private:
  std::FILE* out_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace

std::unique_ptr<FindingWriter> make_finding_writer(Format f, std::FILE* out) {
  switch (f) {
    case Format::jsonl: return std::make_unique<JsonlWriter>(out);
    case Format::csv: return std::make_unique<CsvWriter>(out);
    case Format::table: return std::make_unique<TableWriter>(out);
  }
  return nullptr;
}

namespace {

// A cell's text. `_time` is epoch seconds in rows; people read it as a timestamp, as Splunk shows it.
std::string cell_text(std::string_view col, const Value& v) {
  return col == "_time" && v.is_number() ? format_iso8601(v.number(), 3) : v.to_string();
}

std::string row_cell(const Row& r, std::string_view col) {
  const Value* v = r.get(col);
  return v ? cell_text(col, *v) : std::string();
}

class JsonlRowWriter : public RowWriter {
 public:
  explicit JsonlRowWriter(std::FILE* o) : out_(o) {}
  void write(const Row& row) override {
    JsonOut o(line_, 0);
    o.row(row);
    o.raw("\n");
    std::fwrite(line_.data(), 1, o.end(), out_);
    if (line_.size() > JsonlWriter::kKeptLine) std::string().swap(line_);  // one huge row is not kept
  }

 private:
  std::FILE* out_;
  std::string line_;
};

// Each row is spooled as its cells, each with its column's number (u32 column, u64 length, bytes;
// a row starts with its u32 cell count), so finish() can write the header first. The spool is an
// unnamed file in the temporary directory ($TMPDIR, else /tmp), written in 1 MiB blocks; what it
// cannot take (no such file can be made, the disk is full) is held in memory from there on, in
// order after what it took, so no row is lost.
class CsvRowWriter : public RowWriter {
 public:
  explicit CsvRowWriter(std::FILE* o) : out_(o), fd_(open_spool(spool_errno_)) {}
  ~CsvRowWriter() override {
    if (fd_ >= 0) ::close(fd_);
  }
  void write(const Row& row) override {
    const size_t start = pending_.size();
    put32(0);  // the cell count, set below
    uint32_t cells = 0;
    ++row_;
    for (auto& [k, v] : row.entries()) {
      if (internal_field(k)) continue;
      auto [it, added] = column_.try_emplace(k, uint32_t(cols_.size()));
      if (added) {
        cols_.push_back(k);
        last_row_.push_back(0);
      }
      if (last_row_[it->second] == row_) continue;  // a name twice: its first value, as get() finds
      last_row_[it->second] = row_;
      std::string cell = cell_text(k, v);
      put32(it->second);
      put64(cell.size());
      pending_ += cell;
      ++cells;
    }
    std::memcpy(pending_.data() + start, &cells, 4);
    if (pending_.size() >= kBlock) spill();
  }
  WriteProblem finish() override {
    spill();
    std::string line;
    for (size_t i = 0; i < cols_.size(); ++i) {
      if (i) line += ',';
      line += csv_cell(cols_[i]);
    }
    std::fprintf(out_, "%s\n", line.c_str());
    std::string text;
    char buf[1 << 16];
    for (uint64_t off = 0; off < spooled_;) {
      ssize_t n = ::pread(fd_, buf, size_t(std::min<uint64_t>(sizeof buf, spooled_ - off)), off_t(off));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        return {"CSV: cannot read back the rows spooled to a temporary file (" +
                    std::string(std::strerror(n < 0 ? errno : EIO)) + "): rows after the first ones are missing",
                true};
      off += uint64_t(n);
      text.append(buf, size_t(n));
      text.erase(0, emit(text));
    }
    text += held_;
    text.erase(0, emit(text));
    if (!text.empty()) return {"CSV: the spooled rows are damaged: rows are missing", true};
    if (held_.empty()) return {};
    const std::string size = held_.size() >= (size_t(1) << 20) ? std::to_string(held_.size() >> 20) + " MiB"
                                                                  : std::to_string((held_.size() + 1023) >> 10) + " KiB";
    return {"CSV: " + size + " of rows were held in memory: no temporary file " +
                (fd_ < 0 ? "could be made" : "could take them") + " (" + std::strerror(spool_errno_) + ")",
            false};
  }

 private:
  static constexpr size_t kBlock = size_t(1) << 20;
  static int open_spool(int& err) {
    std::error_code ec;
    std::filesystem::path dir = std::filesystem::temp_directory_path(ec);
    if (ec) dir = "/tmp";
    int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {  // a file system without O_TMPFILE: a named file, unlinked at once
      std::string name = (dir / "vigil-csv-XXXXXX").string();
      fd = ::mkostemp(name.data(), O_CLOEXEC);
      if (fd >= 0) ::unlink(name.c_str());
    }
    err = fd < 0 ? errno : 0;
    return fd;
  }
  // The pending block goes to the spool; what the spool does not take stays in memory after it.
  void spill() {
    size_t at = 0;
    while (fd_ >= 0 && !spool_errno_ && at < pending_.size()) {
      ssize_t n = ::write(fd_, pending_.data() + at, pending_.size() - at);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) spool_errno_ = n < 0 ? errno : ENOSPC;
      else at += size_t(n), spooled_ += uint64_t(n);
    }
    held_.append(pending_, at);
    pending_.clear();
  }
  void put32(uint32_t v) { pending_.append(reinterpret_cast<const char*>(&v), 4); }
  void put64(uint64_t v) { pending_.append(reinterpret_cast<const char*>(&v), 8); }
  template <class T>
  static bool get(std::string_view s, size_t& at, T& v) {
    if (s.size() - at < sizeof v) return false;
    std::memcpy(&v, s.data() + at, sizeof v);
    at += sizeof v;
    return true;
  }
  // Writes the whole rows at the start of `s`; returns how many bytes they took. A row naming a
  // column that does not exist (damage) is not written, nor anything after it.
  size_t emit(std::string_view s) {
    size_t done = 0;
    std::vector<std::string_view> cells(cols_.size());
    std::string line;
    for (;;) {
      size_t at = done;
      uint32_t n = 0;
      if (!get(s, at, n) || n > cells.size()) return done;
      std::fill(cells.begin(), cells.end(), std::string_view());
      bool whole = true;
      for (uint32_t i = 0; i < n && whole; ++i) {
        uint32_t col = 0;
        uint64_t len = 0;
        whole = get(s, at, col) && get(s, at, len) && col < cells.size() && s.size() - at >= len;
        if (whole) {
          cells[col] = s.substr(at, size_t(len));
          at += size_t(len);
        }
      }
      if (!whole) return done;
      line.clear();
      for (size_t i = 0; i < cells.size(); ++i) {
        if (i) line += ',';
        line += csv_cell(cells[i]);
      }
      line += '\n';
      std::fwrite(line.data(), 1, line.size(), out_);
      done = at;
    }
  }

  std::FILE* out_;
  int spool_errno_ = 0;  // why the spool could not be made or stopped taking rows (0: it did not)
  int fd_;
  uint64_t spooled_ = 0;  // bytes the spool took
  std::string pending_;   // rows not spooled yet
  std::string held_;      // rows the spool did not take
  std::vector<std::string> cols_;
  std::unordered_map<std::string, uint32_t, TextHash, TextEq> column_;
  std::vector<uint64_t> last_row_;  // [column]: the last row that had it
  uint64_t row_ = 0;
};

class TableRowWriter : public RowWriter {
 public:
  explicit TableRowWriter(std::FILE* o) : out_(o) {}
  void write(const Row& row) override { rows_.push_back(row); }
  WriteProblem finish() override {
    std::vector<std::string> cols;
    for (auto& r : rows_)
      for (auto& [k, v] : r.entries())
        if (!internal_field(k) && std::find(cols.begin(), cols.end(), k) == cols.end()) cols.push_back(k);
    std::vector<size_t> w(cols.size());
    for (size_t c = 0; c < cols.size(); ++c) {
      w[c] = std::min<size_t>(cols[c].size(), 60);
      for (auto& r : rows_) w[c] = std::max(w[c], std::min<size_t>(clip(row_cell(r, cols[c]), 60).size(), 60));
    }
    auto line = [&](auto get) {
      std::string s;
      for (size_t c = 0; c < cols.size(); ++c) {
        std::string v = clip(get(c), 60);
        s += v + std::string(w[c] > v.size() ? w[c] - v.size() + 2 : 2, ' ');
      }
      std::fprintf(out_, "%s\n", std::string(trim(s)).c_str());
    };
    line([&](size_t c) { return cols[c]; });  // clip() escapes names and values alike
    for (auto& r : rows_) line([&](size_t c) { return row_cell(r, cols[c]); });
    return {};
  }

 private:
  std::FILE* out_;
  Table rows_;
};

}  // namespace

std::unique_ptr<RowWriter> make_row_writer(Format f, std::FILE* out) {
  if (f == Format::jsonl) return std::make_unique<JsonlRowWriter>(out);
  if (f == Format::csv) return std::make_unique<CsvRowWriter>(out);
  return std::make_unique<TableRowWriter>(out);
}

}  // namespace vigil::report
