// The few nRF51/nRF52 registers tinyrig touches, as plain addresses (nRF51 and
// nRF52840 reference manuals: the legacy UART0, TIMER0 and POWER are at the same addresses on
// both). No vendor headers.
#pragma once

#include <cstdint>

#include "hal/cortex_m/registers.h"

namespace tinyrig {
namespace nrf5 {

using namespace cortex_m;  // Register() and the core registers, as regs::k... here too

constexpr uintptr_t kUartBase = 0x40002000u;
constexpr uintptr_t kUartStartRx = kUartBase + 0x000;
constexpr uintptr_t kUartStartTx = kUartBase + 0x008;
constexpr uintptr_t kUartRxReady = kUartBase + 0x108;  // EVENTS_RXDRDY
constexpr uintptr_t kUartTxReady = kUartBase + 0x11C;  // EVENTS_TXDRDY
constexpr uintptr_t kUartError = kUartBase + 0x124;    // EVENTS_ERROR
constexpr uintptr_t kUartIntEnSet = kUartBase + 0x304;
constexpr uintptr_t kUartIntEnClr = kUartBase + 0x308;
constexpr uintptr_t kUartErrorSrc = kUartBase + 0x480;
constexpr uintptr_t kUartEnable = kUartBase + 0x500;
constexpr uintptr_t kUartPselTxd = kUartBase + 0x50C;
constexpr uintptr_t kUartPselRxd = kUartBase + 0x514;
constexpr uintptr_t kUartRxd = kUartBase + 0x518;
constexpr uintptr_t kUartTxd = kUartBase + 0x51C;
constexpr uintptr_t kUartBaudrate = kUartBase + 0x524;
constexpr uint32_t kUartEnableValue = 4;
constexpr uint32_t kUartIntRxReady = 1u << 2;
constexpr uint32_t kUartBaud115200 = 0x01D7E000u;
constexpr unsigned kUartIrq = 2;

constexpr uintptr_t kTimerBase = 0x40008000u;  // TIMER0
constexpr uintptr_t kTimerStart = kTimerBase + 0x000;
constexpr uintptr_t kTimerCapture0 = kTimerBase + 0x040;
constexpr uintptr_t kTimerMode = kTimerBase + 0x504;
constexpr uintptr_t kTimerBitMode = kTimerBase + 0x508;
constexpr uintptr_t kTimerPrescaler = kTimerBase + 0x510;
constexpr uintptr_t kTimerCc0 = kTimerBase + 0x540;
constexpr uint32_t kTimerBitMode32 = 3;
constexpr uint32_t kTimerHz = 16000000u;  // HFCLK / 2^0

// NVMC (non-volatile memory controller): flash is written a 32-bit word at a time with
// CONFIG = WEN and erased a page at a time with CONFIG = EEN; READY reads 1 when idle.
constexpr uintptr_t kNvmcBase = 0x4001E000u;
constexpr uintptr_t kNvmcReady = kNvmcBase + 0x400;
constexpr uintptr_t kNvmcConfig = kNvmcBase + 0x504;
constexpr uintptr_t kNvmcErasePage = kNvmcBase + 0x508;
constexpr uint32_t kNvmcConfigRead = 0;
constexpr uint32_t kNvmcConfigWriteEnable = 1;
constexpr uint32_t kNvmcConfigEraseEnable = 2;
// FICR.CODEPAGESIZE: the flash page size in bytes (1 KiB on the nRF51, 4 KiB on the nRF52).
constexpr uintptr_t kFicrCodePageSize = 0x10000010u;

constexpr uintptr_t kPowerResetReason = 0x40000400u;
constexpr uint32_t kResetReasonWatchdog = 1u << 1;

}  // namespace nrf5
}  // namespace tinyrig
