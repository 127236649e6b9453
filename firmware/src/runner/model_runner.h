// Runs the built-in model with TFLM's MicroInterpreter over a static arena.
//
// Only one ModelRunner may exist (the arena and interpreter storage are static).
// The model is a (data, size) span: the built-in array, or (upload firmware, TINYRIG_MODEL_UPLOAD)
// the RAM model slot after runner/model_verifier.h accepted it. The upload firmware registers
// every op of the pinned TFLM (runner/all_ops_resolver.h); the others only the built-in model's.
#pragma once

#include <cstddef>
#include <cstdint>

#include "protocol/status.h"
#include "runner/op_profiler.h"

struct TfLiteTensor;
struct TfLiteEvalTensor;
namespace tflite {
struct Model;
}

namespace tinyrig {

struct InvokeResult {
  Status status;
  uint64_t ticks;  // 64 bits: a u32 of ns wraps after 4.29 s
};

class ModelRunner {
 public:
  // Loads the model and allocates its tensors. Never fails hard: on error, status() says why
  // (NO_MODEL, MODEL_INVALID, ARENA_TOO_SMALL with bytes_needed() when TFLM said so).
  // `model_id`: 8 bytes (first bytes of the model's SHA-256), copied.
  // `arena_limit`: use only the first N bytes of the static arena (0: all of it), so that the
  // host can find the exact minimum arena of this build on the device (ARENA_LIMIT).
  void Load(const uint8_t* model_data, size_t model_size, const uint8_t* model_id,
            size_t arena_limit = 0);

  // Destroys the interpreter: status() becomes NO_MODEL and the model memory is no longer read
  // (MODEL_BEGIN calls this before the slot is overwritten).
  void Unload();

  // Destroys the interpreter of a loaded model the caller cannot serve (its INFO does not fit a
  // reply): status() becomes `status`, load_detail() `detail`; model_data()/model_id() stay.
  void Reject(Status status, const char* detail);

  Status status() const { return status_; }
  // The first TFLM error message of the last failed Load() ("" if none), e.g. the missing op.
  const char* load_detail() const { return load_detail_; }
  uint32_t bytes_needed() const { return bytes_needed_; }
  size_t arena_size() const;
  size_t arena_used() const;

  const uint8_t* model_data() const { return model_data_; }
  size_t model_size() const { return model_size_; }
  static constexpr size_t kModelIdSize = 8;
  const uint8_t* model_id() const { return model_id_; }

  size_t input_count() const;
  size_t output_count() const;
  // nullptr when the index is out of range or the interpreter is not ready.
  TfLiteTensor* input(size_t index) const;
  TfLiteTensor* output(size_t index) const;

  // Stateless by default: Invoke() first resets the model's variable tensors (LSTM hidden and
  // cell state...), so every inference depends only on its inputs, the same with every kernel
  // library. keep_state: they carry over from one invoke to the next (streaming models).
  void set_keep_state(bool keep) { keep_state_ = keep; }
  bool keep_state() const { return keep_state_; }
  // Variable tensors back to their initial values; OK without a model (nothing to reset).
  Status ResetState();

  InvokeResult Invoke();
  const OpProfiler& profiler() const { return profiler_; }

  // Debug runner firmware (TINYRIG_PRESERVE_TENSORS): every tensor keeps its value after an
  // invoke, so the host can read intermediate tensors back (READ_TENSOR). Elsewhere false.
  static bool preserves_tensors();
  size_t tensor_count() const;
  // nullptr when the index is out of range, the model is not ready or tensors are not kept.
  const TfLiteEvalTensor* tensor(size_t index) const;
  size_t tensor_bytes(size_t index) const;

  // Called by the platform's DebugLog with every TFLM message while Load() runs, so that an
  // allocation failure can be told apart from an invalid model.
  void ObserveLoadMessage(const char* message);

 private:
  // Every op of `model` is in the resolver; otherwise load_detail() names the first missing.
  bool AllOpsRegistered(const tflite::Model& model);

  Status status_ = Status::NO_MODEL;
  uint32_t bytes_needed_ = 0;
  const uint8_t* model_data_ = nullptr;
  size_t model_size_ = 0;
  uint8_t model_id_[kModelIdSize] = {};
  bool loading_ = false;
  bool keep_state_ = false;
  size_t arena_limit_ = 0;
  bool saw_allocation_failure_ = false;
  char load_detail_[120] = {};
  OpProfiler profiler_;
};

}  // namespace tinyrig
