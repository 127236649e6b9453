#include "runner/model_verifier.h"

#include <cstdarg>
#include <cstdio>

#include "flatbuffers/flatbuffers.h"
#include "tensorflow/lite/schema/schema_generated.h"

namespace tinyrig {
namespace {

using flatbuffers::uoffset_t;

// TFLM supports at most a few nested subgraphs (IF/WHILE/CALL_ONCE); this bounds our walk too.
constexpr uoffset_t kMaxSubgraphs = 64;

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

  const auto* quantization = tensor->quantization();
  if (quantization != nullptr && quantization->scale() != nullptr &&
      quantization->scale()->size() > 1) {
    const uoffset_t channels = quantization->scale()->size();
    const int32_t axis = quantization->quantized_dimension();
    if (axis < 0 || static_cast<uoffset_t>(axis) >= rank ||
        static_cast<uoffset_t>(shape->Get(static_cast<uoffset_t>(axis))) != channels) {
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
  if (const auto* options = op.builtin_options_as_IfOptions()) {
    status = CheckSubgraphIndex(options->then_subgraph_index(), subgraphs, sg, op_index, check);
    if (status == Status::OK) {
      status = CheckSubgraphIndex(options->else_subgraph_index(), subgraphs, sg, op_index, check);
    }
  } else if (const auto* options = op.builtin_options_as_WhileOptions()) {
    status = CheckSubgraphIndex(options->cond_subgraph_index(), subgraphs, sg, op_index, check);
    if (status == Status::OK) {
      status = CheckSubgraphIndex(options->body_subgraph_index(), subgraphs, sg, op_index, check);
    }
  } else if (const auto* options = op.builtin_options_as_CallOnceOptions()) {
    status = CheckSubgraphIndex(options->init_subgraph_index(), subgraphs, sg, op_index, check);
  }
  return status;
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
    const Status status = CheckControlFlow(*op, model.subgraphs()->size(), sg, i, check);
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
  if (model->version() != TFLITE_SCHEMA_VERSION) {
    return Reject(check, "schema version %u, expected %d", model->version(),
                  TFLITE_SCHEMA_VERSION);
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
