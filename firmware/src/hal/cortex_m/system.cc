// hal.h functions that are the same on every bare-metal Cortex-M family (see system.h).
#include "hal/cortex_m/system.h"

#include <cstddef>
#include <cstdint>

#include "hal/cortex_m/registers.h"
#include "hal/hal.h"

#ifndef TINYRIG_BOARD_NAME
#error "TINYRIG_BOARD_NAME is set by firmware/scripts/tinyrig_build.py"
#endif

namespace {

constexpr uint32_t kSoftwareResetMarker = 0x7E5E7B0Du;
// Not zeroed at boot (linker script): survives SYSRESETREQ, garbage after power-on.
__attribute__((section(".noinit"))) uint32_t g_reset_marker;
tinyrig::hal::BootReason g_boot_reason = tinyrig::hal::BootReason::kPowerOn;

}  // namespace

namespace tinyrig {
namespace cortex_m {

void RecordBootReason(bool watchdog_reset) {
  if (g_reset_marker == kSoftwareResetMarker) {
    g_boot_reason = hal::BootReason::kSoftwareReset;
  } else if (watchdog_reset) {
    g_boot_reason = hal::BootReason::kWatchdog;
  } else {
    g_boot_reason = hal::BootReason::kPowerOn;
  }
  g_reset_marker = 0;
}

}  // namespace cortex_m

namespace hal {

BootReason GetBootReason() { return g_boot_reason; }

const char* BoardName() { return TINYRIG_BOARD_NAME; }

bool ShouldExit() { return false; }

void SystemReset() {
  g_reset_marker = kSoftwareResetMarker;
  __asm volatile("dsb" ::: "memory");
  cortex_m::Register(cortex_m::kScbAircr) = cortex_m::kAircrSysResetRequest;
  __asm volatile("dsb" ::: "memory");
  for (;;) {
  }
}

void DebugWrite(const char*, size_t) {}

}  // namespace hal
}  // namespace tinyrig
