// Vector table and reset handler for the MPS2 Cortex-M boards (no CMSIS, no semihosting).
#include <cerrno>
#include <cstddef>
#include <cstdint>

#include "hal/mps2/mps2_registers.h"

extern "C" {
extern uint32_t __data_load__;
extern uint32_t __data_start__;
extern uint32_t __data_end__;
extern uint32_t __bss_start__;
extern uint32_t __bss_end__;
extern uint32_t __stack_top__;

int main();
void __libc_init_array();

void Reset_Handler();
void Default_Handler();
void HardFault_Handler();
void SysTick_Handler();
void Uart0Rx_Handler();

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

using Handler = void (*)();
constexpr size_t kExternalInterrupts = 32;

__attribute__((noinline)) void EnableFpu() {
#if defined(__ARM_FP)
  using tinyrig::mps2::Register;
  Register(tinyrig::mps2::kScbCpacr) |= tinyrig::mps2::kCpacrCp10Cp11Full;
  __asm volatile("dsb\n isb" ::: "memory");
#endif
}

__attribute__((noinline)) void InitializeMemory() {
  const uint32_t* source = &__data_load__;
  for (uint32_t* word = &__data_start__; word < &__data_end__;) *word++ = *source++;
  for (uint32_t* word = &__bss_start__; word < &__bss_end__;) *word++ = 0;
}

}  // namespace

struct VectorTable {
  uint32_t* initial_stack;
  Handler handlers[15 + kExternalInterrupts];
};

__attribute__((section(".isr_vector"), used)) const VectorTable g_vector_table = {
    &__stack_top__,
    {
        Reset_Handler,      // 1 Reset
        Default_Handler,    // 2 NMI
        HardFault_Handler,  // 3 HardFault
        Default_Handler,    // 4 MemManage
        Default_Handler,    // 5 BusFault
        Default_Handler,    // 6 UsageFault
        nullptr, nullptr, nullptr, nullptr,
        Default_Handler,    // 11 SVCall
        Default_Handler,    // 12 DebugMonitor
        nullptr,
        Default_Handler,    // 14 PendSV
        SysTick_Handler,    // 15 SysTick
        Uart0Rx_Handler,    // IRQ 0: UART0 RX
        // IRQ 1..31: Default_Handler (filled below by the aggregate's remaining elements)
        Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler,
        Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler,
        Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler,
        Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler,
        Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler,
        Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler,
        Default_Handler,
    },
};

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
