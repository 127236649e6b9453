// nRF5 HAL (nRF51822 micro:bit under QEMU, nRF52840 Nano 33 BLE): the legacy UART0 at
// 0x40002000 (both chips) with interrupt-driven RX into a small ring, and a time base chosen by
// the board's timing fact:
//   TINYRIG_TIMING_INSTRUCTIONS  exact instruction counts under QEMU -icount shift=0 (the
//                                micro:bit): TIMER0 at 8 MHz and a vernier (instruction_clock.cc);
//                                TIMER0's ticks if the boot check finds no -icount
//   TINYRIG_TIMING_TICKS   TIMER0, 32-bit at 16 MHz (the Cortex-M0 has no cycle counter)
//   TINYRIG_TIMING_CYCLES  DWT CYCCNT (nRF52840's Cortex-M4F)
// The pins are board facts too (TINYRIG_UART_TX_PIN / _RX_PIN, platformio.ini build_flags).
#include <cstddef>
#include <cstdint>

#include "hal/cortex_m/interrupts.h"
#include "hal/cortex_m/rx_ring.h"
#include "hal/cortex_m/sleep.h"
#include "hal/cortex_m/system.h"
#include "hal/hal.h"
#include "hal/nrf5/instruction_clock.h"
#include "hal/nrf5/nrf5_registers.h"

#if !defined(TINYRIG_TIMING_CYCLES) && !defined(TINYRIG_TIMING_TICKS) && \
    !defined(TINYRIG_TIMING_INSTRUCTIONS)
#error "set custom_tinyrig_timing = cycles, ticks or instructions (platformio.ini)"
#endif
#if !defined(TINYRIG_CLOCK_HZ) || !defined(TINYRIG_UART_TX_PIN) || !defined(TINYRIG_UART_RX_PIN)
#error "set custom_tinyrig_clock_hz and -DTINYRIG_UART_TX_PIN/_RX_PIN (platformio.ini)"
#endif
#ifndef TINYRIG_RX_RING_BYTES
#define TINYRIG_RX_RING_BYTES 1024
#endif

using tinyrig::nrf5::Register;
namespace regs = tinyrig::nrf5;
using tinyrig::cortex_m::EnableInterrupts;
using tinyrig::cortex_m::RestoreInterrupts;
using tinyrig::cortex_m::SaveAndDisableInterrupts;

namespace {

// The ring need not hold whole frames: QEMU's UART back-pressures when it is full.
tinyrig::cortex_m::RxRing<TINYRIG_RX_RING_BYTES> g_rx;
#if !defined(TINYRIG_TIMING_INSTRUCTIONS)
uint32_t g_tick_high = 0;  // 64-bit extension of the 32-bit counter
uint32_t g_tick_last = 0;
#endif

// Moves received bytes into the ring. Interrupts must be masked or this must run in the RX
// handler.
void DrainRx() {
  g_rx.Fill([] { return Register(regs::kUartRxReady) != 0; },
            [] {
              Register(regs::kUartRxReady) = 0;
              return static_cast<uint8_t>(Register(regs::kUartRxd));
            },
            [] { Register(regs::kUartIntEnClr) = regs::kUartIntRxReady; });
  if (Register(regs::kUartError)) {
    Register(regs::kUartError) = 0;
    Register(regs::kUartErrorSrc) = Register(regs::kUartErrorSrc);  // write 1s to clear
  }
}

#if defined(TINYRIG_TIMING_INSTRUCTIONS)
bool g_counts_instructions = false;  // Init's check of the emulator's clock
#endif

#if !defined(TINYRIG_TIMING_INSTRUCTIONS)
uint32_t Counter() {
#if defined(TINYRIG_TIMING_TICKS)
  Register(regs::kTimerCapture0) = 1;
  return Register(regs::kTimerCc0);
#else
  return Register(regs::kDwtCycCnt);
#endif
}
#endif

}  // namespace

extern "C" void Uart0_IRQHandler() { DrainRx(); }
extern "C" void SysTick_Handler() {}

namespace tinyrig {
namespace hal {

bool Init() {
  const uint32_t reason = Register(regs::kPowerResetReason);
  cortex_m::RecordBootReason((reason & regs::kResetReasonWatchdog) != 0);
  Register(regs::kPowerResetReason) = reason;  // write 1s to clear

  Register(regs::kUartPselTxd) = TINYRIG_UART_TX_PIN;
  Register(regs::kUartPselRxd) = TINYRIG_UART_RX_PIN;
  Register(regs::kUartBaudrate) = regs::kUartBaud115200;
  Register(regs::kUartEnable) = regs::kUartEnableValue;
  Register(regs::kUartTxReady) = 0;
  Register(regs::kUartRxReady) = 0;
  Register(regs::kUartStartTx) = 1;
  Register(regs::kUartStartRx) = 1;
  Register(regs::kUartIntEnSet) = regs::kUartIntRxReady;
  cortex_m::NvicEnable(regs::kUartIrq);

#if defined(TINYRIG_TIMING_INSTRUCTIONS)
  nrf5::StartInstructionTimer();
  g_counts_instructions = nrf5::InstructionClockIsExact();
#elif defined(TINYRIG_TIMING_TICKS)
  Register(regs::kTimerMode) = 0;
  Register(regs::kTimerBitMode) = regs::kTimerBitMode32;
  Register(regs::kTimerPrescaler) = 0;
  Register(regs::kTimerStart) = 1;
#else
  Register(regs::kDemcr) |= regs::kDemcrTraceEnable;
  Register(regs::kDwtCycCnt) = 0;
  Register(regs::kDwtCtrl) |= 1u;
#endif
  EnableInterrupts();
  return true;
}

void UartWrite(const uint8_t* data, size_t size) {
  for (size_t i = 0; i < size; ++i) {
    Register(regs::kUartTxReady) = 0;
    Register(regs::kUartTxd) = data[i];
    while (!Register(regs::kUartTxReady)) {
    }
  }
}

void UartFlush() {}  // UartWrite returns after TXDRDY: the byte has left

size_t UartRead(uint8_t* buffer, size_t capacity) {
  return g_rx.Read(buffer, capacity, [] {
    Register(regs::kUartIntEnSet) = regs::kUartIntRxReady;
    DrainRx();
  });
}

#if defined(TINYRIG_TIMING_INSTRUCTIONS)
uint64_t Ticks() {
  return g_counts_instructions ? nrf5::InstructionStamp() : nrf5::TimerSteps();
}
uint32_t TickHz() {
  // Virtual nanoseconds are instructions under -icount shift=0.
  return g_counts_instructions ? 1000000000u : nrf5::kInstructionTimerHz;
}
TimeUnit TickUnit() { return g_counts_instructions ? TimeUnit::INSTRUCTIONS : TimeUnit::TICKS; }
#else
uint64_t Ticks() {
  const uint32_t primask = SaveAndDisableInterrupts();
  const uint32_t now = Counter();
  if (now < g_tick_last) ++g_tick_high;
  g_tick_last = now;
  const uint64_t ticks = (static_cast<uint64_t>(g_tick_high) << 32) | now;
  RestoreInterrupts(primask);
  return ticks;
}

#endif

#if defined(TINYRIG_TIMING_TICKS)
uint32_t TickHz() { return regs::kTimerHz; }
TimeUnit TickUnit() { return TimeUnit::TICKS; }
#elif defined(TINYRIG_TIMING_CYCLES)
uint32_t TickHz() { return TINYRIG_CLOCK_HZ; }
TimeUnit TickUnit() { return TimeUnit::CYCLES; }
#endif
uint32_t CpuHz() { return TINYRIG_CLOCK_HZ; }

// SysTick ends the sleep at least every 2^24 core clocks (1 s at 16 MHz): the 64-bit tick
// count sees every timer wrap, and under QEMU -icount the virtual clock has a deadline to run
// to while the core sleeps (without one it stands still, and so would every timeout).
void WaitForEvent() {
  cortex_m::SleepAtMost(cortex_m::kLongestSleepClocks, [] { return !g_rx.Empty(); });
#if defined(TINYRIG_TIMING_INSTRUCTIONS)
  (void)nrf5::TimerSteps();  // the cheap read keeps the 64-bit count
#else
  (void)Ticks();
#endif
}

void Nap() { cortex_m::SleepAtMost(TINYRIG_CLOCK_HZ / 1000u, [] { return false; }); }  // 1 ms

}  // namespace hal
}  // namespace tinyrig
