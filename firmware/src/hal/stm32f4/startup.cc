// Vector table and reset handler for the STM32F4 chips (no CMSIS, no vendor startup code).
#include <cerrno>
#include <cstddef>
#include <cstdint>

#include "hal/stm32f4/stm32f4_registers.h"

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
void Tim2_IRQHandler();
void Usart2_IRQHandler();

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
// STM32F446 has the most (97, IRQ 0..96) of the supported chips; unused entries are harmless.
constexpr size_t kExternalInterrupts = 97;
constexpr size_t kSystemHandlers = 15;

struct VectorTable {
  uint32_t* initial_stack;
  Handler handlers[kSystemHandlers + kExternalInterrupts];
};

constexpr VectorTable MakeVectorTable() {
  VectorTable table{&__stack_top__, {}};
  for (Handler& handler : table.handlers) handler = Default_Handler;
  table.handlers[0] = Reset_Handler;      // 1 Reset
  table.handlers[2] = HardFault_Handler;  // 3 HardFault
  constexpr size_t kReserved[] = {6, 7, 8, 9, 12};
  for (size_t reserved : kReserved) table.handlers[reserved] = nullptr;
  table.handlers[14] = SysTick_Handler;   // 15 SysTick
  table.handlers[kSystemHandlers + tinyrig::stm32f4::kTim2Irq] = Tim2_IRQHandler;
  table.handlers[kSystemHandlers + tinyrig::stm32f4::kUsart2Irq] = Usart2_IRQHandler;
  return table;
}

__attribute__((noinline)) void EnableFpu() {
#if defined(__ARM_FP)
  using tinyrig::stm32f4::Register;
  Register(tinyrig::stm32f4::kScbCpacr) |= tinyrig::stm32f4::kCpacrCp10Cp11Full;
  __asm volatile("dsb\n isb" ::: "memory");
#endif
}

__attribute__((noinline)) void InitializeMemory() {
  const uint32_t* source = &__data_load__;
  for (uint32_t* word = &__data_start__; word < &__data_end__;) *word++ = *source++;
  for (uint32_t* word = &__bss_start__; word < &__bss_end__;) *word++ = 0;
}

}  // namespace

__attribute__((section(".isr_vector"), used)) const VectorTable g_vector_table = MakeVectorTable();

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
