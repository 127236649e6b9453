#include "runner/model_verifier.h"

#include <cmath>
#include <cstdarg>
#include <cstdio>

#include "flatbuffers/flatbuffers.h"
#include "tensorflow/lite/schema/schema_generated.h"

namespace tinyrig {
namespace {

using flatbuffers::uoffset_t;

// TFLM supports at most a few nested subgraphs (IF/WHILE/CALL_ONCE); this bounds our walk too.
constexpr uoffset_t kMaxSubgraphs = 64;
// Scales of int4/int8/uint8/int16 tensors: normal positive floats whose pairwise products stay
// finite in float (real models use roughly 1e-10 .. 1e3).
constexpr float kMinQuantizedScale = 1.17549435e-38f;  // FLT_MIN
constexpr float kMaxQuantizedScale = 1e10f;
// The .tflite schema version TFLM reads (TFLITE_SCHEMA_VERSION of micro_interpreter.h).
constexpr uint32_t kSchemaVersion = 3;

Status Reject(ModelCheck* check, const char* format, ...) {
  va_list args;
  va_start(args, format);
  std::vsnprintf(check->detail, sizeof(check->detail), format, args);
  va_end(args);
  return Status::MODEL_INVALID;
}

// Bytes per element; 0 for a type the firmware cannot hold. INT4 is packed (see BufferBytes).
uint32_t ElementBytes(tflite::TensorType type) {
  switch (type) {
    case tflite::TensorType_BOOL:
    case tflite::TensorType_UINT8:
    case tflite::TensorType_INT8:
    case tflite::TensorType_INT4:
      return 1;
    case tflite::TensorType_FLOAT16:
    case tflite::TensorType_BFLOAT16:
    case tflite::TensorType_INT16:
    case tflite::TensorType_UINT16:
      return 2;
    case tflite::TensorType_FLOAT32:
    case tflite::TensorType_INT32:
    case tflite::TensorType_UINT32:
    case tflite::TensorType_RESOURCE:
      return 4;
    case tflite::TensorType_FLOAT64:
    case tflite::TensorType_INT64:
    case tflite::TensorType_UINT64:
    case tflite::TensorType_COMPLEX64:
      return 8;
    case tflite::TensorType_COMPLEX128:
      return 16;
    default:
      return 0;  // STRING, VARIANT, INT2, UINT4, FLOAT8*: TFLM has no storage for them
  }
}

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
  const auto* quantization = tensor.quantization();
  if (quantization == nullptr) return Status::OK;
  int64_t low = 0;
  int64_t high = 0;
  const bool quantized_type = ZeroPointRange(tensor.type(), &low, &high);
  if (const auto* scales = quantization->scale()) {
    for (uoffset_t i = 0; i < scales->size(); ++i) {
      const float scale = scales->Get(i);
      // Kernels compute float(scale_a * scale_b) / scale_c: a zero or huge scale on a
      // quantized tensor makes that inf and the int conversion after it undefined (fuzzer).
      const bool ok = quantized_type ? scale >= kMinQuantizedScale && scale <= kMaxQuantizedScale
                                     : std::isfinite(scale) && scale >= 0.0f;
      if (!ok) {
        return Reject(check, "subgraph %u tensor %u: quantization scale %u out of range",
                      subgraph_index, tensor_index, i);
      }
    }
  }
  const auto* zero_points = quantization->zero_point();
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
  const uint32_t element_bytes = ElementBytes(tensor->type());
  if (element_bytes == 0) {
    return Reject(check, "subgraph %u tensor %u: unsupported type %d", subgraph_index,
                  tensor_index, static_cast<int>(tensor->type()));
  }
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

Status CheckOperatorShapes(const tflite::SubGraph& subgraph, const tflite::Operator& op,
                           int builtin, uoffset_t sg, uoffset_t op_index, ModelCheck* check) {
  for (const OperatorShapeRule& rule : kShapeRules) {
    if (rule.op != builtin) continue;
    const auto& tensors = *subgraph.tensors();
    const auto& inputs = *op.inputs();
    bool ok = inputs.size() >= rule.min_inputs && op.outputs()->size() >= 1 &&
              RankOk(tensors, op.outputs()->Get(0), rule.output_rank);
    for (uoffset_t i = 0; ok && i < 2 && i < inputs.size(); ++i) {
      ok = RankOk(tensors, inputs.Get(i), rule.input_rank[i]);
    }
    if (!ok) {
      return Reject(check, "subgraph %u operator %u (%s): inputs/outputs of unexpected rank",
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
    if (!IndicesOk(op->outputs(), tensor_count, false, &position, &value)) {
      return Reject(check, "subgraph %u operator %u output %u: tensor %d out of range", sg, i,
                    position, value);
    }
    if (!IndicesOk(op->intermediates(), tensor_count, false, &position, &value)) {
      return Reject(check, "subgraph %u operator %u intermediate %u: tensor %d out of range",
                    sg, i, position, value);
    }
    Status status = CheckControlFlow(*op, model.subgraphs()->size(), sg, i, check);
    if (status != Status::OK) return status;
    const tflite::OperatorCode* code = model.operator_codes()->Get(op->opcode_index());
    const int builtin = code->builtin_code() > code->deprecated_builtin_code()
                            ? static_cast<int>(code->builtin_code())
                            : static_cast<int>(code->deprecated_builtin_code());
    status = CheckOperatorShapes(*subgraph, *op, builtin, sg, i, check);
    if (status != Status::OK) return status;
  }
  return Status::OK;
}

}  // namespace

Status VerifyModel(const uint8_t* data, size_t size, ModelCheck* check) {
  check->detail[0] = '\0';
  if (data == nullptr || size < 8) return Reject(check, "model is %u bytes", static_cast<unsigned>(size));
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
  return Status::OK;
}

}  // namespace tinyrig
