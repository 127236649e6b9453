// The few MPS2 (CMSDK) registers tinyrig touches, as plain addresses.
#pragma once

#include <cstdint>

#include "hal/cortex_m/registers.h"

namespace tinyrig {
namespace mps2 {

using namespace cortex_m;  // Register() and the core registers, as regs::k... here too

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

// MPS2 FPGA system clock (QEMU models SYSCLK = 25 MHz; SysTick counts it).
constexpr uint32_t kSystemClockHz = 25000000u;

}  // namespace mps2
}  // namespace tinyrig
