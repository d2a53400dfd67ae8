// Arena: chunk-lifetime storage for decoded EVTX strings.
//
// Every value a Record points to (UTF-8 converted names and values) lives in
// the Arena of the chunk it came from, so a decoded chunk is one object that is
// delivered and then recycled. Blocks are never reallocated, so views stay
// valid until reset(); reset() keeps the blocks for the next chunk, so steady
// state allocates nothing.
//
// Strings are built in place: begin(), then any number of append()/reserve()+
// commit(), then finish() returns the view. When a block fills up mid-string
// the partial string moves to a fresh block (one copy, rare).
#pragma once
#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace vigil::evtx {

class Arena {
 public:
  static constexpr size_t kBlockSize = 64 * 1024;

  /// Forget every string; keep the memory.
  void reset() {
    block_ = 0;
    if (blocks_.empty()) {
      cur_ = end_ = open_ = nullptr;
    } else {
      cur_ = open_ = blocks_[0].data.get();
      end_ = cur_ + blocks_[0].size;
    }
  }

  void begin() { open_ = cur_; }
  /// Drop the string being built.
  void abort() { cur_ = open_; }
  std::string_view finish() {
    std::string_view s(open_, size_t(cur_ - open_));
    open_ = cur_;
    return s;
  }
  size_t open_size() const { return size_t(cur_ - open_); }
  /// Cut the open string back to `len` bytes (len <= open_size()).
  void rewind(size_t len) { cur_ = open_ + len; }

  /// Room for `n` more bytes of the open string; write then commit().
  char* reserve(size_t n) {
    if (size_t(end_ - cur_) < n) grow(n);
    return cur_;
  }
  void commit(size_t n) { cur_ += n; }
  void append(const char* p, size_t n) {
    char* d = reserve(n);
    if (n) std::memcpy(d, p, n);
    cur_ += n;
  }
  void append(std::string_view s) { append(s.data(), s.size()); }
  void push(char c) {
    if (cur_ == end_) grow(1);
    *cur_++ = c;
  }
  /// A finished copy of `s`.
  std::string_view copy(std::string_view s) {
    begin();
    append(s);
    return finish();
  }

 private:
  struct Block {
    std::unique_ptr<char[]> data;
    size_t size;
  };
  void grow(size_t n) {
    size_t partial = size_t(cur_ - open_);
    size_t need = partial + n;
    // Reuse the next kept block if it is big enough, else insert a new one.
    while (block_ + 1 < blocks_.size() && blocks_[block_ + 1].size < need) blocks_.erase(blocks_.begin() + long(block_ + 1));
    if (blocks_.empty() || block_ + 1 >= blocks_.size()) {
      size_t sz = need > kBlockSize ? need : kBlockSize;
      blocks_.push_back({std::make_unique_for_overwrite<char[]>(sz), sz});  // no zero-fill
      if (blocks_.size() == 1) {
        block_ = 0;
        if (partial) std::memcpy(blocks_[0].data.get(), open_, partial);
        open_ = blocks_[0].data.get();
        cur_ = open_ + partial;
        end_ = open_ + sz;
        return;
      }
    }
    ++block_;
    char* base = blocks_[block_].data.get();
    if (partial) std::memcpy(base, open_, partial);
    open_ = base;
    cur_ = base + partial;
    end_ = base + blocks_[block_].size;
  }

  std::vector<Block> blocks_;
  size_t block_ = 0;
  char* cur_ = nullptr;
  char* end_ = nullptr;
  char* open_ = nullptr;
};

}  // namespace vigil::evtx
