// An open-addressing index over a caller's own vector of entries, by each entry's 64-bit hash
// (text_hash, or another well mixed in its low and high bits): a slot holds the hash's high 32 bits
// and the entry's position + 1, so a lookup reads one slot and looks at an entry only when its tag
// matches. Linear probing, at most half full.
// The entries, their full hashes and their equality stay the caller's: the aggregation groups
// (spl/aggregates), the early filters' verdicts (engine) and the corpus' atoms (ir/atom_table)
// index their vectors with it, probing with a hash they have already made (the pool of group-key
// texts keeps slots of this layout in an index of its own that threads read without a lock). A
// library map would hash again, or (Abseil's) keep its keys const where a group table re-keys its
// groups in place.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace vigil {

class HashIndex {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  /// The position of the entry with hash `h` for which `is(position)` holds; kNone when none does.
  template <class Is>
  uint32_t find(size_t h, Is&& is) const {
    if (slots_.empty()) return kNone;
    const size_t mask = slots_.size() - 1;
    const uint64_t tag = h >> 32;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const uint64_t s = slots_[i];
      if (!s) return kNone;
      if (s >> 32 == tag && is(static_cast<uint32_t>(s) - 1)) return static_cast<uint32_t>(s) - 1;
    }
  }

  /// Indexes the entry at `pos` (hash `h`), the caller's `count`-th (it included). When that
  /// would fill more than half the slots, the index is rebuilt larger from `hash_of(position)`.
  template <class HashOf>
  void add(size_t h, uint32_t pos, size_t count, HashOf&& hash_of) {
    if (count * 2 > slots_.size()) return rebuild(count, hash_of);
    place(h, pos);
  }

  /// Indexes entries 0 … count-1 anew (after the caller changed their hashes, or to grow).
  template <class HashOf>
  void rebuild(size_t count, HashOf&& hash_of) {
    size_t n = 16;
    while (n < count * 2) n *= 2;
    slots_.assign(n, 0);
    for (size_t k = 0; k < count; ++k) place(hash_of(k), static_cast<uint32_t>(k));
  }

  /// Forgets every entry, keeping the room.
  void clear() { std::fill(slots_.begin(), slots_.end(), 0); }
  /// Forgets every entry and gives the room back.
  void release() { std::vector<uint64_t>().swap(slots_); }

 private:
  void place(size_t h, uint32_t pos) {
    const size_t mask = slots_.size() - 1;
    size_t i = h & mask;
    while (slots_[i]) i = (i + 1) & mask;
    slots_[i] = (uint64_t(h >> 32) << 32) | (uint64_t(pos) + 1);
  }
  std::vector<uint64_t> slots_;  // 0: empty; else the hash's high 32 bits, then position + 1
};

}  // namespace vigil
