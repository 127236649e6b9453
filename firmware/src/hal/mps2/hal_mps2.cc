// MPS2 HAL: CMSDK UART0 with interrupt-driven RX into a ring buffer, SysTick time base,
// WFI when idle. Boot reason and RESET: hal/cortex_m/system.cc.
#include <cstddef>
#include <cstdint>

#include "hal/cortex_m/interrupts.h"
#include "hal/cortex_m/rx_ring.h"
#include "hal/cortex_m/system.h"
#include "hal/hal.h"
#include "hal/mps2/mps2_registers.h"

using tinyrig::mps2::Register;
namespace regs = tinyrig::mps2;
using tinyrig::cortex_m::DisableInterrupts;
using tinyrig::cortex_m::EnableInterrupts;

namespace {

// Power of two; holds 4 frames of 1 KiB in flight.
tinyrig::cortex_m::RxRing<4096> g_rx;
// WaitForEvent tests these for "nothing received" (masked check-then-sleep).
const volatile uint32_t& g_rx_head = g_rx.head();
const volatile uint32_t& g_rx_tail = g_rx.tail();
volatile uint32_t g_systick_wraps = 0;

// Moves bytes from the UART's one-byte RX register into the ring. Interrupts must be masked
// or this must run in the RX handler.
void DrainRxRegister() {
  g_rx.Fill([] { return (Register(regs::kUartState) & regs::kUartStateRxFull) != 0; },
            [] { return static_cast<uint8_t>(Register(regs::kUartData)); },
            [] { Register(regs::kUartCtrl) &= ~regs::kUartCtrlRxInterruptEnable; });
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
  cortex_m::RecordBootReason(false);  // the MPS2 FPGA has no watchdog tinyrig would see

  Register(regs::kSysTickLoad) = regs::kSysTickMax;
  Register(regs::kSysTickValue) = 0;
  Register(regs::kSysTickCtrl) =
      regs::kSysTickEnable | regs::kSysTickInterrupt | regs::kSysTickProcessorClock;

  Register(regs::kUartBaudDiv) = regs::kSystemClockHz / 115200u;
  Register(regs::kUartCtrl) =
      regs::kUartCtrlTxEnable | regs::kUartCtrlRxEnable | regs::kUartCtrlRxInterruptEnable;
  cortex_m::NvicEnable(regs::kUart0RxIrq);
  EnableInterrupts();
  return true;
}

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
  return g_rx.Read(buffer, capacity, [] {
    Register(regs::kUartCtrl) |= regs::kUartCtrlRxInterruptEnable;
    DrainRxRegister();
  });
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

void WaitForEvent() {
  // Masked check-then-sleep: an interrupt pending after the check still wakes WFI.
  DisableInterrupts();
  if (g_rx_tail == g_rx_head) __asm volatile("wfi" ::: "memory");
  EnableInterrupts();
}

}  // namespace hal
}  // namespace tinyrig
