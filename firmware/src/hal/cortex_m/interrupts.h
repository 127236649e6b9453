// Interrupt masking on every Cortex-M (PRIMASK), for the HALs' masked check-then-sleep and the
// RX ring's resume.
#pragma once

#include <cstdint>

namespace tinyrig {
namespace cortex_m {

inline void DisableInterrupts() { __asm volatile("cpsid i" ::: "memory"); }
inline void EnableInterrupts() { __asm volatile("cpsie i" ::: "memory"); }

// For code that may run with interrupts already masked: restore what was there.
inline uint32_t SaveAndDisableInterrupts() {
  uint32_t primask = 0;
  __asm volatile("mrs %0, primask\n cpsid i" : "=r"(primask)::"memory");
  return primask;
}
// Branch-free: the instruction clocks (hal/vernier.h) must run the same instructions every time.
inline void RestoreInterrupts(uint32_t primask) {
  __asm volatile("msr primask, %0" ::"r"(primask) : "memory");
}

}  // namespace cortex_m
}  // namespace tinyrig
