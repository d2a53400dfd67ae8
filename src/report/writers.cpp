#include "report/writers.h"

#include <fmt/format.h>

#include <algorithm>

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

// Findings are appended to one buffer (json_quote_to): a finding carries ~100 fields, and a
// string per piece was a third of the cost of writing findings.

static void append_value_json(std::string& s, const Value& v) {
  if (v.is_null()) {
    s += "null";
  } else if (v.is_number()) {
    NumberText buf;
    s += format_number(v.number(), buf);
  } else if (v.is_string()) {
    json_quote_to(s, v.string());
  } else {
    s += '[';
    for (size_t i = 0; i < v.values().size(); ++i) {
      if (i) s += ',';
      json_quote_to(s, v.values()[i]);
    }
    s += ']';
  }
}

static bool internal_field(const std::string& n) { return n.rfind("_vigil", 0) == 0; }

static void append_row_json(std::string& s, const Row& row) {
  s += '{';
  bool first = true;
  for (auto& [k, v] : row.entries()) {
    if (internal_field(k)) continue;
    if (!first) s += ',';
    first = false;
    json_quote_to(s, k);
    s += ':';
    append_value_json(s, v);
  }
  s += '}';
}

std::string value_json(const Value& v) {
  std::string s;
  append_value_json(s, v);
  return s;
}

std::string row_json(const Row& row) {
  std::string s;
  append_row_json(s, row);
  return s;
}

static std::string str_array(const std::vector<std::string>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + json_quote(v[i]);
  return s + "]";
}

std::string finding_json(const FindingView& f) {
  std::string s;
  s.reserve(4096);
  s += '{';
  s += "\"rule_id\":" + json_quote(f.rule_id);
  s += ",\"rule_name\":" + json_quote(f.rule_name);
  s += ",\"rule_language\":" + json_quote(f.rule_language);
  s += ",\"rule_type\":" + json_quote(f.rule_type);
  s += ",\"level\":" + (f.level.empty() ? std::string("null") : json_quote(f.level));
  s += ",\"risk_score\":" + format_number(f.risk_score);
  s += ",\"message\":" + json_quote(f.message);
  if (!f.message_missing.empty()) s += ",\"message_missing\":" + str_array(f.message_missing);
  s += ",\"entities\":[";
  for (size_t i = 0; i < f.entities.size(); ++i) {
    auto& e = f.entities[i];
    s += fmt::format("{}{{\"field\":{},\"type\":{},\"value\":{},\"role\":{},\"score\":{}}}", i ? "," : "",
                     json_quote(e.field), json_quote(e.type), json_quote(e.value), json_quote(e.role),
                     format_number(e.score));
  }
  s += "],\"mitre_attack\":[";
  for (size_t i = 0; i < f.mitre_attack.size(); ++i) {
    auto& t = f.mitre_attack[i];
    s += fmt::format("{}{{\"id\":{},\"name\":{},\"tactics\":{}}}", i ? "," : "", json_quote(t.id),
                     t.name.empty() ? "null" : json_quote(t.name), str_array(t.tactics));
  }
  s += "],\"analytic_story\":" + str_array(f.analytic_story);
  s += ",\"first_time\":" + (f.first_time.empty() ? std::string("null") : json_quote(f.first_time));
  s += ",\"last_time\":" + (f.last_time.empty() ? std::string("null") : json_quote(f.last_time));
  s += ",\"count\":" + format_number(f.count);
  s += ",\"fields\":";
  if (f.fields) append_row_json(s, *f.fields);
  else s += "{}";
  s += ",\"source\":";
  if (f.sources.size() == 1)
    s += fmt::format("{{\"file\":{},\"record_id\":{}{}{}}}", json_quote(f.sources[0].file), json_quote(f.sources[0].record_id),
                     f.sources[0].line ? fmt::format(",\"line\":{}", f.sources[0].line) : "",
                     f.sources[0].recovered ? fmt::format(",\"recovered\":true,\"offset\":{}", f.sources[0].offset) : "");
  else
    s += "null";
  s += "}";
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
    std::string line = finding_json(f);  // ~6 KB for a Sigma finding (every field of the event)
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), out_);
  }

 private:
  std::FILE* out_;
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
