#include "app/stack_watermark.h"

#if defined(__arm__)
extern "C" {
extern uint32_t __stack_limit__;
extern uint32_t __stack_top__;
}
#endif

namespace tinyrig {
namespace stack {

#if defined(__arm__)
namespace {

constexpr uint32_t kPattern = 0x57AC57ACu;
// Left unpainted below the caller's stack pointer: Paint()'s own frame and the calls it makes.
constexpr uintptr_t kMargin = 64;

uint32_t* Limit() { return &__stack_limit__; }
uint32_t* Top() { return &__stack_top__; }

}  // namespace

void Paint() {
  uintptr_t sp = 0;
  __asm volatile("mov %0, sp" : "=r"(sp));
  auto* end = reinterpret_cast<volatile uint32_t*>((sp - kMargin) & ~static_cast<uintptr_t>(3));
  for (volatile uint32_t* word = Limit(); word < end; ++word) *word = kPattern;
}

size_t Size() {
  return static_cast<size_t>(reinterpret_cast<uintptr_t>(Top()) -
                             reinterpret_cast<uintptr_t>(Limit()));
}

size_t HighWater() {
  const volatile uint32_t* word = Limit();
  const volatile uint32_t* top = Top();
  while (word < top && *word == kPattern) ++word;
  return static_cast<size_t>(reinterpret_cast<uintptr_t>(top) -
                             reinterpret_cast<uintptr_t>(word));
}

#else

void Paint() {}
size_t Size() { return 0; }
size_t HighWater() { return 0; }

#endif

}  // namespace stack
}  // namespace tinyrig
