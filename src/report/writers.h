// Output writers for findings and for plain result rows (vigil search):
// JSON lines (one object per finding, the CLI.md record), CSV (the record
// flattened), and an aligned text table for terminals.
#pragma once
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "core/value.h"
#include "report/finding_view.h"

namespace vigil::report {

enum class Format : uint8_t { jsonl, csv, table };
bool parse_format(std::string_view s, Format& out);

class FindingWriter {
 public:
  virtual ~FindingWriter() = default;
  virtual void write(const FindingView& f) = 0;
  virtual void finish() {}
};
std::unique_ptr<FindingWriter> make_finding_writer(Format f, std::FILE* out);

/// The JSON object of one finding (no trailing newline).
std::string finding_json(const FindingView& f);
std::string value_json(const Value& v);
std::string row_json(const Row& row);

/// Result rows (vigil search) as they come. JSON lines go out at once. CSV and the table have a
/// header of every column any row has, in first-seen order, so they are written by finish(): CSV
/// from a spool of its cells in an unnamed temporary file (memory does not grow with the rows;
/// held in memory if no temporary file can be made), the table (for people, on a terminal) from
/// the rows held.
/// Rows arrive one call at a time (the engine's finding sink), not necessarily on one thread.
class RowWriter {
 public:
  virtual ~RowWriter() = default;
  virtual void write(const Row& row) = 0;
  /// What finish() has to say: rows it could not write, or how it had to write them.
  struct WriteProblem {
    std::string message;  ///< empty: nothing to say
    bool rows_lost = false;
  };
  /// Writes what waited for the end.
  virtual WriteProblem finish() { return {}; }
};
std::unique_ptr<RowWriter> make_row_writer(Format f, std::FILE* out);

}  // namespace vigil::report
