// `vigil catalog`: a static HTML site for a loaded rule corpus, usable from
// file:// (no server, no external resources). Layout under the output dir:
//   index.html            every rule; client-side search and filters (language,
//                         type, status, engine verdict, tactic, technique, event type);
//                         the query string (?q=…&lang=…&technique=…) preselects them
//   rules/<slug>.html     one page per rule: explain's sections, linked
//   indicators/<field>-<kind>-<value>-<hash>.html one page per indicator atom (a stable,
//                         readable name): the rules that share it
//   attack.html           ATT&CK matrix (tactics × techniques), coloured by rule count
//   datasources.html      event types (provider / event / title) and the rules they feed
//   assets/               catalog.css, catalog.js, rules.js (the index data)
// Written in one pass over the already compiled rules: no rule text is re-parsed.
#pragma once
#include <cstddef>
#include <string>

#include "core/diagnostic.h"
#include "report/explain.h"

namespace vigil::report {

struct CatalogStats {
  size_t rules = 0;
  size_t rule_pages = 0;
  size_t indicator_pages = 0;
  size_t techniques = 0;     ///< distinct technique ids referenced
  size_t event_types = 0;    ///< distinct provider/event rows
  size_t files = 0;
  size_t bytes = 0;
  size_t write_errors = 0;
};

/// File-name-safe slug: [A-Za-z0-9._-] kept, everything else '_', at most 80 bytes.
std::string slugify(std::string_view s);
/// The indicator page's file name (without .html): readable (field, kind, value) and stable across
/// builds and corpora (a hash of the atom's identity, not its id).
std::string indicator_page_name(const ir::Atom& a);
/// Percent-encode a query-string value (RFC 3986 unreserved characters kept).
std::string url_encode(std::string_view s);

/// Write the site for every rule of the explainer's rule set into `out_dir` (created when missing).
/// Files that cannot be written are reported to `diags` and counted in write_errors.
CatalogStats write_catalog(const Explainer& explainer, const std::string& out_dir, DiagnosticSink& diags);

}  // namespace vigil::report
