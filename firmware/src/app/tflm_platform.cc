// TFLM's platform hooks that every build shares, the fuzz harness included: time from the HAL
// (micro_time.h) and DebugVsnprintf (debug_log.h). DebugLog differs (the device sends a LOG
// frame, the fuzzer observes), so main.cc and fuzz/fuzz_hal.cc each define it.
#include <cstdarg>
#include <cstdint>
#include <cstdio>

#include "hal/hal.h"
#include "tensorflow/lite/micro/debug_log.h"
#include "tensorflow/lite/micro/micro_time.h"

extern "C" int DebugVsnprintf(char* buffer, size_t buffer_size, const char* format,
                              va_list args) {
  return std::vsnprintf(buffer, buffer_size, format, args);
}

namespace tflite {
uint32_t ticks_per_second() { return tinyrig::hal::TickHz(); }
uint32_t GetCurrentTimeTicks() { return static_cast<uint32_t>(tinyrig::hal::Ticks()); }
}  // namespace tflite
