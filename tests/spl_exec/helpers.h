// Shared helpers for the SPL execution tests: parse a pipeline, build its
// operators with make_operator, run them over hand-made rows.
#pragma once
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/value.h"
#include "ir/atom_table.h"
#include "spl/eval.h"
#include "spl/operators.h"
#include "spl/parser.h"

namespace vigil::spl::testing {

/// ExecContext whose subsearch streams are fixed tables (index = order of add_subsearch calls).
struct TestCtx : ir::ExecContext {
  std::vector<Table> streams;
  Table stream_result(size_t k) override { return k < streams.size() ? streams[k] : Table{}; }
};

/// A row from (name, value) pairs; values are strings unless given as numbers.
inline Row row(std::initializer_list<std::pair<std::string, Value>> kv) {
  Row r;
  for (auto& [k, v] : kv) r.set(k, v);
  return r;
}

inline std::string text(const Row& r, std::string_view f) {
  const Value* v = r.get(f);
  return v ? v->to_string() : std::string("<null>");
}

/// Parses `| cmd … | cmd …` and keeps the AST alive as long as the operators.
struct Pipe {
  std::unique_ptr<Pipeline> ast;
  std::vector<std::unique_ptr<ir::Operator>> ops;
  std::string error;  ///< parse error or the first operator build error
};

inline Pipe build(std::string_view spl, OperatorEnv env = {}) {
  Pipe p;
  ParseResult pr = parse_pipeline(spl);
  if (pr.error) {
    p.error = "parse: " + pr.error->message;
    return p;
  }
  p.ast = std::move(pr.pipeline);
  for (auto& c : p.ast->commands) {
    OperatorResult r = make_operator(c, env);
    if (!r.op) {
      p.error = c.name + ": " + r.error;
      return p;
    }
    p.ops.push_back(std::move(r.op));
  }
  return p;
}

/// Build and run; fails the test on a build error.
inline Table run(std::string_view spl, Table rows, OperatorEnv env = {}, TestCtx* ctx = nullptr) {
  TestCtx local;
  if (!ctx) ctx = &local;
  if (ctx->now == 0) ctx->now = 1700000000;  // 2023-11-14T22:13:20Z
  Pipe p = build(spl, std::move(env));
  EXPECT_EQ(p.error, "") << spl;
  for (auto& op : p.ops) op->run(rows, *ctx);
  return rows;
}

/// Evaluate one expression over a row.
inline Value eval_expr(std::string_view expr, const Row& r = {}, double now = 1700000000) {
  ExprResult er = parse_expression(expr);
  EXPECT_FALSE(er.error.has_value()) << expr << ": " << (er.error ? er.error->message : "");
  if (!er.expr) return {};
  TestCtx ctx;
  ctx.now = now;
  return evaluate(*er.expr, r, ctx);
}
inline std::string eval_text(std::string_view expr, const Row& r = {}) {
  Value v = eval_expr(expr, r);
  if (v.is_null()) return "<null>";
  if (v.is_multi()) {
    std::string s;
    for (auto& x : v.values()) s += (s.empty() ? "" : "|") + x;
    return "[" + s + "]";
  }
  return v.text();
}

}  // namespace vigil::spl::testing
