// HTML rendering shared by `vigil explain --format html` and `vigil catalog`:
// escaping, the page frame (inline-able stylesheet, no external resources so
// pages work from file://), and the rule page built from a RuleView.
#pragma once
#include <functional>
#include <string>
#include <string_view>

#include "report/explain.h"

namespace vigil::report {

/// Escape text for HTML element content and double-quoted attribute values.
void html_escape_to(std::string& out, std::string_view s);
std::string html_escape(std::string_view s);

/// The catalog stylesheet (also inlined into standalone explain pages).
const char* catalog_css();

/// Links from a rule page into the catalog. Null (standalone page): no links.
struct RuleLinks {
  std::string root;  ///< relative path from the page to the site root, e.g. "../"
  std::string css_href;  ///< stylesheet link (empty: inline the stylesheet)
  std::function<std::string(ir::AtomId)> indicator;  ///< href of an indicator's page ("" = none)
};

/// `<!doctype html>…<body>` with a title and the navigation bar; `root` prefixes catalog links.
void page_begin(std::string& out, std::string_view title, const RuleLinks* links);
void page_end(std::string& out);

/// A whole rule page (explain's sections as HTML).
std::string render_rule_html(const RuleView& v, const RuleLinks* links);
/// Same, appended to `out` (the catalog reuses one buffer per thread).
void render_rule_html_to(std::string& out, const RuleView& v, const RuleLinks* links);

}  // namespace vigil::report
