// The device side of docs/protocol.md (version kProtocolVersion): decodes frames, dispatches requests, sends replies.
#pragma once

#include <cstddef>
#include <cstdint>

#include "hal/hal.h"
#include "protocol/byte_sink.h"
#include "protocol/cobs.h"
#include "protocol/frame.h"
#include "protocol/status.h"
#include "protocol/wire.h"
#include "runner/model_runner.h"
#include "runner/model_slot.h"
#include "runner/model_verifier.h"

#ifndef TINYRIG_MAX_PAYLOAD
#define TINYRIG_MAX_PAYLOAD 1024
#endif
#ifndef TINYRIG_FIRMWARE_VERSION
#define TINYRIG_FIRMWARE_VERSION "0.1.0"
#endif

namespace tinyrig {

constexpr size_t kMaxPayload = TINYRIG_MAX_PAYLOAD;
static_assert(kMaxPayload >= 256, "every device must accept 256-byte payloads");
static_assert(kMaxPayload <= 0xFFFF, "len is a u16");

enum class LogLevel : uint8_t { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

struct LinkStats {
  uint32_t frames_rx = 0;
  uint32_t frames_tx = 0;
  uint32_t crc_errors = 0;
  uint32_t framing_errors = 0;
  uint32_t overflow_errors = 0;
  uint32_t invokes = 0;
  uint32_t replays = 0;  // duplicated requests answered from the reply cache
  uint64_t last_invoke_ticks = 0;
};

// The reply to the last request, kept so that a retried request (same seq, type, length and
// CRC) is answered again without running twice: every request is idempotent (§2). The reply
// bytes stay in ProtocolServer::reply_, which only the next request overwrites.
struct ReplyCache {
  bool valid = false;
  uint8_t request_type = 0;
  uint16_t seq = 0;
  uint16_t request_length = 0;
  uint32_t request_crc = 0;
  uint8_t reply_type = 0;
  size_t reply_size = 0;
};

// Sends every byte through hal::UartWrite.
class UartSink final : public ByteSink {
 public:
  void Write(const uint8_t* data, size_t size) override { hal::UartWrite(data, size); }
};

class ProtocolServer {
 public:
  // `tflm_version` is reported in INFO (e.g. "90b983c"). `slot`: the model slot of the
  // upload firmware (INFO feature bit 0), or nullptr: MODEL_BEGIN/CHUNK/COMMIT answer UNSUPPORTED.
  ProtocolServer(ModelRunner& runner, const char* tflm_version, ModelSlot* slot = nullptr)
      : runner_(runner), tflm_version_(tflm_version), slot_(slot) {}

  // Sends BOOT: call first thing after hal::Init().
  void Start(hal::BootReason reason);
  // Boot: loads the model a persistent slot kept from before the reset (verified as an upload
  // is) and returns true; false when there is none (the caller loads its built-in model).
  bool LoadStoredModel();
  // Call after ModelRunner::Load: records the CRC of the active model for INFO, and rejects a
  // model whose INFO would not fit in a reply (HELLO and INFO would fail, locking the host
  // out): the runner is then left with MODEL_INVALID. Returns the runner's status.
  Status OnModelLoaded();
  // Feeds received wire bytes; replies go out before this returns. During a LINK_TEST the bytes
  // are echoed raw instead (docs/protocol.md §3.3).
  void Receive(const uint8_t* data, size_t size);
  // Call from the serve loop whenever it wakes idle: ends a LINK_TEST after 1 s without a byte
  // (Receive() checks too, so the timeout holds however late the loop wakes).
  void Poll();
  // Bytes a LINK_TEST still has to echo (0 in framed mode).
  uint32_t link_test_remaining() const { return echo_remaining_; }
  // Unsolicited LOG frame (seq 0).
  void Log(LogLevel level, const char* text);
  // True after a RESET reply was sent: the caller resets the device.
  bool reset_requested() const { return reset_requested_; }

  const LinkStats& stats() const { return stats_; }

 private:
  void HandleDecoded(CobsDecoder::Event event);
  void Dispatch(const FrameView& request, uint32_t request_crc);
  // One handler per line of TINYRIG_REQUEST_TABLE (protocol/messages.h): Handle<Name> fills
  // `reply` and returns OK, or returns an error (with error_arg_/error_detail_ set).
#define TINYRIG_DECLARE_HANDLER(name, id, session) \
  Status Handle##name(const FrameView& request, ByteWriter& reply);
  TINYRIG_REQUEST_TABLE(TINYRIG_DECLARE_HANDLER)
#undef TINYRIG_DECLARE_HANDLER

  Status RequireModel();
  Status RunInvoke(ByteWriter& reply);
  void WriteInfo(ByteWriter& reply);
  void SendFrame(uint8_t type, uint16_t seq, const uint8_t* payload, size_t size);
  void SendError(Status status, uint8_t request_type, uint16_t seq, uint32_t arg,
                 const char* detail);
  // Writes an ERROR payload into reply_ (so that it is cached like any reply); returns its size.
  size_t WriteError(Status status, uint8_t request_type, uint32_t arg, const char* detail);

  ModelRunner& runner_;
  const char* tflm_version_;
  UartSink sink_;
  LinkStats stats_;
  uint8_t rx_frame_[kMaxPayload + kFrameOverhead] = {};
  CobsDecoder decoder_{rx_frame_, sizeof(rx_frame_)};
  uint8_t reply_[kMaxPayload] = {};
  bool session_open_ = false;
  uint32_t session_nonce_ = 0;
  uint32_t model_crc32_ = 0;
  uint32_t error_arg_ = 0;
  const char* error_detail_ = nullptr;
  bool reset_requested_ = false;
  ModelSlot* slot_;
  ModelCheck model_check_;
  uint32_t pending_echo_ = 0;    // LINK_TEST count, armed once its reply is sent
  uint32_t echo_remaining_ = 0;  // raw bytes still to echo
  uint64_t echo_last_ticks_ = 0;
  ReplyCache cache_;
  uint32_t invoke_delay_ms_ = 0;  // INVOKE_DELAY test hook (emulated runner firmware only)
};

}  // namespace tinyrig
