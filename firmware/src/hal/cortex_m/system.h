// What every bare-metal Cortex-M HAL does the same way: the boot reason (a software-reset marker
// in .noinit, else the chip's own reset flags), SystemReset (SYSRESETREQ), BoardName and the
// host-only functions (ShouldExit, DebugWrite). system.cc defines those hal.h functions; a
// family's HAL calls RecordBootReason first thing in Init().
#pragma once

namespace tinyrig {
namespace cortex_m {

// Sets what hal::GetBootReason() reports: a software reset if the previous run ended in
// hal::SystemReset(), else a watchdog reset if the chip's reset flags say so (the caller reads
// and clears them), else power-on. Consumes the marker, so the next boot starts clean.
void RecordBootReason(bool watchdog_reset);

}  // namespace cortex_m
}  // namespace tinyrig
