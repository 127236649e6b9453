#include "runner/abort_guard.h"

#include <csetjmp>
#include <cstdlib>

#include "hal/hal.h"

namespace tinyrig {
namespace {
std::jmp_buf g_abort_target;
bool g_guard_active = false;
}  // namespace

bool RunGuarded(void (*fn)(void* arg), void* arg) {
  if (setjmp(g_abort_target) != 0) {
    g_guard_active = false;
    return false;
  }
  g_guard_active = true;
  fn(arg);
  g_guard_active = false;
  return true;
}

}  // namespace tinyrig

// Replaces the C library's abort() (the link prefers this definition): TFLM's TFLITE_ABORT.
extern "C" void abort() noexcept {  // noreturn: declared so by <cstdlib>
  if (tinyrig::g_guard_active) std::longjmp(tinyrig::g_abort_target, 1);
  tinyrig::hal::SystemReset();
}
