// Recursive-descent SPL parser. Grammar (what the ESCU corpus uses, spl.md §1-§5):
//
//   pipeline   := [ '|' ] command { '|' command }
//   command    := implicit-search | NAME args          (split on top-level '|', quote/`\`/[…]-aware)
//   search     := and_expr
//   and_expr   := or_expr { [ 'AND' ] or_expr }         (implicit AND; lowest precedence)
//   or_expr    := not_expr { 'OR' not_expr }
//   not_expr   := 'NOT' not_expr | primary
//   primary    := '(' and_expr ')' | CASE '(' and_expr ')' | TERM '(' and_expr ')' | '[' pipeline ']'
//               | field ( '=' | '!=' | '<' | '<=' | '>' | '>=' ) value | field 'IN' '(' value { [','] value } ')'
//               | keyword
//   expr       := or { 'OR' } ; or > xor > and > not > comparison > additive > multiplicative > unary > primary
//   comparison := add [ ( '=' | '==' | '!=' | '<' | '<=' | '>' | '>=' | 'LIKE' ) add | 'IN' '(' expr-list ')' ]
//
// Deviation from the ast.h note: eval `NOT` binds looser than comparisons, so
// `NOT x IN (…)` and `NOT a="b"` negate the comparison as Splunk does (the
// corpus relies on it: `where NOT new_values IN (…) AND match(…)`).
// Boolean keywords are uppercase in search (lowercase `and` is a term) and
// case-insensitive in eval (`if(x like "%", …)` occurs in the corpus).
#include "spl/parser.h"

#include <algorithm>
#include <cstdlib>

#include "core/strings.h"
#include "spl/lexer.h"

namespace vigil::spl {

namespace {

constexpr int kMaxDepth = 64;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

class Cursor {
 public:
  explicit Cursor(std::vector<Token> t) : t_(std::move(t)) {}
  const Token& peek(size_t k = 0) const { return t_[std::min(i_ + k, t_.size() - 1)]; }
  const Token& next() {
    const Token& x = t_[i_];
    if (i_ + 1 < t_.size()) ++i_;
    return x;
  }
  bool at_end() const { return peek().kind == TokKind::end || peek().kind == TokKind::error; }
  bool is_op(std::string_view o, size_t k = 0) const { return peek(k).kind == TokKind::op && peek(k).text == o; }
  /// A search-mode word or eval identifier equal to `w`, ASCII case-insensitively.
  bool is_word_ci(std::string_view w, size_t k = 0) const {
    auto& t = peek(k);
    return (t.kind == TokKind::word || t.kind == TokKind::ident) && iequals(t.text, w);
  }
  bool is_word_exact(std::string_view w, size_t k = 0) const {
    auto& t = peek(k);
    return (t.kind == TokKind::word || t.kind == TokKind::ident) && t.text == w;
  }
  bool is_value(size_t k = 0) const { return peek(k).kind == TokKind::word || peek(k).kind == TokKind::string; }
  /// Word or string followed by `=` (an option `key=value`).
  bool is_option() const { return peek().kind == TokKind::word && is_op("=", 1); }
  const Token* error_token() const {
    return !t_.empty() && t_.back().kind == TokKind::error ? &t_.back() : nullptr;
  }
  uint32_t last_end() const { return i_ > 0 ? t_[i_ - 1].span.end : t_[0].span.begin; }

 private:
  std::vector<Token> t_;
  size_t i_ = 0;
};

class Parser {
 public:
  explicit Parser(std::string_view src) : src_(src) {}
  std::optional<SplError> err;

  std::unique_ptr<Pipeline> pipeline(uint32_t b, uint32_t e, bool nested, int depth);
  ExprPtr expression(uint32_t b, uint32_t e, int depth);

 private:
  // ------------------------------------------------------------ helpers
  bool fail(std::string msg, Span s, std::string hint = {}) {
    uint32_t n = uint32_t(src_.size());
    s.end = std::min(s.end, n);
    s.begin = std::min(s.begin, s.end);
    if (!err) err = SplError{std::move(msg), s, std::move(hint)};
    return false;
  }
  bool fail(std::string msg, const Token& t, std::string hint = {}) {
    if (t.kind == TokKind::error) return fail(t.text, t.span);
    return fail(std::move(msg), t.span, std::move(hint));
  }
  std::string quote_tok(const Token& t) const {
    if (t.kind == TokKind::end) return "end of command";
    return "'" + std::string(src_.substr(t.span.begin, t.span.end - t.span.begin)) + "'";
  }
  Cursor lex(uint32_t b, uint32_t e, LexMode m) {
    Cursor c(tokenize(src_, b, e, m));
    if (auto* et = c.error_token()) fail(et->text, et->span);
    return c;
  }
  std::string_view slice(uint32_t b, uint32_t e) const { return src_.substr(b, e - b); }
  /// A field-ish argument: word or string, glued with directly adjacent words, strings and
  /// parenthesised groups (`"Processes".*` -> `Processes.*`, `as aceFlags(inheritance)`).
  bool field_token(Cursor& c, std::string& out, std::string_view what);
  bool option(Cursor& c, std::map<std::string, std::string>& opts);
  /// Index range of the tokens inside the parenthesis that the cursor sits on; advances past `)`.
  bool paren_range(Cursor& c, uint32_t& b, uint32_t& e);

  // ------------------------------------------------------------ commands
  bool command(Command& cmd, uint32_t b, uint32_t e, bool first, bool nested, int depth);
  bool search_cmd(SearchCmd& s, uint32_t b, uint32_t e, int depth);
  bool eval_cmd(EvalCmd& s, uint32_t b, uint32_t e, int depth);
  bool tstats_cmd(TstatsCmd& s, uint32_t b, uint32_t e, int depth);
  bool stats_cmd(StatsCmd& s, const std::string& name, uint32_t b, uint32_t e, int depth);
  bool aggregate(Cursor& c, Aggregate& a, int depth);
  bool by_list(Cursor& c, std::vector<ByField>& by, std::map<std::string, std::string>& opts, const Token& by_tok);
  bool rename_cmd(RenameCmd& s, uint32_t b, uint32_t e);
  bool convert_cmd(ConvertCmd& s, uint32_t b, uint32_t e);
  bool fields_cmd(FieldsCmd& s, uint32_t b, uint32_t e, bool allow_sign);
  bool rex_cmd(RexCmd& s, uint32_t b, uint32_t e);
  bool regex_cmd(RegexCmd& s, uint32_t b, uint32_t e);
  bool lookup_cmd(LookupCmd& s, uint32_t b, uint32_t e);
  bool join_cmd(JoinCmd& s, uint32_t b, uint32_t e, int depth);
  bool append_cmd(AppendCmd& s, const std::string& name, uint32_t b, uint32_t e, int depth);
  bool bin_cmd(BinCmd& s, uint32_t b, uint32_t e);
  bool dedup_cmd(DedupCmd& s, uint32_t b, uint32_t e);
  bool fillnull_cmd(FillnullCmd& s, uint32_t b, uint32_t e);
  bool foreach_cmd(ForeachCmd& s, uint32_t b, uint32_t e, int depth);
  bool mvexpand_cmd(MvexpandCmd& s, uint32_t b, uint32_t e);
  bool sort_cmd(SortCmd& s, uint32_t b, uint32_t e);
  bool generic_cmd(GenericCmd& s, const std::string& name, uint32_t b, uint32_t e, int depth);
  std::unique_ptr<Pipeline> subsearch(const Token& t, int depth);

  // ------------------------------------------------------------ search expressions
  bool search_stop(Cursor& c, bool stop_by) const {
    return c.at_end() || c.is_op(")") || (stop_by && c.is_word_ci("by"));
  }
  SearchPtr s_and(Cursor& c, bool stop_by, int depth);
  SearchPtr s_or(Cursor& c, bool stop_by, int depth);
  SearchPtr s_not(Cursor& c, bool stop_by, int depth);
  SearchPtr s_primary(Cursor& c, bool stop_by, int depth);
  bool s_value(Cursor& c, SearchExpr& n, const Token& op_tok);

  // ------------------------------------------------------------ eval expressions
  ExprPtr e_or(Cursor& c, int depth);
  ExprPtr e_xor(Cursor& c, int depth);
  ExprPtr e_and(Cursor& c, int depth);
  ExprPtr e_not(Cursor& c, int depth);
  ExprPtr e_cmp(Cursor& c, int depth);
  ExprPtr e_add(Cursor& c, int depth);
  ExprPtr e_mul(Cursor& c, int depth);
  ExprPtr e_unary(Cursor& c, int depth);
  ExprPtr e_primary(Cursor& c, int depth);
  bool e_list(Cursor& c, Expr& into, int depth);  // `( a, b, … )` appended to into.args

  std::string_view src_;
};

ExprPtr make_expr(ExprKind k, Span s, std::string text = {}) {
  auto e = std::make_unique<Expr>();
  e->kind = k;
  e->span = s;
  e->text = std::move(text);
  return e;
}

ExprPtr make_binary(std::string op, ExprPtr l, ExprPtr r) {
  auto e = make_expr(ExprKind::binary, Span{l->span.begin, r->span.end}, std::move(op));
  e->args.push_back(std::move(l));
  e->args.push_back(std::move(r));
  return e;
}

// ================================================================ pipeline

std::unique_ptr<Pipeline> Parser::pipeline(uint32_t b, uint32_t e, bool nested, int depth) {
  if (depth > kMaxDepth) {
    fail("subsearches nested too deeply (limit 64)", Span{b, e});
    return nullptr;
  }
  auto p = std::make_unique<Pipeline>();
  p->span = Span{b, e};
  std::vector<std::pair<uint32_t, uint32_t>> segs;
  uint32_t start = b;
  for (uint32_t i = b; i < e; ++i) {
    char c = src_[i];
    if (c == '"') {
      size_t q = skip_quoted(src_, i, e);
      if (q == std::string_view::npos) {
        fail("unterminated quoted string", Span{i, e}, "close the string with '\"'");
        return nullptr;
      }
      i = uint32_t(q - 1);
    } else if (c == '\\') {
      ++i;
    } else if (c == '[') {
      size_t q = skip_brackets(src_, i, e);
      if (q == std::string_view::npos) {
        fail("unbalanced '[': subsearch is not closed", Span{i, i + 1});
        return nullptr;
      }
      i = uint32_t(q - 1);
    } else if (c == ']') {
      fail("unexpected ']' without a matching '['", Span{i, i + 1});
      return nullptr;
    } else if (c == '|') {
      segs.emplace_back(start, i);
      start = i + 1;
    }
  }
  segs.emplace_back(start, std::min<uint32_t>(e, uint32_t(src_.size())));
  auto trimmed = [&](std::pair<uint32_t, uint32_t> s) {
    while (s.first < s.second && is_space(src_[s.first])) ++s.first;
    while (s.second > s.first && is_space(src_[s.second - 1])) --s.second;
    return s;
  };
  if (segs.size() > 1 && trimmed(segs[0]).first == trimmed(segs[0]).second) {
    p->leading_pipe = true;
    segs.erase(segs.begin());
  }
  for (size_t k = 0; k < segs.size(); ++k) {
    auto [sb, se] = trimmed(segs[k]);
    if (sb == se) {
      uint32_t at = segs[k].first > b ? segs[k].first - 1 : b;  // the '|' before the empty command
      fail(segs.size() == 1 ? "empty search" : "empty command between pipes", Span{at, std::max(at + 1, segs[k].second)});
      return nullptr;
    }
    Command cmd;
    cmd.span = Span{sb, se};
    if (!command(cmd, sb, se, k == 0 && !p->leading_pipe, nested, depth)) return nullptr;
    // A generating command makes its own events: after another command it would drop what came
    // before (Splunk: "must be the first command"), unless told to append.
    if (k > 0) {
      const std::map<std::string, std::string>* opts = nullptr;
      if (auto* t = std::get_if<TstatsCmd>(&cmd.body)) opts = &t->options;
      if (opts) {
        auto ap = opts->find("append");
        bool append = ap != opts->end() && (iequals(ap->second, "true") || iequals(ap->second, "t") || ap->second == "1");
        if (!append) {
          uint32_t name_end = sb;
          while (name_end < se && !is_space(src_[name_end])) ++name_end;
          fail("'" + cmd.name + "' must be the first command of the search (it generates events)", Span{sb, name_end},
               "start the search with '| " + cmd.name + " …', or add append=true to add its rows to the results so far");
          return nullptr;
        }
      }
    }
    p->commands.push_back(std::move(cmd));
  }
  return p;
}

std::unique_ptr<Pipeline> Parser::subsearch(const Token& t, int depth) {
  // t.span covers `[ … ]`.
  return pipeline(t.span.begin + 1, t.span.end - 1, true, depth + 1);
}

bool Parser::command(Command& cmd, uint32_t b, uint32_t e, bool first, bool nested, int depth) {
  uint32_t w = b;
  while (w < e && (std::isalnum(static_cast<unsigned char>(src_[w])) || src_[w] == '_')) ++w;
  std::string name = to_lower(slice(b, w));
  bool word_alone = w > b && (w == e || is_space(src_[w]) || src_[w] == '[');
  uint32_t args = w;
  while (args < e && is_space(src_[args])) ++args;

  if (src_[b] == '`' && !first) {
    // An unexpanded `macro` in command position: map search strings expand macros at run time.
    size_t close = src_.find('`', b + 1);
    if (close != std::string_view::npos && close < e) {
      cmd.name = std::string(slice(b, uint32_t(close + 1)));
      GenericCmd g;
      if (!generic_cmd(g, cmd.name, uint32_t(close + 1), e, depth)) return false;
      cmd.body = std::move(g);
      return true;
    }
  }
  if (first) {
    bool explicit_cmd = word_alone && (name == "search" || (nested && is_spl_command(name)));
    if (!explicit_cmd) {
      cmd.name = "search";
      SearchCmd s;
      if (!search_cmd(s, b, e, depth)) return false;
      cmd.body = std::move(s);
      return true;
    }
  }
  if (w == b || !word_alone) {
    uint32_t end = std::max(w, b + 1);
    return fail("expected a command name after '|'", Span{b, end});
  }
  cmd.name = name;
  auto set = [&](auto&& body) {
    cmd.body = std::move(body);
    return true;
  };
  if (name == "search") {
    SearchCmd s;
    return search_cmd(s, args, e, depth) && set(s);
  }
  if (name == "where") {
    WhereCmd s;
    if (args == e) return fail("'where' needs an expression", cmd.span);
    s.expr = expression(args, e, depth);
    return s.expr && set(s);
  }
  if (name == "eval") {
    EvalCmd s;
    return eval_cmd(s, args, e, depth) && set(s);
  }
  if (name == "tstats" || (name == "from" && istarts_with(slice(args, e), "datamodel"))) {
    TstatsCmd s;
    s.from_form = name == "from";
    return tstats_cmd(s, args, e, depth) && set(s);
  }
  if (name == "stats" || name == "eventstats" || name == "streamstats" || name == "timechart" || name == "chart" ||
      name == "top" || name == "rare") {
    StatsCmd s;
    return stats_cmd(s, name, args, e, depth) && set(s);
  }
  if (name == "rename") {
    RenameCmd s;
    return rename_cmd(s, args, e) && set(s);
  }
  if (name == "convert") {
    ConvertCmd s;
    return convert_cmd(s, args, e) && set(s);
  }
  if (name == "table" || name == "fields") {
    FieldsCmd s;
    return fields_cmd(s, args, e, name == "fields") && set(s);
  }
  if (name == "rex") {
    RexCmd s;
    return rex_cmd(s, args, e) && set(s);
  }
  if (name == "regex") {
    RegexCmd s;
    return regex_cmd(s, args, e) && set(s);
  }
  if (name == "lookup") {
    LookupCmd s;
    return lookup_cmd(s, args, e) && set(s);
  }
  if (name == "join") {
    JoinCmd s;
    return join_cmd(s, args, e, depth) && set(s);
  }
  if (name == "append" || name == "appendpipe") {
    AppendCmd s;
    return append_cmd(s, name, args, e, depth) && set(s);
  }
  if (name == "bucket" || name == "bin") {
    BinCmd s;
    return bin_cmd(s, args, e) && set(s);
  }
  if (name == "dedup") {
    DedupCmd s;
    return dedup_cmd(s, args, e) && set(s);
  }
  if (name == "fillnull") {
    FillnullCmd s;
    return fillnull_cmd(s, args, e) && set(s);
  }
  if (name == "foreach") {
    ForeachCmd s;
    return foreach_cmd(s, args, e, depth) && set(s);
  }
  if (name == "mvexpand") {
    MvexpandCmd s;
    return mvexpand_cmd(s, args, e) && set(s);
  }
  if (name == "sort") {
    SortCmd s;
    return sort_cmd(s, args, e) && set(s);
  }
  GenericCmd g;
  return generic_cmd(g, name, args, e, depth) && set(g);
}

// ================================================================ argument helpers

bool Parser::field_token(Cursor& c, std::string& out, std::string_view what) {
  const Token& t = c.peek();
  if (!c.is_value()) return fail(std::string(what) + ": expected a field name, got " + quote_tok(t), t);
  out = t.kind == TokKind::string ? t.text : std::string(t.text);
  c.next();
  // Adjacent pieces are one name: `"Processes".*`, `predicted(unusual_cmdline_logits)`.
  while (!c.peek().space_before && (c.is_value() || c.is_op("("))) {
    if (c.is_value()) {
      out += c.next().text;
      continue;
    }
    uint32_t pb = c.peek().span.begin, ib = 0, ie = 0;
    if (!paren_range(c, ib, ie)) return false;
    out += std::string(slice(pb, ie + 1));
  }
  return true;
}

bool Parser::option(Cursor& c, std::map<std::string, std::string>& opts) {
  std::string key = c.next().text;
  const Token& eq = c.next();
  if (c.is_op("(")) {  // `startswith=(EventCode=4698)`: a search expression, kept as written
    uint32_t pb = c.peek().span.begin, ib = 0, ie = 0;
    if (!paren_range(c, ib, ie)) return false;
    opts[key] = std::string(slice(pb, ie + 1));
    return true;
  }
  if (!c.is_value()) return fail("option '" + key + "' needs a value", eq);
  std::string v;
  field_token(c, v, "option");
  opts[key] = std::move(v);
  return true;
}

bool Parser::paren_range(Cursor& c, uint32_t& b, uint32_t& e) {
  const Token& open = c.next();  // '('
  b = open.span.end;
  int depth = 1;
  while (!c.at_end()) {
    if (c.is_op("(")) ++depth;
    if (c.is_op(")") && --depth == 0) {
      e = c.peek().span.begin;
      c.next();
      return true;
    }
    c.next();
  }
  return fail("missing ')'", open.span);
}

// ================================================================ search

bool Parser::search_cmd(SearchCmd& s, uint32_t b, uint32_t e, int depth) {
  Cursor c = lex(b, e, LexMode::search);
  if (err) return false;
  if (c.at_end()) return true;  // bare `search`: everything
  s.expr = s_and(c, false, depth);
  if (err) return false;
  if (!c.at_end()) return fail("unexpected " + quote_tok(c.peek()) + " in search", c.peek());
  // `search *` is the match-everything filter (null expr, see ast.h).
  if (s.expr && s.expr->kind == SearchKind::keyword && !s.expr->subsearch && s.expr->values.size() == 1 &&
      s.expr->values[0] == "*" && !s.expr->quoted[0])
    s.expr.reset();
  return true;
}

SearchPtr Parser::s_and(Cursor& c, bool stop_by, int depth) {
  if (depth > kMaxDepth) {
    fail("search expression nested too deeply (limit 64)", c.peek());
    return nullptr;
  }
  std::vector<SearchPtr> kids;
  while (!search_stop(c, stop_by)) {
    if (c.is_word_exact("AND")) {
      const Token& t = c.next();
      if (kids.empty() || search_stop(c, stop_by)) {
        fail("AND needs an operand on both sides", t);
        return nullptr;
      }
      continue;
    }
    SearchPtr k = s_or(c, stop_by, depth);
    if (!k) return nullptr;
    kids.push_back(std::move(k));
  }
  if (kids.empty()) return nullptr;
  if (kids.size() == 1) return std::move(kids[0]);
  auto n = std::make_unique<SearchExpr>();
  n->kind = SearchKind::and_;
  n->span = Span{kids.front()->span.begin, kids.back()->span.end};
  n->children = std::move(kids);
  return n;
}

SearchPtr Parser::s_or(Cursor& c, bool stop_by, int depth) {
  SearchPtr first = s_not(c, stop_by, depth);
  if (!first || !c.is_word_exact("OR")) return first;
  auto n = std::make_unique<SearchExpr>();
  n->kind = SearchKind::or_;
  n->children.push_back(std::move(first));
  while (c.is_word_exact("OR")) {
    const Token& t = c.next();
    if (search_stop(c, stop_by) || c.is_word_exact("OR") || c.is_word_exact("AND")) {
      fail("OR needs an operand on both sides", t);
      return nullptr;
    }
    SearchPtr k = s_not(c, stop_by, depth);
    if (!k) return nullptr;
    n->children.push_back(std::move(k));
  }
  n->span = Span{n->children.front()->span.begin, n->children.back()->span.end};
  return n;
}

SearchPtr Parser::s_not(Cursor& c, bool stop_by, int depth) {
  if (!c.is_word_exact("NOT")) return s_primary(c, stop_by, depth);
  if (depth > kMaxDepth) {
    fail("search expression nested too deeply (limit 64)", c.peek());
    return nullptr;
  }
  Token t = c.next();
  if (search_stop(c, stop_by)) {
    fail("NOT needs an operand", t);
    return nullptr;
  }
  SearchPtr k = s_not(c, stop_by, depth + 1);
  if (!k) return nullptr;
  auto n = std::make_unique<SearchExpr>();
  n->kind = SearchKind::not_;
  n->span = Span{t.span.begin, k->span.end};
  n->children.push_back(std::move(k));
  return n;
}

static void mark_leaves(SearchExpr& e, bool case_sensitive, bool term) {
  if (e.kind == SearchKind::compare || e.kind == SearchKind::in_list || e.kind == SearchKind::keyword) {
    e.case_sensitive |= case_sensitive;
    e.term |= term;
  }
  for (auto& k : e.children) mark_leaves(*k, case_sensitive, term);
}

bool Parser::s_value(Cursor& c, SearchExpr& n, const Token& op_tok) {
  // value := word | string | CASE(value) | TERM(value)
  if ((c.is_word_ci("CASE") || c.is_word_ci("TERM")) && c.is_op("(", 1) && !c.peek(1).space_before) {
    bool cs = c.is_word_ci("CASE");
    c.next();
    const Token& open = c.next();
    if (!c.is_value()) return fail("expected a value inside " + quote_tok(open), c.peek());
    const Token& v = c.next();
    n.values.push_back(v.kind == TokKind::string ? v.text : unescape_search_value(v.text));
    n.quoted.push_back(v.kind == TokKind::string);
    if (!c.is_op(")")) return fail("missing ')'", open);
    n.span.end = c.next().span.end;
    (cs ? n.case_sensitive : n.term) = true;
    return true;
  }
  if (!c.is_value()) return fail("missing value after " + quote_tok(op_tok), op_tok);
  const Token& v = c.next();
  bool quoted = v.kind == TokKind::string;
  std::string value = quoted ? v.text : unescape_search_value(v.text);
  n.span.end = v.span.end;
  // An unquoted value with directly attached parentheses (`*GetCurrent()*`,
  // `relative_time(now(), "-10m@m")`) is one value, kept as written.
  while (!quoted && !c.peek().space_before && (c.is_op("(") || c.peek().kind == TokKind::word)) {
    if (c.is_op("(")) {
      uint32_t pb = c.peek().span.begin, ib = 0, ie = 0;
      if (!paren_range(c, ib, ie)) return false;
      value += unescape_search_value(slice(pb, ie + 1));
    } else {
      value += unescape_search_value(c.next().text);
    }
    n.span.end = c.last_end();
  }
  n.values.push_back(std::move(value));
  n.quoted.push_back(quoted);
  return true;
}

SearchPtr Parser::s_primary(Cursor& c, bool stop_by, int depth) {
  const Token& t = c.peek();
  auto n = std::make_unique<SearchExpr>();
  n->span = t.span;
  if (t.kind == TokKind::op && t.text == "(") {
    Token open = c.next();
    SearchPtr inner = s_and(c, false, depth + 1);
    if (err) return nullptr;
    if (!inner) {
      fail(c.is_op(")") ? "empty parentheses in search" : "unexpected " + quote_tok(c.peek()) + " in search",
           c.is_op(")") ? Span{open.span.begin, c.peek().span.end} : c.peek().span);
      return nullptr;
    }
    if (!c.is_op(")")) {
      fail("missing ')'", open);
      return nullptr;
    }
    c.next();
    return inner;
  }
  if (t.kind == TokKind::subsearch) {
    Token sub = c.next();
    n->kind = SearchKind::keyword;
    n->subsearch = subsearch(sub, depth);
    if (!n->subsearch) return nullptr;
    return n;
  }
  if ((c.is_word_ci("CASE") || c.is_word_ci("TERM")) && c.is_op("(", 1) && !c.peek(1).space_before) {
    bool cs = c.is_word_ci("CASE");
    c.next();
    Token open = c.next();
    SearchPtr inner = s_and(c, false, depth + 1);
    if (err) return nullptr;
    if (!inner || !c.is_op(")")) {
      fail("malformed " + std::string(cs ? "CASE" : "TERM") + "(…)", open);
      return nullptr;
    }
    c.next();
    mark_leaves(*inner, cs, !cs);
    return inner;
  }
  if (!c.is_value()) {
    fail("unexpected " + quote_tok(t) + " in search", t);
    return nullptr;
  }
  Token first = c.next();
  std::string name = first.text;  // a quoted field name arrives unquoted
  const Token& op = c.peek();
  if (op.kind == TokKind::op && (op.text == "=" || op.text == "==" || op.text == "!=" || op.text == "<" ||
                                 op.text == "<=" || op.text == ">" || op.text == ">=")) {
    Token op_tok = c.next();
    n->kind = SearchKind::compare;
    n->field = std::move(name);
    n->op = op_tok.text == "==" ? "=" : op_tok.text;
    if (!s_value(c, *n, op_tok)) return nullptr;
    return n;
  }
  if (c.is_word_ci("IN") && c.is_op("(", 1)) {
    c.next();
    Token open = c.next();
    n->kind = SearchKind::in_list;
    n->field = std::move(name);
    while (!c.is_op(")")) {
      if (c.is_op(",")) {
        c.next();
        continue;
      }
      if (!c.is_value()) {
        fail(c.at_end() ? "missing ')' after IN list" : "unexpected " + quote_tok(c.peek()) + " in IN list",
             c.at_end() ? open : c.peek());
        return nullptr;
      }
      const Token& v = c.next();
      n->values.push_back(v.kind == TokKind::string ? v.text : unescape_search_value(v.text));
      n->quoted.push_back(v.kind == TokKind::string);
    }
    n->span.end = c.next().span.end;
    if (n->values.empty()) {
      fail("empty IN list", n->span);
      return nullptr;
    }
    return n;
  }
  n->kind = SearchKind::keyword;
  n->values.push_back(first.kind == TokKind::string ? first.text : unescape_search_value(first.text));
  n->quoted.push_back(first.kind == TokKind::string);
  return n;
}

// ================================================================ eval expressions

ExprPtr Parser::expression(uint32_t b, uint32_t e, int depth) {
  Cursor c = lex(b, e, LexMode::eval);
  if (err) return nullptr;
  if (c.at_end()) {
    fail("empty expression", Span{b, e});
    return nullptr;
  }
  ExprPtr x = e_or(c, depth);
  if (!x) return nullptr;
  if (!c.at_end()) {
    fail("unexpected " + quote_tok(c.peek()) + " after expression", c.peek());
    return nullptr;
  }
  return x;
}

ExprPtr Parser::e_or(Cursor& c, int depth) {
  if (depth > kMaxDepth) {
    fail("expression nested too deeply (limit 64)", c.peek());
    return nullptr;
  }
  ExprPtr l = e_xor(c, depth);
  while (l && c.is_word_ci("OR") && c.peek().kind == TokKind::ident) {
    c.next();
    ExprPtr r = e_xor(c, depth);
    if (!r) return nullptr;
    l = make_binary("OR", std::move(l), std::move(r));
  }
  return l;
}

ExprPtr Parser::e_xor(Cursor& c, int depth) {
  ExprPtr l = e_and(c, depth);
  while (l && c.is_word_ci("XOR")) {
    c.next();
    ExprPtr r = e_and(c, depth);
    if (!r) return nullptr;
    l = make_binary("XOR", std::move(l), std::move(r));
  }
  return l;
}

ExprPtr Parser::e_and(Cursor& c, int depth) {
  ExprPtr l = e_not(c, depth);
  while (l && c.is_word_ci("AND")) {
    c.next();
    ExprPtr r = e_not(c, depth);
    if (!r) return nullptr;
    l = make_binary("AND", std::move(l), std::move(r));
  }
  return l;
}

ExprPtr Parser::e_not(Cursor& c, int depth) {
  if (c.is_word_ci("NOT")) {
    if (depth > kMaxDepth) {
      fail("expression nested too deeply (limit 64)", c.peek());
      return nullptr;
    }
    Token t = c.next();
    ExprPtr x = e_not(c, depth + 1);
    if (!x) return nullptr;
    auto n = make_expr(ExprKind::unary, Span{t.span.begin, x->span.end}, "NOT");
    n->args.push_back(std::move(x));
    return n;
  }
  return e_cmp(c, depth);
}

bool Parser::e_list(Cursor& c, Expr& into, int depth) {
  // Cursor sits on '('.
  Token open = c.next();
  if (c.is_op(")")) {
    into.span.end = c.next().span.end;
    return true;
  }
  while (true) {
    ExprPtr a = e_or(c, depth + 1);
    if (!a) return false;
    into.args.push_back(std::move(a));
    if (c.is_op(",")) {
      c.next();
      continue;
    }
    if (c.is_op(")")) {
      into.span.end = c.next().span.end;
      return true;
    }
    return fail(c.at_end() ? "missing ')'" : "expected ',' or ')' in argument list, got " + quote_tok(c.peek()),
                c.at_end() ? open : c.peek());
  }
}

ExprPtr Parser::e_cmp(Cursor& c, int depth) {
  ExprPtr l = e_add(c, depth);
  if (!l) return nullptr;
  const Token& t = c.peek();
  if (t.kind == TokKind::op && (t.text == "=" || t.text == "==" || t.text == "!=" || t.text == "<" ||
                                t.text == "<=" || t.text == ">" || t.text == ">=")) {
    std::string op = c.next().text;
    ExprPtr r = e_add(c, depth);
    if (!r) return nullptr;
    return make_binary(op, std::move(l), std::move(r));
  }
  if (c.is_word_ci("LIKE") && t.kind == TokKind::ident) {
    c.next();
    ExprPtr r = e_add(c, depth);
    if (!r) return nullptr;
    return make_binary("LIKE", std::move(l), std::move(r));
  }
  if (c.is_word_ci("IN") && c.is_op("(", 1)) {
    c.next();
    auto n = make_expr(ExprKind::in_list, l->span);
    n->args.push_back(std::move(l));
    e_list(c, *n, depth);
    if (err) return nullptr;
    if (n->args.size() < 2) {
      fail("empty IN list", n->span);
      return nullptr;
    }
    return n;
  }
  return l;
}

ExprPtr Parser::e_add(Cursor& c, int depth) {
  ExprPtr l = e_mul(c, depth);
  while (l && (c.is_op("+") || c.is_op("-") || c.is_op("."))) {
    std::string op = c.next().text;
    ExprPtr r = e_mul(c, depth);
    if (!r) return nullptr;
    l = make_binary(op, std::move(l), std::move(r));
  }
  return l;
}

ExprPtr Parser::e_mul(Cursor& c, int depth) {
  ExprPtr l = e_unary(c, depth);
  while (l && (c.is_op("*") || c.is_op("/") || c.is_op("%"))) {
    std::string op = c.next().text;
    ExprPtr r = e_unary(c, depth);
    if (!r) return nullptr;
    l = make_binary(op, std::move(l), std::move(r));
  }
  return l;
}

ExprPtr Parser::e_unary(Cursor& c, int depth) {
  if (c.is_op("-") || c.is_op("+")) {
    if (depth > kMaxDepth) {
      fail("expression nested too deeply (limit 64)", c.peek());
      return nullptr;
    }
    Token t = c.next();
    ExprPtr x = e_unary(c, depth + 1);
    if (!x) return nullptr;
    if (t.text == "+") return x;
    if (x->kind == ExprKind::number) {  // fold `-5` into a literal
      x->number = -x->number;
      x->text = "-" + x->text;
      x->span.begin = t.span.begin;
      return x;
    }
    auto n = make_expr(ExprKind::unary, Span{t.span.begin, x->span.end}, "-");
    n->args.push_back(std::move(x));
    return n;
  }
  return e_primary(c, depth);
}

ExprPtr Parser::e_primary(Cursor& c, int depth) {
  const Token& t = c.peek();
  switch (t.kind) {
    case TokKind::number: {
      auto n = make_expr(ExprKind::number, t.span, t.text);
      n->number = std::strtod(t.text.c_str(), nullptr);
      c.next();
      return n;
    }
    case TokKind::string: {
      auto n = make_expr(ExprKind::string, t.span, t.text);
      c.next();
      return n;
    }
    case TokKind::quoted_field: {
      auto n = make_expr(ExprKind::field, t.span, t.text);
      c.next();
      return n;
    }
    case TokKind::ident: {
      Token id = c.next();
      if (!c.is_op("(")) return make_expr(ExprKind::field, id.span, id.text);
      if (depth > kMaxDepth) {
        fail("expression nested too deeply (limit 64)", id);
        return nullptr;
      }
      auto n = make_expr(ExprKind::call, id.span, to_lower(id.text));
      e_list(c, *n, depth + 1);
      if (err) return nullptr;
      if (n->text == "null" && n->args.empty()) n->kind = ExprKind::null_lit;
      // `in(x, a, b)` is the function form of `x IN (a, b)`.
      if (n->text == "in" && n->args.size() >= 2) n->kind = ExprKind::in_list;
      return n;
    }
    case TokKind::op:
      if (t.text == "(") {
        Token open = c.next();
        ExprPtr x = e_or(c, depth + 1);
        if (!x) return nullptr;
        if (!c.is_op(")")) {
          fail(c.at_end() ? "missing ')'" : "expected ')', got " + quote_tok(c.peek()), c.at_end() ? open : c.peek());
          return nullptr;
        }
        c.next();
        return x;
      }
      break;
    default:
      break;
  }
  fail(t.kind == TokKind::end ? "expression ends early: expected an operand" : "unexpected " + quote_tok(t) +
                                                                                    " in expression",
       t);
  return nullptr;
}

// ================================================================ commands

bool Parser::eval_cmd(EvalCmd& s, uint32_t b, uint32_t e, int depth) {
  Cursor c = lex(b, e, LexMode::eval);
  if (err) return false;
  if (c.at_end()) return fail("'eval' needs an assignment", Span{b, e});
  while (true) {
    const Token& t = c.peek();
    if (t.kind != TokKind::ident && t.kind != TokKind::quoted_field && t.kind != TokKind::string)
      return fail("eval: expected a field name, got " + quote_tok(t), t);
    std::string target = c.next().text;
    // Unquoted names with dashes (`unusual_cmdline_feature_-value`) lex as several adjacent tokens.
    while (t.kind == TokKind::ident && !c.peek().space_before && !c.is_op("=") && !c.at_end() &&
           (c.peek().kind == TokKind::ident || c.peek().kind == TokKind::number || c.is_op("-")))
      target += c.next().text;
    if (!c.is_op("=")) return fail("eval: expected '=' after '" + target + "'", c.peek());
    c.next();
    ExprPtr x = e_or(c, depth);
    if (!x) return false;
    s.assignments.emplace_back(std::move(target), std::move(x));
    if (c.at_end()) return true;
    if (!c.is_op(",")) return fail("eval: expected ',' between assignments, got " + quote_tok(c.peek()), c.peek());
    c.next();
  }
}

static void split_datamodel(std::string_view spec, TstatsCmd& s) {
  size_t dot = spec.find('.');
  s.datamodel = std::string(spec.substr(0, dot));
  s.dataset = dot == std::string_view::npos ? "" : std::string(spec.substr(dot + 1));
}

// Pull `nodename=X` out of a tstats where clause (it selects a dataset, it is not a filter).
static SearchPtr extract_nodename(SearchPtr w, std::string& nodename) {
  auto is_node = [](const SearchExpr& e) {
    return e.kind == SearchKind::compare && e.op == "=" && e.field == "nodename" && e.values.size() == 1;
  };
  if (!w) return w;
  if (is_node(*w)) {
    nodename = w->values[0];
    return nullptr;
  }
  if (w->kind == SearchKind::and_) {
    for (size_t i = 0; i < w->children.size(); ++i)
      if (is_node(*w->children[i])) {
        nodename = w->children[i]->values[0];
        w->children.erase(w->children.begin() + long(i));
        break;
      }
    if (w->children.size() == 1) return std::move(w->children[0]);
  }
  return w;
}

bool Parser::tstats_cmd(TstatsCmd& s, uint32_t b, uint32_t e, int depth) {
  Cursor c = lex(b, e, LexMode::search);
  if (err) return false;
  while (!c.at_end()) {
    if (c.is_word_ci("from") || c.is_word_ci("datamodel")) {
      if (c.is_word_ci("from")) c.next();
      if (!c.is_word_ci("datamodel")) return fail("expected 'datamodel' after 'from'", c.peek());
      const Token& dm = c.next();
      if (c.is_op("=")) c.next();  // `datamodel=M.D` and `datamodel M.D`
      if (!c.is_value()) return fail("datamodel needs a name such as Endpoint.Processes", dm);
      std::string spec;
      field_token(c, spec, "datamodel");
      split_datamodel(spec, s);
      continue;
    }
    if (c.is_word_ci("where")) {
      const Token& w = c.next();
      SearchPtr x = s_and(c, true, depth);
      if (err) return false;
      if (!x) return fail("'where' needs a search expression", w);
      if (c.is_op(")")) return fail("unexpected ')' in where clause", c.peek());
      s.where = extract_nodename(std::move(x), s.nodename);
      continue;
    }
    if (c.is_word_ci("by")) {
      const Token& by_tok = c.next();
      if (!by_list(c, s.by, s.options, by_tok)) return false;
      continue;
    }
    if (c.is_option()) {
      if (!option(c, s.options)) return false;
      continue;
    }
    if (c.is_op(",")) {
      c.next();
      continue;
    }
    Aggregate a;
    if (!aggregate(c, a, depth)) return false;
    s.aggregates.push_back(std::move(a));
  }
  if (s.datamodel.empty() && s.from_form) return fail("'from' needs 'datamodel M.D'", Span{b, e});
  return true;
}

bool Parser::aggregate(Cursor& c, Aggregate& a, int depth) {
  const Token& t = c.peek();
  if (t.kind != TokKind::word) return fail("expected an aggregate function such as count or values(x), got " + quote_tok(t), t);
  a.span = t.span;
  a.func = to_lower(c.next().text);
  if (c.is_op("(") && !c.peek().space_before) {
    if (c.is_word_ci("eval", 1) && c.is_op("(", 2)) {
      const Token& open = c.next();
      c.next();  // eval
      uint32_t eb = 0, ee = 0;
      if (!paren_range(c, eb, ee)) return false;
      a.eval = expression(eb, ee, depth + 1);
      if (!a.eval) return false;
      a.eval_text = std::string(trim(slice(eb, ee)));
      if (!c.is_op(")")) return fail("missing ')' after eval(…)", open);
      a.span.end = c.next().span.end;
    } else {
      uint32_t fb = 0, fe = 0;
      if (!paren_range(c, fb, fe)) return false;
      std::string_view f = trim(slice(fb, fe));
      if (f.size() >= 2 && f.front() == '"' && f.back() == '"') f = f.substr(1, f.size() - 2);
      a.field = std::string(f);
      a.span.end = c.last_end();
    }
  }
  if (c.is_word_ci("as")) {
    c.next();
    if (!field_token(c, a.alias, "aggregate alias")) return false;
    a.span.end = c.last_end();
  }
  return true;
}

bool Parser::by_list(Cursor& c, std::vector<ByField>& by, std::map<std::string, std::string>& opts,
                     const Token& by_tok) {
  size_t before = by.size();
  while (!c.at_end()) {
    if (c.is_op(",")) {
      c.next();
      continue;
    }
    if (c.is_option()) {
      std::string key = to_lower(c.peek().text);
      std::map<std::string, std::string> one;
      if (!option(c, one)) return false;
      if (key == "span" && !by.empty()) {
        auto it = std::find_if(by.begin(), by.end(), [](const ByField& f) { return f.field == "_time"; });
        (it != by.end() ? *it : by.back()).span = one.begin()->second;
      } else {
        opts.insert(one.begin(), one.end());
      }
      continue;
    }
    if (!c.is_value()) return fail("unexpected " + quote_tok(c.peek()) + " in by-list", c.peek());
    ByField f;
    if (!field_token(c, f.field, "by")) return false;
    by.push_back(std::move(f));
  }
  // `stats count by` with nothing after: Splunk refuses it; counting over everything would
  // silently answer another question.
  if (by.size() == before) return fail("'by' needs at least one field name", by_tok, "name the fields to group by, or drop 'by'");
  return true;
}

bool Parser::stats_cmd(StatsCmd& s, const std::string& name, uint32_t b, uint32_t e, int depth) {
  Cursor c = lex(b, e, LexMode::search);
  if (err) return false;
  bool top = name == "top" || name == "rare";
  while (!c.at_end()) {
    if (c.is_word_ci("by")) {
      const Token& by_tok = c.next();
      if (!by_list(c, s.by, s.options, by_tok)) return false;
      continue;
    }
    if (name == "chart" && c.is_word_ci("over")) {
      c.next();
      ByField f;
      if (!field_token(c, f.field, "over")) return false;
      s.by.insert(s.by.begin(), std::move(f));
      continue;
    }
    if (c.is_option()) {
      if (!option(c, s.options)) return false;
      continue;
    }
    if (c.is_op(",")) {
      c.next();
      continue;
    }
    if (top) {
      // `top [N] field…`: the listed fields are counted; recorded as aggregates named after the command.
      if (!c.is_value()) return fail("unexpected " + quote_tok(c.peek()), c.peek());
      long long n = 0;
      if (c.peek().kind == TokKind::word && parse_int(c.peek().text, n)) {
        s.options["limit"] = c.next().text;
        continue;
      }
      Aggregate a;
      a.func = name;
      a.span = c.peek().span;
      if (!field_token(c, a.field, name)) return false;
      s.aggregates.push_back(std::move(a));
      continue;
    }
    Aggregate a;
    if (!aggregate(c, a, depth)) return false;
    s.aggregates.push_back(std::move(a));
  }
  if (s.aggregates.empty() && name != "timechart" && name != "chart")
    return fail("'" + name + "' needs at least one aggregate", Span{b, std::max(e, b + 1)});
  return true;
}

bool Parser::rename_cmd(RenameCmd& s, uint32_t b, uint32_t e) {
  Cursor c = lex(b, e, LexMode::search);
  if (err) return false;
  while (!c.at_end()) {
    if (c.is_op(",")) {
      c.next();
      continue;
    }
    std::string from, to;
    if (!field_token(c, from, "rename")) return false;
    if (!c.is_word_ci("as")) return fail("rename: expected AS after '" + from + "', got " + quote_tok(c.peek()), c.peek());
    c.next();
    if (!field_token(c, to, "rename")) return false;
    s.renames.emplace_back(std::move(from), std::move(to));
  }
  if (s.renames.empty()) return fail("'rename' needs `field AS new_name`", Span{b, std::max(e, b + 1)});
  return true;
}

bool Parser::convert_cmd(ConvertCmd& s, uint32_t b, uint32_t e) {
  Cursor c = lex(b, e, LexMode::search);
  if (err) return false;
  while (!c.at_end()) {
    if (c.is_op(",")) {
      c.next();
      continue;
    }
    if (c.is_option()) {
      std::map<std::string, std::string> o;
      std::string key = to_lower(c.peek().text);
      if (!option(c, o)) return false;
      if (key == "timeformat") s.timeformat = o.begin()->second;
      continue;
    }
    const Token& f = c.peek();
    if (f.kind != TokKind::word || !c.is_op("(", 1))
      return fail("convert: expected a conversion such as ctime(field), got " + quote_tok(f), f);
    ConvertCmd::Conversion conv;
    conv.func = to_lower(c.next().text);
    uint32_t fb = 0, fe = 0;
    if (!paren_range(c, fb, fe)) return false;
    conv.field = std::string(trim(slice(fb, fe)));
    if (c.is_word_ci("as")) {
      c.next();
      if (!field_token(c, conv.alias, "convert alias")) return false;
    }
    s.conversions.push_back(std::move(conv));
  }
  if (s.conversions.empty()) return fail("'convert' needs a conversion such as ctime(field)", Span{b, std::max(e, b + 1)});
  return true;
}

bool Parser::fields_cmd(FieldsCmd& s, uint32_t b, uint32_t e, bool allow_sign) {
  Cursor c = lex(b, e, LexMode::search);
  if (err) return false;
  if (allow_sign && (c.is_word_exact("-") || c.is_word_exact("+"))) s.remove = c.next().text == "-";
  while (!c.at_end()) {
    if (c.is_op(",")) {
      c.next();
      continue;
    }
    std::string f;
    if (!field_token(c, f, "fields")) return false;
    s.fields.push_back(std::move(f));
  }
  return true;
}

bool Parser::rex_cmd(RexCmd& s, uint32_t b, uint32_t e) {
  Cursor c = lex(b, e, LexMode::search);
  if (err) return false;
  bool have_regex = false;
  while (!c.at_end()) {
    if (c.is_option()) {
      std::map<std::string, std::string> o;
      std::string key = to_lower(c.peek().text);
      Token kt = c.peek();
      if (!option(c, o)) return false;
      const std::string& v = o.begin()->second;
      if (key == "field") {
        s.field = v;
      } else if (key == "mode") {
        s.mode = v;
      } else if (key == "offset_field") {
        s.offset_field = v;
      } else if (key == "max_match") {
        long long n = 0;
        if (!parse_int(v, n) || n < 0) return fail("rex: max_match must be a non-negative integer", kt);
        s.max_match = int(std::min<long long>(n, 1 << 30));
      }
      continue;
    }
    const Token& t = c.peek();
    if (have_regex || !c.is_value()) return fail("rex: unexpected " + quote_tok(t), t);
    s.regex = t.kind == TokKind::string ? t.text : unescape_search_value(t.text);
    c.next();
    have_regex = true;
  }
  if (!have_regex) return fail("'rex' needs a regular expression", Span{b, std::max(e, b + 1)});
  return true;
}

bool Parser::regex_cmd(RegexCmd& s, uint32_t b, uint32_t e) {
  Cursor c = lex(b, e, LexMode::search);
  if (err) return false;
  if (c.at_end()) return fail("'regex' needs a regular expression", Span{b, std::max(e, b + 1)});
  const Token* value = &c.peek();
  if (c.peek().kind == TokKind::word && (c.is_op("=", 1) || c.is_op("!=", 1))) {
    s.field = c.next().text;
    s.negate = c.next().text == "!=";
    value = &c.peek();
  }
  if (value->kind == TokKind::string) {
    s.regex = value->text;
    c.next();
    if (!c.at_end()) return fail("regex: unexpected " + quote_tok(c.peek()) + " after the pattern", c.peek());
    return true;
  }
  if (value->kind == TokKind::end) return fail("regex: missing pattern", *value);
  // Unquoted pattern: the rest of the command, as written.
  s.regex = unescape_search_value(trim(slice(value->span.begin, e)));
  return true;
}

bool Parser::lookup_cmd(LookupCmd& s, uint32_t b, uint32_t e) {
  Cursor c = lex(b, e, LexMode::search);
  if (err) return false;
  while (c.is_option())
    if (!option(c, s.options)) return false;
  if (!field_token(c, s.table, "lookup table")) return false;
  auto* list = &s.inputs;
  while (!c.at_end()) {
    if (c.is_op(",")) {
      c.next();
      continue;
    }
    if (c.is_word_ci("OUTPUT") || c.is_word_ci("OUTPUTNEW")) {
      if (!s.output_mode.empty()) return fail("lookup: OUTPUT given twice", c.peek());
      s.output_mode = to_upper(c.next().text);
      list = &s.outputs;
      continue;
    }
    if (c.is_option()) {  // options may also trail the table name
      if (!option(c, s.options)) return false;
      continue;
    }
    std::string from, to;
    if (!field_token(c, from, "lookup")) return false;
    if (c.is_word_ci("as")) {
      c.next();
      if (!field_token(c, to, "lookup")) return false;
    } else {
      to = from;
    }
    list->emplace_back(std::move(from), std::move(to));
  }
  if (s.inputs.empty()) return fail("lookup: no input field after table '" + s.table + "'", Span{b, std::max(e, b + 1)});
  return true;
}

bool Parser::join_cmd(JoinCmd& s, uint32_t b, uint32_t e, int depth) {
  Cursor c = lex(b, e, LexMode::search);
  if (err) return false;
  while (!c.at_end()) {
    if (c.is_op(",")) {
      c.next();
      continue;
    }
    if (c.is_option()) {
      if (!option(c, s.options)) return false;
      continue;
    }
    if (c.peek().kind == TokKind::subsearch) {
      if (s.subsearch) return fail("join takes one subsearch", c.peek());
      Token sub = c.next();
      s.subsearch = subsearch(sub, depth);
      if (!s.subsearch) return false;
      continue;
    }
    std::string f;
    if (!field_token(c, f, "join")) return false;
    s.fields.push_back(std::move(f));
  }
  if (!s.subsearch) return fail("'join' needs a [subsearch]", Span{b, std::max(e, b + 1)});
  return true;
}

bool Parser::append_cmd(AppendCmd& s, const std::string& name, uint32_t b, uint32_t e, int depth) {
  Cursor c = lex(b, e, LexMode::search);
  if (err) return false;
  while (!c.at_end()) {
    if (c.is_option()) {
      if (!option(c, s.options)) return false;
      continue;
    }
    if (c.peek().kind != TokKind::subsearch || s.subsearch)
      return fail(name + ": unexpected " + quote_tok(c.peek()), c.peek());
    Token sub = c.next();
    s.subsearch = subsearch(sub, depth);
    if (!s.subsearch) return false;
  }
  if (!s.subsearch) return fail("'" + name + "' needs a [subsearch]", Span{b, std::max(e, b + 1)});
  return true;
}

bool Parser::bin_cmd(BinCmd& s, uint32_t b, uint32_t e) {
  Cursor c = lex(b, e, LexMode::search);
  if (err) return false;
  while (!c.at_end()) {
    if (c.is_option()) {
      std::string key = to_lower(c.peek().text);
      if (!option(c, s.options)) return false;
      if (key == "span") s.span = s.options["span"];
      continue;
    }
    if (c.is_word_ci("as")) {
      c.next();
      if (!field_token(c, s.alias, "bin alias")) return false;
      continue;
    }
    if (!s.field.empty()) return fail("bin: unexpected " + quote_tok(c.peek()), c.peek());
    if (!field_token(c, s.field, "bin")) return false;
  }
  if (s.field.empty()) return fail("'bin' needs a field (e.g. _time)", Span{b, std::max(e, b + 1)});
  return true;
}

bool Parser::dedup_cmd(DedupCmd& s, uint32_t b, uint32_t e) {
  Cursor c = lex(b, e, LexMode::search);
  if (err) return false;
  long long n = 0;
  if (c.peek().kind == TokKind::word && parse_int(c.peek().text, n)) s.options["limit"] = c.next().text;
  while (!c.at_end()) {
    if (c.is_op(",")) {
      c.next();
      continue;
    }
    if (c.is_option()) {
      if (!option(c, s.options)) return false;
      continue;
    }
    if (c.is_word_ci("sortby")) {
      uint32_t from = c.next().span.end;
      s.options["sortby"] = std::string(trim(slice(from, e)));
      break;
    }
    std::string f;
    if (!field_token(c, f, "dedup")) return false;
    s.fields.push_back(std::move(f));
  }
  if (s.fields.empty()) return fail("'dedup' needs at least one field", Span{b, std::max(e, b + 1)});
  return true;
}

bool Parser::fillnull_cmd(FillnullCmd& s, uint32_t b, uint32_t e) {
  Cursor c = lex(b, e, LexMode::search);
  if (err) return false;
  while (!c.at_end()) {
    if (c.is_op(",")) {
      c.next();
      continue;
    }
    if (c.is_option()) {
      std::map<std::string, std::string> o;
      std::string key = to_lower(c.peek().text);
      if (!option(c, o)) return false;
      if (key == "value") s.value = o.begin()->second;
      continue;
    }
    std::string f;
    if (!field_token(c, f, "fillnull")) return false;
    s.fields.push_back(std::move(f));
  }
  return true;
}

bool Parser::foreach_cmd(ForeachCmd& s, uint32_t b, uint32_t e, int depth) {
  Cursor c = lex(b, e, LexMode::search);
  if (err) return false;
  bool have_body = false;
  while (!c.at_end()) {
    if (c.is_option()) {
      if (!option(c, s.options)) return false;
      continue;
    }
    if (c.peek().kind == TokKind::subsearch) {
      if (have_body) return fail("foreach takes one [body]", c.peek());
      Token body = c.next();
      uint32_t bb = body.span.begin + 1, be = body.span.end - 1;
      s.body_text = std::string(trim(slice(bb, be)));
      have_body = true;
      // Validate the template: `<<FIELD>>` -> `__FIELD__` keeps every offset, so errors map 1:1.
      std::string probe(src_.substr(0, be));
      for (size_t p = probe.find("<<", bb); p != std::string::npos; p = probe.find("<<", p + 2)) {
        size_t q = probe.find(">>", p + 2);
        if (q == std::string::npos) break;
        probe[p] = probe[p + 1] = probe[q] = probe[q + 1] = '_';
      }
      Parser sub(probe);
      if (!sub.pipeline(bb, be, true, depth + 1)) {
        if (sub.err) err = sub.err;
        if (err) err->message = "foreach body: " + err->message;
        return false;
      }
      continue;
    }
    if (have_body) return fail("foreach: unexpected " + quote_tok(c.peek()) + " after the body", c.peek());
    std::string p;
    if (!field_token(c, p, "foreach")) return false;
    s.patterns.push_back(std::move(p));
  }
  if (!have_body) return fail("'foreach' needs a [body]", Span{b, std::max(e, b + 1)});
  if (s.patterns.empty()) return fail("'foreach' needs a field pattern", Span{b, std::max(e, b + 1)});
  return true;
}

bool Parser::mvexpand_cmd(MvexpandCmd& s, uint32_t b, uint32_t e) {
  Cursor c = lex(b, e, LexMode::search);
  if (err) return false;
  while (!c.at_end()) {
    if (c.is_option()) {
      Token kt = c.peek();
      std::map<std::string, std::string> o;
      if (!option(c, o)) return false;
      long long n = 0;
      if (iequals(kt.text, "limit")) {
        if (!parse_int(o.begin()->second, n) || n < 0) return fail("mvexpand: limit must be a non-negative integer", kt);
        s.limit = int(std::min<long long>(n, 1 << 30));
      }
      continue;
    }
    if (!s.field.empty()) return fail("mvexpand: unexpected " + quote_tok(c.peek()), c.peek());
    if (!field_token(c, s.field, "mvexpand")) return false;
  }
  if (s.field.empty()) return fail("'mvexpand' needs a field", Span{b, std::max(e, b + 1)});
  return true;
}

bool Parser::sort_cmd(SortCmd& s, uint32_t b, uint32_t e) {
  Cursor c = lex(b, e, LexMode::search);
  if (err) return false;
  long long n = 0;
  if (c.peek().kind == TokKind::word && parse_int(c.peek().text, n) && n >= 0) {
    s.limit = int(std::min<long long>(n, 1 << 30));
    c.next();
  }
  bool pending_desc = false;
  while (!c.at_end()) {
    if (c.is_op(",")) {
      c.next();
      continue;
    }
    if (c.is_option()) {
      Token kt = c.peek();
      std::map<std::string, std::string> o;
      if (!option(c, o)) return false;
      if (iequals(kt.text, "limit") && parse_int(o.begin()->second, n) && n >= 0) s.limit = int(std::min<long long>(n, 1 << 30));
      continue;
    }
    if (c.is_word_exact("-") || c.is_word_exact("+")) {
      pending_desc = c.next().text == "-";
      continue;
    }
    if ((c.is_word_ci("desc") || c.is_word_ci("d")) && !s.keys.empty()) {
      c.next();
      s.keys.back().second = true;
      continue;
    }
    const Token& t = c.peek();
    if (!c.is_value()) return fail("sort: unexpected " + quote_tok(t), t);
    std::string f = t.text;
    c.next();
    bool desc = pending_desc;
    pending_desc = false;
    if (!f.empty() && (f[0] == '-' || f[0] == '+') && t.kind == TokKind::word) {
      desc = f[0] == '-';
      f.erase(0, 1);
    }
    if (c.is_op("(") && !c.peek().space_before) {  // num(x), str(x), ip(x), auto(x)
      uint32_t fb = 0, fe = 0;
      if (!paren_range(c, fb, fe)) return false;
      f = std::string(trim(slice(fb, fe)));
    }
    s.keys.emplace_back(std::move(f), desc);
  }
  if (s.keys.empty()) return fail("'sort' needs a field", Span{b, std::max(e, b + 1)});
  return true;
}

bool Parser::generic_cmd(GenericCmd& s, const std::string& name, uint32_t b, uint32_t e, int depth) {
  Cursor c = lex(b, e, LexMode::search);
  if (err) return false;
  while (!c.at_end()) {
    if (c.is_option()) {
      Token kt = c.peek();
      Token vt = c.peek(2);
      std::string key = kt.text;
      if (!option(c, s.options)) return false;
      // `map search="…"`: the string is a pipeline of its own (macros in it expand at run time).
      if (name == "map" && iequals(key, "search") && vt.kind == TokKind::string) {
        Parser sub(s.options[key]);
        auto p = sub.pipeline(0, uint32_t(s.options[key].size()), true, depth + 1);
        if (!p) {
          // Offsets inside the unescaped string approximate the source (1 past the opening quote).
          Span at = vt.span;
          if (sub.err) at = Span{vt.span.begin + 1 + sub.err->span.begin, vt.span.begin + 1 + sub.err->span.end};
          return fail("map search string: " + (sub.err ? sub.err->message : std::string("parse error")), at);
        }
        s.subsearches.push_back(std::move(p));
      }
      continue;
    }
    const Token& t = c.peek();
    if (t.kind == TokKind::subsearch) {
      Token sub = c.next();
      auto p = subsearch(sub, depth);
      if (!p) return false;
      s.subsearches.push_back(std::move(p));
      continue;
    }
    s.words.push_back(t.kind == TokKind::string ? t.text : std::string(slice(t.span.begin, t.span.end)));
    c.next();
  }
  return true;
}

}  // namespace

namespace {
// Shared by the two entry points: `subpipeline` lets a leading word be a command (foreach bodies).
ParseResult parse_text(std::string_view text, bool subpipeline) {
  ParseResult r;
  if (text.size() > UINT32_MAX / 2) {
    r.error = SplError{"search text too large", Span{0, 0}, {}};
    return r;
  }
  Parser p(text);
  r.pipeline = p.pipeline(0, uint32_t(text.size()), subpipeline, 0);
  if (p.err || !r.pipeline) {
    r.pipeline.reset();
    r.error = p.err ? *p.err : SplError{"parse error", Span{0, uint32_t(text.size())}, {}};
  }
  return r;
}
}  // namespace

ParseResult parse_pipeline(std::string_view text) { return parse_text(text, false); }

ParseResult parse_subpipeline(std::string_view text) { return parse_text(text, true); }

ExprResult parse_expression(std::string_view text) {
  ExprResult r;
  if (text.size() > UINT32_MAX / 2) {
    r.error = SplError{"expression too large", Span{0, 0}, {}};
    return r;
  }
  Parser p(text);
  r.expr = p.expression(0, uint32_t(text.size()), 0);
  if (p.err || !r.expr) {
    r.expr.reset();
    r.error = p.err ? *p.err : SplError{"parse error", Span{0, uint32_t(text.size())}, {}};
  }
  return r;
}

std::pair<uint32_t, uint32_t> line_col(std::string_view text, uint32_t offset) {
  uint32_t line = 1, col = 1;
  for (uint32_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return {line, col};
}

}  // namespace vigil::spl
