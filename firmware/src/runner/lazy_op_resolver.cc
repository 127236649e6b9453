#include "runner/lazy_op_resolver.h"

#include <cstring>

#include "runner/kernel_guards.h"

namespace tinyrig {

const TFLMRegistration* LazyOpResolver::Resolve(tflite::BuiltinOperator op,
                                                const char* custom) const {
  const bool is_custom = op == tflite::BuiltinOperator_CUSTOM;
  for (size_t i = 0; i < count_; ++i) {
    const TFLMRegistration& cached = entries_[i].registration;
    if (cached.builtin_code != op) continue;
    if (!is_custom || std::strcmp(cached.custom_name, custom) == 0) return &cached;
  }
  if (count_ == kCapacity) {
    overflowed_ = true;
    return nullptr;
  }
  tflite::MicroMutableOpResolver<1> one;
  if (AddRunnerOp(op, custom, one) != kTfLiteOk) return nullptr;
  const TFLMRegistration* found = is_custom ? one.FindOp(custom) : one.FindOp(op);
  if (found == nullptr) return nullptr;
  Entry& entry = entries_[count_];
  entry.registration = *found;
  entry.parser = is_custom ? nullptr : one.GetOpDataParser(op);
  // Kernels that index with tensor values get their checks (runner/kernel_guards.h).
  GuardRegistration(op, &entry.registration);
  ++count_;
  return &entry.registration;
}

const TFLMRegistration* LazyOpResolver::FindOp(tflite::BuiltinOperator op) const {
  if (op == tflite::BuiltinOperator_CUSTOM) return nullptr;
  return Resolve(op, nullptr);
}

const TFLMRegistration* LazyOpResolver::FindOp(const char* op) const {
  if (op == nullptr) return nullptr;
  return Resolve(tflite::BuiltinOperator_CUSTOM, op);
}

tflite::TfLiteBridgeBuiltinParseFunction LazyOpResolver::GetOpDataParser(
    tflite::BuiltinOperator op) const {
  if (op == tflite::BuiltinOperator_CUSTOM || Resolve(op, nullptr) == nullptr) return nullptr;
  for (size_t i = 0; i < count_; ++i) {
    if (entries_[i].registration.builtin_code == op) return entries_[i].parser;
  }
  return nullptr;
}

void LazyOpResolver::Clear() {
  count_ = 0;
  overflowed_ = false;
}

}  // namespace tinyrig
