// The op resolver of the upload ("runner") firmware. TFLM's MicroMutableOpResolver holds the
// registration and option parser of every op it was given, in RAM: for every op of the pinned
// TFLM that is ~3.6 KiB on a 32-bit core, more than a 16 KiB board can spare. This resolver
// holds none up front: the first FindOp() of an op adds it through the generated switch
// (runner/all_ops_resolver.h: TFLM's own Add* of that op, so the registration and parser are
// exactly those of MicroMutableOpResolver) and caches it in a small static table; later
// lookups return the cached entry (TFLM keeps pointers to registrations: they stay put until
// Clear()). Every op stays available; only the ones the loaded model uses take RAM.
#pragma once

#include <cstddef>

#include "runner/all_ops_resolver.h"
#include "tensorflow/lite/micro/micro_op_resolver.h"

// Distinct ops one model may use (36 bytes each on a 32-bit core). Default: every op.
#ifndef TINYRIG_RUNNER_OP_CACHE
#define TINYRIG_RUNNER_OP_CACHE kAllOpsCount
#endif

namespace tinyrig {

class LazyOpResolver final : public tflite::MicroOpResolver {
 public:
  static constexpr size_t kCapacity = TINYRIG_RUNNER_OP_CACHE;

  const TFLMRegistration* FindOp(tflite::BuiltinOperator op) const override;
  const TFLMRegistration* FindOp(const char* op) const override;
  tflite::TfLiteBridgeBuiltinParseFunction GetOpDataParser(
      tflite::BuiltinOperator op) const override;

  // Forgets every cached op: call only while no interpreter uses them (before a model loads).
  void Clear();
  size_t cached() const { return count_; }
  // True when a lookup missed because the cache was full (the model uses more than kCapacity
  // distinct ops), not because the op is absent.
  bool overflowed() const { return overflowed_; }

 private:
  struct Entry {
    TFLMRegistration registration;
    tflite::TfLiteBridgeBuiltinParseFunction parser;
  };
  const TFLMRegistration* Resolve(tflite::BuiltinOperator op, const char* custom) const;

  // FindOp is const in TFLM's interface; the cache is what it fills.
  mutable Entry entries_[kCapacity] = {};
  mutable size_t count_ = 0;
  mutable bool overflowed_ = false;
};

}  // namespace tinyrig
