// Reset handler, default handlers and the C runtime hooks shared by every bare-metal Cortex-M
// family (no CMSIS, no vendor startup code, no semihosting). The vector table is per family
// (hal/<family>/vectors.cc, built with hal/cortex_m/vector_table.h).
#include <cerrno>
#include <cstddef>
#include <cstdint>

#include "hal/cortex_m/registers.h"
#include "hal/cortex_m/vector_table.h"

extern "C" {
extern uint32_t __data_load__;
extern uint32_t __data_start__;
extern uint32_t __data_end__;
extern uint32_t __bss_start__;
extern uint32_t __bss_end__;

int main();
void __libc_init_array();

// newlib hooks when linking with -nostartfiles and without crti/crtn.
void _init() {}
void _fini() {}
void* __dso_handle = nullptr;
// Statics are never destroyed: the firmware never returns from main.
int __cxa_atexit(void (*)(void*), void*, void*) { return 0; }

// No heap: any malloc/new fails at once instead of silently growing into the stack.
void* _sbrk(ptrdiff_t) {
  errno = ENOMEM;
  return reinterpret_cast<void*>(-1);
}
}

namespace {

__attribute__((noinline)) void EnableFpu() {
#if defined(__ARM_FP)
  using tinyrig::cortex_m::Register;
  Register(tinyrig::cortex_m::kScbCpacr) |= tinyrig::cortex_m::kCpacrCp10Cp11Full;
  __asm volatile("dsb\n isb" ::: "memory");
#endif
}

__attribute__((noinline)) void InitializeMemory() {
  const uint32_t* source = &__data_load__;
  for (uint32_t* word = &__data_start__; word < &__data_end__;) *word++ = *source++;
  for (uint32_t* word = &__bss_start__; word < &__bss_end__;) *word++ = 0;
}

}  // namespace

extern "C" void Reset_Handler() {
  EnableFpu();  // before any code that may touch a floating-point register
  InitializeMemory();
  __libc_init_array();
  main();
  for (;;) __asm volatile("wfi");
}

extern "C" void Default_Handler() {
  for (;;) __asm volatile("wfi");
}

extern "C" void HardFault_Handler() {
  for (;;) __asm volatile("wfi");
}
