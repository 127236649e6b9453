// The hardware boundary: a few link-time functions, one implementation per target
// (hal/native/, hal/mps2/, hal/stm32f4/, hal/nrf5/; what the bare-metal ones share is in
// hal/cortex_m/). Everything above this header is target-independent.
#pragma once

#include <cstddef>
#include <cstdint>

#include "protocol/messages.h"  // TimeUnit

namespace tinyrig {
namespace hal {

enum class BootReason : uint8_t { kPowerOn = 0, kSoftwareReset = 1, kWatchdog = 2 };

// Brings up the clock, the UART and interrupts. Native: opens the pseudo-terminal and prints
// "tinyrig-uart: /dev/pts/N". Returns false if the UART cannot be opened.
bool Init();
BootReason GetBootReason();

// Blocks until every byte is handed to the UART.
void UartWrite(const uint8_t* data, size_t size);
// Blocks until the UART has shifted out everything written, last stop bit included (before
// a reset, so the RESET reply is not cut short).
void UartFlush();
// Non-blocking: copies up to `capacity` received bytes, returns how many.
size_t UartRead(uint8_t* buffer, size_t capacity);

// Free-running tick counter at TickHz(); never wraps in practice (64 bits).
uint64_t Ticks();
uint32_t TickHz();
// Core clock in Hz, 0 if unknown (native).
uint32_t CpuHz();
// What Ticks() counts (INFO tick_unit): NS on native, TICKS of a timer, CYCLES of a cycle
// counter (DWT), INSTRUCTIONS under an instruction-counting emulator (QEMU -icount).
TimeUnit TickUnit();
const char* BoardName();

// Sleeps until something may have happened (a byte arrived, a timer, a signal).
void WaitForEvent();
// Sleeps a moment even with received bytes waiting: for deliberate delays (the INVOKE_DELAY
// test hook), which must not busy-run instructions (under QEMU -icount they are the clock).
void Nap();
// True when the process was asked to stop (native SIGTERM); always false on a board.
bool ShouldExit();
// Resets the device; does not return. Native re-executes itself on the same pty.
[[noreturn]] void SystemReset();

// Out-of-band diagnostics (native: stderr; boards: dropped). Not the protocol's LOG.
void DebugWrite(const char* text, size_t size);

}  // namespace hal
}  // namespace tinyrig
