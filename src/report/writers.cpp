#include "report/writers.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cstring>

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
std::string csv_cell(std::string_view raw) {
  std::string v = escape_controls(raw, true);
  bool quote = v.find_first_of(",\"\n\r") != std::string::npos;
  if (!quote) return v;
  return "\"" + replace_all(v, "\"", "\"\"") + "\"";
}

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
    for (size_t i = 0; i < cells.size(); ++i) line += (i ? "," : "") + csv_cell(cells[i]);
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

void write_rows(const Table& rows, Format f, std::FILE* out) {
  if (f == Format::jsonl) {
    for (auto& r : rows) std::fprintf(out, "%s\n", row_json(r).c_str());
    return;
  }
  std::vector<std::string> cols;
  for (auto& r : rows)
    for (auto& [k, v] : r.entries())
      if (!internal_field(k) && std::find(cols.begin(), cols.end(), k) == cols.end()) cols.push_back(k);
  // `_time` is epoch seconds in rows; people read it as a timestamp, as Splunk shows it.
  auto cell = [&](const Row& r, const std::string& c) {
    const Value* v = r.get(c);
    if (v && c == "_time" && v->is_number()) return format_iso8601(v->number(), 3);
    return v ? v->to_string() : std::string();
  };
  if (f == Format::csv) {
    std::string line;
    for (size_t i = 0; i < cols.size(); ++i) line += (i ? "," : "") + csv_cell(cols[i]);
    std::fprintf(out, "%s\n", line.c_str());
    for (auto& r : rows) {
      line.clear();
      for (size_t i = 0; i < cols.size(); ++i) line += (i ? "," : "") + csv_cell(cell(r, cols[i]));
      std::fprintf(out, "%s\n", line.c_str());
    }
    return;
  }
  std::vector<size_t> w(cols.size());
  for (size_t c = 0; c < cols.size(); ++c) {
    w[c] = std::min<size_t>(cols[c].size(), 60);
    for (auto& r : rows) w[c] = std::max(w[c], std::min<size_t>(clip(cell(r, cols[c]), 60).size(), 60));
  }
  auto line = [&](auto get) {
    std::string s;
    for (size_t c = 0; c < cols.size(); ++c) {
      std::string v = clip(get(c), 60);
      s += v + std::string(w[c] > v.size() ? w[c] - v.size() + 2 : 2, ' ');
    }
    std::fprintf(out, "%s\n", std::string(trim(s)).c_str());
  };
  line([&](size_t c) { return cols[c]; });  // clip() escapes names and values alike
  for (auto& r : rows) line([&](size_t c) { return cell(r, cols[c]); });
}

}  // namespace vigil::report
