// Lookup commands over content::LookupRegistry: lookup, inputlookup (generating),
// outputlookup (only when writes are allowed, only under ExecContext::writes_dir).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unordered_set>

#include "core/escape.h"
#include "core/strings.h"
#include "spl/operators.h"

namespace vigil::spl::ops {

namespace {

using content::LookupTable;

class LookupOp final : public ir::Operator {
 public:
  struct Binding {
    int column;
    std::string field;  ///< event field
  };
  LookupOp(const LookupTable* t, std::vector<Binding> in, std::vector<Binding> out, bool outputnew)
      : t_(t), in_(std::move(in)), out_(std::move(out)), outputnew_(outputnew) {}
  std::string name() const override { return "lookup"; }
  ir::OpShape shape() const override { return ir::OpShape::per_row; }
  bool reads(std::vector<std::string>& f) const override {
    for (auto& b : in_) f.push_back(b.field);
    for (auto& b : out_) f.push_back(b.field);  // OUTPUTNEW looks at them; OUTPUT clears them
    return true;
  }
  bool writes(std::vector<std::string>& f) const override {
    for (auto& b : out_) f.push_back(b.field);
    return true;
  }
  void run(Table& rows, ir::ExecContext&) override {
    std::vector<LookupTable::Input> inputs(in_.size());
    for (Row& r : rows) {
      bool have_all = true;
      for (size_t i = 0; i < in_.size() && have_all; ++i) {
        const Value* v = r.get(in_[i].field);
        if (!v) {
          have_all = false;
          break;
        }
        inputs[i].column = in_[i].column;
        inputs[i].values = v->all_texts();
      }
      if (!have_all) continue;  // no input value: the event is left as it is
      if (outputnew_) {
        // OUTPUTNEW: only events that lack every output field are looked up.
        bool any = false;
        for (auto& o : out_) any = any || r.has(o.field);
        if (any) continue;
      }
      std::vector<size_t> hits = t_->match(inputs);
      if (hits.size() < t_->min_matches || hits.empty()) {
        // default_match applies only below a positive min_matches (transforms.conf).
        bool use_default = t_->default_match && hits.size() < t_->min_matches;
        for (auto& o : out_) {
          if (use_default) r.set(o.field, Value(*t_->default_match));
          else r.erase(o.field);  // OUTPUT replaces: no match leaves no stale value
        }
        continue;
      }
      for (auto& o : out_) {
        std::vector<std::string> vals;
        for (size_t h : hits) {
          const std::string& cell = t_->rows[h][o.column];
          if (!cell.empty()) vals.push_back(cell);
        }
        r.set(o.field, Value::multi(std::move(vals)));
      }
    }
  }

 private:
  const LookupTable* t_;
  std::vector<Binding> in_, out_;
  bool outputnew_;
};

class InputlookupOp final : public ir::Operator {
 public:
  InputlookupOp(const LookupTable* t, bool append) : t_(t), append_(append) {}
  std::string name() const override { return "inputlookup"; }
  void run(Table& rows, ir::ExecContext&) override {
    if (!append_) rows.clear();
    for (auto& cells : t_->rows) {
      Row r;
      for (size_t c = 0; c < t_->columns.size(); ++c)
        if (!cells[c].empty()) r.set(t_->columns[c], Value(cells[c]));
      rows.push_back(std::move(r));
    }
  }

 private:
  const LookupTable* t_;
  bool append_;
};

class OutputlookupOp final : public ir::Operator {
 public:
  explicit OutputlookupOp(std::string file) : file_(std::move(file)) {}
  std::string name() const override { return "outputlookup"; }
  void run(Table& rows, ir::ExecContext& ctx) override {
    if (!ctx.allow_writes || ctx.writes_dir.empty()) {
      if (ctx.diags) ctx.diags->warning(ctx.where, "outputlookup: no writes directory; nothing written", "refused");
      return;
    }
    std::vector<std::string> cols;
    std::unordered_set<std::string> seen;
    for (auto& r : rows)
      for (auto& e : r.entries())
        if (seen.insert(e.first).second) cols.push_back(e.first);
    std::filesystem::path p = std::filesystem::path(ctx.writes_dir) / file_;
    std::string text;
    for (size_t i = 0; i < cols.size(); ++i) {
      if (i) text += ',';
      text += csv_field(cols[i]);
    }
    text += "\n";
    for (auto& r : rows) {
      for (size_t i = 0; i < cols.size(); ++i) {
        const Value* v = r.get(cols[i]);
        if (i) text += ',';
        text += csv_field(v ? v->to_string() : std::string());
      }
      text += "\n";
    }
    // The directory is the user's, the name the rule's: open relative to the
    // directory with O_NOFOLLOW so that a symlink planted under the name
    // (pointing out of the folder) is refused, never followed and overwritten.
    int dir = ::open(ctx.writes_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int fd = dir < 0 ? -1 : ::openat(dir, file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    const int err = errno;
    if (dir >= 0) ::close(dir);
    if (fd < 0) {
      if (ctx.diags)
        ctx.diags->error(ctx.where,
                         "outputlookup: cannot write " + p.string() + ": " +
                             (err == ELOOP ? std::string("it is a symbolic link (not followed)") : std::strerror(err)),
                         "write-failed");
      return;
    }
    size_t done = 0;
    while (done < text.size()) {
      ssize_t n = ::write(fd, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        if (ctx.diags) ctx.diags->error(ctx.where, "outputlookup: write failed: " + p.string(), "write-failed");
        break;
      }
      done += static_cast<size_t>(n);
    }
    ::close(fd);
  }

 private:
  std::string file_;
};


}  // namespace

OperatorResult make_lookup(const Command&, const LookupCmd& l, OperatorEnv& env) {
  if (!env.lookups) return error("no lookup tables loaded");
  const LookupTable* t = env.lookups->find(l.table);
  if (!t) return error("lookup table '" + l.table + "' is not available");
  if (l.inputs.empty()) return error("lookup needs an input field");
  std::vector<LookupOp::Binding> in, out;
  std::unordered_set<int> input_cols;
  for (auto& [col, field] : l.inputs) {
    int c = t->column(unquote_field(col));
    if (c < 0) return error("lookup '" + l.table + "' has no field '" + col + "'");
    in.push_back({c, unquote_field(field.empty() ? col : field)});
    input_cols.insert(c);
  }
  if (l.outputs.empty()) {
    // No OUTPUT clause: every non-input column, under its own name.
    for (size_t c = 0; c < t->columns.size(); ++c)
      if (!input_cols.count(static_cast<int>(c))) out.push_back({static_cast<int>(c), t->columns[c]});
  } else {
    for (auto& [col, field] : l.outputs) {
      int c = t->column(unquote_field(col));
      if (c < 0) return error("lookup '" + l.table + "' has no field '" + col + "'");
      out.push_back({c, unquote_field(field.empty() ? col : field)});
    }
  }
  return ok<LookupOp>(t, std::move(in), std::move(out), iequals(l.output_mode, "OUTPUTNEW"));
}

OperatorResult make_inputlookup(const Command&, const GenericCmd& g, OperatorEnv& env) {
  if (!env.lookups) return error("no lookup tables loaded");
  if (g.words.empty()) return error("inputlookup needs a table name");
  if (g.words.size() > 1) return error("inputlookup: 'where' clauses are not supported");
  const LookupTable* t = env.lookups->find(g.words[0]);
  if (!t) return error("lookup table '" + g.words[0] + "' is not available");
  std::string a = opt(g.options, "append");
  return ok<InputlookupOp>(t, iequals(a, "true") || iequals(a, "t") || a == "1");
}

OperatorResult make_outputlookup(const Command&, const GenericCmd& g, OperatorEnv& env) {
  if (!env.allow_writes) return error("refused: writes/executes; enable with --allow-writes");
  if (g.words.empty()) return error("outputlookup needs a table name");
  std::string name = g.words.back();
  // Only a plain file name: never a path that could escape the writes directory.
  // Control characters (a newline in a name forges lines in listings and
  // diagnostics) are refused too.
  bool control = false;
  for (unsigned char c : name) control |= c < 0x20 || c == 0x7f;
  if (name.empty() || control || name.find('/') != std::string::npos || name.find('\\') != std::string::npos ||
      name.find("..") != std::string::npos)
    return error("outputlookup: '" + escape_controls(name) + "' is not a plain file name");
  if (!iends_with(name, ".csv")) name += ".csv";
  return ok<OutputlookupOp>(std::move(name));
}

}  // namespace vigil::spl::ops
