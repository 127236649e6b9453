// Consistent Overhead Byte Stuffing with 0x00 as the frame delimiter (docs/protocol.md §1).
#pragma once

#include <cstddef>
#include <cstdint>

#include "protocol/byte_sink.h"

namespace tinyrig {

// Streaming decoder into a caller-owned buffer. Push() one wire byte at a time; a 0x00
// completes a frame. Bytes beyond the capacity are dropped up to the next delimiter, and the
// frame is reported as kOverflow with its first `capacity` decoded bytes still readable (so a
// readable header can be answered).
class CobsDecoder {
 public:
  enum class Event : uint8_t {
    kNone,       // byte consumed, no frame boundary yet (or an empty frame was skipped)
    kFrame,      // frame() / size() hold a complete decoded frame
    kOverflow,   // the frame exceeded the capacity; size() bytes of its start are kept
    kMalformed,  // a delimiter arrived in the middle of a COBS block
  };

  CobsDecoder(uint8_t* buffer, size_t capacity) : buffer_(buffer), capacity_(capacity) {}

  Event Push(uint8_t wire_byte);
  void Reset();

  const uint8_t* frame() const { return buffer_; }
  size_t size() const { return size_; }

 private:
  void Append(uint8_t byte);

  uint8_t* const buffer_;
  const size_t capacity_;
  size_t size_ = 0;
  uint8_t block_remaining_ = 0;  // data bytes left in the current block
  bool block_adds_zero_ = false; // the current block ends in an implicit 0x00
  bool in_frame_ = false;
  bool overflowed_ = false;
  bool completed_ = false;       // the previous Push ended a frame: start afresh
};

// Streaming encoder: Put() frame bytes, Finish() flushes the last block and the delimiter.
// Holds at most one 254-byte block, so frames of any size stream with O(1) memory.
class CobsEncoder {
 public:
  explicit CobsEncoder(ByteSink& sink) : sink_(sink) {}

  void Put(uint8_t byte);
  void Put(const uint8_t* data, size_t size);
  void Finish();

 private:
  void FlushBlock();

  ByteSink& sink_;
  uint8_t block_[255] = {};  // block_[0] is the code byte
  uint8_t block_size_ = 1;
  bool previous_block_full_ = false;  // the last flush was a full 254-byte block
};

// Worst-case encoded size of `size` frame bytes, delimiter included.
constexpr size_t CobsMaxEncodedSize(size_t size) { return size + size / 254 + 2; }

}  // namespace tinyrig
