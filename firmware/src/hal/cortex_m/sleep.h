// Sleeping on every Cortex-M: WFI with SysTick armed as the wake-up of last resort. SysTick
// runs only around WFI, never while the CPU works, so no interrupt lengthens an inference.
#pragma once

#include <cstdint>

#include "hal/cortex_m/interrupts.h"
#include "hal/cortex_m/registers.h"

namespace tinyrig {
namespace cortex_m {

// Sleeps until an interrupt, or `clocks` core clocks at the latest (1..2^24). Skips the sleep
// when `stay_awake()` is true; it is checked with interrupts masked, so an interrupt that comes
// after the check still ends the WFI.
template <typename StayAwake>
void SleepAtMost(uint32_t clocks, StayAwake stay_awake) {
  DisableInterrupts();
  if (!stay_awake()) {
    Register(kSysTickLoad) = clocks - 1;
    Register(kSysTickValue) = 0;
    Register(kSysTickCtrl) = kSysTickEnable | kSysTickInterrupt | kSysTickProcessorClock;
    __asm volatile("wfi" ::: "memory");
    Register(kSysTickCtrl) = kSysTickProcessorClock;
  }
  EnableInterrupts();
}

// The longest sleep: a wake-up at least every 2^24 clocks also lets the tick counters see
// every wrap of their 32-bit timers.
constexpr uint32_t kLongestSleepClocks = kSysTickMax + 1;

}  // namespace cortex_m
}  // namespace tinyrig
