// The RAM model slot of the upload ("runner") firmware: MODEL_BEGIN / MODEL_CHUNK /
// MODEL_COMMIT of docs/protocol.md §3.1, minus the interpreter (ProtocolServer does that).
//
// Chunks may come in any order and any number of times: the slot records which byte ranges were
// written as a sorted set of disjoint spans (fixed capacity, no heap), so `received` counts each
// byte once and a commit knows whether every byte arrived.
#pragma once

#include <cstddef>
#include <cstdint>

#include "protocol/status.h"

namespace tinyrig {

class ModelSlot {
 public:
  static constexpr size_t kModelIdSize = 8;
  // Disjoint written ranges tracked at once; an in-order or windowed upload needs a handful.
  static constexpr size_t kMaxSpans = 256;

  // `storage` must be 16-byte aligned (TFLM reads the flatbuffer in place) and outlive the slot.
  ModelSlot(uint8_t* storage, size_t capacity) : storage_(storage), capacity_(capacity) {}

  // Starts an upload (forgetting any previous one). MODEL_TOO_LARGE if size > capacity,
  // BAD_PAYLOAD if size is 0.
  Status Begin(uint32_t size, uint32_t crc32, const uint8_t* model_id);
  // Copies `data` to `offset`. BAD_SEQUENCE without Begin; OUT_OF_RANGE past the declared size;
  // BAD_SEQUENCE when the chunk would leave more than kMaxSpans gaps (nothing is recorded then).
  Status Write(uint32_t offset, const uint8_t* data, size_t size);
  // BAD_SEQUENCE without Begin or while bytes are missing; MODEL_CRC_MISMATCH (`*computed_crc`
  // set) when the CRC differs. OK leaves the upload open: the caller calls End() either way.
  Status CheckComplete(uint32_t* computed_crc) const;
  // Closes the upload: later chunks and commits are BAD_SEQUENCE until the next Begin.
  void End() { active_ = false; }

  bool active() const { return active_; }
  uint32_t received() const { return received_; }
  uint32_t declared_size() const { return size_; }
  const uint8_t* data() const { return storage_; }
  size_t capacity() const { return capacity_; }
  const uint8_t* model_id() const { return model_id_; }

 private:
  struct Span {
    uint32_t begin;
    uint32_t end;  // exclusive
  };
  bool AddSpan(uint32_t begin, uint32_t end);

  uint8_t* storage_;
  size_t capacity_;
  bool active_ = false;
  uint32_t size_ = 0;
  uint32_t crc32_ = 0;
  uint32_t received_ = 0;
  uint8_t model_id_[kModelIdSize] = {};
  Span spans_[kMaxSpans] = {};
  size_t span_count_ = 0;
};

}  // namespace tinyrig
