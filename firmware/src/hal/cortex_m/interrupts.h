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
inline void RestoreInterrupts(uint32_t primask) {
  if ((primask & 1u) == 0) EnableInterrupts();
}

}  // namespace cortex_m
}  // namespace tinyrig
