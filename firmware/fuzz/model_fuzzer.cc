// libFuzzer target: the upload firmware's model loader on arbitrary bytes, exactly as
// MODEL_COMMIT runs it: VerifyModel (flatbuffers Verifier + semantic checks), then
// ModelRunner::Load (MicroInterpreter with every TFLM op, AllocateTensors), then Invoke on
// deterministic input bytes. Any crash or sanitizer report is a model that would take the
// device down.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

#include "fuzz_hal.h"
#include "runner/model_runner.h"
#include "runner/model_verifier.h"
#include "tensorflow/lite/c/common.h"

namespace {

constexpr size_t kSlotBytes = TINYRIG_MODEL_SLOT_BYTES;
tinyrig::ModelRunner g_runner;

void Run(const uint8_t* model, size_t size) {
  tinyrig::ModelCheck check;
  if (tinyrig::VerifyModel(model, size, &check) != tinyrig::Status::OK) return;
  static const uint8_t kId[tinyrig::ModelRunner::kModelIdSize] = {};
  g_runner.Load(model, size, kId);
  if (g_runner.status() != tinyrig::Status::OK) return;
  for (size_t i = 0; i < g_runner.input_count(); ++i) {
    TfLiteTensor* input = g_runner.input(i);
    for (size_t b = 0; b < input->bytes; ++b) {
      input->data.uint8[b] = static_cast<uint8_t>(b * 31 + i);
    }
  }
  g_runner.Invoke();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > kSlotBytes) return -1;  // MODEL_BEGIN would answer MODEL_TOO_LARGE
  tinyrig::fuzz::SetRunner(&g_runner);
  // Exactly `size` bytes, 16-byte aligned like the slot: ASan reports any read past the model
  // (the device's slot would silently hand out stale bytes instead).
  auto* model = static_cast<uint8_t*>(::operator new(size == 0 ? 1 : size, std::align_val_t{16}));
  if (size != 0) std::memcpy(model, data, size);
  Run(model, size);
  g_runner.Unload();
  ::operator delete(model, std::align_val_t{16});
  return 0;
}
