#include "spl/field_refs.h"

namespace vigil::spl {

bool expression_fields(const Expr& e, std::vector<std::string>& out) {
  if (e.kind == ExprKind::field) out.push_back(e.text);
  // searchmatch() reads the fields its string names; random() and time() differ from one call to
  // the next, so their value is not a function of the fields read (the engine relies on that).
  if (e.kind == ExprKind::call && (e.text == "searchmatch" || e.text == "random" || e.text == "time")) return false;
  for (auto& a : e.args)
    if (a && !expression_fields(*a, out)) return false;
  return true;
}

bool search_fields(const SearchExpr& e, std::vector<std::string>& out) {
  switch (e.kind) {
    case SearchKind::keyword: return false;
    case SearchKind::compare:
    case SearchKind::in_list:
      if (e.field.empty() || e.field.find('*') != std::string::npos) return false;
      out.push_back(e.field);
      return true;
    default:
      for (auto& c : e.children)
        if (c && !search_fields(*c, out)) return false;
      return true;
  }
}

}  // namespace vigil::spl
