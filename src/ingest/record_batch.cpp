#include "ingest/record_batch.h"

namespace vigil {

void RecordBatch::clear() {
  // A recycled batch keeps its buffers, except what a run of very large records grew them to:
  // every batch in flight would otherwise come to hold the largest ever seen.
  if (bytes_.capacity() > 2 * kBytesCut) std::string().swap(bytes_);
  bytes_.clear();
  fields_.clear();
  recs_.clear();
  files_used_ = 0;  // the names' buffers are kept for the next batch's
}

uint64_t RecordBatch::put(std::string_view s) {
  uint64_t off = bytes_.size();
  bytes_.append(s);
  return off;
}

void RecordBatch::add(const Record& r) {
  if (files_used_ == 0 || files_[files_used_ - 1] != r.file) {
    if (files_used_ == files_.size()) files_.emplace_back(r.file);
    else files_[files_used_].assign(r.file);
    ++files_used_;
  }
  Rec rec{r.format, r.recovered, uint32_t(files_used_ - 1), r.offset, r.line, uint32_t(fields_.size()), 0, 0};
  auto copy = [&](const std::vector<Field>& fs) {
    for (const Field& f : fs) {
      Span sp;
      sp.name_off = put(f.name);
      sp.name_len = uint32_t(f.name.size());
      sp.value_off = put(f.value);
      sp.value_len = uint32_t(f.value.size());
      fields_.push_back(sp);
    }
  };
  copy(r.system);
  rec.data_begin = uint32_t(fields_.size());
  copy(r.data);
  rec.end = uint32_t(fields_.size());
  recs_.push_back(rec);
}

void RecordBatch::get(size_t i, Record& out) const {
  const Rec& rec = recs_[i];
  out.format = rec.format;
  out.recovered = rec.recovered;
  out.file = files_[rec.file];
  out.offset = rec.offset;
  out.line = rec.line;
  out.system.clear();
  out.data.clear();
  const char* base = bytes_.data();
  for (uint32_t k = rec.sys_begin; k < rec.end; ++k) {
    const Span& sp = fields_[k];
    Field f{std::string_view(base + sp.name_off, sp.name_len), std::string_view(base + sp.value_off, sp.value_len)};
    (k < rec.data_begin ? out.system : out.data).push_back(f);
  }
}

}  // namespace vigil
