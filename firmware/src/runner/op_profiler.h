// Per-operator timings of the last invoke, in a fixed-capacity table (no heap).
// Plugged into the interpreter as its MicroProfilerInterface.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tensorflow/lite/micro/micro_profiler_interface.h"

namespace tinyrig {

class OpProfiler : public tflite::MicroProfilerInterface {
 public:
  static constexpr size_t kCapacity = 256;

  struct Event {
    const char* tag;  // op name, static storage inside TFLM
    uint32_t start_ticks;
    uint32_t end_ticks;
  };

  uint32_t BeginEvent(const char* tag) override;
  void EndEvent(uint32_t event_handle) override;

  void Clear() { count_ = 0; dropped_ = 0; }
  // Called with the op's index when it ends (the layer-diff tests perturb an op's output).
  void set_after_op(void (*after_op)(uint32_t op_index)) { after_op_ = after_op; }
  size_t count() const { return count_; }
  // Events that did not fit (the table keeps the first kCapacity).
  size_t dropped() const { return dropped_; }
  const Event& event(size_t index) const { return events_[index]; }

 private:
  Event events_[kCapacity] = {};
  size_t count_ = 0;
  size_t dropped_ = 0;
  void (*after_op_)(uint32_t op_index) = nullptr;
};

}  // namespace tinyrig
