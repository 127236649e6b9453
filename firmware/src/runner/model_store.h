// Where the upload ("runner") firmware keeps an uploaded model: the bytes TFLM reads in place.
//
// Two kinds: a static RAM array (RamModelStore, every target with RAM to spare) and a region of
// the chip's flash (hal::FlashModelStore(), boards whose RAM cannot hold a model beside the
// arena, e.g. the nRF51's 16 KiB: hal/nrf5/nvmc_model_store.cc), written the way a real device
// keeps an uploaded model: it survives a reset (persistent()). Flash can only clear bits and
// only whole words, after an erase: so Erase() clears what the next model needs, and Write()
// may be called for any byte range any number of times as long as it writes the same value to
// a byte each time (a repeated chunk).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "protocol/status.h"

namespace tinyrig {

class ModelStore {
 public:
  virtual size_t capacity() const = 0;
  // The stored bytes, 16-byte aligned, readable in place (TFLM reads the flatbuffer from here).
  virtual const uint8_t* data() const = 0;
  // Makes [offset, offset + size) writable (flash: erases the pages covering it).
  virtual Status Erase(size_t offset, size_t size) = 0;
  // Writes `size` bytes at `offset` within what Erase() made writable.
  virtual Status Write(size_t offset, const uint8_t* bytes, size_t size) = 0;
  // True when the bytes outlive a reset (flash): the slot then keeps a record of the committed
  // model, and the firmware boots with it.
  virtual bool persistent() const { return false; }

 protected:
  ~ModelStore() = default;
};

// A static RAM array owned by the caller.
class RamModelStore final : public ModelStore {
 public:
  RamModelStore(uint8_t* storage, size_t capacity) : storage_(storage), capacity_(capacity) {}
  size_t capacity() const override { return capacity_; }
  const uint8_t* data() const override { return storage_; }
  Status Erase(size_t offset, size_t size) override {
    return offset <= capacity_ && size <= capacity_ - offset ? Status::OK
                                                             : Status::OUT_OF_RANGE;
  }
  Status Write(size_t offset, const uint8_t* bytes, size_t size) override {
    if (offset > capacity_ || size > capacity_ - offset) return Status::OUT_OF_RANGE;
    std::memcpy(storage_ + offset, bytes, size);
    return Status::OK;
  }

 private:
  uint8_t* storage_;
  size_t capacity_;
};

namespace hal {
// The flash model slot of boards that keep uploaded models in flash (TINYRIG_MODEL_SLOT_FLASH):
// the region the board facts reserve (custom_tinyrig_model_slot, platformio.ini), which the
// linker keeps the image out of. Implemented by the HALs of such boards only.
ModelStore& FlashModelStore();
}  // namespace hal

}  // namespace tinyrig
