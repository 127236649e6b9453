// The few STM32F4 registers tinyrig touches, as plain addresses (RM0090, RM0383,
// RM0390; the same on F405/F407/F411/F446). No vendor headers.
#pragma once

#include <cstdint>

#include "hal/cortex_m/registers.h"

namespace tinyrig {
namespace stm32f4 {

using namespace cortex_m;  // Register() and the core registers, as regs::k... here too

// Reset and clock control.
constexpr uintptr_t kRccBase = 0x40023800u;
constexpr uintptr_t kRccCr = kRccBase + 0x00;
constexpr uintptr_t kRccPllCfgr = kRccBase + 0x04;
constexpr uintptr_t kRccCfgr = kRccBase + 0x08;
constexpr uintptr_t kRccAhb1Enr = kRccBase + 0x30;
constexpr uintptr_t kRccApb1Enr = kRccBase + 0x40;
constexpr uintptr_t kRccCsr = kRccBase + 0x74;
constexpr uint32_t kRccCrHsiOn = 1u << 0;
constexpr uint32_t kRccCrHsiReady = 1u << 1;
constexpr uint32_t kRccCrPllOn = 1u << 24;
constexpr uint32_t kRccCrPllReady = 1u << 25;
constexpr uint32_t kRccCfgrSwMask = 0x3u;
constexpr uint32_t kRccCfgrSwPll = 0x2u;
constexpr unsigned kRccCfgrSwsShift = 2;
constexpr unsigned kRccCfgrHpreShift = 4;
constexpr unsigned kRccCfgrPpre1Shift = 10;
constexpr uint32_t kRccCfgrPpre1Div2 = 0x4u << kRccCfgrPpre1Shift;
constexpr uint32_t kRccPllCfgrSrcHse = 1u << 22;
constexpr uint32_t kRccAhb1EnrGpioA = 1u << 0;
constexpr uint32_t kRccApb1EnrTim2 = 1u << 0;
constexpr uint32_t kRccApb1EnrUsart2 = 1u << 17;
constexpr uint32_t kRccCsrRemoveResetFlags = 1u << 24;
constexpr uint32_t kRccCsrWatchdogReset = (1u << 29) | (1u << 30);  // IWDG, WWDG

constexpr uint32_t kHsiHz = 16000000u;
constexpr uint32_t kHseHz = 8000000u;  // Nucleo: ST-Link MCO; Discovery: crystal

// Flash interface: wait states before raising the clock.
constexpr uintptr_t kFlashAcr = 0x40023C00u;
constexpr uint32_t kFlashAcrPrefetch = 1u << 8;
constexpr uint32_t kFlashAcrICache = 1u << 9;
constexpr uint32_t kFlashAcrDCache = 1u << 10;

// GPIOA: PA2 = USART2_TX, PA3 = USART2_RX (AF7), wired to the ST-Link virtual COM port on Nucleo.
constexpr uintptr_t kGpioABase = 0x40020000u;
constexpr uintptr_t kGpioAModer = kGpioABase + 0x00;
constexpr uintptr_t kGpioAPupdr = kGpioABase + 0x0C;
constexpr uintptr_t kGpioAAfrl = kGpioABase + 0x20;

// USART2 (QEMU: the second serial port, `-serial null -serial <chardev>`).
constexpr uintptr_t kUsart2Base = 0x40004400u;
constexpr uintptr_t kUsartSr = kUsart2Base + 0x00;
constexpr uintptr_t kUsartDr = kUsart2Base + 0x04;
constexpr uintptr_t kUsartBrr = kUsart2Base + 0x08;
constexpr uintptr_t kUsartCr1 = kUsart2Base + 0x0C;
constexpr uint32_t kUsartSrOverrun = 1u << 3;
constexpr uint32_t kUsartSrRxNotEmpty = 1u << 5;
constexpr uint32_t kUsartSrTxComplete = 1u << 6;
constexpr uint32_t kUsartSrTxEmpty = 1u << 7;
constexpr uint32_t kUsartCr1RxEnable = 1u << 2;
constexpr uint32_t kUsartCr1TxEnable = 1u << 3;
constexpr uint32_t kUsartCr1RxInterruptEnable = 1u << 5;
constexpr uint32_t kUsartCr1Enable = 1u << 13;
constexpr unsigned kUsart2Irq = 38;

// TIM2: 32-bit. QEMU's STM32 timer counts virtual nanoseconds, which under `-icount shift=0`
// are executed instructions; emulated builds time with it.
constexpr uintptr_t kTim2Base = 0x40000000u;
constexpr uintptr_t kTim2Cr1 = kTim2Base + 0x00;
constexpr uintptr_t kTim2Dier = kTim2Base + 0x0C;
constexpr uintptr_t kTim2Sr = kTim2Base + 0x10;
constexpr uintptr_t kTim2Egr = kTim2Base + 0x14;
constexpr uintptr_t kTim2Cnt = kTim2Base + 0x24;
constexpr uintptr_t kTim2Psc = kTim2Base + 0x28;
constexpr uintptr_t kTim2Arr = kTim2Base + 0x2C;
constexpr unsigned kTim2Irq = 28;

}  // namespace stm32f4
}  // namespace tinyrig
