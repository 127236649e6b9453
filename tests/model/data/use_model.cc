// Compiled against every exported model by tests/model/test_export.py: uses each binding of
// tinyrig_model.h the way the firmware does.
#include <cstdint>

#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tinyrig_model.h"

alignas(16) static uint8_t g_arena[TINYRIG_ARENA_BYTES];
static const unsigned char kId[8] = TINYRIG_MODEL_ID;
static_assert(sizeof(kId) == 8, "TINYRIG_MODEL_ID is 8 bytes");
static_assert(tinyrig_model_meta::kArenaBytes == TINYRIG_ARENA_BYTES, "arena");
static_assert(tinyrig_model_meta::kNumInputs >= 1, "inputs");
static_assert(sizeof(tinyrig_model_meta::kSha256) == 65, "sha256 hex");

int tinyrig_use_model() {
  static TinyrigOpResolver resolver;
  if (TINYRIG_REGISTER_OPS(resolver) != kTfLiteOk) return 1;
  const tflite::Model* model = tflite::GetModel(TINYRIG_MODEL_DATA);
  tflite::MicroInterpreter interpreter(model, resolver, g_arena, sizeof(g_arena));
  if (interpreter.AllocateTensors() != kTfLiteOk) return 2;
  if (interpreter.input(0)->type != tinyrig_model_meta::kInputs[0].type) return 3;
  return static_cast<int>(TINYRIG_MODEL_SIZE) + kId[0] +
         static_cast<int>(sizeof(TINYRIG_TFLM_VERSION)) + TINYRIG_OP_COUNT;
}
