// Bounded little-endian readers and writers over caller-owned buffers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace tinyrig {

class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  bool ReadU8(uint8_t* value) { return ReadLe(value, 1); }
  bool ReadU16(uint16_t* value) { return ReadLe(value, 2); }
  bool ReadU32(uint32_t* value) { return ReadLe(value, 4); }

  const uint8_t* rest() const { return data_ + position_; }
  size_t remaining() const { return size_ - position_; }

 private:
  template <typename T>
  bool ReadLe(T* value, size_t width) {
    if (remaining() < width) return false;
    T result = 0;
    for (size_t i = 0; i < width; ++i) {
      result = static_cast<T>(result | (static_cast<T>(data_[position_ + i]) << (8 * i)));
    }
    position_ += width;
    *value = result;
    return true;
  }

  const uint8_t* data_;
  size_t size_;
  size_t position_ = 0;
};

// Writes stop at the capacity and set overflowed(); the caller checks once at the end.
class ByteWriter {
 public:
  ByteWriter(uint8_t* data, size_t capacity) : data_(data), capacity_(capacity) {}

  void U8(uint8_t value) { PutLe(value, 1); }
  void U16(uint16_t value) { PutLe(value, 2); }
  void U32(uint32_t value) { PutLe(value, 4); }
  void U64(uint64_t value) {
    PutLe(static_cast<uint32_t>(value), 4);
    PutLe(static_cast<uint32_t>(value >> 32), 4);
  }
  void I32(int32_t value) { PutLe(static_cast<uint32_t>(value), 4); }
  void F32(float value) {
    uint32_t bits = 0;
    static_assert(sizeof(bits) == sizeof(value), "IEEE-754 binary32");
    std::memcpy(&bits, &value, sizeof(bits));
    U32(bits);
  }
  void Bytes(const uint8_t* bytes, size_t count) {
    if (!Reserve(count)) return;
    if (count != 0) std::memcpy(data_ + size_, bytes, count);
    size_ += count;
  }
  // str8: length byte + bytes, truncated to 255.
  void Str8(const char* text) {
    size_t length = text == nullptr ? 0 : std::strlen(text);
    if (length > 255) length = 255;
    U8(static_cast<uint8_t>(length));
    Bytes(reinterpret_cast<const uint8_t*>(text), length);
  }

  size_t size() const { return size_; }
  size_t remaining() const { return capacity_ - size_; }
  bool overflowed() const { return overflowed_; }
  uint8_t* data() { return data_; }

 private:
  bool Reserve(size_t count) {
    if (overflowed_ || count > remaining()) {
      overflowed_ = true;
      return false;
    }
    return true;
  }
  void PutLe(uint32_t value, size_t width) {
    if (!Reserve(width)) return;
    for (size_t i = 0; i < width; ++i) data_[size_++] = static_cast<uint8_t>(value >> (8 * i));
  }

  uint8_t* data_;
  size_t capacity_;
  size_t size_ = 0;
  bool overflowed_ = false;
};

}  // namespace tinyrig
