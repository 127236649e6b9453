// The HAL for host fuzz builds (fuzz_hal.cc): no UART, a fake clock, and TFLM's platform hooks
// routed to the one ModelRunner under test.
#pragma once

#include <cstddef>
#include <cstdint>

#include "runner/model_runner.h"

namespace tinyrig {
namespace fuzz {

// TFLM messages go to this runner's ObserveLoadMessage (as main.cc does on the device).
void SetRunner(ModelRunner* runner);
// Everything the firmware writes to its "UART" goes here (nullptr: dropped).
using UartWriteHook = void (*)(const uint8_t* data, size_t size);
void SetUartWriteHook(UartWriteHook hook);

}  // namespace fuzz
}  // namespace tinyrig
