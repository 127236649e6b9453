#include "runner/model_runner.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "hal/hal.h"
#include "runner/abort_guard.h"
#include "runner/arena_guard.h"
#include "runner/kernel_guards.h"
#include "tensorflow/lite/micro/arena_allocator/single_arena_buffer_allocator.h"
#include "tensorflow/lite/micro/memory_planner/greedy_memory_planner.h"
#include "tensorflow/lite/micro/micro_allocator.h"
#include "tensorflow/lite/micro/micro_arena_constants.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/schema/schema_generated.h"
#include "tensorflow/lite/schema/schema_utils.h"
#include "tinyrig_model.h"  // TINYRIG_ARENA_BYTES, TinyrigOpResolver, TINYRIG_REGISTER_OPS

#ifndef TINYRIG_MODEL_UPLOAD
#define TINYRIG_MODEL_UPLOAD 0
#endif
#if TINYRIG_MODEL_UPLOAD
#include "runner/all_ops_resolver.h"
#endif
#ifndef TINYRIG_PRESERVE_TENSORS
#define TINYRIG_PRESERVE_TENSORS 0
#endif
// TINYRIG_PERTURB_OP=k (tests of the layer diff only): after op k runs, bit 6 of every byte of
// its first output is flipped, so the model diverges from the host reference from op k on.
#if defined(TINYRIG_PERTURB_OP) && !TINYRIG_PRESERVE_TENSORS
#error "TINYRIG_PERTURB_OP needs TINYRIG_PRESERVE_TENSORS (debug runner firmware)"
#endif
#include "tensorflow/lite/micro/memory_helpers.h"

namespace tinyrig {
namespace {

#if TINYRIG_MODEL_UPLOAD
// The upload firmware takes models it was not built for: its arena is the bigger of the built-in
// model's and the target's TINYRIG_RUNNER_ARENA_BYTES (platformio.ini).
#ifndef TINYRIG_RUNNER_ARENA_BYTES
#error "the upload firmware needs TINYRIG_RUNNER_ARENA_BYTES (platformio.ini)"
#endif
constexpr size_t kArenaBytes = TINYRIG_ARENA_BYTES > TINYRIG_RUNNER_ARENA_BYTES
                                   ? TINYRIG_ARENA_BYTES
                                   : TINYRIG_RUNNER_ARENA_BYTES;
using RunnerOpResolver = AllOpsResolver;
TfLiteStatus RegisterRunnerOps(RunnerOpResolver& resolver) { return RegisterAllOps(resolver); }
#else
constexpr size_t kArenaBytes = TINYRIG_ARENA_BYTES;
using RunnerOpResolver = TinyrigOpResolver;
TfLiteStatus RegisterRunnerOps(RunnerOpResolver& resolver) {
  return TINYRIG_REGISTER_OPS(resolver);
}
#endif

// TFLM's allocator, its memory planner and their arena allocator sit at the tail of the arena
// (TFLM's own Create() placed them there without checking that they fit: placement new on
// nullptr, found by the protocol fuzzer through ARENA_LIMIT; CreateBoundedAllocator checks).
// An arena smaller than this bound is refused before TFLM sees it, with this size as the bytes
// needed (host/tinyrig/builder/arena_floor.py records it per platform).
template <typename T>
constexpr size_t PlacedSize() {
  return sizeof(T) + alignof(T) - 1;
}
constexpr size_t kSmallestUsableArena =
    static_cast<size_t>(tflite::MicroArenaBufferAlignment()) - 1 +
    PlacedSize<tflite::SingleArenaBufferAllocator>() +
    PlacedSize<tflite::GreedyMemoryPlanner>() + PlacedSize<tflite::MicroAllocator>();
static_assert(kArenaBytes >= kSmallestUsableArena, "TINYRIG_ARENA_BYTES cannot hold TFLM");

// Caller-owned static memory: the arena, the resolver and the interpreter's storage.
alignas(16) uint8_t g_tensor_arena[kArenaBytes];
RunnerOpResolver g_op_resolver;
alignas(tflite::MicroInterpreter) uint8_t g_interpreter_storage[sizeof(tflite::MicroInterpreter)];
tflite::MicroInterpreter* g_interpreter = nullptr;

// TFLM calls run under RunGuarded: an abort() inside them (a failed TFLITE_CHECK) fails the
// call instead of ending the firmware.
struct GuardedCall {
  tflite::MicroInterpreter* interpreter;
  TfLiteStatus status;
};
void AllocateTensorsCall(void* arg) {
  auto* call = static_cast<GuardedCall*>(arg);
  call->status = call->interpreter->AllocateTensors();
}
void InvokeCall(void* arg) {
  auto* call = static_cast<GuardedCall*>(arg);
  call->status = call->interpreter->Invoke();
}

// "... missing: N" in TFLM's allocator messages.
uint32_t ParseMissingBytes(const char* message) {
  const char* found = std::strstr(message, "missing: ");
  if (found == nullptr) return 0;
  return static_cast<uint32_t>(std::strtoul(found + 9, nullptr, 10));
}

}  // namespace

size_t ModelRunner::arena_size() const {
  return arena_limit_ != 0 ? arena_limit_ : sizeof(g_tensor_arena);
}

size_t ModelRunner::arena_used() const {
  return status_ == Status::OK ? g_interpreter->arena_used_bytes() : 0;
}

void ModelRunner::ObserveLoadMessage(const char* message) {
  if (!loading_) return;
  if (load_detail_[0] == '\0') {
    std::strncpy(load_detail_, message, sizeof(load_detail_) - 1);
    load_detail_[sizeof(load_detail_) - 1] = '\0';
  }
  // TFLM's ways of saying the arena is too small: the allocators' "Failed to ..." and "Unable
  // to allocate", and the memory planner's "Too many buffers", whose scratch is what is left.
  if (std::strstr(message, "Failed to allocate") != nullptr ||
      std::strstr(message, "Failed to resize") != nullptr ||
      std::strstr(message, "Unable to allocate") != nullptr ||
      std::strstr(message, "Too many buffers") != nullptr) {
    saw_allocation_failure_ = true;
    uint32_t missing = ParseMissingBytes(message);
    // The planner's scratch is what the arena has left: one more buffer takes this much more.
    if (missing == 0 && std::strstr(message, "Too many buffers") != nullptr) {
      missing = static_cast<uint32_t>(tflite::GreedyMemoryPlanner::per_buffer_size());
    }
    if (missing != 0 && bytes_needed_ == 0) {
      bytes_needed_ = static_cast<uint32_t>(arena_size()) + missing;
    }
  }
}

bool ModelRunner::AllOpsRegistered(const tflite::Model& model) {
  // TFLM says only "Failed to get registration from op code CUSTOM": name the op instead.
  const auto* codes = model.operator_codes();
  for (flatbuffers::uoffset_t i = 0; codes != nullptr && i < codes->size(); ++i) {
    const tflite::OperatorCode* code = codes->Get(i);
    const tflite::BuiltinOperator builtin = tflite::GetBuiltinCode(code);
    if (builtin == tflite::BuiltinOperator_CUSTOM) {
      const char* name = code->custom_code() != nullptr ? code->custom_code()->c_str() : "";
      if (g_op_resolver.FindOp(name) != nullptr) continue;
      std::snprintf(load_detail_, sizeof(load_detail_), "custom op %s is not in this firmware",
                    name);
      return false;
    }
    if (g_op_resolver.FindOp(builtin) == nullptr) {
      std::snprintf(load_detail_, sizeof(load_detail_), "op %s is not in this firmware",
                    tflite::EnumNameBuiltinOperator(builtin));
      return false;
    }
  }
  return true;
}

void ModelRunner::Reject(Status status, const char* detail) {
  if (g_interpreter != nullptr && status_ == Status::OK) g_interpreter->~MicroInterpreter();
  g_interpreter = nullptr;
  status_ = status;
  std::strncpy(load_detail_, detail, sizeof(load_detail_) - 1);
  load_detail_[sizeof(load_detail_) - 1] = '\0';
  profiler_.Clear();
}

void ModelRunner::Unload() {
  // Only a fully initialised interpreter is destroyed: after a failed AllocateTensors TFLM's
  // destructor walks node registrations it never filled in and calls through garbage pointers
  // (found by firmware/fuzz/model_fuzzer). Forgetting it is safe: all its memory is static.
  if (g_interpreter != nullptr && status_ == Status::OK) g_interpreter->~MicroInterpreter();
  g_interpreter = nullptr;
  status_ = Status::NO_MODEL;
  model_data_ = nullptr;
  model_size_ = 0;
  std::memset(model_id_, 0, kModelIdSize);
  bytes_needed_ = 0;
  profiler_.Clear();
}

void ModelRunner::Load(const uint8_t* model_data, size_t model_size, const uint8_t* model_id,
                       size_t arena_limit) {
  // `model_id` may point at model_id_ itself (a reload): copy it before Unload() clears it.
  uint8_t id[kModelIdSize];
  std::memcpy(id, model_id, kModelIdSize);
  Unload();
  arena_limit_ = arena_limit < sizeof(g_tensor_arena) ? arena_limit : 0;
  load_detail_[0] = '\0';
  model_data_ = model_data;
  model_size_ = model_size;
  std::memcpy(model_id_, id, kModelIdSize);
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
  if (arena_size() < kSmallestUsableArena) {
    std::strncpy(load_detail_, "arena smaller than TFLM's own allocator objects",
                 sizeof(load_detail_) - 1);
    bytes_needed_ = static_cast<uint32_t>(kSmallestUsableArena);
    status_ = Status::ARENA_TOO_SMALL;
    return;
  }
  static bool ops_registered = false;
  if (!ops_registered) {
    if (RegisterRunnerOps(g_op_resolver) != kTfLiteOk) {
      status_ = Status::MODEL_INVALID;
      return;
    }
    // Kernels that index with tensor values check them first (runner/kernel_guards.h): the
    // host's input data reaches them in every firmware, built-in model or not.
    InstallKernelGuards(g_op_resolver);
    ops_registered = true;
  }
  if (!AllOpsRegistered(*model)) {
    status_ = Status::MODEL_INVALID;
    return;
  }
  loading_ = true;
  // TFLM's allocator objects in the arena as its own arena constructor places them, over an
  // arena buffer allocator that ends the load at the first allocation that does not fit
  // (runner/arena_guard.h: TFLM uses some results unchecked or overlapping).
  tflite::MicroAllocator* allocator = CreateBoundedAllocator(
      g_tensor_arena, arena_size(), /*preserve_all_tensors=*/TINYRIG_PRESERVE_TENSORS != 0);
  if (allocator == nullptr) {  // kSmallestUsableArena above keeps this from happening
    loading_ = false;
    bytes_needed_ = static_cast<uint32_t>(kSmallestUsableArena);
    status_ = Status::ARENA_TOO_SMALL;
    return;
  }
  g_interpreter = new (g_interpreter_storage) tflite::MicroInterpreter(
      model, g_op_resolver, allocator, /*resource_variables=*/nullptr, &profiler_);
  GuardedCall call{g_interpreter, kTfLiteError};
  ArmArenaGuard(true);
  const bool returned = g_interpreter->initialization_status() != kTfLiteOk ||
                        RunGuarded(AllocateTensorsCall, &call);
  ArmArenaGuard(false);
  if (!returned) {
    g_interpreter = nullptr;  // left mid-call: forget it (static storage, nothing to free)
    loading_ = false;
    if (ArenaBytesMissing() != 0) {  // the arena guard ended the load
      bytes_needed_ = static_cast<uint32_t>(arena_size()) + ArenaBytesMissing();
      status_ = Status::ARENA_TOO_SMALL;
      return;
    }
    std::strncpy(load_detail_, "TFLM aborted while preparing the model", sizeof(load_detail_) - 1);
    status_ = Status::MODEL_INVALID;
    return;
  }
  const TfLiteStatus allocated = call.status;
  loading_ = false;
  if (allocated != kTfLiteOk) {
    status_ = saw_allocation_failure_ ? Status::ARENA_TOO_SMALL : Status::MODEL_INVALID;
    // ARENA_TOO_SMALL always says how much at least: more than this arena.
    if (status_ == Status::ARENA_TOO_SMALL && bytes_needed_ <= arena_size()) {
      bytes_needed_ = static_cast<uint32_t>(arena_size()) + 1;
    }
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

#ifdef TINYRIG_PERTURB_OP
namespace {
const uint8_t* g_perturb_model = nullptr;
void PerturbAfterOp(uint32_t op_index) {
  if (op_index != static_cast<uint32_t>(TINYRIG_PERTURB_OP) || g_interpreter == nullptr) return;
  const tflite::Model* model = tflite::GetModel(g_perturb_model);
  const auto* ops = model->subgraphs()->Get(0)->operators();
  if (op_index >= ops->size()) return;
  const auto* outputs = ops->Get(op_index)->outputs();
  if (outputs == nullptr || outputs->size() == 0) return;
  TfLiteEvalTensor* out = g_interpreter->GetTensor(outputs->Get(0));
  size_t bytes = 0;
  if (out == nullptr || out->data.raw == nullptr ||
      tflite::TfLiteEvalTensorByteLength(out, &bytes) != kTfLiteOk) {
    return;
  }
  for (size_t i = 0; i < bytes; ++i) out->data.uint8[i] ^= 0x40;
}
}  // namespace
#endif

bool ModelRunner::preserves_tensors() { return TINYRIG_PRESERVE_TENSORS != 0; }

size_t ModelRunner::tensor_count() const {
  if (status_ != Status::OK) return 0;
  const auto* subgraphs = tflite::GetModel(model_data_)->subgraphs();
  if (subgraphs == nullptr || subgraphs->size() == 0) return 0;
  return subgraphs->Get(0)->tensors()->size();
}

const TfLiteEvalTensor* ModelRunner::tensor(size_t index) const {
  if (!preserves_tensors() || index >= tensor_count()) return nullptr;
  return g_interpreter->GetTensor(static_cast<int>(index));
}

size_t ModelRunner::tensor_bytes(size_t index) const {
  const TfLiteEvalTensor* found = tensor(index);
  if (found == nullptr || found->dims == nullptr) return 0;
  size_t bytes = 0;
  if (tflite::TfLiteEvalTensorByteLength(found, &bytes) != kTfLiteOk) return 0;
  return bytes;
}

Status ModelRunner::ResetState() {
  if (status_ != Status::OK || g_interpreter == nullptr) return Status::OK;
  // Reset(): variable tensors and resource variables, what the host TFLM's reset() does
  return g_interpreter->Reset() == kTfLiteOk ? Status::OK : Status::INVOKE_FAILED;
}

InvokeResult ModelRunner::Invoke() {
  if (status_ != Status::OK) return InvokeResult{status_, 0};
  if (!keep_state_ && ResetState() != Status::OK) return InvokeResult{Status::INVOKE_FAILED, 0};
  profiler_.Clear();
#ifdef TINYRIG_PERTURB_OP
  g_perturb_model = model_data_;
  profiler_.set_after_op(PerturbAfterOp);
#endif
  const uint64_t start = hal::Ticks();
  GuardedCall call{g_interpreter, kTfLiteError};
  const bool returned = RunGuarded(InvokeCall, &call);
  const uint64_t ticks = hal::Ticks() - start;
  if (!returned) {
    // TFLM aborted mid-kernel: the interpreter's state is unknown, the model is unusable.
    g_interpreter = nullptr;
    status_ = Status::MODEL_INVALID;
    return InvokeResult{Status::INVOKE_FAILED, ticks};
  }
  return InvokeResult{call.status == kTfLiteOk ? Status::OK : Status::INVOKE_FAILED, ticks};
}

}  // namespace tinyrig
