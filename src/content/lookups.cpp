#include "content/lookups.h"

#include "core/yaml.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "core/source_cache.h"
#include "core/strings.h"

namespace vigil::content {

Result<std::vector<std::vector<std::string>>> parse_csv(std::string_view text) {
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 BOM
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string cell;
  size_t i = 0;
  bool any = false;  // the current row has content (so a trailing newline adds no empty row)
  while (i < text.size()) {
    char c = text[i];
    if (c == '"' && cell.empty()) {
      size_t start = i;
      ++i;
      bool closed = false;
      while (i < text.size()) {
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            cell += '"';
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        cell += text[i++];
      }
      if (!closed)
        return Error{"unterminated quoted CSV field starting at byte " + std::to_string(start), {"", 0, 0, start}};
      any = true;
      // Characters after the closing quote up to the separator are kept (lenient, like Splunk).
      continue;
    }
    if (c == ',') {
      row.push_back(std::move(cell));
      cell.clear();
      any = true;
      ++i;
      continue;
    }
    if (c == '\r' || c == '\n') {
      if (any || !cell.empty()) {
        row.push_back(std::move(cell));
        rows.push_back(std::move(row));
      }
      row.clear();
      cell.clear();
      any = false;
      i += (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ? 2 : 1;
      continue;
    }
    cell += c;
    any = true;
    ++i;
  }
  if (any || !cell.empty()) {
    row.push_back(std::move(cell));
    rows.push_back(std::move(row));
  }
  return rows;
}

int LookupTable::column(std::string_view n) const {
  for (size_t i = 0; i < columns.size(); ++i)
    if (columns[i] == n) return static_cast<int>(i);
  return -1;
}

void LookupTable::set_wildcard(std::string_view col) { wildcard_names_.emplace_back(col); }

void LookupTable::prepare() {
  wildcard_.assign(columns.size(), false);
  for (auto& n : wildcard_names_) {
    int c = column(n);
    if (c >= 0) wildcard_[c] = true;
  }
  // Wildcard cells are compiled on a column's first match: a rule may match a table on one
  // column of several (dynamic_dns_providers alone has 100k wildcard rows).
  cols_ = std::make_unique<Column[]>(columns.size());
}

const std::vector<WildcardPattern>& LookupTable::patterns(int col) const {
  Column& c = cols_[col];
  std::call_once(c.patterns_once, [&] {
    c.patterns.reserve(rows.size());
    for (auto& r : rows) c.patterns.emplace_back(r[col], WildcardPattern::Syntax::spl, !case_sensitive);
  });
  return c.patterns;
}

const std::unordered_multimap<std::string, size_t>& LookupTable::exact_index(int col) const {
  Column& c = cols_[col];
  std::call_once(c.index_once, [&] {
    for (size_t r = 0; r < rows.size(); ++r) c.index.emplace(case_sensitive ? rows[r][col] : to_lower(rows[r][col]), r);
  });
  return c.index;
}

namespace {
uint32_t trigram(std::string_view s, size_t at) {
  return uint32_t(uint8_t(s[at])) | uint32_t(uint8_t(s[at + 1])) << 8 | uint32_t(uint8_t(s[at + 2])) << 16;
}
}  // namespace

const LookupTable::WildIndex& LookupTable::wild_index(int col) const {
  const auto& pats = patterns(col);
  Column& c = cols_[col];
  std::call_once(c.wild_once, [&] { build_wild_index(col, pats, c.wild); });
  return c.wild;
}

void LookupTable::build_wild_index(int col, const std::vector<WildcardPattern>& pats, WildIndex& w) const {
  using Tok = WildcardPattern::Tok;
  auto fold = [&](const std::string& t) { return case_sensitive ? t : to_lower(t); };
  auto add_len = [](std::vector<size_t>& lens, size_t n) {
    if (std::find(lens.begin(), lens.end(), n) == lens.end()) lens.push_back(n);
  };
  for (uint32_t r = 0; r < pats.size(); ++r) {
    const auto& t = pats[r].tokens();
    if (rows[r][col].empty()) {
      w.empty.push_back(r);
    } else if (t.size() == 1 && t[0].kind == Tok::lit) {
      w.exact[fold(t[0].text)].push_back(r);
    } else if (t.size() == 2 && t[0].kind == Tok::lit && t[1].kind == Tok::star) {
      w.prefix[fold(t[0].text)].push_back(r);
      add_len(w.prefix_lens, t[0].text.size());
    } else if (t.size() == 2 && t[0].kind == Tok::star && t[1].kind == Tok::lit) {
      w.suffix[fold(t[1].text)].push_back(r);
      add_len(w.suffix_lens, t[1].text.size());
    } else if (t.size() == 3 && t[0].kind == Tok::star && t[1].kind == Tok::lit && t[2].kind == Tok::star &&
               t[1].text.size() >= 3) {
      std::string lit = fold(t[1].text);
      w.contains[trigram(lit, 0)].emplace_back(r, std::move(lit));
    } else {
      w.other.push_back(r);
    }
  }
}

void LookupTable::wild_candidates(int col, std::string_view value, std::vector<size_t>& out) const {
  const WildIndex& w = wild_index(col);
  std::string v = case_sensitive ? std::string(value) : to_lower(value);
  auto take = [&](const WildIndex::Rows& m, std::string_view k) {
    if (auto it = m.find(k); it != m.end()) out.insert(out.end(), it->second.begin(), it->second.end());
  };
  take(w.exact, v);
  for (size_t n : w.prefix_lens)
    if (n <= v.size()) take(w.prefix, std::string_view(v).substr(0, n));
  for (size_t n : w.suffix_lens)
    if (n <= v.size()) take(w.suffix, std::string_view(v).substr(v.size() - n));
  if (!w.contains.empty())
    for (size_t i = 0; i + 3 <= v.size(); ++i)
      if (auto it = w.contains.find(trigram(v, i)); it != w.contains.end())
        for (auto& [row, lit] : it->second)
          if (v.compare(i, lit.size(), lit) == 0) out.push_back(row);
  out.insert(out.end(), w.other.begin(), w.other.end());
  if (v.empty()) out.insert(out.end(), w.empty.begin(), w.empty.end());
}

bool LookupTable::cell_matches(size_t row, int col, std::string_view value,
                               const std::vector<WildcardPattern>* wild) const {
  const std::string& cell = rows[row][col];
  if (wild) {
    if (cell.empty()) return value.empty();
    return (*wild)[row].matches(value);
  }
  return case_sensitive ? cell == value : iequals(cell, value);
}

std::vector<size_t> LookupTable::match(const std::vector<Input>& inputs) const {
  std::vector<size_t> out;
  if (inputs.empty() || rows.empty()) return out;
  for (auto& in : inputs)
    if (in.column < 0 || static_cast<size_t>(in.column) >= columns.size() || in.values.empty()) return out;

  // Candidate rows: from the hash index of the first exact-match input, else from the literal index
  // of the first (wildcard) input; every input is then checked on each.
  std::vector<size_t> candidates;
  bool indexed = false;
  for (auto& in : inputs) {
    if (wildcard_[in.column]) continue;
    const auto& idx = exact_index(in.column);
    for (auto& v : in.values) {
      auto [b, e] = idx.equal_range(case_sensitive ? v : to_lower(v));
      for (auto it = b; it != e; ++it) candidates.push_back(it->second);
    }
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
    indexed = true;
    break;
  }
  if (!indexed) {
    // Only wildcard inputs: the first one's index narrows the rows (file order kept by the sort).
    const Input& in = inputs.front();
    for (auto& v : in.values) wild_candidates(in.column, v, candidates);
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  }
  std::vector<const std::vector<WildcardPattern>*> wild(inputs.size(), nullptr);
  for (size_t i = 0; i < inputs.size(); ++i)
    if (wildcard_[inputs[i].column]) wild[i] = &patterns(inputs[i].column);
  auto check = [&](size_t r) {
    for (size_t i = 0; i < inputs.size(); ++i) {
      const Input& in = inputs[i];
      bool any = false;
      for (auto& v : in.values)
        if (cell_matches(r, in.column, v, wild[i])) {
          any = true;
          break;
        }
      if (!any) return false;
    }
    return true;
  };
  for (size_t r : candidates) {
    if (out.size() >= max_matches) break;
    if (check(r)) out.push_back(r);
  }
  return out;
}

namespace {

std::string scalar(const yaml::Node& n) {
  if (!n || !n.IsScalar()) return {};
  return n.as<std::string>();
}

// `WILDCARD(a),WILDCARD(b), CIDR(c)` -> the WILDCARD column names.
std::vector<std::string> wildcard_columns(std::string_view spec) {
  std::vector<std::string> out;
  size_t pos = 0;
  while ((pos = ifind(spec, "WILDCARD(", pos)) != std::string_view::npos) {
    pos += 9;
    size_t close = spec.find(')', pos);
    if (close == std::string_view::npos) break;
    out.emplace_back(trim(spec.substr(pos, close - pos)));
    pos = close + 1;
  }
  return out;
}

}  // namespace

size_t LookupRegistry::load_dir(const std::string& dir, DiagnosticSink& diags) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<fs::path> files;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
    if (it->is_regular_file() && (it->path().extension() == ".yml" || it->path().extension() == ".yaml"))
      files.push_back(it->path());
  if (ec) diags.error({dir, 0, 0}, "cannot read lookup directory: " + ec.message(), "bad-lookup");
  std::sort(files.begin(), files.end());
  size_t loaded = 0;
  for (auto& p : files) {
    const std::string file = p.string();
    yaml::Node y;
    try {
      y = yaml::load_file(file);
    } catch (const yaml::Exception& e) {
      diags.error({file, static_cast<uint32_t>(e.mark.line + 1), static_cast<uint32_t>(e.mark.column + 1)}, e.msg,
                  "bad-lookup");
      continue;
    }
    if (!y.IsMap() || scalar(y["name"]).empty()) {
      diags.error({file, 1, 0}, "lookup definition needs a 'name'", "bad-lookup");
      continue;
    }
    auto t = std::make_unique<LookupTable>();
    t->name = scalar(y["name"]);
    t->path = file;
    if (auto v = scalar(y["case_sensitive_match"]); !v.empty()) t->case_sensitive = !iequals(v, "false");
    long long n;
    if (auto v = scalar(y["max_matches"]); !v.empty() && parse_int(v, n) && n > 0) t->max_matches = static_cast<size_t>(n);
    if (auto v = scalar(y["min_matches"]); !v.empty() && parse_int(v, n) && n >= 0) t->min_matches = static_cast<size_t>(n);
    if (y["default_match"] && y["default_match"].IsScalar()) t->default_match = scalar(y["default_match"]);
    for (auto& w : wildcard_columns(scalar(y["match_type"]))) t->set_wildcard(w);

    if (y["collection"]) {
      // KV store: no data ships with the content; the table starts empty with its declared columns.
      t->kvstore = true;
      const std::string fields_list = scalar(y["fields_list"]);  // named: split() returns views into it
      for (auto f : split(fields_list, ','))
        if (!trim(f).empty()) t->columns.emplace_back(trim(f));
    } else if (auto fname = scalar(y["filename"]); !fname.empty()) {
      t->filename = fname;
      fs::path csv = p.parent_path() / fname;
      if (std::error_code fe; !fs::is_regular_file(csv, fe)) {
        // .mlmodel files and tables shipped elsewhere: reported, not fatal.
        diags.warning({file, 0, 0}, "lookup file not found: " + csv.string(), "missing-lookup-file");
        continue;
      }
      // MLTK models (.mlmodel) and other non-CSV tables are not loadable here; a rule that uses
      // one is reported by lint as "lookup table … is not available", so no warning per file.
      if (csv.extension() != ".csv") continue;
      // Read when a rule first names the table (find): a hunt uses a few of the content's tables,
      // and reading them all (3 MB of CSV, 100k rows) was 14% of a start's main thread (perf).
      size_t idx = tables_.size();
      add(std::move(t));
      csv_[idx] = csv.string();
      ++loaded;
      continue;
    } else {
      diags.error({file, 1, 0}, "lookup definition needs 'filename' or 'collection'", "bad-lookup");
      continue;
    }
    add(std::move(t));
    ++loaded;
  }
  return loaded;
}

void LookupRegistry::add(std::unique_ptr<LookupTable> t) {
  t->prepare();
  size_t idx = tables_.size();
  by_name_[t->name] = idx;
  if (!t->filename.empty()) by_file_[t->filename] = idx;
  tables_.push_back(std::move(t));
  csv_.emplace_back();
}

const LookupTable* LookupRegistry::find(std::string_view name) const {
  size_t idx;
  if (auto it = by_name_.find(std::string(name)); it != by_name_.end()) idx = it->second;
  else if (auto it = by_file_.find(std::string(name)); it != by_file_.end()) idx = it->second;
  else return nullptr;
  std::lock_guard lock(mu_);
  if (failed_.count(idx) || (!csv_[idx].empty() && !read_csv(idx))) return nullptr;
  return tables_[idx].get();
}

// The table's CSV, on first use. A file that cannot be read or parsed leaves the table absent
// (the rule that names it says "not available") and is reported once, at the file.
bool LookupRegistry::read_csv(size_t idx) const {
  const std::string csv = std::exchange(csv_[idx], std::string());
  LookupTable& t = *tables_[idx];
  auto fail = [&](Severity sev, SourceLocation loc, std::string msg, const char* reason = "bad-lookup") {
    Diagnostic d;
    d.severity = sev;
    d.location = std::move(loc);
    d.message = std::move(msg);
    d.reason = reason;
    pending_.push_back(std::move(d));
    failed_.insert(idx);
    return false;
  };
  std::string text;
  if (!read_source_file(csv, text))  // reported as a file missing at load is
    return fail(Severity::warning, {csv, 0, 0}, "lookup file cannot be read: " + csv, "missing-lookup-file");
  auto rows = parse_csv(text);
  if (!rows.ok()) {
    SourceLocation loc = rows.error().location;
    loc.file = csv;
    return fail(Severity::error, loc, rows.error().message);
  }
  auto& all = rows.value();
  if (all.empty()) return fail(Severity::warning, {csv, 1, 0}, "empty lookup file");
  t.columns = std::move(all[0]);
  for (auto& c : t.columns) c = std::string(trim(c));
  t.rows.reserve(all.size() - 1);
  for (size_t r = 1; r < all.size(); ++r) {
    all[r].resize(t.columns.size());  // short rows pad with empty cells, long rows truncate
    t.rows.push_back(std::move(all[r]));
  }
  t.prepare();
  return true;
}

void LookupRegistry::report_pending(DiagnosticSink& diags) const {
  std::vector<Diagnostic> out;
  {
    std::lock_guard lock(mu_);
    out.swap(pending_);
  }
  for (auto& d : out) diags.report(std::move(d));
}

}  // namespace vigil::content
