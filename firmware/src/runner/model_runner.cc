#include "runner/model_runner.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include "hal/hal.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/schema/schema_generated.h"
#include "tinyrig_model.h"  // TINYRIG_ARENA_BYTES, TinyrigOpResolver, TINYRIG_REGISTER_OPS

namespace tinyrig {
namespace {

// Caller-owned static memory: the arena, the resolver and the interpreter's storage.
alignas(16) uint8_t g_tensor_arena[TINYRIG_ARENA_BYTES];
TinyrigOpResolver g_op_resolver;
alignas(tflite::MicroInterpreter) uint8_t g_interpreter_storage[sizeof(tflite::MicroInterpreter)];
tflite::MicroInterpreter* g_interpreter = nullptr;

// "... missing: N" in TFLM's allocator messages.
uint32_t ParseMissingBytes(const char* message) {
  const char* found = std::strstr(message, "missing: ");
  if (found == nullptr) return 0;
  return static_cast<uint32_t>(std::strtoul(found + 9, nullptr, 10));
}

}  // namespace

size_t ModelRunner::arena_size() const { return sizeof(g_tensor_arena); }

size_t ModelRunner::arena_used() const {
  return status_ == Status::OK ? g_interpreter->arena_used_bytes() : 0;
}

void ModelRunner::ObserveLoadMessage(const char* message) {
  if (!loading_) return;
  if (std::strstr(message, "Failed to allocate") != nullptr ||
      std::strstr(message, "Failed to resize") != nullptr) {
    saw_allocation_failure_ = true;
    const uint32_t missing = ParseMissingBytes(message);
    if (missing != 0) bytes_needed_ = static_cast<uint32_t>(sizeof(g_tensor_arena)) + missing;
  }
}

void ModelRunner::Load(const uint8_t* model_data, size_t model_size, const uint8_t* model_id) {
  if (g_interpreter != nullptr) {
    g_interpreter->~MicroInterpreter();
    g_interpreter = nullptr;
  }
  model_data_ = model_data;
  model_size_ = model_size;
  std::memcpy(model_id_, model_id, kModelIdSize);
  bytes_needed_ = 0;
  saw_allocation_failure_ = false;
  if (model_data == nullptr || model_size == 0) {
    status_ = Status::NO_MODEL;
    return;
  }
  const tflite::Model* model = tflite::GetModel(model_data);
  if (model->version() != TFLITE_SCHEMA_VERSION) {
    status_ = Status::MODEL_INVALID;
    return;
  }
  static bool ops_registered = false;
  if (!ops_registered) {
    if (TINYRIG_REGISTER_OPS(g_op_resolver) != kTfLiteOk) {
      status_ = Status::MODEL_INVALID;
      return;
    }
    ops_registered = true;
  }
  g_interpreter = new (g_interpreter_storage) tflite::MicroInterpreter(
      model, g_op_resolver, g_tensor_arena, sizeof(g_tensor_arena),
      /*resource_variables=*/nullptr, &profiler_);
  loading_ = true;
  const TfLiteStatus allocated = g_interpreter->AllocateTensors();
  loading_ = false;
  if (allocated != kTfLiteOk) {
    status_ = saw_allocation_failure_ ? Status::ARENA_TOO_SMALL : Status::MODEL_INVALID;
    return;
  }
  status_ = Status::OK;
}

size_t ModelRunner::input_count() const {
  return status_ == Status::OK ? g_interpreter->inputs_size() : 0;
}

size_t ModelRunner::output_count() const {
  return status_ == Status::OK ? g_interpreter->outputs_size() : 0;
}

TfLiteTensor* ModelRunner::input(size_t index) const {
  return index < input_count() ? g_interpreter->input(index) : nullptr;
}

TfLiteTensor* ModelRunner::output(size_t index) const {
  return index < output_count() ? g_interpreter->output(index) : nullptr;
}

InvokeResult ModelRunner::Invoke() {
  if (status_ != Status::OK) return InvokeResult{status_, 0};
  profiler_.Clear();
  const uint64_t start = hal::Ticks();
  const TfLiteStatus invoked = g_interpreter->Invoke();
  const auto ticks = static_cast<uint32_t>(hal::Ticks() - start);
  return InvokeResult{invoked == kTfLiteOk ? Status::OK : Status::INVOKE_FAILED, ticks};
}

}  // namespace tinyrig
