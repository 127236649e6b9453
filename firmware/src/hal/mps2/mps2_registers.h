// The few Cortex-M and MPS2 (CMSDK) registers tinyrig touches, as plain addresses.
#pragma once

#include <cstdint>

namespace tinyrig {
namespace mps2 {

inline volatile uint32_t& Register(uintptr_t address) {
  return *reinterpret_cast<volatile uint32_t*>(address);
}

// CMSDK APB UART0 (QEMU "cmsdk-apb-uart"), RX interrupt = IRQ 0.
constexpr uintptr_t kUart0Base = 0x40004000u;
constexpr uintptr_t kUartData = kUart0Base + 0x00;
constexpr uintptr_t kUartState = kUart0Base + 0x04;
constexpr uintptr_t kUartCtrl = kUart0Base + 0x08;
constexpr uintptr_t kUartIntStatusClear = kUart0Base + 0x0C;
constexpr uintptr_t kUartBaudDiv = kUart0Base + 0x10;
constexpr uint32_t kUartStateTxFull = 1u << 0;
constexpr uint32_t kUartStateRxFull = 1u << 1;
constexpr uint32_t kUartCtrlTxEnable = 1u << 0;
constexpr uint32_t kUartCtrlRxEnable = 1u << 1;
constexpr uint32_t kUartCtrlRxInterruptEnable = 1u << 3;
constexpr uint32_t kUartIntRx = 1u << 1;
constexpr unsigned kUart0RxIrq = 0;

// System control space.
constexpr uintptr_t kSysTickCtrl = 0xE000E010u;
constexpr uintptr_t kSysTickLoad = 0xE000E014u;
constexpr uintptr_t kSysTickValue = 0xE000E018u;
constexpr uint32_t kSysTickEnable = 1u << 0;
constexpr uint32_t kSysTickInterrupt = 1u << 1;
constexpr uint32_t kSysTickProcessorClock = 1u << 2;
constexpr uint32_t kSysTickMax = 0x00FFFFFFu;  // 24-bit down counter

constexpr uintptr_t kNvicIser0 = 0xE000E100u;
constexpr uintptr_t kScbIcsr = 0xE000ED04u;
constexpr uint32_t kIcsrPendStSet = 1u << 26;  // SysTick exception pending
constexpr uintptr_t kScbVtor = 0xE000ED08u;
constexpr uintptr_t kScbAircr = 0xE000ED0Cu;
constexpr uint32_t kAircrSysResetRequest = (0x05FAu << 16) | (1u << 2);
constexpr uintptr_t kScbCpacr = 0xE000ED88u;
constexpr uint32_t kCpacrCp10Cp11Full = 0xFu << 20;

// MPS2 FPGA system clock (QEMU models SYSCLK = 25 MHz; SysTick counts it).
constexpr uint32_t kSystemClockHz = 25000000u;

}  // namespace mps2
}  // namespace tinyrig
