// MPS2 HAL: CMSDK UART0 with interrupt-driven RX into a ring buffer, WFI when idle, boot
// reason and RESET in hal/cortex_m/system.cc. Time: under QEMU `-icount shift=0` (which
// tinyrig runs these boards with) exact instruction counts from the vernier in
// instruction_clock.cc; otherwise the 25 MHz timer's steps, reported as ticks. Init checks
// which one holds. No interrupt runs while the CPU works: SysTick only wakes WFI, so an
// inference executes the same instructions every time.
#include <cstddef>
#include <cstdint>

#include "hal/cortex_m/interrupts.h"
#include "hal/cortex_m/rx_ring.h"
#include "hal/cortex_m/sleep.h"
#include "hal/cortex_m/system.h"
#include "hal/hal.h"
#include "hal/mps2/instruction_clock.h"
#include "hal/mps2/mps2_registers.h"

using tinyrig::mps2::Register;
namespace regs = tinyrig::mps2;
using tinyrig::cortex_m::EnableInterrupts;

namespace {

// Power of two; holds 4 frames of 1 KiB in flight.
tinyrig::cortex_m::RxRing<4096> g_rx;
bool g_counts_instructions = false;  // Init's check of the emulator's clock

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

// SysTick only ends WFI (at least every 2^24 clocks, so Ticks() sees every timer wrap).
extern "C" void SysTick_Handler() {}

namespace tinyrig {
namespace hal {

bool Init() {
  cortex_m::RecordBootReason(false);  // the MPS2 FPGA has no watchdog tinyrig would see

  Register(regs::kSysTickLoad) = regs::kSysTickMax;
  Register(regs::kSysTickCtrl) = regs::kSysTickProcessorClock;
  mps2::StartInstructionTimer();
  g_counts_instructions = mps2::InstructionClockIsExact();

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
  // A byte that arrived while the RX interrupt was off raised none: resume drains it.
  return g_rx.Read(buffer, capacity, [] {
    Register(regs::kUartCtrl) |= regs::kUartCtrlRxInterruptEnable;
    DrainRxRegister();
  });
}

uint64_t Ticks() {
  return g_counts_instructions ? mps2::InstructionStamp() : mps2::TimerSteps();
}

uint32_t TickHz() {
  // Virtual nanoseconds are instructions under -icount shift=0.
  return g_counts_instructions ? 1000000000u : regs::kSystemClockHz;
}
uint32_t CpuHz() { return regs::kSystemClockHz; }
TimeUnit TickUnit() { return g_counts_instructions ? TimeUnit::INSTRUCTIONS : TimeUnit::TICKS; }

void WaitForEvent() {
  cortex_m::SleepAtMost(cortex_m::kLongestSleepClocks, [] { return !g_rx.Empty(); });
  (void)mps2::TimerSteps();
}

void Nap() { cortex_m::SleepAtMost(regs::kSystemClockHz / 1000u, [] { return false; }); }  // 1 ms

}  // namespace hal
}  // namespace tinyrig
