// MPS2 HAL: CMSDK UART0 with interrupt-driven RX into a ring buffer, WFI when idle,
// SYSRESETREQ for RESET. Time: under QEMU `-icount shift=0` (which tinyrig runs these boards
// with) exact instruction counts from the vernier in instruction_clock.cc; otherwise the
// 25 MHz timer's steps, reported as ticks. Init checks which one holds. No interrupt runs
// while the CPU works: SysTick only wakes WFI, so an inference executes the same
// instructions every time.
#include <cstddef>
#include <cstdint>

#include "hal/hal.h"
#include "hal/mps2/instruction_clock.h"
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
bool g_counts_instructions = false;  // Init's check of the emulator's clock

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

// SysTick only ends WFI (at least every 2^24 clocks, so Ticks() sees every timer wrap).
extern "C" void SysTick_Handler() {}

namespace tinyrig {
namespace hal {

bool Init() {
  g_boot_reason =
      g_reset_marker == kSoftwareResetMarker ? BootReason::kSoftwareReset : BootReason::kPowerOn;
  g_reset_marker = 0;

  Register(regs::kSysTickLoad) = regs::kSysTickMax;
  Register(regs::kSysTickCtrl) = regs::kSysTickProcessorClock;
  mps2::StartInstructionTimer();
  g_counts_instructions = mps2::InstructionClockIsExact();

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
  return g_counts_instructions ? mps2::InstructionStamp() : mps2::TimerSteps();
}

uint32_t TickHz() {
  // Virtual nanoseconds are instructions under -icount shift=0.
  return g_counts_instructions ? 1000000000u : regs::kSystemClockHz;
}
uint32_t CpuHz() { return regs::kSystemClockHz; }
TimeUnit TickUnit() { return g_counts_instructions ? TimeUnit::INSTRUCTIONS : TimeUnit::TICKS; }
const char* BoardName() { return TINYRIG_BOARD_NAME; }

namespace {

// WFI with SysTick armed to end it after `clocks` core clocks at the latest; with
// `unless_bytes_waiting`, not at all when received bytes wait. Masked check-then-sleep: an
// interrupt pending after the check still wakes WFI.
void SleepAtMost(uint32_t clocks, bool unless_bytes_waiting) {
  DisableInterrupts();
  if (!unless_bytes_waiting || g_rx_tail == g_rx_head) {
    Register(regs::kSysTickLoad) = clocks - 1;
    Register(regs::kSysTickValue) = 0;
    Register(regs::kSysTickCtrl) =
        regs::kSysTickEnable | regs::kSysTickInterrupt | regs::kSysTickProcessorClock;
    __asm volatile("wfi" ::: "memory");
    Register(regs::kSysTickCtrl) = regs::kSysTickProcessorClock;
  }
  EnableInterrupts();
  (void)mps2::TimerSteps();
}

}  // namespace

// SysTick ends the sleep at least every 2^24 core clocks, so Ticks() sees every counter wrap.
void WaitForEvent() { SleepAtMost(regs::kSysTickMax + 1, true); }

void Nap() { SleepAtMost(regs::kSystemClockHz / 1000u, false); }  // 1 ms

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
