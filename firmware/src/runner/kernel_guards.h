// Run-time checks in front of TFLM kernels that index memory with tensor *values* (data the host
// sends, or that earlier ops computed) and check them only with TFLITE_DCHECK, which -DNDEBUG
// removes: an out-of-range value reads or writes outside the tensors (issue 8, finding 4). Later
// upstream TFLM checks some of them at run time; the pinned tree does not, and its sources are
// never copied here. Instead InstallKernelGuards() replaces the `invoke` of these ops'
// registrations in the resolver with a check that fails the op (INVOKE_FAILED, with a LOG
// naming the op) when a value is out of range, and otherwise calls TFLM's own invoke:
//
//   GATHER          every position in [0, dims[axis]) of the params (gather.cc: DCHECK only)
//   GATHER_ND       every index in [0, dims[j]) (gather_nd.cc checks only the flat offset: a
//                   negative index inside the buffer returned a wrong tensor silently)
//   SLICE           begin/size: one per input dimension, 0 <= begin <= begin + size <= dim,
//                   output shape = size, input rank <= 5 and output type = input type
//                   (slice.cc: DCHECK only, begin/size read past their tensors)
//   ARG_MAX/ARG_MIN axis in [-rank, rank) (arg_min_max.cc: unchecked)
//
// Checked and left alone: EMBEDDING_LOOKUP, CUMSUM, REVERSE_V2 (they check the values at run
// time), DYNAMIC_UPDATE_SLICE (clamps). STRIDED_SLICE, PAD, TRANSPOSE, SPLIT, SPLIT_V, FILL,
// BROADCAST_TO, RESIZE_*, EXPAND_DIMS take their index tensors as constants only (Prepare:
// IsConstantTensor): the values are the model's, which the model fuzzer covers, never the
// host's. Not reviewed yet: SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND, MIRROR_PAD (block shapes,
// crops, paddings read in Eval). ONE_HOT is not in the pinned tree. The custom ops that parse
// their options unchecked are not registered in the upload firmware at all
// (tinyrig.model.export.UPLOAD_EXCLUDED_CUSTOM_OPS).
#pragma once

#include "tensorflow/lite/micro/micro_common.h"
#include "tensorflow/lite/schema/schema_generated.h"

namespace tflite {
class MicroOpResolver;
}

namespace tinyrig {

// Wraps the registrations of the ops above that `resolver` holds (others are skipped). Call
// once, after every op was added; `resolver` must be a mutable object (FindOp hands out const
// pointers into its own registration array).
void InstallKernelGuards(const tflite::MicroOpResolver& resolver);

// The same for one registration of op `op` (the upload firmware's resolver adds ops one at a
// time: runner/lazy_op_resolver.h); other ops are left alone.
void GuardRegistration(tflite::BuiltinOperator op, TFLMRegistration* registration);

}  // namespace tinyrig
