// MPS2 HAL: CMSDK UART0 with interrupt-driven RX into a ring buffer, SysTick time base,
// WFI when idle, SYSRESETREQ for RESET.
#include <cstddef>
#include <cstdint>

#include "hal/hal.h"
#include "hal/mps2/mps2_registers.h"

#ifndef TINYRIG_BOARD_NAME
#error "TINYRIG_BOARD_NAME is set by firmware/scripts/tinyrig_build.py"
#endif

using tinyrig::mps2::Register;
namespace regs = tinyrig::mps2;

namespace {

constexpr size_t kRxRingSize = 4096;  // power of two; holds 4 frames of 1 KiB in flight
static_assert((kRxRingSize & (kRxRingSize - 1)) == 0, "ring size must be a power of two");

uint8_t g_rx_ring[kRxRingSize];
volatile uint32_t g_rx_head = 0;      // written by the RX interrupt
volatile uint32_t g_rx_tail = 0;      // written by the main loop
volatile bool g_rx_paused = false;    // ring was full: RX interrupt off, QEMU back-pressures
volatile uint32_t g_systick_wraps = 0;

constexpr uint32_t kSoftwareResetMarker = 0x7E5E7B0Du;
__attribute__((section(".noinit"))) uint32_t g_reset_marker;
tinyrig::hal::BootReason g_boot_reason = tinyrig::hal::BootReason::kPowerOn;

inline void DisableInterrupts() { __asm volatile("cpsid i" ::: "memory"); }
inline void EnableInterrupts() { __asm volatile("cpsie i" ::: "memory"); }

bool RingFull() { return g_rx_head - g_rx_tail >= kRxRingSize; }

// Moves bytes from the UART's one-byte RX register into the ring. Interrupts must be masked
// or this must run in the RX handler.
void DrainRxRegister() {
  while (Register(regs::kUartState) & regs::kUartStateRxFull) {
    if (RingFull()) {
      Register(regs::kUartCtrl) &= ~regs::kUartCtrlRxInterruptEnable;
      g_rx_paused = true;
      return;
    }
    g_rx_ring[g_rx_head % kRxRingSize] = static_cast<uint8_t>(Register(regs::kUartData));
    g_rx_head = g_rx_head + 1;
  }
}

}  // namespace

extern "C" void Uart0Rx_Handler() {
  Register(regs::kUartIntStatusClear) = regs::kUartIntRx;
  DrainRxRegister();
}

extern "C" void SysTick_Handler() { g_systick_wraps = g_systick_wraps + 1; }

namespace tinyrig {
namespace hal {

bool Init() {
  g_boot_reason =
      g_reset_marker == kSoftwareResetMarker ? BootReason::kSoftwareReset : BootReason::kPowerOn;
  g_reset_marker = 0;

  Register(regs::kSysTickLoad) = regs::kSysTickMax;
  Register(regs::kSysTickValue) = 0;
  Register(regs::kSysTickCtrl) =
      regs::kSysTickEnable | regs::kSysTickInterrupt | regs::kSysTickProcessorClock;

  Register(regs::kUartBaudDiv) = regs::kSystemClockHz / 115200u;
  Register(regs::kUartCtrl) =
      regs::kUartCtrlTxEnable | regs::kUartCtrlRxEnable | regs::kUartCtrlRxInterruptEnable;
  Register(regs::kNvicIser0) = 1u << regs::kUart0RxIrq;
  EnableInterrupts();
  return true;
}

BootReason GetBootReason() { return g_boot_reason; }

void UartWrite(const uint8_t* data, size_t size) {
  for (size_t i = 0; i < size; ++i) {
    while (Register(regs::kUartState) & regs::kUartStateTxFull) {
    }
    Register(regs::kUartData) = data[i];
  }
}

void UartFlush() {
  while (Register(regs::kUartState) & regs::kUartStateTxFull) {
  }
  // The CMSDK UART has no shifter-empty flag: TX-full clears when the last byte moves into the
  // shift register, which then needs one character time (start + 8 data + stop bits, BAUDDIV
  // clocks each) to send it. Wait that long, plus a bit, before a reset cuts it off.
  const uint64_t character_ticks =
      static_cast<uint64_t>(Register(regs::kUartBaudDiv)) * 11u * TickHz() / CpuHz();
  const uint64_t start = Ticks();
  while (Ticks() - start < character_ticks) {
  }
}

size_t UartRead(uint8_t* buffer, size_t capacity) {
  size_t count = 0;
  while (count < capacity && g_rx_tail != g_rx_head) {
    buffer[count++] = g_rx_ring[g_rx_tail % kRxRingSize];
    g_rx_tail = g_rx_tail + 1;
  }
  if (g_rx_paused && !RingFull()) {
    // A byte that arrived while the interrupt was off raised no interrupt: fetch it here.
    DisableInterrupts();
    g_rx_paused = false;
    Register(regs::kUartCtrl) |= regs::kUartCtrlRxInterruptEnable;
    DrainRxRegister();
    EnableInterrupts();
  }
  return count;
}

uint64_t Ticks() {
  for (;;) {
    const uint32_t wraps = g_systick_wraps;
    uint32_t value = Register(regs::kSysTickValue);
    uint32_t counted = wraps;
    if (Register(regs::kScbIcsr) & regs::kIcsrPendStSet) {
      // The counter reloaded but its interrupt has not run yet (or masked): count that wrap
      // here, and read the value again, surely after the reload. Without this, time could
      // step back by 2^24 ticks (seen under QEMU: a 4.4 s busy wait ended after 0.6 s).
      counted = wraps + 1;
      value = Register(regs::kSysTickValue);
    }
    if (wraps == g_systick_wraps) {
      return (static_cast<uint64_t>(counted) << 24) + (regs::kSysTickMax - value);
    }
  }
}

uint32_t TickHz() { return regs::kSystemClockHz; }
uint32_t CpuHz() { return regs::kSystemClockHz; }
// SysTick on the processor clock. Under QEMU without -icount it follows the host's clock, so
// these are timer ticks, not cycles the core spent.
TimeUnit TickUnit() { return TimeUnit::TICKS; }
const char* BoardName() { return TINYRIG_BOARD_NAME; }

void WaitForEvent() {
  // Masked check-then-sleep: an interrupt pending after the check still wakes WFI.
  DisableInterrupts();
  if (g_rx_tail == g_rx_head) __asm volatile("wfi" ::: "memory");
  EnableInterrupts();
}

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
