#include "hal/mps2/instruction_clock.h"

#include <cstdint>

#include "hal/mps2/mps2_registers.h"
#include "hal/vernier.h"

namespace tinyrig {
namespace mps2 {
namespace {

// CMSDK APB timer 0 (QEMU "cmsdk-apb-timer", clocked by the 25 MHz system clock): a 32-bit
// down counter that reloads from RELOAD after reaching 0.
constexpr uintptr_t kTimer0Base = 0x40000000u;
constexpr uintptr_t kTimerCtrl = kTimer0Base + 0x00;
constexpr uintptr_t kTimerValue = kTimer0Base + 0x04;
constexpr uintptr_t kTimerReload = kTimer0Base + 0x08;
constexpr uint32_t kTimerCtrlEnable = 1u << 0;

hal::vernier::StepCount g_steps;
using cortex_m::RestoreInterrupts;
using cortex_m::SaveAndDisableInterrupts;

// What the vernier block records; filled by tinyrig_mps2_vernier.
struct VernierSample {
  uint32_t edge_value;  // the timer value the polling loop saw change to
  uint32_t polls;       // polling-loop iterations, the one that saw the change included
  uint32_t fine[4];     // the value 37, 38, 39 and 40 instructions after that poll
};
static_assert(sizeof(VernierSample) == 24, "the assembly below stores at these offsets");

// The block's instruction counts are the measurement, so it is assembly, not C++:
//   poll loop   adds, ldr, cmp, beq: 4 instructions per poll. The poll that sees the timer
//               step lands p = 0..3 instructions after the step.
//   delay       cmp, beq (falls through), 34 nops: the 4 loads below then land 37..40
//               instructions after that poll, i.e. 37+p..40+p after the step. The next step
//               comes 40 after it, so exactly the loads from index 4-p on see it: p falls
//               out of how many loads still read the old value.
//   pad         kMaxPolls - polls more 4-instruction iterations: the block always runs the
//               same number of instructions, so what follows a stamp is not lengthened by
//               how long it waited for the edge.
// A timestamp is then (time of the step) + p - 4 * polls, the block's entry up to a constant.
// Thumb-1 only (runs on every Cortex-M). Called with interrupts masked.
constexpr uint32_t kMaxPolls = 12;  // a step is 40 instructions: at most 11 polls see no change
extern "C" __attribute__((naked, noinline)) void tinyrig_mps2_vernier(
    const volatile uint32_t* /*timer_value*/, VernierSample* /*out*/) {
  __asm volatile(
      ".syntax unified\n"
      "  push {r4-r7}\n"
      "  movs r2, #0\n"
      "  ldr r3, [r0]\n"
      "1:\n"
      "  adds r2, r2, #1\n"
      "  ldr r4, [r0]\n"
      "  cmp r4, r3\n"
      "  beq 1b\n"
      "  .rept 34\n"
      "  nop\n"
      "  .endr\n"
      "  ldr r3, [r0]\n"
      "  ldr r5, [r0]\n"
      "  ldr r6, [r0]\n"
      "  ldr r7, [r0]\n"
      "  str r4, [r1, #0]\n"
      "  str r2, [r1, #4]\n"
      "  str r3, [r1, #8]\n"
      "  str r5, [r1, #12]\n"
      "  str r6, [r1, #16]\n"
      "  str r7, [r1, #20]\n"
      // Pad to kMaxPolls polls. More polls only happen in real time (no -icount), where the
      // count does not matter: skip the pad rather than loop 2^32 times.
      "  movs r3, %[max_polls]\n"
      "  cmp r2, r3\n"
      "  bhi 3f\n"
      "  subs r3, r3, r2\n"
      "  adds r3, r3, #1\n"
      "2:\n"
      "  subs r3, r3, #1\n"
      "  nop\n"
      "  nop\n"
      "  bne 2b\n"
      "3:\n"
      "  pop {r4-r7}\n"
      "  bx lr\n" ::[max_polls] "i"(kMaxPolls));
}

// Steps elapsed when the timer read `value` (it counts down from 2^32 - 1).
uint64_t ElapsedSteps(uint32_t value) { return g_steps.Extend(0xFFFFFFFFu - value); }

}  // namespace

void StartInstructionTimer() {
  Register(kTimerCtrl) = 0;
  Register(kTimerReload) = 0xFFFFFFFFu;
  Register(kTimerValue) = 0xFFFFFFFFu;
  Register(kTimerCtrl) = kTimerCtrlEnable;
  g_steps = hal::vernier::StepCount();
}

uint64_t TimerSteps() {
  const uint32_t primask = SaveAndDisableInterrupts();
  const uint64_t steps = ElapsedSteps(Register(kTimerValue));
  RestoreInterrupts(primask);
  return steps;
}

uint64_t InstructionStamp() {
  const uint32_t primask = SaveAndDisableInterrupts();
  VernierSample sample;
  tinyrig_mps2_vernier(&Register(kTimerValue), &sample);
  const uint64_t steps = ElapsedSteps(sample.edge_value);
  // Fine loads that still read the edge's value: 3 - p (under -icount the fourth never does).
  const uint32_t still_old = static_cast<uint32_t>(sample.fine[0] == sample.edge_value) +
                             static_cast<uint32_t>(sample.fine[1] == sample.edge_value) +
                             static_cast<uint32_t>(sample.fine[2] == sample.edge_value);
  RestoreInterrupts(primask);
  // The offset keeps the first stamps from going below zero.
  return steps * kInstructionsPerTimerStep + (3u - still_old) + 64u - 4u * sample.polls;
}

bool InstructionClockIsExact() { return hal::vernier::CountsInstructions(InstructionStamp); }

}  // namespace mps2
}  // namespace tinyrig
