// Exact instruction counts on QEMU's micro:bit (nRF51822) under `-icount shift=0`: TIMER0 at
// 8 MHz steps every 125 instructions; the vernier (hal/vernier.h) recovers the phase.
#pragma once

#include <cstdint>

namespace tinyrig {
namespace nrf5 {

constexpr uint32_t kInstructionsPerTimerStep = 125;  // 8 MHz under 1 ns per instruction
constexpr uint32_t kInstructionTimerHz = 8000000u;

// Starts TIMER0: 32-bit, prescaler 1 (16 MHz / 2), no interrupt.
void StartInstructionTimer();
// Timer steps since the start, 64-bit (call at least every 536 s; WaitForEvent does).
uint64_t TimerSteps();
// Instructions since the start, up to a constant; exact under -icount shift=0 only.
uint64_t InstructionStamp();
// Whether the stamps run in lock-step with executed instructions (hal/vernier.h).
bool InstructionClockIsExact();

}  // namespace nrf5
}  // namespace tinyrig
