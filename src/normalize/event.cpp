#include "normalize/event.h"

#include <algorithm>

namespace vigil {

void Event::reset(const Record* r) {
  record_ = r;
  time_ = 0;
  has_time_ = false;
  has_repeats_ = false;
  fields_.clear();
  datasets_.clear();
  deferred_.clear();
  scratch_used_ = 0;
  if (++epoch_ == 0) {  // wrapped: clear stamps so stale slots cannot alias
    std::fill(stamp_.begin(), stamp_.end(), 0);
    epoch_ = 1;
  }
}

void Event::add(Symbol name, std::string_view value, uint16_t view) {
  if (name >= stamp_.size()) {
    size_t n = std::max<size_t>(name + 1, stamp_.size() * 2);
    stamp_.resize(n, 0);
    slot_.resize(n, 0);
  }
  if (stamp_[name] != epoch_) {
    stamp_[name] = epoch_;
    slot_[name] = static_cast<uint32_t>(fields_.size());
  } else {
    has_repeats_ = true;
  }
  fields_.push_back({name, value, view});
}

void Event::add_deferred(Symbol name, uint16_t view, Renderer render) {
  deferred_.push_back({static_cast<uint32_t>(fields_.size()), render});
  add(name, {}, view);
  fields_.back().deferred = true;
  fields_.back().rendering = true;
}

void Event::materialize() const {
  auto* self = const_cast<Event*>(this);  // the Event itself is never const: see deferred_
  for (auto& d : deferred_) {
    std::string& buf = self->scratch();
    d.render(*record_, buf);
    fields_[d.index].value = buf;
    fields_[d.index].deferred = false;
  }
  deferred_.clear();
}

std::string& Event::scratch() {
  if (scratch_used_ == scratch_.size()) scratch_.emplace_back();
  std::string& buf = scratch_[scratch_used_++];
  buf.clear();
  return buf;
}

std::string_view Event::store(std::string_view s) {
  std::string& buf = scratch();
  buf.assign(s);
  return buf;
}

}  // namespace vigil
