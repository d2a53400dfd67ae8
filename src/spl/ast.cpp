#include "spl/ast.h"

namespace vigil::spl {

std::string Aggregate::output_name() const {
  // Splunk names an unaliased aggregate after its call as written: `count`, `dc(user)`,
  // `count(eval(x>1))`.
  if (!alias.empty()) return alias;
  if (eval) return func + "(eval(" + eval_text + "))";
  if (field.empty()) return func;
  return func + "(" + field + ")";
}

}  // namespace vigil::spl
