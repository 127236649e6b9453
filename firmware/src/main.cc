// tinyrig firmware entry point: boot, load the built-in model, serve the protocol.
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "app/protocol_server.h"
#include "app/stack_watermark.h"
#include "hal/hal.h"
#include "runner/model_runner.h"
#include "tensorflow/lite/micro/debug_log.h"
#include "tinyrig_model.h"  // the exported model: TINYRIG_MODEL_DATA, _SIZE, _ID, TFLM version

#ifndef TINYRIG_MODEL_UPLOAD
#define TINYRIG_MODEL_UPLOAD 0
#endif

namespace {

tinyrig::ModelRunner g_runner;
#if TINYRIG_MODEL_UPLOAD
// The upload ("runner") firmware: a slot that MODEL_BEGIN/CHUNK/COMMIT fill, in a static RAM
// array or (TINYRIG_MODEL_SLOT_FLASH) the flash region the board facts reserve.
#if defined(TINYRIG_MODEL_SLOT_FLASH) && TINYRIG_MODEL_SLOT_FLASH
tinyrig::ModelSlot g_model_slot(tinyrig::hal::FlashModelStore());
#else
#ifndef TINYRIG_MODEL_SLOT_BYTES
#error "the upload firmware needs TINYRIG_MODEL_SLOT_BYTES (platformio.ini)"
#endif
alignas(16) uint8_t g_model_slot_storage[TINYRIG_MODEL_SLOT_BYTES];
tinyrig::RamModelStore g_model_store(g_model_slot_storage, sizeof(g_model_slot_storage));
tinyrig::ModelSlot g_model_slot(g_model_store);
#endif
tinyrig::ProtocolServer g_server(g_runner, TINYRIG_TFLM_VERSION, &g_model_slot);
#else
tinyrig::ProtocolServer g_server(g_runner, TINYRIG_TFLM_VERSION);
#endif
bool g_server_started = false;

constexpr uint8_t kBuiltinModelId[tinyrig::ModelRunner::kModelIdSize] = TINYRIG_MODEL_ID;

}  // namespace

// TFLM's log hook (tensorflow/lite/micro/debug_log.h); the others are in app/tflm_platform.cc.
extern "C" void DebugLog(const char* format, va_list args) {
  static char message[256];
  const int written = std::vsnprintf(message, sizeof(message), format, args);
  if (written <= 0) return;
  size_t length = std::strlen(message);
  // MicroPrintf sends the text, then a separate "\r\n": trailing whitespace is dropped and an
  // empty message is not logged.
  while (length > 0 && (message[length - 1] == '\n' || message[length - 1] == '\r' ||
                        message[length - 1] == ' ')) {
    message[--length] = '\0';
  }
  if (length == 0) return;
  g_runner.ObserveLoadMessage(message);
  tinyrig::hal::DebugWrite(message, length);
  tinyrig::hal::DebugWrite("\n", 1);
  if (g_server_started) g_server.Log(tinyrig::LogLevel::kError, message);
}

int main() {
  namespace hal = tinyrig::hal;
  tinyrig::stack::Paint();  // before anything runs deep: STATS reports the high-water mark
  if (!hal::Init()) return 1;
  g_server.Start(hal::GetBootReason());
  g_server_started = true;
  // Upload firmware whose slot outlives a reset (flash) boots with the model it last took.
  if (!g_server.LoadStoredModel()) {
    g_runner.Load(TINYRIG_MODEL_DATA, TINYRIG_MODEL_SIZE, kBuiltinModelId);
  }
  g_server.OnModelLoaded();

  uint8_t received[64];
  while (!hal::ShouldExit()) {
    const size_t count = hal::UartRead(received, sizeof(received));
    if (count == 0) {
      g_server.Poll();
      hal::WaitForEvent();
      continue;
    }
    g_server.Receive(received, count);
    if (g_server.reset_requested()) {
      hal::UartFlush();
      hal::SystemReset();
    }
  }
  return 0;
}
