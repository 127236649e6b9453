// The model slot of the upload ("runner") firmware: MODEL_BEGIN / MODEL_CHUNK / MODEL_COMMIT
// of docs/protocol.md §3.1, minus the interpreter (ProtocolServer does that). The bytes live in
// a ModelStore (runner/model_store.h): a static RAM array, or a flash region on small boards.
//
// Chunks may come in any order and any number of times: the slot records which byte ranges were
// written as a sorted set of disjoint spans (fixed capacity, no heap), so `received` counts each
// byte once and a commit knows whether every byte arrived.
#pragma once

#include <cstddef>
#include <cstdint>

#include "protocol/status.h"
#include "runner/model_store.h"

// Disjoint written ranges tracked at once (8 bytes each): an in-order or windowed upload needs
// a handful; small boards lower it (platformio.ini).
#ifndef TINYRIG_MODEL_SLOT_SPANS
#define TINYRIG_MODEL_SLOT_SPANS 256
#endif

namespace tinyrig {

class ModelSlot {
 public:
  static constexpr size_t kModelIdSize = 8;
  static constexpr size_t kMaxSpans = TINYRIG_MODEL_SLOT_SPANS;

  // `store` must outlive the slot.
  explicit ModelSlot(ModelStore& store) : store_(store) {}

  // A persistent store keeps a record of the committed model in its last bytes (magic, size,
  // CRC-32, id): the model area is that much smaller.
  static constexpr size_t kRecordBytes = 32;

  // Whether Begin(size) would be accepted: MODEL_TOO_LARGE if size > capacity, BAD_PAYLOAD if
  // size is 0. Changes nothing (the caller stops using the stored model before Begin()).
  Status Check(uint32_t size) const;
  // Starts an upload (forgetting any previous one and the stored record): Check(), then the
  // store is erased for `size` bytes (a flash error is returned and no upload is open).
  Status Begin(uint32_t size, uint32_t crc32, const uint8_t* model_id);
  // Copies `data` to `offset`. BAD_SEQUENCE without Begin; OUT_OF_RANGE past the declared size;
  // BAD_SEQUENCE when the chunk would leave more than kMaxSpans gaps (nothing is recorded then).
  Status Write(uint32_t offset, const uint8_t* data, size_t size);
  // BAD_SEQUENCE without Begin or while bytes are missing; MODEL_CRC_MISMATCH (`*computed_crc`
  // set) when the CRC differs. OK leaves the upload open: the caller calls End() either way.
  Status CheckComplete(uint32_t* computed_crc) const;
  // Closes the upload: later chunks and commits are BAD_SEQUENCE until the next Begin.
  void End() { active_ = false; }
  // After a successful commit, on a persistent store: records the model so that the next boot
  // finds it (Stored()). OK without a persistent store (nothing to do).
  Status Persist();
  // The model a persistent store holds from before the last reset: true, with its bytes, size
  // and id, when the record is intact and the bytes match its CRC-32.
  bool Stored(const uint8_t** data, uint32_t* size, const uint8_t** model_id) const;

  bool active() const { return active_; }
  uint32_t received() const { return received_; }
  uint32_t declared_size() const { return size_; }
  const uint8_t* data() const { return store_.data(); }
  size_t capacity() const {
    return store_.persistent() ? store_.capacity() - kRecordBytes : store_.capacity();
  }
  const uint8_t* model_id() const { return model_id_; }

 private:
  struct Span {
    uint32_t begin;
    uint32_t end;  // exclusive
  };
  bool AddSpan(uint32_t begin, uint32_t end);

  ModelStore& store_;
  bool active_ = false;
  uint32_t size_ = 0;
  uint32_t crc32_ = 0;
  uint32_t received_ = 0;
  uint8_t model_id_[kModelIdSize] = {};
  Span spans_[kMaxSpans] = {};
  size_t span_count_ = 0;
};

}  // namespace tinyrig
