#include "fuzz_hal.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "hal/hal.h"

namespace tinyrig {
namespace fuzz {
namespace {
ModelRunner* g_runner = nullptr;
UartWriteHook g_uart_hook = nullptr;
uint64_t g_fake_ticks = 0;
}  // namespace

void SetRunner(ModelRunner* runner) { g_runner = runner; }
void SetUartWriteHook(UartWriteHook hook) { g_uart_hook = hook; }

}  // namespace fuzz

namespace hal {

bool Init() { return true; }
BootReason GetBootReason() { return BootReason::kPowerOn; }
void UartWrite(const uint8_t* data, size_t size) {
  if (fuzz::g_uart_hook != nullptr) fuzz::g_uart_hook(data, size);
}
void UartFlush() {}
size_t UartRead(uint8_t*, size_t) { return 0; }
// Every read advances 0.1 s, so LINK_TEST's 1 s timeout is reached in a few calls.
uint64_t Ticks() { return fuzz::g_fake_ticks += 100000; }
uint32_t TickHz() { return 1000000; }
uint32_t CpuHz() { return 0; }
TimeUnit TickUnit() { return TimeUnit::TICKS; }
const char* BoardName() { return "fuzz"; }
void WaitForEvent() {}
void Nap() {}
bool ShouldExit() { return false; }
// An abort() outside a guard resets the device: here that is a crash to report.
void SystemReset() { __builtin_trap(); }
void DebugWrite(const char*, size_t) {}

}  // namespace hal
}  // namespace tinyrig

extern "C" void DebugLog(const char* format, va_list args) {
  char message[256];
  std::vsnprintf(message, sizeof(message), format, args);
  if (tinyrig::fuzz::g_runner != nullptr) tinyrig::fuzz::g_runner->ObserveLoadMessage(message);
  if (std::getenv("TINYRIG_FUZZ_DEBUG") != nullptr) std::fprintf(stderr, "%s\n", message);
}
