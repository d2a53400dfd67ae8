// ClickHouse's RowBinary format: what vigil inserts and reads back. Binary, so
// no value needs escaping and none can be misread (LEB128 lengths, little-endian numbers).
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace vigil::clickhouse {

class RowWriter {
 public:
  void u8(uint8_t v) { buf_.push_back(static_cast<char>(v)); }
  void u64(uint64_t v) {
    char b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
    buf_.append(b, 8);
  }
  void f64(double d) {
    uint64_t v;
    std::memcpy(&v, &d, 8);
    u64(v);
  }
  void varint(uint64_t v) {
    while (v >= 0x80) {
      buf_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    buf_.push_back(static_cast<char>(v));
  }
  void str(std::string_view s) {
    varint(s.size());
    buf_.append(s.data(), s.size());
  }
  void null() { u8(1); }
  void nullable_str(std::string_view s) {
    u8(0);
    str(s);
  }
  std::string& data() { return buf_; }
  size_t size() const { return buf_.size(); }
  void clear() { buf_.clear(); }

 private:
  std::string buf_;
};

/// Reads RowBinary; every read is bounds-checked (ok() turns false and stays false).
class RowReader {
 public:
  explicit RowReader(std::string_view data) : d_(data) {}
  bool at_end() const { return pos_ >= d_.size(); }
  bool ok() const { return ok_; }
  uint8_t u8() {
    if (!need(1)) return 0;
    return static_cast<uint8_t>(d_[pos_++]);
  }
  uint64_t u64() {
    if (!need(8)) return 0;
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t(static_cast<unsigned char>(d_[pos_ + i])) << (8 * i);
    pos_ += 8;
    return v;
  }
  double f64() {
    uint64_t v = u64();
    double d;
    std::memcpy(&d, &v, 8);
    return d;
  }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (!need(1)) return 0;
      auto b = static_cast<unsigned char>(d_[pos_++]);
      v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    ok_ = false;
    return 0;
  }
  std::string_view str() {
    uint64_t n = varint();
    if (!need(n)) return {};
    std::string_view s = d_.substr(pos_, n);
    pos_ += n;
    return s;
  }

 private:
  bool need(uint64_t n) {
    if (!ok_ || n > d_.size() - pos_) {
      ok_ = false;
      return false;
    }
    return true;
  }
  std::string_view d_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace vigil::clickhouse
