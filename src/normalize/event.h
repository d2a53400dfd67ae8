// Event: one Record seen through vigil's normalized views.
//
// - the raw view: Splunk's field names for the event whatever the transport
//   (`_time`, `host`, `source`, `sourcetype`, `EventCode`, `Computer`, the
//   System fields, and every EventData/UserData field under its own name);
// - zero or more CIM dataset views (e.g. Endpoint.Processes), whose fields
//   carry the dataset prefix as tstats names them (`Processes.process_name`).
//
// Lookup is by interned field Symbol through a dense slot table, so the
// matcher never hashes strings per event. An Event is reused across records
// by one thread: reset() keeps capacity, so steady state allocates nothing.
#pragma once
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "core/intern.h"
#include "ingest/record.h"

namespace vigil {

using DatasetId = uint16_t;

class Event {
 public:
  struct Field {
    Symbol name;
    std::string_view value;
    uint16_t view;  ///< 0 = raw view, k = dataset id + 1
    bool deferred = false;  ///< value not rendered yet (see add_deferred)
    /// A rendering of other fields (EventData_Xml, System_Props_Xml: see add_deferred), made or not.
    bool rendering = false;
    /// The same text as another field of the event (an alias: `dest` = `Computer`): a search of
    /// every value need not look at it again.
    bool copy = false;
    /// One of Splunk's default fields of where the event is kept and how it was read (`index`,
    /// `source`, `sourcetype`), not of what it says: keywords do not search it, as Splunk's bare
    /// terms search `_raw`, which holds no such text.
    bool metadata = false;
  };
  /// Renders a derived value from the record (EventData_Xml …) into `out`.
  using Renderer = void (*)(const Record& r, std::string& out);

  const Record& record() const { return *record_; }
  double time() const { return time_; }
  bool has_time() const { return has_time_; }

  /// First value of a field (any view); false when absent.
  bool get(Symbol name, std::string_view& out) const {
    if (name < stamp_.size() && stamp_[name] == epoch_) {
      if (fields_[slot_[name]].deferred) [[unlikely]]
        materialize();
      out = fields_[slot_[name]].value;
      return true;
    }
    return false;
  }
  bool has(Symbol name) const { return name < stamp_.size() && stamp_[name] == epoch_; }
  const std::vector<Field>& fields() const {
    if (!deferred_.empty()) [[unlikely]]
      materialize();
    return fields_;
  }
  /// Every field as it stands: renderings may not be made yet (empty `value`, `deferred` set).
  /// For callers that skip renderings (`Field::rendering`), so they never pay for them.
  const std::vector<Field>& fields_unrendered() const { return fields_; }
  /// Every field, for a look at all values of `name`: the deferred renderings are made only when
  /// `name` is one of them (the others keep an empty `value` and `deferred` set).
  const std::vector<Field>& fields_with(Symbol name) const {
    for (auto& d : deferred_)
      if (fields_[d.index].name == name) return fields();
    return fields_;
  }
  /// True when some field name occurs more than once (a multivalue field).
  bool has_repeats() const { return has_repeats_; }
  bool in_dataset(DatasetId d) const {
    for (auto x : datasets_)
      if (x == d) return true;
    return false;
  }
  const std::vector<DatasetId>& datasets() const { return datasets_; }

  // ---- used by the Normalizer
  void reset(const Record* r);
  void add(Symbol name, std::string_view value, uint16_t view);
  /// add() of the value of another field of this event, `from`: a copy (Field::copy) when `from`
  /// is a plain raw-view field, whose text a search of every raw value already sees.
  void add_copy(Symbol name, std::string_view value, uint16_t view, const Field& from) {
    const bool seen = from.view == 0 && !from.rendering && !from.deferred;
    add(name, value, view);
    fields_.back().copy = seen;
  }
  /// Marks the last field added as Field::metadata.
  void mark_metadata() { fields_.back().metadata = true; }
  /// The first field named `name` (its value rendered), or null.
  const Field* first(Symbol name) const {
    std::string_view v;
    return get(name, v) ? &fields_[slot_[name]] : nullptr;
  }
  /// A field whose value costs a copy of the record (EventData_Xml, System_Props_Xml): rendered on
  /// first access (get or fields()), so events no rule looks at never pay for it.
  void add_deferred(Symbol name, uint16_t view, Renderer render);
  /// Stores a derived string for the life of this record and returns a view of it.
  std::string_view store(std::string_view s);
  /// A cleared scratch buffer that lives until the next reset(): build a derived value in it, then
  /// add() a view of it. Reuses capacity, so steady state allocates nothing.
  std::string& scratch();
  void set_time(double t) { time_ = t; has_time_ = true; }
  void add_dataset(DatasetId d) { datasets_.push_back(d); }

 private:
  const Record* record_ = nullptr;
  double time_ = 0;
  bool has_time_ = false;
  bool has_repeats_ = false;
  uint32_t epoch_ = 0;
  mutable std::vector<Field> fields_;
  std::vector<uint32_t> slot_, stamp_;
  mutable std::deque<std::string> scratch_;  // reused buffers for derived values (deque: stable addresses)
  mutable size_t scratch_used_ = 0;
  std::vector<DatasetId> datasets_;
  struct Deferred {
    uint32_t index;
    Renderer render;
  };
  // Lazily rendered fields: rendering writes into fields_ and the scratch buffers from const
  // accessors. An Event belongs to one thread, so this is a cache, not shared state.
  mutable std::vector<Deferred> deferred_;
  void materialize() const;
};

}  // namespace vigil
