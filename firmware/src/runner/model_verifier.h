// Checks an untrusted .tflite flatbuffer before TFLM sees it (MODEL_COMMIT, docs/protocol.md
// §3.1). TFLM trusts its model: an index or size out of range is an out-of-bounds access in the
// allocator or a kernel. VerifyModel() runs the flatbuffers Verifier (tflite::VerifyModelBuffer)
// and then the semantic checks TFLM does not do itself. Pure function over the bytes, no
// globals: the model-loader fuzzer (firmware/fuzz/model_fuzzer.cc) drives it directly.
#pragma once

#include <cstddef>
#include <cstdint>

#include "protocol/status.h"

namespace tinyrig {

// Limits of what the firmware accepts (TFLM kernels support rank <= 5 or 6; 8 leaves room).
constexpr uint32_t kMaxTensorRank = 8;
// Elements and bytes of one tensor, and bytes of all tensors TFLM allocates in the arena:
// 16x the largest arena we build (native 16 MiB). TFLM counts elements and sums sizes and
// offsets in `int`: 2^31 one-byte elements overflowed its element count, and tensors or plan
// offsets summing past 2^31 would wrap the planner's offsets below the arena.
constexpr uint64_t kMaxTensorBytes = uint64_t{1} << 28;

struct ModelCheck {
  // Human-readable reason when the model is rejected ("" when OK), sent as ERROR detail.
  char detail[120] = {};
};

// Writes the printf-style reason into `check->detail` and returns MODEL_INVALID: how the
// verifier and the memory-plan check (memory_plan_check.h) refuse a model.
Status Reject(ModelCheck* check, const char* format, ...);

// OK, or MODEL_INVALID with `check->detail` naming the first problem found.
// `data` must stay 4-byte aligned (the model slot is 16-byte aligned).
Status VerifyModel(const uint8_t* data, size_t size, ModelCheck* check);

}  // namespace tinyrig
