#include "runner/arena_guard.h"

#include <cstdlib>
#include <new>

#include "tensorflow/lite/c/common.h"
#include "tensorflow/lite/micro/arena_allocator/single_arena_buffer_allocator.h"
#include "tensorflow/lite/micro/memory_planner/greedy_memory_planner.h"
#include "tensorflow/lite/micro/memory_planner/linear_memory_planner.h"
#include "tensorflow/lite/micro/micro_allocator.h"
#include "tensorflow/lite/micro/micro_arena_constants.h"
#include "tensorflow/lite/micro/micro_log.h"

namespace tinyrig {
namespace {

bool g_armed = false;
uint32_t g_missing = 0;

uintptr_t Address(const uint8_t* pointer) { return reinterpret_cast<uintptr_t>(pointer); }

uintptr_t AlignUp(uintptr_t value, size_t alignment) {
  return alignment <= 1 ? value : (value + alignment - 1) / alignment * alignment;
}

uintptr_t AlignDown(uintptr_t value, size_t alignment) {
  return alignment <= 1 ? value : value / alignment * alignment;
}

uint32_t Clamp(uintptr_t bytes) {
  return bytes > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(bytes);
}

// No data members of its own: the same size and place in the arena as TFLM's own allocator.
class BoundedArenaAllocator final : public tflite::SingleArenaBufferAllocator {
 public:
  using SingleArenaBufferAllocator::SingleArenaBufferAllocator;

  // Below every temp buffer as well as below the head (TFLM checks the head only).
  uint8_t* AllocatePersistentBuffer(size_t size, size_t alignment) override {
    const uintptr_t low = TempEnd();
    const uintptr_t high = Address(tail());
    if (size > high - low) return Refuse("tail", size, size - (high - low));
    const uintptr_t start = AlignDown(high - size, alignment);
    if (start < low) return Refuse("tail", size, low - start);
    return SingleArenaBufferAllocator::AllocatePersistentBuffer(size, alignment);
  }

  uint8_t* AllocateTemp(size_t size, size_t alignment) override {
    const uintptr_t start = AlignUp(TempEnd(), alignment);
    const uintptr_t high = Address(tail());
    if (start > high || size > high - start) {
      return Refuse("temp", size, size + start - high);
    }
    return SingleArenaBufferAllocator::AllocateTemp(size, alignment);
  }

  // AllocateResizableBuffer and ReserveNonPersistentOverlayMemory come through here too.
  TfLiteStatus ResizeBuffer(uint8_t* resizable_buffer, size_t size, size_t alignment) override {
    const uintptr_t start = AlignUp(Address(GetOverlayMemoryAddress()), alignment);
    const uintptr_t high = Address(tail());
    if (start > high || size > high - start) {
      Refuse("head", size, size + start - high);
      return kTfLiteError;
    }
    return SingleArenaBufferAllocator::ResizeBuffer(resizable_buffer, size, alignment);
  }

 private:
  // The end of the head and of the temp buffers above it (temp_ >= head_ always: ResizeBuffer
  // and ResetTempAllocations set temp_ to head_, AllocateTemp only raises it).
  uintptr_t TempEnd() const {
    return Address(GetOverlayMemoryAddress()) + GetNonPersistentUsedBytes();
  }

  // The arena cannot hold `size` more bytes: record, say so ("missing: N" is what
  // ModelRunner::ObserveLoadMessage reads), and while armed end the load here.
  static uint8_t* Refuse(const char* where, size_t size, uintptr_t missing) {
    if (g_missing == 0) g_missing = Clamp(missing == 0 ? 1 : missing);
    MicroPrintf("Failed to allocate %s memory (arena guard). Requested: %u, missing: %u", where,
                static_cast<unsigned>(Clamp(size)), static_cast<unsigned>(Clamp(missing)));
    if (g_armed) std::abort();  // runner/abort_guard.cc: back to RunGuarded's caller
    return nullptr;
  }
};
static_assert(sizeof(BoundedArenaAllocator) == sizeof(tflite::SingleArenaBufferAllocator),
              "the arena layout must stay TFLM's");

// The base class's allocation (no guard) for TFLM's own objects, placed before anything else.
template <typename T>
uint8_t* PlaceAtTail(tflite::SingleArenaBufferAllocator& arena) {
  return arena.SingleArenaBufferAllocator::AllocatePersistentBuffer(sizeof(T), alignof(T));
}

// What MicroAllocator::Create gives the allocator it places: protected constructor, so a
// subclass without members of its own.
class PlacedMicroAllocator final : public tflite::MicroAllocator {
 public:
  PlacedMicroAllocator(tflite::SingleArenaBufferAllocator* arena,
                       tflite::MicroMemoryPlanner* planner)
      : MicroAllocator(arena, planner) {}
  // Never destroyed (the interpreter does not own it); TFLM's operator delete is private, and
  // a virtual destructor needs one (no heap: TF_LITE_STATIC_MEMORY).
  void operator delete(void*) {}
};
static_assert(sizeof(PlacedMicroAllocator) == sizeof(tflite::MicroAllocator),
              "the arena layout must stay TFLM's");

}  // namespace

tflite::MicroAllocator* CreateBoundedAllocator(uint8_t* arena, size_t arena_size,
                                               bool preserve_all_tensors) {
  g_armed = false;
  g_missing = 0;
  const uintptr_t start = AlignUp(Address(arena), tflite::MicroArenaBufferAlignment());
  if (start - Address(arena) > arena_size) return nullptr;
  uint8_t* const head = arena + (start - Address(arena));
  const size_t size = arena_size - (start - Address(arena));
  // As SingleArenaBufferAllocator::Create: built in place, then moved to the arena's tail.
  BoundedArenaAllocator staging(head, size);
  uint8_t* at = PlaceAtTail<BoundedArenaAllocator>(staging);
  if (at == nullptr) return nullptr;
  auto* bounded = new (at) BoundedArenaAllocator(staging);
  tflite::MicroMemoryPlanner* planner = nullptr;
  if (preserve_all_tensors) {
    at = PlaceAtTail<tflite::LinearMemoryPlanner>(*bounded);
    if (at != nullptr) planner = new (at) tflite::LinearMemoryPlanner();
  } else {
    at = PlaceAtTail<tflite::GreedyMemoryPlanner>(*bounded);
    if (at != nullptr) planner = new (at) tflite::GreedyMemoryPlanner();
  }
  if (planner == nullptr) return nullptr;
  at = PlaceAtTail<PlacedMicroAllocator>(*bounded);
  if (at == nullptr) return nullptr;
  return new (at) PlacedMicroAllocator(bounded, planner);
}

void ArmArenaGuard(bool armed) { g_armed = armed; }

uint32_t ArenaBytesMissing() { return g_missing; }

}  // namespace tinyrig
