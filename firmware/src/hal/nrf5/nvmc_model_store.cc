// The flash model slot of the nRF5 boards (TINYRIG_MODEL_SLOT_FLASH): the uploaded model is
// written through the NVMC into the flash region the board facts reserve
// (custom_tinyrig_model_slot in platformio.ini; firmware/platforms/tinyrig-nrf5 turns it into
// the MODEL_SLOT memory region and the __tinyrig_model_slot_* symbols, and shrinks FLASH so the
// image can never reach it).
//
// What QEMU 7.2's NVMC (hw/nvram/nrf51_nvm.c) does, checked by experiment on qemu:microbit and
// relied on here: flash outside the loaded image reads 0 until erased (a real chip ships
// erased, 0xFF); ERASEPAGE with CONFIG = EEN sets the page to 0xFF, without EEN it is ignored
// (logged as a guest error); a word store with CONFIG = WEN ANDs the value into the word (bits
// only clear, as on the chip), without WEN it is ignored; byte and halfword stores to flash are
// bus faults; READY always reads 1. So: erase first, write whole aligned words, and pad a
// partial word with 0xFF bytes (which leave the bytes beside the chunk as they are).
//
// On a real nRF51 the CPU stalls while the NVMC writes (about 46 us a word) or erases (about
// 22 ms a page); the page erases happen in MODEL_BEGIN, before the host sends any chunk.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "hal/nrf5/nrf5_registers.h"
#include "runner/model_store.h"

#if defined(TINYRIG_MODEL_SLOT_FLASH) && TINYRIG_MODEL_SLOT_FLASH

extern "C" {
// From the generated memory script (tinyrig_memory.ld): the reserved slot.
extern const uint8_t __tinyrig_model_slot_start__[];
extern const uint8_t __tinyrig_model_slot_end__[];
}

namespace tinyrig {
namespace {

using nrf5::Register;

void WaitReady() {
  while (Register(nrf5::kNvmcReady) == 0) {
  }
}

void SetConfig(uint32_t mode) {
  Register(nrf5::kNvmcConfig) = mode;
  WaitReady();
}

class NvmcModelStore final : public ModelStore {
 public:
  size_t capacity() const override {
    return static_cast<size_t>(__tinyrig_model_slot_end__ - __tinyrig_model_slot_start__);
  }
  const uint8_t* data() const override { return __tinyrig_model_slot_start__; }

  bool persistent() const override { return true; }

  Status Erase(size_t offset, size_t size) override {
    if (offset > capacity() || size > capacity() - offset) return Status::OUT_OF_RANGE;
    const size_t page = PageBytes();
    const size_t first = offset / page * page;
    for (size_t at = first; at < offset + size; at += page) {
      const uintptr_t address = reinterpret_cast<uintptr_t>(data()) + at;
      if (Erased(address, page)) continue;  // spare the flash an erase cycle
      SetConfig(nrf5::kNvmcConfigEraseEnable);
      Register(nrf5::kNvmcErasePage) = static_cast<uint32_t>(address);
      WaitReady();
      SetConfig(nrf5::kNvmcConfigRead);
      if (!Erased(address, page)) return Status::UNSUPPORTED;  // the NVMC did not erase
    }
    return Status::OK;
  }

  Status Write(size_t offset, const uint8_t* bytes, size_t size) override {
    if (offset > capacity() || size > capacity() - offset) return Status::OUT_OF_RANGE;
    uintptr_t address = reinterpret_cast<uintptr_t>(data()) + offset;
    SetConfig(nrf5::kNvmcConfigWriteEnable);
    while (size > 0) {
      const uintptr_t word_address = address & ~static_cast<uintptr_t>(3);
      const size_t skip = address - word_address;
      const size_t count = size < 4 - skip ? size : 4 - skip;
      uint32_t word = 0xFFFFFFFFu;  // 0xFF bytes leave the flash bytes beside the chunk alone
      std::memcpy(reinterpret_cast<uint8_t*>(&word) + skip, bytes, count);
      Register(word_address) = word;
      WaitReady();
      address += count;
      bytes += count;
      size -= count;
    }
    SetConfig(nrf5::kNvmcConfigRead);
    return Status::OK;
  }

 private:
  static size_t PageBytes() {
    const uint32_t page = Register(nrf5::kFicrCodePageSize);
    return page != 0 && page != 0xFFFFFFFFu ? page : 1024;
  }
  static bool Erased(uintptr_t address, size_t size) {
    for (size_t i = 0; i < size; i += 4) {
      if (Register(address + i) != 0xFFFFFFFFu) return false;
    }
    return true;
  }
};

NvmcModelStore g_store;

}  // namespace

ModelStore& hal::FlashModelStore() { return g_store; }

}  // namespace tinyrig

#endif  // TINYRIG_MODEL_SLOT_FLASH
