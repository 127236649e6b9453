#include "runner/op_profiler.h"

#include "hal/hal.h"

namespace tinyrig {

namespace {
constexpr uint32_t kDroppedHandle = 0xFFFFFFFFu;
}

uint32_t OpProfiler::BeginEvent(const char* tag) {
  if (count_ >= kCapacity) {
    ++dropped_;
    return kDroppedHandle;
  }
  const auto now = static_cast<uint32_t>(hal::Ticks());
  events_[count_] = Event{tag, now, now};
  return static_cast<uint32_t>(count_++);
}

void OpProfiler::EndEvent(uint32_t event_handle) {
  if (event_handle >= count_) return;
  events_[event_handle].end_ticks = static_cast<uint32_t>(hal::Ticks());
  if (after_op_ != nullptr) after_op_(event_handle);
}

}  // namespace tinyrig
