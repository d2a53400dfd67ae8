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

/// Writes result rows (ad-hoc search output) with columns in first-seen order.
void write_rows(const Table& rows, Format f, std::FILE* out);

}  // namespace vigil::report
