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

#include "hal/hal.h"
#include "hal/nrf5/instruction_clock.h"
#include "hal/nrf5/nrf5_registers.h"

#ifndef TINYRIG_BOARD_NAME
#error "TINYRIG_BOARD_NAME is set by firmware/scripts/tinyrig_build.py"
#endif
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

namespace {

// The ring need not hold whole frames: QEMU's UART back-pressures when it is full.
constexpr size_t kRxRingSize = TINYRIG_RX_RING_BYTES;
static_assert((kRxRingSize & (kRxRingSize - 1)) == 0, "ring size must be a power of two");

uint8_t g_rx_ring[kRxRingSize];
volatile uint32_t g_rx_head = 0;
volatile uint32_t g_rx_tail = 0;
volatile bool g_rx_paused = false;
#if !defined(TINYRIG_TIMING_INSTRUCTIONS)
uint32_t g_tick_high = 0;  // 64-bit extension of the 32-bit counter
uint32_t g_tick_last = 0;
#endif

constexpr uint32_t kSoftwareResetMarker = 0x7E5E7B0Du;
__attribute__((section(".noinit"))) uint32_t g_reset_marker;
tinyrig::hal::BootReason g_boot_reason = tinyrig::hal::BootReason::kPowerOn;

inline void DisableInterrupts() { __asm volatile("cpsid i" ::: "memory"); }
inline void EnableInterrupts() { __asm volatile("cpsie i" ::: "memory"); }
inline uint32_t SaveAndDisableInterrupts() {
  uint32_t primask = 0;
  __asm volatile("mrs %0, primask\n cpsid i" : "=r"(primask)::"memory");
  return primask;
}
inline void RestoreInterrupts(uint32_t primask) {
  if ((primask & 1u) == 0) EnableInterrupts();
}

bool RingFull() { return g_rx_head - g_rx_tail >= kRxRingSize; }

void DrainRx() {
  while (Register(regs::kUartRxReady)) {
    if (RingFull()) {
      Register(regs::kUartIntEnClr) = regs::kUartIntRxReady;
      g_rx_paused = true;
      return;
    }
    Register(regs::kUartRxReady) = 0;
    g_rx_ring[g_rx_head % kRxRingSize] = static_cast<uint8_t>(Register(regs::kUartRxd));
    g_rx_head = g_rx_head + 1;
  }
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
  if (g_reset_marker == kSoftwareResetMarker) {
    g_boot_reason = BootReason::kSoftwareReset;
  } else if (reason & regs::kResetReasonWatchdog) {
    g_boot_reason = BootReason::kWatchdog;
  } else {
    g_boot_reason = BootReason::kPowerOn;
  }
  g_reset_marker = 0;
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
  Register(regs::kNvicIser0) = 1u << regs::kUartIrq;

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

BootReason GetBootReason() { return g_boot_reason; }

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
  size_t count = 0;
  while (count < capacity && g_rx_tail != g_rx_head) {
    buffer[count++] = g_rx_ring[g_rx_tail % kRxRingSize];
    g_rx_tail = g_rx_tail + 1;
  }
  if (g_rx_paused && !RingFull()) {
    DisableInterrupts();
    g_rx_paused = false;
    Register(regs::kUartIntEnSet) = regs::kUartIntRxReady;
    DrainRx();
    EnableInterrupts();
  }
  return count;
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
const char* BoardName() { return TINYRIG_BOARD_NAME; }

void WaitForEvent() {
  DisableInterrupts();
  if (g_rx_tail == g_rx_head) __asm volatile("wfi" ::: "memory");
  EnableInterrupts();
#if defined(TINYRIG_TIMING_INSTRUCTIONS)
  (void)nrf5::TimerSteps();  // the cheap read keeps the 64-bit count
#else
  (void)Ticks();
#endif
}

// Nothing wakes WFI here but the UART, so a nap returns at once (the micro:bit does not run
// under -icount: busy delays cost nothing there).
void Nap() {}

bool ShouldExit() { return false; }

void SystemReset() {
  g_reset_marker = kSoftwareResetMarker;
  __asm volatile("dsb" ::: "memory");
  Register(regs::kScbAircr) = regs::kAircrSysResetRequest;
  __asm volatile("dsb" ::: "memory");
  for (;;) {
  }
}

void DebugWrite(const char*, size_t) {}

}  // namespace hal
}  // namespace tinyrig
