// Multi-pattern prefilter (Suricata's MPM idea): many literals are compiled
// once into an immutable database (build phase); one pass over a value then
// reports every literal that occurs in it (scan phase), using a per-thread
// scratch. The matcher uses it as a *necessary condition*: an atom whose
// literal was not reported cannot match, so it is decided false without
// being tested; a reported atom is still confirmed by CompiledAtom::test, so
// exact semantics never depend on the prefilter.
//
// Literals are bytes (NUL and non-ASCII allowed); `caseless` folds ASCII only,
// like the matcher. Anchors restrict a literal to the start/end of the value.
// The engine is Hyperscan when the build has it (VIGIL_HAVE_HYPERSCAN);
// otherwise build() returns nullptr and callers test every atom directly.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "match/compiled_atom.h"

namespace vigil::match {

/// One literal to look for; `id` is reported on a hit.
struct PrefilterPattern {
  uint32_t id = 0;
  std::string literal;  ///< non-empty bytes
  bool caseless = false;
  bool at_start = false;  ///< must occur at offset 0
  bool at_end = false;    ///< must end at the end of the value
};

/// A literal every value matched by `atom` must contain (id left 0), or nullopt when the
/// atom has none usable (numbers, CIDR, exists, empty literals, wildcards made of wildcards
/// only, regexes without a run of 3 plain characters: core/regex.h required_literal). For
/// wildcards: the longest literal piece, anchored if it is first/last.
std::optional<PrefilterPattern> necessary_literal(const CompiledAtom& atom);
/// The atom kinds necessary_literal() may find a literal for (others need not be compiled to ask).
bool may_have_literal(ir::AtomKind kind);

/// Per-thread scan state; one scratch can serve several prefilters (prepare() each).
class PrefilterScratch {
 public:
  PrefilterScratch() = default;
  ~PrefilterScratch();
  PrefilterScratch(PrefilterScratch&& o) noexcept : impl_(o.impl_) { o.impl_ = nullptr; }
  PrefilterScratch& operator=(PrefilterScratch&& o) noexcept;
  PrefilterScratch(const PrefilterScratch&) = delete;
  PrefilterScratch& operator=(const PrefilterScratch&) = delete;

 private:
  friend class HyperscanPrefilter;
  void* impl_ = nullptr;  // hs_scratch_t* when Hyperscan is present
};

class Prefilter {
 public:
  /// Receives the id of each pattern found (an anchored one may be reported more than once).
  using OnHit = void (*)(void* ctx, uint32_t id);

  virtual ~Prefilter() = default;
  /// True when this build has a multi-pattern engine at all.
  static bool available();
  /// Build phase. nullptr (and a reason in `error`) when there is no engine, no
  /// pattern, or the patterns cannot be compiled. With `cache_dir`, the compiled
  /// database is kept there (keyed by the patterns and the engine's version) and
  /// loaded instead of compiled the next time the same patterns are built.
  static std::unique_ptr<Prefilter> build(const std::vector<PrefilterPattern>& patterns,
                                          std::string* error = nullptr, const std::string& cache_dir = {});

  /// Make `scratch` large enough for this prefilter (build phase; allocates).
  virtual bool prepare(PrefilterScratch& scratch) const = 0;
  /// Scan phase: report every pattern occurring in `value`. Allocation-free.
  /// Returns false when the engine failed (then callers must treat every pattern as hit).
  virtual bool scan(std::string_view value, PrefilterScratch& scratch, OnHit on_hit, void* ctx) const = 0;
  virtual size_t pattern_count() const = 0;
};

}  // namespace vigil::match
