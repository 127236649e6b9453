#include "runner/model_verifier.h"

#include <cstdarg>
#include <cstdio>

#include "flatbuffers/flatbuffers.h"
#include "runner/memory_plan_check.h"
#include "runner/tensor_types.h"
#include "tensorflow/lite/schema/schema_generated.h"

namespace tinyrig {
namespace {

using flatbuffers::uoffset_t;

// TFLM supports at most a few nested subgraphs (IF/WHILE/CALL_ONCE); this bounds our walk too.
constexpr uoffset_t kMaxSubgraphs = 64;
// Quantization scales: normal positive floats whose pairwise products stay finite in float
// (real models use roughly 1e-10 .. 1e3).
constexpr float kMinQuantizedScale = 1.17549435e-38f;  // FLT_MIN
constexpr float kMaxQuantizedScale = 1e10f;
// The .tflite schema version TFLM reads (TFLITE_SCHEMA_VERSION of micro_interpreter.h).
constexpr uint32_t kSchemaVersion = 3;

// The zero points a quantized tensor of `type` can hold; false when the type has no such limit.
bool ZeroPointRange(tflite::TensorType type, int64_t* low, int64_t* high) {
  switch (type) {
    case tflite::TensorType_INT4: *low = -8; *high = 7; return true;
    case tflite::TensorType_INT8: *low = -128; *high = 127; return true;
    case tflite::TensorType_UINT8: *low = 0; *high = 255; return true;
    case tflite::TensorType_INT16: *low = -32768; *high = 32767; return true;
    default: return false;
  }
}

// Scales must be finite and non-negative; zero points must fit the tensor's integer type.
// Kernels derive multipliers and offsets from them without checking.
Status CheckQuantization(const tflite::Tensor& tensor, uoffset_t subgraph_index,
                         uoffset_t tensor_index, ModelCheck* check) {
  int64_t low = 0;
  int64_t high = 0;
  const bool quantized_type = ZeroPointRange(tensor.type(), &low, &high);
  const auto* quantization = tensor.quantization();
  // TFLM gives an int8/int16 tensor without quantization a scale of 0, which kernels divide by.
  if (quantized_type && (quantization == nullptr || quantization->scale() == nullptr ||
                         quantization->scale()->size() == 0)) {
    return Reject(check, "subgraph %u tensor %u: %s tensor without quantization scale",
                  subgraph_index, tensor_index, tflite::EnumNameTensorType(tensor.type()));
  }
  if (quantization == nullptr) return Status::OK;
  if (const auto* scales = quantization->scale()) {
    for (uoffset_t i = 0; i < scales->size(); ++i) {
      const float scale = scales->Get(i);
      // Kernels compute float(scale_a * scale_b) / scale_c: a zero or huge scale on a
      // quantized tensor makes that inf and the int conversion after it undefined (fuzzer).
      // Any tensor: LSTM and others read scales of int32/float tensors too (no real model has a
      // zero scale).
      const bool ok = scale >= kMinQuantizedScale && scale <= kMaxQuantizedScale;
      if (!ok) {
        return Reject(check, "subgraph %u tensor %u: quantization scale %u out of range",
                      subgraph_index, tensor_index, i);
      }
    }
  }
  const auto* zero_points = quantization->zero_point();
  // The flatbuffers Verifier checks 4-byte alignment only; TFLM reads these int64s in place
  // (an 8-byte load: a fault where unaligned access traps). Builders align them to 8.
  if (zero_points != nullptr && zero_points->size() != 0 &&
      reinterpret_cast<uintptr_t>(zero_points->data()) % alignof(int64_t) != 0) {
    return Reject(check, "subgraph %u tensor %u: misaligned zero points", subgraph_index,
                  tensor_index);
  }
  if (zero_points != nullptr && quantized_type) {
    for (uoffset_t i = 0; i < zero_points->size(); ++i) {
      const int64_t zero_point = zero_points->Get(i);
      if (zero_point < low || zero_point > high) {
        return Reject(check, "subgraph %u tensor %u: zero point %lld out of range", subgraph_index,
                      tensor_index, static_cast<long long>(zero_point));
      }
    }
  }
  return Status::OK;
}

bool HasConstantData(const tflite::Model& model, const tflite::Tensor& tensor) {
  const tflite::Buffer* buffer = model.buffers()->Get(tensor.buffer());
  return buffer != nullptr && buffer->data() != nullptr && buffer->data()->size() != 0;
}

bool IndexOk(int32_t index, uoffset_t count) {
  return index >= 0 && static_cast<uint64_t>(index) < count;
}

// Every entry of `indices` in [0, count), or -1 when `optional_allowed`.
bool IndicesOk(const flatbuffers::Vector<int32_t>* indices, uoffset_t count,
               bool optional_allowed, uoffset_t* bad_position, int32_t* bad_value) {
  if (indices == nullptr) return true;
  for (uoffset_t i = 0; i < indices->size(); ++i) {
    const int32_t index = indices->Get(i);
    if (IndexOk(index, count) || (optional_allowed && index == -1)) continue;
    *bad_position = i;
    *bad_value = index;
    return false;
  }
  return true;
}

Status CheckTensor(const tflite::Model& model, uoffset_t subgraph_index, uoffset_t tensor_index,
                   const tflite::Tensor* tensor, ModelCheck* check) {
  if (tensor == nullptr) {
    return Reject(check, "subgraph %u tensor %u is null", subgraph_index, tensor_index);
  }
  const auto* buffers = model.buffers();
  if (tensor->buffer() >= buffers->size()) {
    return Reject(check, "subgraph %u tensor %u: buffer %u out of range (%u buffers)",
                  subgraph_index, tensor_index, tensor->buffer(), buffers->size());
  }
  const TensorTypeInfo* type = FindTensorType(tensor->type());
  if (type == nullptr) {
    return Reject(check, "subgraph %u tensor %u: unsupported type %s", subgraph_index,
                  tensor_index, tflite::EnumNameTensorType(tensor->type()));
  }
  const uint32_t element_bytes = type->element_bytes;
  if (tensor->sparsity() != nullptr) {
    return Reject(check, "subgraph %u tensor %u: sparse tensors are not supported",
                  subgraph_index, tensor_index);
  }
  uint64_t elements = 1;
  const auto* shape = tensor->shape();
  const uoffset_t rank = shape == nullptr ? 0 : shape->size();
  if (rank > kMaxTensorRank) {
    return Reject(check, "subgraph %u tensor %u: rank %u > %u", subgraph_index, tensor_index,
                  rank, kMaxTensorRank);
  }
  for (uoffset_t d = 0; d < rank; ++d) {
    const int32_t dim = shape->Get(d);
    if (dim < 0) {
      return Reject(check, "subgraph %u tensor %u: dimension %u is %d", subgraph_index,
                    tensor_index, d, dim);
    }
    elements *= static_cast<uint64_t>(dim);
    if (elements > kMaxTensorBytes) {
      return Reject(check, "subgraph %u tensor %u: too many elements", subgraph_index,
                    tensor_index);
    }
  }
  const uint64_t bytes = tensor->type() == tflite::TensorType_INT4
                             ? (elements + 1) / 2
                             : elements * element_bytes;
  if (bytes > kMaxTensorBytes) {
    return Reject(check, "subgraph %u tensor %u: %llu bytes", subgraph_index, tensor_index,
                  static_cast<unsigned long long>(bytes));
  }

  const Status quantized = CheckQuantization(*tensor, subgraph_index, tensor_index, check);
  if (quantized != Status::OK) return quantized;
  const auto* quantization = tensor->quantization();
  if (quantization != nullptr && quantization->scale() != nullptr &&
      quantization->scale()->size() > 1) {
    const uoffset_t channels = quantization->scale()->size();
    const int32_t axis = quantization->quantized_dimension();
    // Kernels index dims[quantized_dimension] and one scale per channel along it. Old
    // converters left quantized_dimension = 3 on 1-D biases: accepted when the length matches.
    const bool axis_ok =
        axis >= 0 && (static_cast<uoffset_t>(axis) < rank
                          ? static_cast<uoffset_t>(shape->Get(static_cast<uoffset_t>(axis))) ==
                                channels
                          : rank == 1 && static_cast<uoffset_t>(shape->Get(0)) == channels);
    if (!axis_ok) {
      return Reject(check, "subgraph %u tensor %u: %u quantization scales do not match axis %d",
                    subgraph_index, tensor_index, channels, axis);
    }
    const auto* zero_points = quantization->zero_point();
    if (zero_points != nullptr && zero_points->size() != 0 && zero_points->size() != 1 &&
        zero_points->size() != channels) {
      return Reject(check, "subgraph %u tensor %u: %u zero points for %u scales", subgraph_index,
                    tensor_index, zero_points->size(), channels);
    }
  }

  const tflite::Buffer* buffer = buffers->Get(tensor->buffer());
  if (buffer == nullptr) return Status::OK;  // checked in VerifyModel
  const auto* data = buffer->data();
  if (data != nullptr && data->size() != 0 && data->size() < bytes) {
    return Reject(check, "subgraph %u tensor %u: constant buffer %u has %u bytes, shape needs %llu",
                  subgraph_index, tensor_index, tensor->buffer(), data->size(),
                  static_cast<unsigned long long>(bytes));
  }
  return Status::OK;
}

Status CheckSubgraphIndex(int32_t index, uoffset_t subgraphs, uoffset_t subgraph_index,
                          uoffset_t op_index, ModelCheck* check) {
  if (IndexOk(index, subgraphs)) return Status::OK;
  return Reject(check, "subgraph %u operator %u: subgraph index %d out of range",
                subgraph_index, op_index, index);
}

// Control-flow ops name other subgraphs in their options.
Status CheckControlFlow(const tflite::Operator& op, uoffset_t subgraphs, uoffset_t sg,
                        uoffset_t op_index, ModelCheck* check) {
  Status status = Status::OK;
  if (const auto* if_options = op.builtin_options_as_IfOptions()) {
    status = CheckSubgraphIndex(if_options->then_subgraph_index(), subgraphs, sg, op_index, check);
    if (status == Status::OK) {
      status =
          CheckSubgraphIndex(if_options->else_subgraph_index(), subgraphs, sg, op_index, check);
    }
  } else if (const auto* while_options = op.builtin_options_as_WhileOptions()) {
    status =
        CheckSubgraphIndex(while_options->cond_subgraph_index(), subgraphs, sg, op_index, check);
    if (status == Status::OK) {
      status =
          CheckSubgraphIndex(while_options->body_subgraph_index(), subgraphs, sg, op_index, check);
    }
  } else if (const auto* once_options = op.builtin_options_as_CallOnceOptions()) {
    status =
        CheckSubgraphIndex(once_options->init_subgraph_index(), subgraphs, sg, op_index, check);
  }
  return status;
}

// Ranks some TFLM kernels assume without checking in Prepare (their Eval indexes dims with
// rank - 2 etc.; NDEBUG drops the DCHECKs). kAnyRank: not constrained; kAtLeast1: rank >= 1.
constexpr int kAnyRank = -1;
constexpr int kAtLeast1 = -2;
struct OperatorShapeRule {
  tflite::BuiltinOperator op;
  uoffset_t min_inputs;
  int input_rank[2];  // inputs 0 and 1
  int output_rank;    // output 0
};
constexpr OperatorShapeRule kShapeRules[] = {
    // Found by firmware/fuzz/model_fuzzer: a rank-1 filter made Eval read dims[-2].
    {tflite::BuiltinOperator_FULLY_CONNECTED, 2, {kAtLeast1, 2}, kAtLeast1},
    {tflite::BuiltinOperator_CONV_2D, 2, {4, 4}, 4},
    {tflite::BuiltinOperator_DEPTHWISE_CONV_2D, 2, {4, 4}, 4},
    {tflite::BuiltinOperator_AVERAGE_POOL_2D, 1, {4, kAnyRank}, 4},
    {tflite::BuiltinOperator_MAX_POOL_2D, 1, {4, kAnyRank}, 4},
};

bool RankOk(const flatbuffers::Vector<flatbuffers::Offset<tflite::Tensor>>& tensors,
            int32_t index, int rule) {
  if (rule == kAnyRank) return true;
  if (index < 0) return false;  // a required tensor is missing (-1)
  const auto* shape = tensors.Get(static_cast<uoffset_t>(index))->shape();
  const int rank = shape == nullptr ? 0 : static_cast<int>(shape->size());
  return rule == kAtLeast1 ? rank >= 1 : rank == rule;
}

uint64_t Elements(const tflite::Tensor& tensor) {
  uint64_t elements = 1;
  if (tensor.shape() == nullptr) return elements;
  for (uoffset_t d = 0; d < tensor.shape()->size(); ++d) {
    elements *= static_cast<uint64_t>(tensor.shape()->Get(d));  // dims >= 0, checked before
  }
  return elements;
}

int32_t LastDim(const tflite::Tensor& tensor) {
  const auto* shape = tensor.shape();
  return shape == nullptr || shape->size() == 0 ? 0 : shape->Get(shape->size() - 1);
}

// FULLY_CONNECTED's Eval trusts output depth = filter rows and batches x depth <= input size
// (DCHECKs only): the fuzzer found a filter read past its buffer. Ranks are checked before.
bool FullyConnectedShapesOk(const flatbuffers::Vector<flatbuffers::Offset<tflite::Tensor>>& all,
                            const tflite::Operator& op) {
  const tflite::Tensor& input = *all.Get(static_cast<uoffset_t>(op.inputs()->Get(0)));
  const tflite::Tensor& filter = *all.Get(static_cast<uoffset_t>(op.inputs()->Get(1)));
  const tflite::Tensor& output = *all.Get(static_cast<uoffset_t>(op.outputs()->Get(0)));
  const auto out_depth = static_cast<uint64_t>(filter.shape()->Get(0));
  const auto accum_depth = static_cast<uint64_t>(filter.shape()->Get(1));
  if (static_cast<uint64_t>(LastDim(output)) != out_depth || out_depth == 0) return false;
  const uint64_t batches = Elements(output) / out_depth;
  if (batches * accum_depth > Elements(input)) return false;
  if (op.inputs()->size() > 2 && op.inputs()->Get(2) >= 0) {
    const tflite::Tensor& bias = *all.Get(static_cast<uoffset_t>(op.inputs()->Get(2)));
    if (Elements(bias) < out_depth) return false;
  }
  return true;
}

// Elementwise binary ops: TFLM sizes its (up to 6-D) broadcast loops from the inputs and
// writes through the output's shape without checking that it is the broadcast shape (the
// fuzzer found an ADD reading and writing past its buffers).
bool IsBroadcastBinary(int builtin) {
  switch (builtin) {
    case tflite::BuiltinOperator_ADD:
    case tflite::BuiltinOperator_SUB:
    case tflite::BuiltinOperator_MUL:
    case tflite::BuiltinOperator_DIV:
    case tflite::BuiltinOperator_SQUARED_DIFFERENCE:
    case tflite::BuiltinOperator_MAXIMUM:
    case tflite::BuiltinOperator_MINIMUM:
    case tflite::BuiltinOperator_FLOOR_DIV:
    case tflite::BuiltinOperator_FLOOR_MOD:
    case tflite::BuiltinOperator_LESS:
    case tflite::BuiltinOperator_LESS_EQUAL:
    case tflite::BuiltinOperator_GREATER:
    case tflite::BuiltinOperator_GREATER_EQUAL:
    case tflite::BuiltinOperator_EQUAL:
    case tflite::BuiltinOperator_NOT_EQUAL:
    case tflite::BuiltinOperator_LOGICAL_AND:
    case tflite::BuiltinOperator_LOGICAL_OR:
      return true;
    default:
      return false;
  }
}

constexpr uoffset_t kMaxBroadcastRank = 6;

bool BroadcastShapesOk(const flatbuffers::Vector<flatbuffers::Offset<tflite::Tensor>>& all,
                       const tflite::Operator& op) {
  if (op.inputs()->size() < 2 || op.outputs()->size() < 1) return false;
  const int32_t a_index = op.inputs()->Get(0);
  const int32_t b_index = op.inputs()->Get(1);
  const int32_t out_index = op.outputs()->Get(0);
  if (a_index < 0 || b_index < 0 || out_index < 0) return false;
  const auto* a = all.Get(static_cast<uoffset_t>(a_index))->shape();
  const auto* b = all.Get(static_cast<uoffset_t>(b_index))->shape();
  const auto* out = all.Get(static_cast<uoffset_t>(out_index))->shape();
  const uoffset_t a_rank = a == nullptr ? 0 : a->size();
  const uoffset_t b_rank = b == nullptr ? 0 : b->size();
  const uoffset_t out_rank = out == nullptr ? 0 : out->size();
  const uoffset_t rank = a_rank > b_rank ? a_rank : b_rank;
  if (rank > kMaxBroadcastRank || out_rank != rank) return false;
  for (uoffset_t i = 0; i < rank; ++i) {  // from the last dimension
    const int32_t da = i < a_rank ? a->Get(a_rank - 1 - i) : 1;
    const int32_t db = i < b_rank ? b->Get(b_rank - 1 - i) : 1;
    if (da != db && da != 1 && db != 1) return false;
    const int32_t want = da == 1 ? db : da;
    if (out->Get(out_rank - 1 - i) != want) return false;
  }
  return true;
}

int32_t Dim(const tflite::Tensor& tensor, uoffset_t index) { return tensor.shape()->Get(index); }

// CONV_2D / DEPTHWISE_CONV_2D / pools (ranks already checked: NHWC, filters OHWI / 1HWO):
// strides, dilations and window sizes divide in Prepare and Eval, depths are divided and used as
// loop bounds over the buffers (the fuzzer found a division by a zero filter depth).
bool WindowOpOk(const flatbuffers::Vector<flatbuffers::Offset<tflite::Tensor>>& all,
                const tflite::Operator& op, int builtin) {
  const tflite::Tensor& input = *all.Get(static_cast<uoffset_t>(op.inputs()->Get(0)));
  const tflite::Tensor& output = *all.Get(static_cast<uoffset_t>(op.outputs()->Get(0)));
  for (uoffset_t d = 0; d < 4; ++d) {
    if (Dim(input, d) <= 0 || Dim(output, d) <= 0) return false;
  }
  if (Dim(input, 0) != Dim(output, 0)) return false;  // batches
  if (builtin == tflite::BuiltinOperator_AVERAGE_POOL_2D ||
      builtin == tflite::BuiltinOperator_MAX_POOL_2D) {
    const auto* options = op.builtin_options_as_Pool2DOptions();
    return options != nullptr && options->stride_w() > 0 && options->stride_h() > 0 &&
           options->filter_width() > 0 && options->filter_height() > 0 &&
           Dim(input, 3) == Dim(output, 3);
  }
  const tflite::Tensor& filter = *all.Get(static_cast<uoffset_t>(op.inputs()->Get(1)));
  for (uoffset_t d = 0; d < 4; ++d) {
    if (Dim(filter, d) <= 0) return false;
  }
  const int32_t input_depth = Dim(input, 3);
  const int32_t output_depth = Dim(output, 3);
  if (builtin == tflite::BuiltinOperator_CONV_2D) {
    const auto* options = op.builtin_options_as_Conv2DOptions();
    if (options == nullptr || options->stride_w() <= 0 || options->stride_h() <= 0 ||
        options->dilation_w_factor() <= 0 || options->dilation_h_factor() <= 0) {
      return false;
    }
    const int32_t filter_depth = Dim(filter, 3);
    if (input_depth % filter_depth != 0 || Dim(filter, 0) != output_depth) return false;
    const int32_t groups = input_depth / filter_depth;
    if (output_depth % groups != 0) return false;
  } else {  // DEPTHWISE_CONV_2D
    const auto* options = op.builtin_options_as_DepthwiseConv2DOptions();
    if (options == nullptr || options->stride_w() <= 0 || options->stride_h() <= 0 ||
        options->dilation_w_factor() <= 0 || options->dilation_h_factor() <= 0 ||
        Dim(filter, 0) != 1 || Dim(filter, 3) != output_depth ||
        output_depth % input_depth != 0) {
      return false;
    }
  }
  if (op.inputs()->size() > 2 && op.inputs()->Get(2) >= 0) {
    const tflite::Tensor& bias = *all.Get(static_cast<uoffset_t>(op.inputs()->Get(2)));
    if (Elements(bias) < static_cast<uint64_t>(output_depth)) return false;
  }
  return true;
}

Status CheckOperatorShapes(const tflite::SubGraph& subgraph, const tflite::Operator& op,
                           int builtin, uoffset_t sg, uoffset_t op_index, ModelCheck* check) {
  if (IsBroadcastBinary(builtin) && !BroadcastShapesOk(*subgraph.tensors(), op)) {
    return Reject(check, "subgraph %u operator %u (%s): output is not the broadcast shape", sg,
                  op_index,
                  tflite::EnumNameBuiltinOperator(static_cast<tflite::BuiltinOperator>(builtin)));
  }
  for (const OperatorShapeRule& rule : kShapeRules) {
    if (rule.op != builtin) continue;
    const auto& tensors = *subgraph.tensors();
    const auto& inputs = *op.inputs();
    bool ok = inputs.size() >= rule.min_inputs && op.outputs()->size() >= 1 &&
              RankOk(tensors, op.outputs()->Get(0), rule.output_rank);
    for (uoffset_t i = 0; ok && i < 2 && i < inputs.size(); ++i) {
      ok = RankOk(tensors, inputs.Get(i), rule.input_rank[i]);
    }
    if (ok && rule.op == tflite::BuiltinOperator_FULLY_CONNECTED) {
      ok = FullyConnectedShapesOk(tensors, op);
    } else if (ok) {
      ok = WindowOpOk(tensors, op, builtin);
    }
    if (!ok) {
      return Reject(check, "subgraph %u operator %u (%s): inconsistent shapes or options",
                    sg, op_index, tflite::EnumNameBuiltinOperator(rule.op));
    }
  }
  return Status::OK;
}

Status CheckSubgraph(const tflite::Model& model, uoffset_t sg, ModelCheck* check) {
  const tflite::SubGraph* subgraph = model.subgraphs()->Get(sg);
  if (subgraph == nullptr || subgraph->tensors() == nullptr || subgraph->inputs() == nullptr ||
      subgraph->outputs() == nullptr || subgraph->operators() == nullptr) {
    return Reject(check, "subgraph %u lacks tensors, inputs, outputs or operators", sg);
  }
  const auto* tensors = subgraph->tensors();
  const uoffset_t tensor_count = tensors->size();
  for (uoffset_t t = 0; t < tensor_count; ++t) {
    const Status status = CheckTensor(model, sg, t, tensors->Get(t), check);
    if (status != Status::OK) return status;
  }
  uoffset_t position = 0;
  int32_t value = 0;
  if (!IndicesOk(subgraph->inputs(), tensor_count, false, &position, &value)) {
    return Reject(check, "subgraph %u input %u: tensor %d out of range (%u tensors)", sg,
                  position, value, tensor_count);
  }
  if (!IndicesOk(subgraph->outputs(), tensor_count, false, &position, &value)) {
    return Reject(check, "subgraph %u output %u: tensor %d out of range (%u tensors)", sg,
                  position, value, tensor_count);
  }
  // Tensors the firmware or TFLM writes must not point into the model: TFLM hands a tensor
  // with constant data a pointer into the flatbuffer, so SET_INPUT (or IF / WHILE copying into
  // a subgraph's inputs, or a kernel writing its output, below) would rewrite the model slot
  // under its CRC and id. Outputs are only read. Variables get their own memory.
  for (const auto* list : {subgraph->inputs(), subgraph->outputs()}) {
    for (const int32_t index : *list) {
      const tflite::Tensor& tensor = *tensors->Get(static_cast<uoffset_t>(index));
      if (list == subgraph->inputs() && !tensor.is_variable() && HasConstantData(model, tensor)) {
        return Reject(check, "subgraph %u tensor %u: input with constant data", sg, index);
      }
      // The host reads and writes model inputs and outputs as numpy arrays.
      if (sg == 0 && !FindTensorType(tensor.type())->io) {
        return Reject(check, "subgraph 0 tensor %u: %s cannot be a model input or output",
                      index, tflite::EnumNameTensorType(tensor.type()));
      }
    }
  }
  const uoffset_t opcode_count = model.operator_codes()->size();
  const auto* operators = subgraph->operators();
  for (uoffset_t i = 0; i < operators->size(); ++i) {
    const tflite::Operator* op = operators->Get(i);
    if (op == nullptr || op->inputs() == nullptr || op->outputs() == nullptr) {
      return Reject(check, "subgraph %u operator %u lacks inputs or outputs", sg, i);
    }
    if (op->opcode_index() >= opcode_count) {
      return Reject(check, "subgraph %u operator %u: opcode index %u out of range (%u codes)",
                    sg, i, op->opcode_index(), opcode_count);
    }
    if (!IndicesOk(op->inputs(), tensor_count, true, &position, &value)) {
      return Reject(check, "subgraph %u operator %u input %u: tensor %d out of range", sg, i,
                    position, value);
    }
    // -1 marks an omitted optional input; no op's first input is optional, and kernels read it
    // unchecked (the model fuzzer found NEG dereferencing TFLM's null for input -1).
    if (op->inputs()->size() != 0 && op->inputs()->Get(0) < 0) {
      return Reject(check, "subgraph %u operator %u: input 0 is missing", sg, i);
    }
    if (!IndicesOk(op->outputs(), tensor_count, false, &position, &value)) {
      return Reject(check, "subgraph %u operator %u output %u: tensor %d out of range", sg, i,
                    position, value);
    }
    if (!IndicesOk(op->intermediates(), tensor_count, false, &position, &value)) {
      return Reject(check, "subgraph %u operator %u intermediate %u: tensor %d out of range",
                    sg, i, position, value);
    }
    for (const int32_t index : *op->outputs()) {
      const tflite::Tensor& tensor = *tensors->Get(static_cast<uoffset_t>(index));
      if (!tensor.is_variable() && HasConstantData(model, tensor)) {
        return Reject(check, "subgraph %u operator %u writes tensor %d, which has constant data",
                      sg, i, index);
      }
    }
    Status status = CheckControlFlow(*op, model.subgraphs()->size(), sg, i, check);
    if (status != Status::OK) return status;
    const tflite::OperatorCode* code = model.operator_codes()->Get(op->opcode_index());
    const int builtin = code->builtin_code() > code->deprecated_builtin_code()
                            ? static_cast<int>(code->builtin_code())
                            : static_cast<int>(code->deprecated_builtin_code());
    // Kernels read input 0 and write output 0 without counting them (the model fuzzer found
    // NEG with no inputs dereferencing null); only these ops have none.
    const bool no_inputs_ok = builtin == tflite::BuiltinOperator_VAR_HANDLE ||
                              builtin == tflite::BuiltinOperator_CALL_ONCE;
    const bool no_outputs_ok = builtin == tflite::BuiltinOperator_ASSIGN_VARIABLE ||
                               builtin == tflite::BuiltinOperator_CALL_ONCE;
    if ((op->inputs()->size() == 0 && !no_inputs_ok) ||
        (op->outputs()->size() == 0 && !no_outputs_ok)) {
      return Reject(check, "subgraph %u operator %u (%s) has no inputs or outputs", sg, i,
                    tflite::EnumNameBuiltinOperator(
                        static_cast<tflite::BuiltinOperator>(builtin)));
    }
    status = CheckOperatorShapes(*subgraph, *op, builtin, sg, i, check);
    if (status != Status::OK) return status;
  }
  return Status::OK;
}

}  // namespace

Status Reject(ModelCheck* check, const char* format, ...) {
  va_list args;
  va_start(args, format);
  std::vsnprintf(check->detail, sizeof(check->detail), format, args);
  va_end(args);
  return Status::MODEL_INVALID;
}

Status VerifyModel(const uint8_t* data, size_t size, ModelCheck* check) {
  check->detail[0] = '\0';
  if (data == nullptr || size < 8) {
    return Reject(check, "model is %u bytes", static_cast<unsigned>(size));
  }
  if (size >= FLATBUFFERS_MAX_BUFFER_SIZE) return Reject(check, "model too large");
  flatbuffers::Verifier verifier(data, size);
  if (!tflite::VerifyModelBuffer(verifier)) {
    return Reject(check, "flatbuffer verification failed");
  }
  const tflite::Model* model = tflite::GetModel(data);
  if (model->version() != kSchemaVersion) {
    return Reject(check, "schema version %u, expected %u", model->version(), kSchemaVersion);
  }
  const auto* subgraphs = model->subgraphs();
  if (subgraphs == nullptr || subgraphs->size() == 0 || subgraphs->size() > kMaxSubgraphs) {
    return Reject(check, "%u subgraphs (1..%u supported)",
                  subgraphs == nullptr ? 0u : subgraphs->size(), kMaxSubgraphs);
  }
  const auto* codes = model->operator_codes();
  if (codes == nullptr) return Reject(check, "no operator codes");
  for (uoffset_t i = 0; i < codes->size(); ++i) {
    const tflite::OperatorCode* code = codes->Get(i);
    if (code == nullptr) return Reject(check, "operator code %u is null", i);
    const int builtin = code->builtin_code() > code->deprecated_builtin_code()
                            ? static_cast<int>(code->builtin_code())
                            : static_cast<int>(code->deprecated_builtin_code());
    if (builtin < tflite::BuiltinOperator_MIN || builtin > tflite::BuiltinOperator_MAX) {
      return Reject(check, "operator code %u: builtin %d out of range", i, builtin);
    }
    if (builtin == tflite::BuiltinOperator_CUSTOM && code->custom_code() == nullptr) {
      return Reject(check, "operator code %u: custom op without a name", i);
    }
  }
  const auto* buffers = model->buffers();
  if (buffers == nullptr || buffers->size() == 0) return Reject(check, "no buffers");
  for (uoffset_t i = 0; i < buffers->size(); ++i) {
    const tflite::Buffer* buffer = buffers->Get(i);
    if (buffer == nullptr) return Reject(check, "buffer %u is null", i);
    // Buffers stored after the flatbuffer (offset/size, for models > 2 GB) are not supported.
    if (buffer->offset() > 1 || buffer->size() > 1) {
      return Reject(check, "buffer %u is stored outside the flatbuffer", i);
    }
  }
  for (uoffset_t sg = 0; sg < subgraphs->size(); ++sg) {
    const Status status = CheckSubgraph(*model, sg, check);
    if (status != Status::OK) return status;
  }
  // Control-flow call graph and the offline memory plan (runner/memory_plan_check.h).
  return CheckMemoryPlan(*model, check);
}

}  // namespace tinyrig
