// A batch of Records copied out of a reader: readers hand out views that live
// only for one visitor call, so records that are evaluated on other threads
// are copied, field by field, into one buffer per batch (reused across
// batches, so the steady state allocates nothing).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/record.h"

namespace vigil {

class RecordBatch {
 public:
  /// Batches are cut at this much text as well as at a record count, so batches of large records
  /// (PowerShell script blocks) do not multiply memory by the batches in flight.
  static constexpr size_t kBytesCut = size_t(1) << 20;
  void clear();
  void add(const Record& r);
  size_t size() const { return recs_.size(); }
  size_t bytes() const { return bytes_.size(); }
  /// Record i with views into this batch (valid until the batch is cleared); `out`'s vectors are reused.
  void get(size_t i, Record& out) const;

 private:
  struct Span {
    uint64_t name_off;
    uint32_t name_len;
    uint64_t value_off;
    uint32_t value_len;
  };
  struct Rec {
    LogFormat format;
    bool recovered;
    uint32_t file;
    uint64_t offset, line;
    uint32_t sys_begin, data_begin, end;
  };
  uint64_t put(std::string_view s);
  std::string bytes_;
  std::vector<Span> fields_;
  std::vector<Rec> recs_;
  std::vector<std::string> files_;  // distinct input names, in order of appearance (the first files_used_)
  size_t files_used_ = 0;
};

}  // namespace vigil
