// The ONE table of tensor element types the firmware accepts in a model (docs/protocol.md: a
// tensor's dtype on the wire is its TfLiteType code). tests/firmware/test_tensor_types.py ties
// it to the .tflite schema (tinyrig.model TensorType), to TFLM's TfLiteType codes and sizes
// (tflite_types.h, memory_helpers.cc of the pinned tree) and to the host's TfLiteType and numpy
// dtypes (tinyrig.protocol.messages): the host decodes every code, and can hold every type a
// device may report as a model input or output.
//
// Left out on purpose: STRING and VARIANT (no storage in TFLM), RESOURCE (the runner gives
// TFLM no resource variables), UINT16 / UINT32 / UINT64 / COMPLEX64 / COMPLEX128 / BFLOAT16 /
// INT2 / UINT4 / FLOAT8 (no TFLM kernel of the pinned tree computes on them, and most have no
// host numpy type). INT4 is packed weights only: never a model input or output.
#pragma once

#include <cstdint>

#include "tensorflow/lite/c/common.h"
#include "tensorflow/lite/schema/schema_generated.h"

namespace tinyrig {

struct TensorTypeInfo {
  tflite::TensorType schema;  // in the .tflite
  TfLiteType tflite_type;     // in TFLM and on the wire
  uint8_t element_bytes;      // TfLiteTypeSizeOf (INT4: 1, TFLM unpacks it)
  bool io;                    // may be a model input or output (the host has a numpy type)
};

// clang-format off
inline constexpr TensorTypeInfo kTensorTypes[] = {
    {tflite::TensorType_FLOAT32, kTfLiteFloat32, 4, true},
    {tflite::TensorType_INT32, kTfLiteInt32, 4, true},
    {tflite::TensorType_UINT8, kTfLiteUInt8, 1, true},
    {tflite::TensorType_INT64, kTfLiteInt64, 8, true},
    {tflite::TensorType_BOOL, kTfLiteBool, 1, true},
    {tflite::TensorType_INT16, kTfLiteInt16, 2, true},
    {tflite::TensorType_INT8, kTfLiteInt8, 1, true},
    {tflite::TensorType_FLOAT16, kTfLiteFloat16, 2, true},
    {tflite::TensorType_FLOAT64, kTfLiteFloat64, 8, true},
    {tflite::TensorType_INT4, kTfLiteInt4, 1, false},
};
// clang-format on

// The entry for `type`, or nullptr when the firmware does not accept it.
inline const TensorTypeInfo* FindTensorType(tflite::TensorType type) {
  for (const TensorTypeInfo& info : kTensorTypes) {
    if (info.schema == type) return &info;
  }
  return nullptr;
}

}  // namespace tinyrig
