// STM32F4 HAL: USART2 (the Nucleo ST-Link virtual COM port; QEMU's second serial port) with
// interrupt-driven RX into a ring buffer, the core clock from the HSI through the PLL with
// bounded waits, and one of two time bases chosen by the board's timing fact:
//   TINYRIG_TIMING_CYCLES        DWT CYCCNT, CPU cycles (real boards)
//   TINYRIG_TIMING_INSTRUCTIONS  TIM2 as QEMU models it: virtual nanoseconds, which under
//                                `-icount shift=0` are executed instructions (emulated boards)
// No interrupt runs while the CPU works: SysTick only wakes WFI, so an inference executes the
// same instructions every time.
#include <cstddef>
#include <cstdint>

#include "hal/cortex_m/interrupts.h"
#include "hal/cortex_m/rx_ring.h"
#include "hal/cortex_m/sleep.h"
#include "hal/cortex_m/system.h"
#include "hal/hal.h"
#include "hal/stm32f4/stm32f4_registers.h"

#if !defined(TINYRIG_TIMING_CYCLES) && !defined(TINYRIG_TIMING_INSTRUCTIONS)
#error "set custom_tinyrig_timing = cycles or instructions for this environment (platformio.ini)"
#endif
#ifndef TINYRIG_CLOCK_HZ
#error "set custom_tinyrig_clock_hz for this environment (platformio.ini)"
#endif

using tinyrig::stm32f4::Register;
namespace regs = tinyrig::stm32f4;
using tinyrig::cortex_m::DisableInterrupts;
using tinyrig::cortex_m::EnableInterrupts;
using tinyrig::cortex_m::RestoreInterrupts;
using tinyrig::cortex_m::SaveAndDisableInterrupts;

namespace {

// The PLL set-up below: HSI 16 MHz / M 16 * N 336 / P 4 = 84 MHz (every F4 runs it at
// VOS reset values), APB1 = 42 MHz, 2 flash wait states.
constexpr uint32_t kPllM = 16;
constexpr uint32_t kPllN = 336;
constexpr uint32_t kPllP = 4;
constexpr uint32_t kPllQ = 7;
constexpr uint32_t kFlashWaitStates = 2;
static_assert(regs::kHsiHz / kPllM * kPllN / kPllP == TINYRIG_CLOCK_HZ,
              "custom_tinyrig_clock_hz (platformio.ini) must be what the PLL set-up makes");
// Polls of a ready bit before giving up (QEMU models no RCC: its bits never come).
constexpr uint32_t kClockWaitLimit = 100000;
constexpr uint32_t kBaudRate = 115200;

// Power of two; holds 4 frames of 1 KiB in flight.
tinyrig::cortex_m::RxRing<4096> g_rx;

uint32_t g_core_hz = regs::kHsiHz;
uint32_t g_tick_high = 0;  // 64-bit extension of the 32-bit counter
uint32_t g_tick_last = 0;

void ReadBack(uintptr_t address) {
  const uint32_t value = Register(address);
  (void)value;
}

bool WaitForBits(uintptr_t address, uint32_t mask, uint32_t value) {
  for (uint32_t i = 0; i < kClockWaitLimit; ++i) {
    if ((Register(address) & mask) == value) return true;
  }
  return false;
}

void SetUpClock() {
  Register(regs::kFlashAcr) = regs::kFlashAcrPrefetch | regs::kFlashAcrICache |
                              regs::kFlashAcrDCache | kFlashWaitStates;
  Register(regs::kRccCr) |= regs::kRccCrHsiOn;
  if (!WaitForBits(regs::kRccCr, regs::kRccCrHsiReady, regs::kRccCrHsiReady)) return;
  Register(regs::kRccPllCfgr) =
      kPllM | (kPllN << 6) | (((kPllP / 2) - 1) << 16) | (kPllQ << 24);  // source: HSI
  Register(regs::kRccCr) |= regs::kRccCrPllOn;
  if (!WaitForBits(regs::kRccCr, regs::kRccCrPllReady, regs::kRccCrPllReady)) return;
  // AHB /1, APB1 /2 (at most 42 MHz on F405/F407), APB2 /1.
  Register(regs::kRccCfgr) = (Register(regs::kRccCfgr) & ~0xFCF0u) | regs::kRccCfgrPpre1Div2;
  Register(regs::kRccCfgr) =
      (Register(regs::kRccCfgr) & ~regs::kRccCfgrSwMask) | regs::kRccCfgrSwPll;
  WaitForBits(regs::kRccCfgr, regs::kRccCfgrSwMask << regs::kRccCfgrSwsShift,
              regs::kRccCfgrSwPll << regs::kRccCfgrSwsShift);
}

// The clock actually in use, from what the RCC reports (not from what was asked for).
uint32_t SystemClockHz() {
  const uint32_t cfgr = Register(regs::kRccCfgr);
  switch ((cfgr >> regs::kRccCfgrSwsShift) & 0x3u) {
    case 1:
      return regs::kHseHz;
    case 2: {
      const uint32_t pll = Register(regs::kRccPllCfgr);
      const uint32_t source = (pll & regs::kRccPllCfgrSrcHse) ? regs::kHseHz : regs::kHsiHz;
      const uint32_t m = pll & 0x3Fu;
      const uint32_t n = (pll >> 6) & 0x1FFu;
      const uint32_t p = (((pll >> 16) & 0x3u) + 1u) * 2u;
      if (m < 2 || n < 2) return regs::kHsiHz;
      return static_cast<uint32_t>(static_cast<uint64_t>(source) / m * n / p);
    }
    default:
      return regs::kHsiHz;
  }
}

uint32_t AhbHz(uint32_t sysclk) {
  static constexpr uint16_t kShift[8] = {1, 2, 3, 4, 6, 7, 8, 9};
  const uint32_t hpre = (Register(regs::kRccCfgr) >> regs::kRccCfgrHpreShift) & 0xFu;
  return hpre < 8 ? sysclk : sysclk >> kShift[hpre - 8];
}

uint32_t Apb1Hz(uint32_t hclk) {
  const uint32_t ppre = (Register(regs::kRccCfgr) >> regs::kRccCfgrPpre1Shift) & 0x7u;
  return ppre < 4 ? hclk : hclk >> (ppre - 3);
}

void SetUpUart(uint32_t pclk1) {
  Register(regs::kRccAhb1Enr) |= regs::kRccAhb1EnrGpioA;
  Register(regs::kRccApb1Enr) |= regs::kRccApb1EnrUsart2;
  ReadBack(regs::kRccApb1Enr);  // the clock is on two cycles after the write
  // PA2/PA3: alternate function 7, pull-up on RX.
  Register(regs::kGpioAModer) = (Register(regs::kGpioAModer) & ~(0xFu << 4)) | (0xAu << 4);
  Register(regs::kGpioAAfrl) = (Register(regs::kGpioAAfrl) & ~(0xFFu << 8)) | (0x77u << 8);
  Register(regs::kGpioAPupdr) = (Register(regs::kGpioAPupdr) & ~(0x3u << 6)) | (0x1u << 6);
  // Oversampling by 16: BRR = f_pclk / baud (mantissa and 4-bit fraction), rounded.
  Register(regs::kUsartBrr) = (pclk1 + kBaudRate / 2) / kBaudRate;
  Register(regs::kUsartCr1) = regs::kUsartCr1Enable | regs::kUsartCr1TxEnable |
                              regs::kUsartCr1RxEnable | regs::kUsartCr1RxInterruptEnable;
  tinyrig::cortex_m::NvicEnable(regs::kUsart2Irq);
}

void SetUpTimeBase() {
#if defined(TINYRIG_TIMING_INSTRUCTIONS)
  Register(regs::kRccApb1Enr) |= regs::kRccApb1EnrTim2;
  ReadBack(regs::kRccApb1Enr);
  Register(regs::kTim2Psc) = 0;
  Register(regs::kTim2Arr) = 0xFFFFFFFFu;
  Register(regs::kTim2Egr) = 1u;  // load the prescaler
  Register(regs::kTim2Cr1) = 1u;  // count
#else
  Register(regs::kDemcr) |= regs::kDemcrTraceEnable;
  Register(regs::kDwtCycCnt) = 0;
  Register(regs::kDwtCtrl) |= regs::kDwtCtrlCycCntEnable;
#endif
  // SysTick only wakes WaitForEvent (enabled around WFI, so it never interrupts work).
  Register(regs::kSysTickLoad) = regs::kSysTickMax;
  Register(regs::kSysTickValue) = 0;
  Register(regs::kSysTickCtrl) = regs::kSysTickProcessorClock;
}

uint32_t Counter() {
#if defined(TINYRIG_TIMING_INSTRUCTIONS)
  return Register(regs::kTim2Cnt);
#else
  return Register(regs::kDwtCycCnt);
#endif
}

// Moves received bytes into the ring. Interrupts must be masked or this must run in the RX
// handler. Reading SR then DR also clears an overrun.
void DrainRxRegister() {
  g_rx.Fill(
      [] {
        return (Register(regs::kUsartSr) & (regs::kUsartSrRxNotEmpty | regs::kUsartSrOverrun)) !=
               0;
      },
      [] { return static_cast<uint8_t>(Register(regs::kUsartDr)); },
      [] { Register(regs::kUsartCr1) &= ~regs::kUsartCr1RxInterruptEnable; });
}

}  // namespace

extern "C" void Usart2_IRQHandler() { DrainRxRegister(); }
extern "C" void SysTick_Handler() {}
extern "C" void Tim2_IRQHandler() { Register(regs::kTim2Sr) = 0; }

namespace tinyrig {
namespace hal {

bool Init() {
  const uint32_t csr = Register(regs::kRccCsr);
  cortex_m::RecordBootReason((csr & regs::kRccCsrWatchdogReset) != 0);
  Register(regs::kRccCsr) = csr | regs::kRccCsrRemoveResetFlags;

  SetUpClock();
  g_core_hz = AhbHz(SystemClockHz());
  SetUpUart(Apb1Hz(g_core_hz));
  SetUpTimeBase();
  EnableInterrupts();
  return true;
}

void UartWrite(const uint8_t* data, size_t size) {
  for (size_t i = 0; i < size; ++i) {
    while (!(Register(regs::kUsartSr) & regs::kUsartSrTxEmpty)) {
    }
    Register(regs::kUsartDr) = data[i];
  }
}

void UartFlush() {
  while (!(Register(regs::kUsartSr) & regs::kUsartSrTxComplete)) {
  }
}

size_t UartRead(uint8_t* buffer, size_t capacity) {
  return g_rx.Read(buffer, capacity, [] {
    Register(regs::kUsartCr1) |= regs::kUsartCr1RxInterruptEnable;
    DrainRxRegister();
  });
}

uint64_t Ticks() {
  const uint32_t primask = SaveAndDisableInterrupts();
  const uint32_t now = Counter();
  if (now < g_tick_last) ++g_tick_high;
  g_tick_last = now;
  const uint64_t ticks = (static_cast<uint64_t>(g_tick_high) << 32) | now;
  RestoreInterrupts(primask);
  return ticks;
}

#if defined(TINYRIG_TIMING_INSTRUCTIONS)
uint32_t TickHz() { return 1000000000u; }  // virtual ns = instructions under -icount shift=0
TimeUnit TickUnit() { return TimeUnit::INSTRUCTIONS; }
#else
uint32_t TickHz() { return g_core_hz; }
TimeUnit TickUnit() { return TimeUnit::CYCLES; }
#endif
uint32_t CpuHz() { return g_core_hz; }

void WaitForEvent() {
  cortex_m::SleepAtMost(cortex_m::kLongestSleepClocks, [] { return !g_rx.Empty(); });
  (void)Ticks();
}

void Nap() { cortex_m::SleepAtMost(g_core_hz / 1000u, [] { return false; }); }  // 1 ms

}  // namespace hal
}  // namespace tinyrig
