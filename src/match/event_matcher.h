// Evaluates predicates over normalized Events with a per-event atom memo:
// every distinct atom of the loaded corpus is tested at most once per event,
// however many rules share it (byte stamps of an event counter that wraps every
// 127 events, when they are cleared).
// One EventMatcher per thread; the AtomTable it compiles from is immutable
// once rules are loaded. The matchers of one table can share their compiled
// atoms and prefilter databases (EventMatcher::share): the engine's workers do.
//
// Prefilter: string atoms (eq, contains, starts/ends_with, wildcard, keyword)
// are grouped by field (keyword atoms: one "any raw field" group). A group
// with enough atoms gets one multi-pattern database (match/prefilter.h) of
// each atom's necessary literal. A field is scanned lazily, the first time one
// of its atoms is tested in an event, and only the atoms whose literal was
// found are then tested; the others are false without a test. Results are
// identical with the prefilter off (VIGIL_NO_PREFILTER=1 or Options).
// A group's database is compiled on first real demand after a warm-up of a few
// hundred events, counted over all the matchers that share the compiled table
// (a hunt's workers and its risk pass; the cases of one `vigil test` suite), so
// runs over a handful of events never pay the compile time; a group that
// cannot be compiled is simply tested atom by atom.
#pragma once
#include <bit>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <string>
#include <vector>

#include "ir/atom_table.h"
#include "ir/predicate.h"
#include "match/compiled_atom.h"
#include "match/prefilter.h"
#include "normalize/event.h"

namespace vigil::match {

class EventMatcher {
 public:
  struct Options {
    bool prefilter = true;  ///< false: every atom is tested directly (the reference path)
    bool gates = true;      ///< false: add_gate() gives kNoGate (VIGIL_NO_GATES=1; for benches)
    /// A field group uses the prefilter only from this many atoms on: below it, a scan
    /// costs more than testing the few atoms one by one.
    size_t min_group_atoms = 8;
    /// A group's database is compiled the next time its atoms are needed after this many events
    /// (counted over every matcher of one Shared), so short runs never pay the compile time.
    uint32_t warmup_events = 256;
    /// Compiled prefilter databases are kept here between runs (empty: compiled every run).
    std::string cache_dir;
    /// Options from the environment: VIGIL_NO_PREFILTER=1 turns the prefilter off;
    /// VIGIL_PREFILTER_MIN_ATOMS and VIGIL_PREFILTER_WARMUP override the two numbers (for benches).
    static Options from_env();
  };
  struct Stats {
    uint64_t atom_tests = 0;        ///< CompiledAtom tests run (memo misses not rejected)
    uint64_t prefilter_rejects = 0; ///< atoms decided false by the prefilter without a test
    /// Field values looked up by a prefilter group: scanned by its database, or recalled.
    uint64_t scans = 0;
    uint64_t values_recalled = 0;   ///< of those, answered from the recently scanned values
    uint64_t keyword_scans = 0;     ///< events whose raw values were scanned for every keyword literal
    /// Events counted toward a group's warm-up, once per event and group: each is an atomic add on
    /// a count every matcher of the Shared (a hunt's workers) writes.
    uint64_t warm_up_counts = 0;
  };

  /// What the matchers of one atom table share across threads: the compiled atoms and the
  /// prefilter groups (each group's database is built once, under the group's lock, by the first
  /// matcher that needs it after the warm-up, whose count of events is theirs together). Each
  /// matcher keeps its own memo, scans and scratch.
  struct Shared;
  /// Compiles every atom of the table; atoms that fail to compile test false and are listed in `errors`.
  static std::shared_ptr<Shared> share(const ir::AtomTable& atoms, const Options& opts,
                                       std::vector<std::string>* errors = nullptr);
  explicit EventMatcher(std::shared_ptr<Shared> shared);
  /// A matcher with its own Shared.
  explicit EventMatcher(const ir::AtomTable& atoms, std::vector<std::string>* errors = nullptr);
  EventMatcher(const ir::AtomTable& atoms, const Options& opts, std::vector<std::string>* errors = nullptr);
  ~EventMatcher();
  EventMatcher(EventMatcher&&) noexcept;
  /// Start a new event (invalidates the memo: clears the patterns the last event found, and every
  /// stamp once per 127 events).
  void begin(const Event& e);
  bool eval(const ir::Predicate& p);
  /// The same verdict for `p`'s flat form: `at` is the index of its root in `flat`.
  bool eval(const ir::FlatPredicates& flat, uint32_t at) { return eval_flat(flat.nodes.data(), at); }
  /// Number of atom tests actually run since construction (for profiling/bench).
  uint64_t atom_tests() const { return tests_; }
  Stats stats() const { return {tests_, rejects_, scans_, recalled_, keyword_scans_, warm_up_counts_}; }
  /// Gates let the engine skip a predicate without walking it. A gate is a set of prefiltered
  /// atoms one of which is true whenever the predicate is; an event in which none of their
  /// literals was found cannot match it. kNoGate: the predicate has no such set (a NOT at the
  /// top, an atom without a literal, a field with too few atoms to be prefiltered).
  static constexpr uint32_t kNoGate = UINT32_MAX;
  uint32_t add_gate(const ir::Predicate& p);
  /// Up to `most` gates that must all be open for `p` to hold: one per operand of a top-level
  /// AND that has a trigger set, best first (else add_gate's one). Empty: no gate.
  std::vector<uint32_t> add_gates(const ir::Predicate& p, size_t most);
  /// After begin(): scans every gated field the event has once and opens the gates whose literals
  /// were found (all gates of a field that cannot be filtered in this event, e.g. during the warm-up).
  /// Keyword gates are opened by a scan for the gates' own keyword literals only (a few dozen of the
  /// corpus' hundreds); the scan for every keyword literal waits until a keyword atom is tested.
  /// With `need` (bits over the groups as add_gate_groups() numbers them, `words` words): only those whose
  /// bit is set are scanned; the gates of the others stay closed in this event. A caller that knows
  /// which gates it will read (the engine: the gates of the streams this event can visit) spares
  /// the scans no such gate needs. A bit past `words` counts as set. Masks are of the gates made so
  /// far: a gate added later may bring a group whose bit they do not set.
  void open_gates(const uint64_t* need = nullptr, size_t words = 0);
  /// Sets in `bits` (grown as needed) the groups whose scan can open `gate`: with them in
  /// open_gates()' `need`, the gate opens in every event it would open in without `need`.
  void add_gate_groups(uint32_t gate, std::vector<uint64_t>& bits) const;
  bool gate_open(uint32_t gate) const { return gate_stamp_[gate] == tick_; }
  size_t gates() const { return gate_stamp_.size(); }
  /// A gate open in every event: where a caller tests a fixed number of gates per predicate, it
  /// stands in for "no gate" so that the test has no case of its own.
  uint32_t always_open_gate();

  /// Number of field groups served (after their warm-up) by a prefilter database, and their atoms.
  size_t prefilter_groups() const;
  size_t prefiltered_atoms() const;

 private:
  bool test_atom(ir::AtomId id);
  bool eval_flat(const ir::FlatPredicates::Node* nodes, uint32_t at);
  void scan_group(uint32_t g);
  bool ready(uint32_t g);
  uint32_t warm_up_count(uint32_t g);
  static void on_hit(void* self, uint32_t pattern);
  std::optional<std::vector<ir::AtomId>> triggers(const ir::Predicate& p) const;
  uint32_t make_gate(std::vector<ir::AtomId> atoms);
  uint32_t trigger_len(const std::vector<ir::AtomId>& t) const;
  void scan_value(uint32_t g, std::string_view v);
  void open_group_gates(uint32_t gated);  // index into gated_groups_
  std::string_view keyword_text();
  bool scan_keyword_gates();

  std::shared_ptr<Shared> sh_;
  const Event* event_ = nullptr;
  // This event's verdicts and open gates are byte stamps of `tick_`, which counts events 1..127
  // and clears them when it wraps; the patterns found are bits, cleared from hits_. The corpus'
  // ~34k atoms, ~6k gates and ~32k patterns take 44 KB so, where a word each stamped with the
  // event's number took 290 KB and missed the first-level cache on most tests.
  static constexpr uint8_t kTicks = 127;  // tick_ * 2 + 1 fits a byte
  std::vector<uint8_t> memo_;  // per atom: tick_ * 2 + its verdict, when tested in this event
  uint8_t tick_ = 0;
  uint32_t scan_epoch_ = 0;  // stamps of the per-event scratch below (scans, the keyword text)
  uint64_t tests_ = 0;

  // ---- prefilter: this matcher's side of each shared group
  std::string lower_;    // scratch: a value folded for the caseless exact lookup
  std::string kw_text_;  // scratch: the event's raw values joined, for the keyword group
  size_t kw_text_len_ = 0;  // of kw_text_, the text's bytes (the rest is room)
  uint32_t kw_text_stamp_ = 0;  // == scan_epoch_: kw_text_ is this event's
  static constexpr uint32_t kNoGroup = UINT32_MAX;
  struct Local {
    uint32_t scanned_stamp = 0;  // == scan_epoch_: already handled in this event
    bool ready = false;          // the group's database is built and `scratch_` fits it
    bool unfiltered = true;      // no usable scan in this event: every atom is tested
    bool disabled = false;       // no database (could not be built): always tested
    // warm_up_count(): the event (== scan_epoch_) last counted toward the warm-up, and its count.
    uint32_t warm_stamp = 0;
    uint32_t warm_count = 0;
    // The patterns found in recently scanned short values, by value (two ways per hash): names,
    // channels, paths, short command lines repeat from event to event, and a lookup costs a fraction of
    // a scan. Sized by the group's patterns (seen_slots).
    struct Seen {
      size_t hash = 0;  // the value's: the other way's value is not read (a miss, most of a lookup)
      std::string value;
      std::vector<uint32_t> hits;
      bool used = false;
    };
    std::vector<Seen> seen;
  };
  // A scan's cost grows with its database: ~0.3 us for a few dozen literals, 2-3 us for a
  // thousand, 7 us for 10,000 (their tables fall out of cache between two scans of a short value;
  // measured over the EVTX samples). A larger database keeps more values: 256 to 4,096 per group
  // and matcher (the largest: ~0.3 MB of slots, plus the values' bytes).
  static constexpr size_t kSeenSlotsMin = 256, kSeenSlotsMax = 4096;
  static_assert(std::has_single_bit(kSeenSlotsMin) && kSeenSlotsMin >= 2 && std::has_single_bit(kSeenSlotsMax),
                "scan_value() finds a value's pair of slots by masking its hash");
  static size_t seen_slots(size_t patterns);
  // Up to a Sysmon Hashes value (SHA1, MD5, SHA256, IMPHASH: ~195 bytes), which repeats with every
  // run of the same binary; longer values (command lines) rarely repeat.
  static constexpr size_t kSeenValueMax = 256;
  std::vector<uint32_t> collected_;              // scratch: the patterns one scan found
  static void on_collect(void* self, uint32_t pattern);
  std::vector<Local> local_;
  std::vector<uint64_t> pattern_bits_;  // patterns found in this event (hits_ lists them)
  bool pattern_found(uint32_t p) const { return pattern_bits_[p >> 6] >> (p & 63) & 1; }
  PrefilterScratch scratch_;
  // ---- gates
  std::vector<std::vector<uint32_t>> pattern_gates_;  // pattern -> gates it opens
  std::vector<std::vector<uint32_t>> group_gates_;    // group -> gates with an atom in it
  std::vector<uint32_t> gated_groups_;                // groups scanned by open_gates()
  std::vector<Symbol> gated_field_;                   // as gated_groups_: its field (kNoSymbol: keywords)
  std::vector<std::vector<uint32_t>> gate_groups_;    // gate -> indices into gated_groups_ of its atoms' groups
  // A gated group known to filter here (ready) opens none of its gates in an event without its
  // field: open_gates() finds those from the event's fields (by_field_: Symbol -> index into
  // gated_groups_ + 1, 0 for none), or asks each when they are fewer. The others (warming up,
  // keywords, unfilterable) are looked at in every event (scan_always_: indices into gated_groups_).
  std::vector<uint32_t> by_field_;
  std::vector<uint32_t> filtering_;  // the same groups as by_field_, as indices into gated_groups_
  std::vector<uint32_t> scan_always_;
  std::vector<uint8_t> gate_stamp_;                   // gate -> tick_ when open
  // Gates by what opens them (their atoms' patterns, sorted): streams whose filters need the same
  // literals share one gate, so a literal found stamps it once, not once per stream.
  std::map<std::vector<uint32_t>, uint32_t> gate_by_key_;
  uint32_t always_gate_ = kNoGate;                    // always_open_gate(), once asked for
  std::vector<uint32_t> hits_;                        // patterns found in this event, once each
  // The keyword literals of this matcher's gates in a database of their own (Shared::keyword_gate_db),
  // asked for once the keyword group is ready; null after asking: open_gates() scans the whole group.
  std::vector<uint32_t> kw_gate_patterns_;
  std::shared_ptr<const Prefilter> kw_gate_db_;
  bool kw_gate_asked_ = false;
  uint64_t rejects_ = 0, scans_ = 0, recalled_ = 0, keyword_scans_ = 0, warm_up_counts_ = 0;
};

}  // namespace vigil::match
