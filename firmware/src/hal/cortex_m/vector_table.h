// The Cortex-M vector table, built at compile time from a chip's list of interrupt handlers.
// Each family has a small vectors.cc (hal/<family>/) that names its IRQs and places the table;
// the system handlers and Reset_Handler are the shared startup's (hal/cortex_m/startup.cc).
#pragma once

#include <cstddef>
#include <cstdint>

extern "C" {
extern uint32_t __stack_top__;  // linker script

void Reset_Handler();
void Default_Handler();
void HardFault_Handler();
void SysTick_Handler();  // each HAL's (a wake-up timer, or its time base)
}

namespace tinyrig {
namespace cortex_m {

using Handler = void (*)();

// One external interrupt: its IRQ number (vector 16 + number) and handler.
struct Irq {
  unsigned number;
  Handler handler;
};

constexpr size_t kSystemHandlers = 15;  // vectors 1..15 (0 is the initial stack pointer)

template <size_t kExternalInterrupts>
struct VectorTable {
  uint32_t* initial_stack;
  Handler handlers[kSystemHandlers + kExternalInterrupts];
};

// Every vector Default_Handler but the reserved ones (null) and those named here. An IRQ number
// past kExternalInterrupts fails the build (out-of-bounds write in a constant expression).
template <size_t kExternalInterrupts, size_t kIrqs>
constexpr VectorTable<kExternalInterrupts> MakeVectorTable(const Irq (&irqs)[kIrqs]) {
  VectorTable<kExternalInterrupts> table{&__stack_top__, {}};
  for (Handler& handler : table.handlers) handler = Default_Handler;
  table.handlers[0] = Reset_Handler;      // 1 Reset
  table.handlers[2] = HardFault_Handler;  // 3 HardFault
  constexpr size_t kReserved[] = {6, 7, 8, 9, 12};  // vectors 7..10 and 13
  for (size_t reserved : kReserved) table.handlers[reserved] = nullptr;
  table.handlers[14] = SysTick_Handler;  // 15 SysTick
  for (const Irq& irq : irqs) table.handlers[kSystemHandlers + irq.number] = irq.handler;
  return table;
}

}  // namespace cortex_m
}  // namespace tinyrig

