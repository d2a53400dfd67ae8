// Escaping of control characters for terminals and text files.
//
// Log values and rule text are written by the adversary: an ESC or BEL that
// reaches a terminal can rewrite the screen, retitle the window or hide lines;
// a newline in a file name forges a diagnostic line. Everything printed for
// people (text diagnostics, tables, CSV, lint verdicts) goes through this.
#pragma once
#include <string>
#include <string_view>

namespace vigil {

/// `s` with C0 controls (except tab), DEL, C1 controls (U+0080–U+009F) and
/// bytes that are not valid UTF-8 written as visible escapes (`\x1b`, `\n`,
/// `\u009b`). With `keep_line_breaks`, `\n` and `\r` pass through (CSV quotes
/// them). Valid UTF-8 text is unchanged.
std::string escape_controls(std::string_view s, bool keep_line_breaks = false);

/// True when escape_controls would change `s` (lets callers skip the copy).
bool needs_escape(std::string_view s, bool keep_line_breaks = false);

}  // namespace vigil
