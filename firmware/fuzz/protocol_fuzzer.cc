// libFuzzer target: the whole device protocol path of the upload firmware: COBS decoder, frame
// parser, ProtocolServer dispatch of every message (SET_INPUT/INFER/GET_OUTPUT on a loaded
// model, PROFILE, LINK_TEST echo, MODEL_BEGIN/CHUNK/COMMIT into a small slot, verifier and
// interpreter on what was uploaded).
//
// Input: byte 0 even -> the rest is raw wire bytes (after a valid HELLO); odd -> the rest is
// records `type u8, len u16, payload` that the harness frames correctly (COBS + CRC), so the
// fuzzer reaches the handlers instead of dying at the CRC. In record mode every byte the device
// sends must decode as a valid frame with payload <= max_payload (unless a LINK_TEST echo ran).
// Semantic oracle (record mode, byte 0 bit 1 set): every request is delivered twice, as a host
// retry or a duplicating link would, and the device must answer the copy with exactly the bytes
// of its first reply (docs/protocol.md §2: every request is idempotent) — so a retried INVOKE or
// MODEL_COMMIT can never run twice.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include "app/protocol_server.h"
#include "fuzz_hal.h"
#include "fuzz_seed_model.h"  // kSeedModel: models/sine/sine_int8.tflite, the boot model
#include "protocol/cobs.h"
#include "protocol/frame.h"
#include "runner/model_slot.h"

namespace {

alignas(16) uint8_t g_slot_storage[TINYRIG_MODEL_SLOT_BYTES];
alignas(16) uint8_t g_boot_model[sizeof(kSeedModel)];
tinyrig::ModelRunner g_runner;
alignas(tinyrig::ModelSlot) uint8_t g_slot_memory[sizeof(tinyrig::ModelSlot)];
alignas(tinyrig::ProtocolServer) uint8_t g_server_memory[sizeof(tinyrig::ProtocolServer)];

// Checks the device's output stream: every frame must be well formed.
uint8_t g_out_frame[tinyrig::kMaxPayload + tinyrig::kFrameOverhead + 16];
tinyrig::CobsDecoder* g_out_decoder = nullptr;
bool g_check_output = false;

// Bytes the device sent for the current request (the oracle compares two of these).
uint8_t g_reply_bytes[2][tinyrig::kMaxPayload * 2 + 64];
size_t g_reply_size[2] = {0, 0};
int g_capture = -1;  // which g_reply_bytes records, -1: none

void CheckOutput(const uint8_t* data, size_t size) {
  if (g_capture >= 0) {
    for (size_t i = 0; i < size && g_reply_size[g_capture] < sizeof(g_reply_bytes[0]); ++i) {
      g_reply_bytes[g_capture][g_reply_size[g_capture]++] = data[i];
    }
  }
  if (!g_check_output) return;
  for (size_t i = 0; i < size; ++i) {
    const auto event = g_out_decoder->Push(data[i]);
    if (event == tinyrig::CobsDecoder::Event::kNone) continue;
    tinyrig::FrameView view{};
    if (event != tinyrig::CobsDecoder::Event::kFrame ||
        tinyrig::ParseFrame(g_out_decoder->frame(), g_out_decoder->size(), &view) !=
            tinyrig::FrameCheck::kOk ||
        view.payload_size > tinyrig::kMaxPayload) {
      std::abort();  // the device sent something the host cannot decode
    }
  }
}

class BufferSink final : public tinyrig::ByteSink {
 public:
  BufferSink(uint8_t* data, size_t capacity) : data_(data), capacity_(capacity) {}
  void Write(const uint8_t* data, size_t size) override {
    for (size_t i = 0; i < size && size_ < capacity_; ++i) data_[size_++] = data[i];
  }
  size_t size() const { return size_; }

 private:
  uint8_t* data_;
  size_t capacity_;
  size_t size_ = 0;
};

uint8_t g_wire[1 << 17];

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // Fresh device state for every input (as after a reset); the runner boots the seed model.
  std::memcpy(g_boot_model, kSeedModel, sizeof(kSeedModel));
  tinyrig::fuzz::SetRunner(&g_runner);
  static const uint8_t kId[tinyrig::ModelRunner::kModelIdSize] = {1, 2, 3, 4, 5, 6, 7, 8};
  g_runner.Load(g_boot_model, sizeof(g_boot_model), kId);
  auto* slot = new (g_slot_memory) tinyrig::ModelSlot(g_slot_storage, sizeof(g_slot_storage));
  auto* server = new (g_server_memory) tinyrig::ProtocolServer(g_runner, "fuzz", slot);
  tinyrig::CobsDecoder out_decoder(g_out_frame, sizeof(g_out_frame));
  g_out_decoder = &out_decoder;
  tinyrig::fuzz::SetUartWriteHook(CheckOutput);
  server->OnModelLoaded();

  const bool records = (data[0] & 1) != 0;
  g_check_output = records;
  BufferSink wire(g_wire, sizeof(g_wire));
  const uint8_t hello[4] = {0x78, 0x56, 0x34, 0x12};
  tinyrig::WriteFrame(wire, static_cast<uint8_t>(tinyrig::MessageType::kHello), 1, hello, 4);
  server->Receive(g_wire, wire.size());

  if (!records) {
    server->Receive(data + 1, size - 1);
  } else {
    size_t position = 1;
    uint16_t seq = 2;
    while (position + 3 <= size) {
      const uint8_t type = data[position];
      size_t length = static_cast<size_t>(data[position + 1] | (data[position + 2] << 8));
      position += 3;
      if (length > size - position) length = size - position;
      if (type == static_cast<uint8_t>(tinyrig::MessageType::kLinkTest)) g_check_output = false;
      BufferSink frame(g_wire, sizeof(g_wire));
      tinyrig::WriteFrame(frame, type, seq++, data + position, length);
      const bool twice = (data[0] & 2) != 0 && g_check_output;  // not during a raw echo
      for (int copy = 0; copy < (twice ? 2 : 1); ++copy) {
        g_capture = twice ? copy : -1;
        g_reply_size[copy] = 0;
        server->Receive(g_wire, frame.size());
        server->Poll();
      }
      g_capture = -1;
      if (twice && (g_reply_size[0] != g_reply_size[1] ||
                    std::memcmp(g_reply_bytes[0], g_reply_bytes[1], g_reply_size[0]) != 0)) {
        std::abort();  // a retried request was answered differently: it ran twice
      }
      position += length;
    }
  }
  g_check_output = false;
  server->~ProtocolServer();
  slot->~ModelSlot();
  g_runner.Unload();
  return 0;
}
