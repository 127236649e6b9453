// The Cortex-M core registers tinyrig touches (SysTick, NVIC, SCB, DWT), as plain addresses
// (ARMv6-M / ARMv7-M Architecture Reference Manuals: the same on every chip). Chip headers
// (hal/<family>/<family>_registers.h) add their peripherals and pull these in.
#pragma once

#include <cstdint>

namespace tinyrig {
namespace cortex_m {

inline volatile uint32_t& Register(uintptr_t address) {
  return *reinterpret_cast<volatile uint32_t*>(address);
}

// SysTick: a 24-bit down counter.
constexpr uintptr_t kSysTickCtrl = 0xE000E010u;
constexpr uintptr_t kSysTickLoad = 0xE000E014u;
constexpr uintptr_t kSysTickValue = 0xE000E018u;
constexpr uint32_t kSysTickEnable = 1u << 0;
constexpr uint32_t kSysTickInterrupt = 1u << 1;
constexpr uint32_t kSysTickProcessorClock = 1u << 2;
constexpr uint32_t kSysTickMax = 0x00FFFFFFu;

constexpr uintptr_t kNvicIser0 = 0xE000E100u;

// Enables external interrupt `irq` in the NVIC (ISER0 holds IRQ 0..31, ISER1 32..63, ...).
inline void NvicEnable(unsigned irq) { Register(kNvicIser0 + 4 * (irq / 32)) = 1u << (irq % 32); }

// System control block.
constexpr uintptr_t kScbIcsr = 0xE000ED04u;
constexpr uint32_t kIcsrPendStSet = 1u << 26;  // SysTick exception pending
constexpr uintptr_t kScbVtor = 0xE000ED08u;
constexpr uintptr_t kScbAircr = 0xE000ED0Cu;
constexpr uint32_t kAircrSysResetRequest = (0x05FAu << 16) | (1u << 2);
constexpr uintptr_t kScbCpacr = 0xE000ED88u;  // ARMv7-M with FPU only
constexpr uint32_t kCpacrCp10Cp11Full = 0xFu << 20;

// Data watchpoint and trace: the CPU cycle counter of Cortex-M3/M4/M7 (not on ARMv6-M).
constexpr uintptr_t kDemcr = 0xE000EDFCu;
constexpr uint32_t kDemcrTraceEnable = 1u << 24;
constexpr uintptr_t kDwtCtrl = 0xE0001000u;
constexpr uintptr_t kDwtCycCnt = 0xE0001004u;
constexpr uint32_t kDwtCtrlCycCntEnable = 1u << 0;

}  // namespace cortex_m
}  // namespace tinyrig
