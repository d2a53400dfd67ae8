// Compiles one SPL search (as written in a rule or on the command line) into
// an ir::Plan: macros expanded, pipeline parsed, the leading search / tstats
// filter lowered to atoms (the streaming per-event filter), every later
// command turned into an operator. Subsearches (join/append) become further
// streams of the same plan.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "content/lookups.h"
#include "content/macros.h"
#include "ir/atom_table.h"
#include "ir/plan.h"
#include "ir/rule.h"
#include "spl/ast.h"
#include "spl/macro_expand.h"
#include "spl/parser.h"

namespace vigil::spl {

struct CompileEnv {
  const content::MacroTable* macros = nullptr;
  const content::LookupRegistry* lookups = nullptr;
  ir::AtomTable* atoms = nullptr;
  bool allow_writes = false;
};

struct CompiledSearch {
  ir::Plan plan;
  bool parsed = false;
  bool executable = false;
  std::vector<std::string> reasons;      ///< why not parsed / not executable
  std::string expanded;                  ///< macro-expanded text
  std::vector<std::string> macros_used;
  std::shared_ptr<const Pipeline> ast;   ///< null when not parsed; the plan's operators point into it
  uint32_t error_offset = UINT32_MAX;    ///< byte offset of a parse error in `expanded`
  std::vector<ir::StageInfo> stages;     ///< top-level pipeline stages, for explain
};

/// The part of compiling a search that reads nothing but the macro table: macros expanded, the
/// text parsed. A rule loader runs it on its parsing threads, ahead of compile_parsed(), which
/// interns atoms and so runs on one thread, in rule order.
struct ParsedSearch {
  MacroExpansion expansion;
  ParseResult parse;  ///< neither pipeline nor error when the expansion failed
};
ParsedSearch parse_search(std::string_view spl, const content::MacroTable& macros);
CompiledSearch compile_parsed(ParsedSearch ps, const CompileEnv& env);

/// compile_parsed(parse_search(spl, *env.macros), env).
CompiledSearch compile_search(std::string_view spl, const CompileEnv& env);

}  // namespace vigil::spl
