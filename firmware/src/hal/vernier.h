// What the instruction clocks of the emulated boards share (hal/mps2/instruction_clock.cc,
// hal/nrf5/instruction_clock.cc). Under QEMU `-icount shift=0` one instruction is one virtual
// nanosecond, but the boards' timers step every `n` ns (40 on the MPS2, 125 on the nRF51 at
// 8 MHz). Each board's vernier, a block of hand-written assembly of fixed length, waits for a
// timer step with a polling loop and samples the next step with single-instruction spacing,
// which pins the step to the instruction. Written without data-dependent branches: a stamp
// must run the same instructions every time, or it would measure itself.
#pragma once

#include <cstdint>

#include "hal/cortex_m/interrupts.h"

namespace tinyrig {
namespace hal {
namespace vernier {

// A 32-bit count of timer steps extended to 64 bits; sees every wrap if called once per wrap
// period (the HALs' WaitForEvent does). Interrupts masked by the caller.
class StepCount {
 public:
  uint64_t Extend(uint32_t elapsed) {
    high_ += static_cast<uint32_t>(elapsed < last_);
    last_ = elapsed;
    return (static_cast<uint64_t>(high_) << 32) | elapsed;
  }

 private:
  uint32_t high_ = 0;
  uint32_t last_ = 0;
};

// Instructions a loop of `iterations` takes, by `stamp`: a + b * iterations under -icount.
// The volatile counter keeps the compiler from folding the loop.
__attribute__((noinline)) inline uint64_t TimeLoop(uint64_t (*stamp)(), uint32_t iterations) {
  const uint64_t start = stamp();
  for (volatile uint32_t i = 0; i < iterations; i = i + 1) {
  }
  return stamp() - start;
}

// True when `stamp` runs in lock-step with executed instructions: three loop lengths differ
// by exactly the same count. In real time (QEMU without -icount) the emulator's speed jitters
// by far more than one instruction.
// Interrupts are masked throughout: a received byte's interrupt inside a loop would fail it.
inline bool CountsInstructions(uint64_t (*stamp)()) {
  const uint32_t primask = cortex_m::SaveAndDisableInterrupts();
  bool exact = true;
  for (int attempt = 0; attempt < 2 && exact; ++attempt) {
    const uint64_t short_loop = TimeLoop(stamp, 100);
    const uint64_t middle_loop = TimeLoop(stamp, 200);
    const uint64_t long_loop = TimeLoop(stamp, 300);
    exact = middle_loop > short_loop && middle_loop - short_loop == long_loop - middle_loop;
  }
  cortex_m::RestoreInterrupts(primask);
  return exact;
}

}  // namespace vernier
}  // namespace hal
}  // namespace tinyrig
