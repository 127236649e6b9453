#include "runner/kernel_guards.h"

#include <cstddef>
#include <cstdint>

#include "tensorflow/lite/c/builtin_op_data.h"
#include "tensorflow/lite/c/common.h"
#include "tensorflow/lite/micro/kernels/kernel_util.h"
#include "tensorflow/lite/micro/micro_log.h"
#include "tensorflow/lite/micro/micro_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"

namespace tinyrig {
namespace {

using Invoke = TfLiteStatus (*)(TfLiteContext*, TfLiteNode*);
using Check = bool (*)(TfLiteContext*, TfLiteNode*);

int64_t Element(const TfLiteEvalTensor& tensor, size_t index) {
  return tensor.type == kTfLiteInt64 ? tensor.data.i64[index]
                                     : static_cast<int64_t>(tensor.data.i32[index]);
}

bool IsIndexType(const TfLiteEvalTensor& tensor) {
  return tensor.type == kTfLiteInt32 || tensor.type == kTfLiteInt64;
}

size_t Elements(const TfLiteIntArray& dims) {
  size_t count = 1;
  for (int d = 0; d < dims.size; ++d) count *= static_cast<size_t>(dims.data[d]);
  return count;
}

// gather.cc: Gather() reads params[(batch, outer, coords[...], inner)] for every coordinate.
bool GatherOk(TfLiteContext* context, TfLiteNode* node) {
  const TfLiteEvalTensor* params = tflite::micro::GetEvalInput(context, node, 0);
  const TfLiteEvalTensor* coords = tflite::micro::GetEvalInput(context, node, 1);
  const auto* options = static_cast<const TfLiteGatherParams*>(node->builtin_data);
  if (params == nullptr || coords == nullptr || options == nullptr) return false;
  if (!IsIndexType(*coords)) return true;  // the kernel refuses other types itself
  int axis = options->axis;
  if (axis < 0) axis += params->dims->size;
  if (axis < 0 || axis >= params->dims->size) return false;  // Prepare checked; cheap
  const int64_t axis_size = params->dims->data[axis];
  const size_t count = Elements(*coords->dims);
  for (size_t i = 0; i < count; ++i) {
    const int64_t position = Element(*coords, i);
    if (position < 0 || position >= axis_size) return false;
  }
  return true;
}

// gather_nd.cc: GatherNd() sums index[j] * stride[j] and checks only the flat result.
bool GatherNdOk(TfLiteContext* context, TfLiteNode* node) {
  const TfLiteEvalTensor* params = tflite::micro::GetEvalInput(context, node, 0);
  const TfLiteEvalTensor* indices = tflite::micro::GetEvalInput(context, node, 1);
  if (params == nullptr || indices == nullptr) return false;
  if (!IsIndexType(*indices)) return true;
  const int rank = indices->dims->size;
  if (rank < 1) return false;
  const int depth = indices->dims->data[rank - 1];
  if (depth < 0 || depth > params->dims->size) return false;
  const size_t count = Elements(*indices->dims);
  for (size_t i = 0; i < count; ++i) {
    const int64_t index = Element(*indices, i);
    const int64_t dim = params->dims->data[i % static_cast<size_t>(depth == 0 ? 1 : depth)];
    if (depth != 0 && (index < 0 || index >= dim)) return false;
  }
  return true;
}

// slice.cc: Prepare checks nothing (DCHECKs); Eval reads one begin and size per input dimension
// and copies the slice into the output as the input's type.
bool SliceOk(TfLiteContext* context, TfLiteNode* node) {
  constexpr int kMaxSliceRank = 5;  // slice.cc kMaxDim
  const TfLiteEvalTensor* input = tflite::micro::GetEvalInput(context, node, 0);
  const TfLiteEvalTensor* begin = tflite::micro::GetEvalInput(context, node, 1);
  const TfLiteEvalTensor* size = tflite::micro::GetEvalInput(context, node, 2);
  const TfLiteEvalTensor* output = tflite::micro::GetEvalOutput(context, node, 0);
  if (input == nullptr || begin == nullptr || size == nullptr || output == nullptr) return false;
  const int rank = input->dims->size;
  if (rank > kMaxSliceRank || output->type != input->type || output->dims->size != rank ||
      !IsIndexType(*begin) || begin->type != size->type || begin->dims->size != 1 ||
      size->dims->size != 1 || begin->dims->data[0] != rank || size->dims->data[0] != rank) {
    return false;
  }
  for (int d = 0; d < rank; ++d) {
    const int64_t dim = input->dims->data[d];
    const int64_t start = Element(*begin, static_cast<size_t>(d));
    int64_t length = Element(*size, static_cast<size_t>(d));
    if (length == -1) length = dim - start;
    if (start < 0 || start > dim || length < 0 || start + length > dim ||
        length != output->dims->data[d]) {
      return false;
    }
  }
  return true;
}

// arg_min_max.cc: the axis value indexes the input's dimensions unchecked.
bool ArgMinMaxOk(TfLiteContext* context, TfLiteNode* node) {
  const TfLiteEvalTensor* input = tflite::micro::GetEvalInput(context, node, 0);
  const TfLiteEvalTensor* axis = tflite::micro::GetEvalInput(context, node, 1);
  if (input == nullptr || axis == nullptr) return false;
  if (!IsIndexType(*axis)) return true;
  if (Elements(*axis->dims) < 1) return false;
  const int64_t value = Element(*axis, 0);
  return value >= -input->dims->size && value < input->dims->size;
}

struct Guard {
  tflite::BuiltinOperator op;
  Check check;
  Invoke original;  // TFLM's invoke, filled in by InstallKernelGuards
};

Guard g_guards[] = {
    {tflite::BuiltinOperator_GATHER, GatherOk, nullptr},
    {tflite::BuiltinOperator_GATHER_ND, GatherNdOk, nullptr},
    {tflite::BuiltinOperator_SLICE, SliceOk, nullptr},
    {tflite::BuiltinOperator_ARG_MAX, ArgMinMaxOk, nullptr},
    {tflite::BuiltinOperator_ARG_MIN, ArgMinMaxOk, nullptr},
};
constexpr size_t kGuardCount = sizeof(g_guards) / sizeof(g_guards[0]);

template <size_t kIndex>
TfLiteStatus GuardedInvoke(TfLiteContext* context, TfLiteNode* node) {
  const Guard& guard = g_guards[kIndex];
  if (!guard.check(context, node)) {
    MicroPrintf("%s: index or shape out of range (tinyrig kernel guard)",
                tflite::EnumNameBuiltinOperator(guard.op));
    return kTfLiteError;
  }
  return guard.original(context, node);
}

template <size_t... kIndices>
struct Trampolines {
  static constexpr Invoke kInvokes[] = {GuardedInvoke<kIndices>...};
};
using AllTrampolines = Trampolines<0, 1, 2, 3, 4>;
static_assert(sizeof(AllTrampolines::kInvokes) / sizeof(Invoke) == kGuardCount,
              "one trampoline per guard");

}  // namespace

void GuardRegistration(tflite::BuiltinOperator op, TFLMRegistration* registration) {
  for (size_t i = 0; i < kGuardCount; ++i) {
    Guard& guard = g_guards[i];
    if (guard.op != op || registration->invoke == AllTrampolines::kInvokes[i]) continue;
    guard.original = registration->invoke;
    registration->invoke = AllTrampolines::kInvokes[i];
  }
}

void InstallKernelGuards(const tflite::MicroOpResolver& resolver) {
  for (size_t i = 0; i < kGuardCount; ++i) {
    const TFLMRegistration* found = resolver.FindOp(g_guards[i].op);
    if (found == nullptr) continue;
    // The resolver is a mutable static (model_runner.cc); FindOp only hands out const pointers.
    GuardRegistration(g_guards[i].op, const_cast<TFLMRegistration*>(found));
  }
}

}  // namespace tinyrig
