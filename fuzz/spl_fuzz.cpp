// libFuzzer target for the SPL front end: macro expansion (with a table of
// recursive, argument-taking and exploding macros), lexer, pipeline parser,
// expression parser. Checked: no crash, no hang, every error has a location
// inside the text.
#include <cstdlib>
#include <string>
#include <string_view>

#include "content/macros.h"
#include "fuzz_entry.h"
#include "spl/macro_expand.h"
#include "spl/parser.h"

namespace {

const vigil::content::MacroTable& macros() {
  static const vigil::content::MacroTable t = [] {
    vigil::content::MacroTable m;
    m.add({"a", {}, "`a` `a`", "<fuzz>"});                       // recursion
    m.add({"b", {}, "`c` `c` `c` `c`", "<fuzz>"});               // blow-up
    m.add({"c", {}, "`d` `d` `d` `d` `d` `d`", "<fuzz>"});
    m.add({"d", {}, "EventCode=1 OR EventCode=2", "<fuzz>"});
    m.add({"f", {"x", "y"}, "$x$=$y$ | eval z=\"$x$\"", "<fuzz>"});  // arguments
    m.add({"sysmon", {}, "sourcetype=XmlWinEventLog:Microsoft-Windows-Sysmon/Operational", "<fuzz>"});
    return m;
  }();
  return t;
}

}  // namespace

extern "C" int VIGIL_FUZZ_ENTRY(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto expanded = vigil::spl::expand_macros(text, macros());
  (void)vigil::spl::parse_pipeline(text);
  (void)vigil::spl::parse_pipeline(expanded.text);
  (void)vigil::spl::parse_subpipeline(text);
  (void)vigil::spl::parse_expression(text);
  return 0;
}
