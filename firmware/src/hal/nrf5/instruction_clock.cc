#include "hal/nrf5/instruction_clock.h"

#include <cstdint>

#include "hal/nrf5/nrf5_registers.h"
#include "hal/vernier.h"

namespace tinyrig {
namespace nrf5 {
namespace {

using cortex_m::RestoreInterrupts;
using cortex_m::SaveAndDisableInterrupts;

// TIMER0 is read through its capture tasks: a write to TASKS_CAPTURE[n] latches the count into
// CC[n] at that instruction. Four channels take four samples on consecutive instructions.
constexpr uintptr_t kTimerCaptureTasks = kTimerBase + 0x040;  // TASKS_CAPTURE[0..3]
constexpr uintptr_t kTimerCaptured = kTimerBase + 0x540;      // CC[0..3]

hal::vernier::StepCount g_steps;

struct VernierSample {
  uint32_t edge_value;  // the count the polling loop saw change to
  uint32_t polls;       // polling-loop iterations, the one that saw the change included
  uint32_t fine[4];     // the count latched 121..124 instructions after that poll's capture
};
static_assert(sizeof(VernierSample) == 24, "the assembly below stores at these offsets");

// The instruction counts are the measurement, so it is assembly (Thumb-1, the M0's set):
//   poll loop   adds, str (capture), ldr, cmp, beq: 5 instructions; the capture that sees the
//               step lands p = 0..4 instructions after it.
//   delay       ldr, cmp, beq (falls through), 117 nops: the 4 captures below land
//               121..124 after that poll's capture, 121+p..124+p after the step. The next
//               step comes 125 after it: exactly the captures from index 5-p on see it (none
//               when p = 0).
//   pad         kMaxPolls - polls more 5-instruction iterations: the block's length is fixed.
constexpr uint32_t kMaxPolls = 27;  // a step is 125 instructions: at most 26 polls
extern "C" __attribute__((naked, noinline)) void tinyrig_nrf5_vernier(
    volatile uint32_t* /*capture_tasks*/, const volatile uint32_t* /*captured*/,
    VernierSample* /*out*/) {
  __asm volatile(
      ".syntax unified\n"
      "  push {r4-r7}\n"
      "  mov r12, r2\n"
      "  movs r2, #0\n"
      "  movs r5, #1\n"
      "  str r5, [r0]\n"
      "  ldr r3, [r1]\n"
      "1:\n"
      "  adds r2, r2, #1\n"
      "  str r5, [r0]\n"
      "  ldr r4, [r1]\n"
      "  cmp r4, r3\n"
      "  beq 1b\n"
      "  .rept 117\n"
      "  nop\n"
      "  .endr\n"
      "  str r5, [r0, #0]\n"
      "  str r5, [r0, #4]\n"
      "  str r5, [r0, #8]\n"
      "  str r5, [r0, #12]\n"
      "  ldr r3, [r1, #0]\n"
      "  ldr r5, [r1, #4]\n"
      "  ldr r6, [r1, #8]\n"
      "  ldr r7, [r1, #12]\n"
      "  mov r0, r12\n"
      "  str r4, [r0, #0]\n"
      "  str r2, [r0, #4]\n"
      "  str r3, [r0, #8]\n"
      "  str r5, [r0, #12]\n"
      "  str r6, [r0, #16]\n"
      "  str r7, [r0, #20]\n"
      // Pad to kMaxPolls polls; more polls only happen in real time, where it does not matter.
      "  movs r3, %[max_polls]\n"
      "  cmp r2, r3\n"
      "  bhi 3f\n"
      "  subs r3, r3, r2\n"
      "  adds r3, r3, #1\n"
      "2:\n"
      "  subs r3, r3, #1\n"
      "  nop\n"
      "  nop\n"
      "  nop\n"
      "  bne 2b\n"
      "3:\n"
      "  pop {r4-r7}\n"
      "  bx lr\n" ::[max_polls] "i"(kMaxPolls));
}

}  // namespace

void StartInstructionTimer() {
  Register(kTimerMode) = 0;
  Register(kTimerBitMode) = kTimerBitMode32;
  Register(kTimerPrescaler) = 1;
  Register(kTimerStart) = 1;
  g_steps = hal::vernier::StepCount();
}

uint64_t TimerSteps() {
  const uint32_t primask = SaveAndDisableInterrupts();
  Register(kTimerCapture0) = 1;
  const uint64_t steps = g_steps.Extend(Register(kTimerCc0));
  RestoreInterrupts(primask);
  return steps;
}

uint64_t InstructionStamp() {
  const uint32_t primask = SaveAndDisableInterrupts();
  VernierSample sample;
  tinyrig_nrf5_vernier(&Register(kTimerCaptureTasks), &Register(kTimerCaptured), &sample);
  const uint64_t steps = g_steps.Extend(sample.edge_value);
  // Captures that still read the edge's count: 4 - p.
  const uint32_t still_old = static_cast<uint32_t>(sample.fine[0] == sample.edge_value) +
                             static_cast<uint32_t>(sample.fine[1] == sample.edge_value) +
                             static_cast<uint32_t>(sample.fine[2] == sample.edge_value) +
                             static_cast<uint32_t>(sample.fine[3] == sample.edge_value);
  RestoreInterrupts(primask);
  // The offset keeps the first stamps from going below zero.
  return steps * kInstructionsPerTimerStep + (4u - still_old) + 256u - 5u * sample.polls;
}

bool InstructionClockIsExact() { return hal::vernier::CountsInstructions(InstructionStamp); }

}  // namespace nrf5
}  // namespace tinyrig
