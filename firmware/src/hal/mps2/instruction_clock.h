// Exact instruction counts on QEMU's MPS2 boards.
//
// Under `-icount shift=0` QEMU's virtual clock advances exactly one nanosecond per executed
// instruction, but the MPS2 timers count the 25 MHz system clock: one timer step is 40
// instructions. This clock recovers the missing phase with a vernier: it waits for a timer
// edge (a 4-instruction polling loop), then samples the next edge with single-instruction
// spacing, which pins the edge to one instruction. All of it runs as one hand-written block
// of fixed instruction counts, so the result is the instruction count at the block's entry,
// the same from run to run.
#pragma once

#include <cstdint>

namespace tinyrig {
namespace mps2 {

// The timer steps per instruction under `-icount shift=0`: 1 ns per instruction, 40 ns per
// 25 MHz step.
constexpr uint32_t kInstructionsPerTimerStep = 40;

// Starts the free-running 32-bit timer (CMSDK APB timer 0, no interrupt).
void StartInstructionTimer();

// Timer steps since StartInstructionTimer() (64-bit: counts every 2^32 wrap it sees; call it
// at least every 171 s, WaitForEvent does).
uint64_t TimerSteps();

// Instructions executed since StartInstructionTimer(), up to a constant offset; exact under
// `-icount shift=0`, meaningless otherwise (see InstructionClockIsExact). Interrupts are
// masked while it samples.
uint64_t InstructionStamp();

// Checks, by timing the same loop at three lengths, that the timer runs in lock-step with
// executed instructions (QEMU -icount shift=0). False on real time (QEMU without -icount).
bool InstructionClockIsExact();

}  // namespace mps2
}  // namespace tinyrig
