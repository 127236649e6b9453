#include "app/protocol_server.h"

#include <cstring>

#include "app/stack_watermark.h"
#include "protocol/crc32.h"
#include "tensorflow/lite/c/common.h"

#ifndef TINYRIG_ARENA_PROBE
#define TINYRIG_ARENA_PROBE 0
#endif

namespace tinyrig {
namespace {

constexpr size_t kStatsBlobSize = 8 + 6 * 4 + 4 + 8 + 4 + 4;
constexpr size_t kMaxLogText = 200;
constexpr size_t kTimingSize = 8 + 8;  // INVOKE/INFER reply: ticks u64, micros u64
// An ERROR payload: code u16, request_type u8, arg u32, then a str8 detail.
constexpr size_t kErrorFixedSize = 2 + 1 + 4;
uint64_t TicksToMicros(uint64_t ticks) {
  const uint64_t hz = hal::TickHz();
  if (hz == 0) return 0;
  // Split so that ticks * 1e6 cannot overflow 64 bits.
  return ticks / hz * 1000000u + ticks % hz * 1000000u / hz;
}

void WriteTensor(ByteWriter& out, const TfLiteTensor& tensor) {
  out.U8(static_cast<uint8_t>(tensor.type));
  const int rank = tensor.dims == nullptr ? 0 : tensor.dims->size;
  out.U8(static_cast<uint8_t>(rank));
  for (int i = 0; i < rank; ++i) out.I32(tensor.dims->data[i]);
  out.F32(tensor.params.scale);
  out.I32(tensor.params.zero_point);
  out.U32(static_cast<uint32_t>(tensor.bytes));
}

}  // namespace

void ProtocolServer::Start(hal::BootReason reason) {
  const auto reason_byte = static_cast<uint8_t>(reason);
  SendFrame(static_cast<uint8_t>(MessageType::kBoot), 0, &reason_byte, 1);
}

bool ProtocolServer::LoadStoredModel() {
  const uint8_t* data = nullptr;
  uint32_t size = 0;
  const uint8_t* id = nullptr;
  if (slot_ == nullptr || !slot_->Stored(&data, &size, &id)) return false;
  if (VerifyModel(data, size, &model_check_) != Status::OK) return false;
  runner_.Load(data, size, id);
  if (runner_.status() != Status::OK) {
    runner_.Unload();
    return false;
  }
  return true;
}

Status ProtocolServer::OnModelLoaded() {
  model_crc32_ = runner_.model_data() == nullptr
                     ? 0
                     : Crc32(runner_.model_data(), runner_.model_size());
  if (runner_.status() == Status::OK) {
    // Trial-write INFO into reply_ (every reply overwrites it; this runs at boot or while a
    // request is being handled): the HELLO reply is a 4-byte nonce plus INFO.
    ByteWriter trial(reply_, sizeof(reply_) - 4);
    WriteInfo(trial);
    if (trial.overflowed()) {
      error_arg_ = static_cast<uint32_t>(runner_.input_count() + runner_.output_count());
      error_detail_ =
          "the model's INFO would exceed max_payload - 4: too many input/output tensors for "
          "this firmware (arg = their number)";
      runner_.Reject(Status::MODEL_INVALID, error_detail_);
    }
  }
  return runner_.status();
}

void ProtocolServer::Receive(const uint8_t* data, size_t size) {
  Poll();  // a byte after 1 s of silence is framed again, even if it is what woke us
  size_t i = 0;
  while (i < size) {
    if (echo_remaining_ > 0) {
      // Raw echo: everything up to the count goes straight back, unchanged.
      const size_t run = size - i < echo_remaining_ ? size - i : echo_remaining_;
      hal::UartWrite(data + i, run);
      echo_remaining_ -= static_cast<uint32_t>(run);
      echo_last_ticks_ = hal::Ticks();
      i += run;
      continue;
    }
    const CobsDecoder::Event event = decoder_.Push(data[i++]);
    if (event != CobsDecoder::Event::kNone) HandleDecoded(event);
    if (pending_echo_ != 0) {  // a LINK_TEST reply just went out: the next bytes are raw
      echo_remaining_ = pending_echo_;
      pending_echo_ = 0;
      echo_last_ticks_ = hal::Ticks();
    }
  }
}

void ProtocolServer::Poll() {
  if (echo_remaining_ == 0) return;
  const uint64_t hz = hal::TickHz();
  if (hal::Ticks() - echo_last_ticks_ >= hz) echo_remaining_ = 0;  // 1 s of silence
}

void ProtocolServer::HandleDecoded(CobsDecoder::Event event) {
  switch (event) {
    case CobsDecoder::Event::kNone:
      return;
    case CobsDecoder::Event::kMalformed:
      ++stats_.framing_errors;
      return;
    case CobsDecoder::Event::kOverflow: {
      ++stats_.overflow_errors;
      cache_.valid = false;  // another request came: a later retry of the cached one must rerun
      FrameHeader header{};
      if (ReadFrameHeader(decoder_.frame(), decoder_.size(), &header) &&
          header.version == kProtocolVersion && header.seq != 0) {
        SendError(Status::FRAME_TOO_LARGE, header.type, header.seq, kMaxPayload,
                  "frame longer than max_payload");
      }
      return;
    }
    case CobsDecoder::Event::kFrame:
      break;
  }
  FrameView request{};
  switch (ParseFrame(decoder_.frame(), decoder_.size(), &request)) {
    case FrameCheck::kOk: {
      ++stats_.frames_rx;
      const uint8_t* crc = decoder_.frame() + decoder_.size() - kFrameCrcSize;
      Dispatch(request, static_cast<uint32_t>(crc[0] | (crc[1] << 8) | (crc[2] << 16) |
                                              (static_cast<uint32_t>(crc[3]) << 24)));
      return;
    }
    case FrameCheck::kBadCrc:
      ++stats_.crc_errors;  // seq cannot be trusted: drop silently
      return;
    case FrameCheck::kTooShort:
    case FrameCheck::kLengthMismatch:
      ++stats_.framing_errors;
      return;
  }
}

void ProtocolServer::Dispatch(const FrameView& request, uint32_t request_crc) {
  const uint8_t type_byte = request.header.type;
  const uint16_t seq = request.header.seq;
  if (cache_.valid && cache_.seq == seq && cache_.request_type == type_byte &&
      cache_.request_length == request.header.payload_length && cache_.request_crc == request_crc) {
    // A retry or duplicate of the request just answered: answer it again, do not run it again.
    ++stats_.replays;
    SendFrame(cache_.reply_type, seq, reply_, cache_.reply_size);
    return;
  }
  cache_ = ReplyCache{true, type_byte, seq, request.header.payload_length, request_crc, 0, 0};
  if (request.header.version != kProtocolVersion) {
    SendError(Status::BAD_VERSION, type_byte, seq, kProtocolVersion,
              "unsupported protocol version");
    return;
  }
  SessionRule rule = SessionRule::kSession;
  if (!LookupRequest(type_byte, &rule)) {
    SendError(Status::UNKNOWN_MESSAGE, type_byte, seq, type_byte, "unknown message type");
    return;
  }
  if (!session_open_ && rule != SessionRule::kOpen) {
    SendError(Status::NO_SESSION, type_byte, seq, 0, "send HELLO first");
    return;
  }

  ByteWriter reply(reply_, sizeof(reply_));
  error_arg_ = 0;
  error_detail_ = nullptr;
  Status status = Status::UNKNOWN_MESSAGE;
  switch (static_cast<MessageType>(type_byte)) {
#define TINYRIG_DISPATCH_CASE(name, id, session) \
  case MessageType::k##name:                     \
    status = Handle##name(request, reply);       \
    break;
    TINYRIG_REQUEST_TABLE(TINYRIG_DISPATCH_CASE)
#undef TINYRIG_DISPATCH_CASE
    default:
      break;
  }
  if (status == Status::OK && reply.overflowed()) {
    status = Status::FRAME_TOO_LARGE;
    error_arg_ = kMaxPayload;
    error_detail_ = "reply longer than max_payload";
  }
  if (status != Status::OK) {
    pending_echo_ = 0;
    SendError(status, type_byte, seq, error_arg_,
              error_detail_ != nullptr && error_detail_[0] != '\0' ? error_detail_
                                                                    : StatusName(status));
    return;
  }
  cache_.reply_type = static_cast<uint8_t>(type_byte | kReplyFlag);
  cache_.reply_size = reply.size();
  SendFrame(cache_.reply_type, seq, reply_, reply.size());
  if (static_cast<MessageType>(type_byte) == MessageType::kReset) reset_requested_ = true;
}

Status ProtocolServer::HandleHello(const FrameView& request, ByteWriter& reply) {
  ByteReader reader(request.payload, request.payload_size);
  uint32_t nonce = 0;
  if (!reader.ReadU32(&nonce) || reader.remaining() != 0) return Status::BAD_PAYLOAD;
  session_open_ = true;
  session_nonce_ = nonce;
  runner_.set_keep_state(false);  // a new session starts stateless (docs/protocol.md §3.5)
  reply.U32(nonce);
  WriteInfo(reply);
  return Status::OK;
}

Status ProtocolServer::HandleInfo(const FrameView& request, ByteWriter& reply) {
  if (request.payload_size != 0) return Status::BAD_PAYLOAD;
  WriteInfo(reply);
  return Status::OK;
}

Status ProtocolServer::HandlePing(const FrameView& request, ByteWriter& reply) {
  reply.Bytes(request.payload, request.payload_size);
  return Status::OK;
}

Status ProtocolServer::RequireModel() {
  const Status status = runner_.status();
  if (status != Status::OK) {
    // Why the model did not load: TFLM's first message or the runner's own check (the host
    // shows it; INFO carries only the status). Empty: the status name is sent instead.
    error_detail_ = runner_.load_detail();
    if (status == Status::ARENA_TOO_SMALL) error_arg_ = runner_.bytes_needed();
  }
  return status;
}

Status ProtocolServer::HandleSetInput(const FrameView& request, ByteWriter& reply) {
  (void)reply;
  ByteReader reader(request.payload, request.payload_size);
  uint8_t index = 0;
  uint32_t offset = 0;
  if (!reader.ReadU8(&index) || !reader.ReadU32(&offset)) return Status::BAD_PAYLOAD;
  const Status model = RequireModel();
  if (model != Status::OK) return model;
  TfLiteTensor* tensor = runner_.input(index);
  if (tensor == nullptr) {
    error_arg_ = index;
    return Status::BAD_TENSOR;
  }
  const size_t size = reader.remaining();
  if (offset > tensor->bytes || size > tensor->bytes - offset) {
    error_arg_ = static_cast<uint32_t>(tensor->bytes);
    return Status::OUT_OF_RANGE;
  }
  if (size != 0) std::memcpy(tensor->data.raw + offset, reader.rest(), size);
  return Status::OK;
}

Status ProtocolServer::RunInvoke(ByteWriter& reply) {
  uint64_t delay_ticks = 0;
  if (invoke_delay_ms_ != 0) {  // INVOKE_DELAY: a slow model, on purpose (emulators only)
    const uint64_t start = hal::Ticks();
    const uint64_t wait = static_cast<uint64_t>(hal::TickHz()) * invoke_delay_ms_ / 1000u;
    while (hal::Ticks() - start < wait) hal::Nap();
    delay_ticks = hal::Ticks() - start;
  }
  InvokeResult result = runner_.Invoke();
  result.ticks += delay_ticks;
  ++stats_.invokes;
  stats_.last_invoke_ticks = result.ticks;
  if (result.status != Status::OK) return result.status;
  reply.U64(result.ticks);
  reply.U64(TicksToMicros(result.ticks));
  return Status::OK;
}

Status ProtocolServer::HandleInvoke(const FrameView& request, ByteWriter& reply) {
  if (request.payload_size != 0) return Status::BAD_PAYLOAD;
  const Status model = RequireModel();
  if (model != Status::OK) return model;
  return RunInvoke(reply);
}

Status ProtocolServer::HandleGetOutput(const FrameView& request, ByteWriter& reply) {
  ByteReader reader(request.payload, request.payload_size);
  uint8_t index = 0;
  uint32_t offset = 0;
  uint32_t length = 0;
  if (!reader.ReadU8(&index) || !reader.ReadU32(&offset) || !reader.ReadU32(&length) ||
      reader.remaining() != 0) {
    return Status::BAD_PAYLOAD;
  }
  const Status model = RequireModel();
  if (model != Status::OK) return model;
  const TfLiteTensor* tensor = runner_.output(index);
  if (tensor == nullptr) {
    error_arg_ = index;
    return Status::BAD_TENSOR;
  }
  if (offset > tensor->bytes || length > tensor->bytes - offset) {
    error_arg_ = static_cast<uint32_t>(tensor->bytes);
    return Status::OUT_OF_RANGE;
  }
  if (length > kMaxPayload) {
    error_arg_ = kMaxPayload;
    return Status::FRAME_TOO_LARGE;
  }
  reply.Bytes(reinterpret_cast<const uint8_t*>(tensor->data.raw) + offset, length);
  return Status::OK;
}

Status ProtocolServer::HandleInfer(const FrameView& request, ByteWriter& reply) {
  const Status model = RequireModel();
  if (model != Status::OK) return model;
  size_t input_bytes = 0;
  for (size_t i = 0; i < runner_.input_count(); ++i) input_bytes += runner_.input(i)->bytes;
  size_t output_bytes = 0;
  for (size_t i = 0; i < runner_.output_count(); ++i) output_bytes += runner_.output(i)->bytes;
  if (input_bytes > kMaxPayload || output_bytes + kTimingSize > kMaxPayload) {
    error_arg_ = kMaxPayload;
    error_detail_ = "use SET_INPUT/INVOKE/GET_OUTPUT";
    return Status::FRAME_TOO_LARGE;
  }
  if (request.payload_size != input_bytes) {
    error_arg_ = static_cast<uint32_t>(input_bytes);
    error_detail_ = "payload must be all inputs concatenated";
    return Status::BAD_PAYLOAD;
  }
  const uint8_t* next = request.payload;
  for (size_t i = 0; i < runner_.input_count(); ++i) {
    TfLiteTensor* tensor = runner_.input(i);
    if (tensor->bytes != 0) std::memcpy(tensor->data.raw, next, tensor->bytes);
    next += tensor->bytes;
  }
  const Status invoked = RunInvoke(reply);
  if (invoked != Status::OK) return invoked;
  for (size_t i = 0; i < runner_.output_count(); ++i) {
    const TfLiteTensor* tensor = runner_.output(i);
    reply.Bytes(reinterpret_cast<const uint8_t*>(tensor->data.raw), tensor->bytes);
  }
  return Status::OK;
}

Status ProtocolServer::HandleProfile(const FrameView& request, ByteWriter& reply) {
  ByteReader reader(request.payload, request.payload_size);
  uint16_t first = 0;
  if (!reader.ReadU16(&first) || reader.remaining() != 0) return Status::BAD_PAYLOAD;
  const OpProfiler& profiler = runner_.profiler();
  const size_t total = profiler.count();
  // First pass: how many records from `first` fit after the 4-byte count header.
  size_t room = reply.remaining() - 4;
  size_t count = 0;
  for (size_t i = first; i < total; ++i) {
    const char* tag = profiler.event(i).tag != nullptr ? profiler.event(i).tag : "";
    size_t name_length = std::strlen(tag);
    if (name_length > 255) name_length = 255;
    const size_t record = 4 + 1 + name_length;
    if (record > room) break;
    room -= record;
    ++count;
  }
  reply.U16(static_cast<uint16_t>(total));
  reply.U16(static_cast<uint16_t>(count));
  for (size_t i = first; i < first + count; ++i) {
    const OpProfiler::Event& event = profiler.event(i);
    reply.U32(event.end_ticks - event.start_ticks);  // TFLM's u32 clock: per op, not per run
    reply.Str8(event.tag);
  }
  return Status::OK;
}

Status ProtocolServer::HandleStats(const FrameView& request, ByteWriter& reply) {
  if (request.payload_size != 0) return Status::BAD_PAYLOAD;
  reply.U64(TicksToMicros(hal::Ticks()) / 1000u);
  reply.U32(stats_.frames_rx);
  reply.U32(stats_.frames_tx);
  reply.U32(stats_.crc_errors);
  reply.U32(stats_.framing_errors);
  reply.U32(stats_.overflow_errors);
  reply.U32(stats_.invokes);
  reply.U32(stats_.replays);
  reply.U64(stats_.last_invoke_ticks);
  reply.U32(static_cast<uint32_t>(stack::Size()));
  reply.U32(static_cast<uint32_t>(stack::HighWater()));
  static_assert(kStatsBlobSize == 52, "STATS blob: u64, 7 x u32, u64, 2 x u32");
  return Status::OK;
}

Status ProtocolServer::HandleReset(const FrameView& request, ByteWriter& reply) {
  (void)reply;
  if (request.payload_size != 0) return Status::BAD_PAYLOAD;
  return Status::OK;  // Dispatch sends the reply, then sets reset_requested_
}

Status ProtocolServer::HandleLinkTest(const FrameView& request, ByteWriter& reply) {
  (void)reply;
  ByteReader reader(request.payload, request.payload_size);
  uint32_t count = 0;
  if (!reader.ReadU32(&count) || reader.remaining() != 0) return Status::BAD_PAYLOAD;
  pending_echo_ = count;  // Receive() switches to raw echo after the reply is sent
  return Status::OK;
}

Status ProtocolServer::HandleModelBegin(const FrameView& request, ByteWriter& reply) {
  if (slot_ == nullptr) {
    error_detail_ = "model upload is not built into this firmware";
    return Status::UNSUPPORTED;
  }
  ByteReader reader(request.payload, request.payload_size);
  uint32_t size = 0;
  uint32_t crc = 0;
  if (!reader.ReadU32(&size) || !reader.ReadU32(&crc) ||
      reader.remaining() != ModelSlot::kModelIdSize) {
    return Status::BAD_PAYLOAD;
  }
  Status status = slot_->Check(size);
  if (status == Status::MODEL_TOO_LARGE) {
    error_arg_ = static_cast<uint32_t>(slot_->capacity());
    return status;
  }
  if (status != Status::OK) return status;
  // The slot may hold the active model: stop using it before it is erased or overwritten.
  runner_.Unload();
  OnModelLoaded();
  status = slot_->Begin(size, crc, reader.rest());
  if (status != Status::OK) {
    error_detail_ = "the model store could not be prepared (flash erase failed)";
    return status;
  }
  reply.U32(static_cast<uint32_t>(slot_->capacity()));
  return Status::OK;
}

Status ProtocolServer::HandleModelChunk(const FrameView& request, ByteWriter& reply) {
  if (slot_ == nullptr) {
    error_detail_ = "model upload is not built into this firmware";
    return Status::UNSUPPORTED;
  }
  ByteReader reader(request.payload, request.payload_size);
  uint32_t offset = 0;
  if (!reader.ReadU32(&offset)) return Status::BAD_PAYLOAD;
  const Status status = slot_->Write(offset, reader.rest(), reader.remaining());
  if (status == Status::OUT_OF_RANGE) {
    error_arg_ = slot_->declared_size();
    error_detail_ = "chunk beyond the declared model size";
  } else if (status == Status::BAD_SEQUENCE) {
    error_detail_ = slot_->active() ? "too many gaps: send chunks closer to in order"
                                    : "MODEL_CHUNK without MODEL_BEGIN";
  }
  if (status != Status::OK) return status;
  reply.U32(slot_->received());
  return Status::OK;
}

Status ProtocolServer::HandleModelCommit(const FrameView& request, ByteWriter& reply) {
  if (slot_ == nullptr) {
    error_detail_ = "model upload is not built into this firmware";
    return Status::UNSUPPORTED;
  }
  if (request.payload_size != 0) return Status::BAD_PAYLOAD;
  if (!slot_->active()) {
    error_detail_ = "MODEL_COMMIT without MODEL_BEGIN";
    return Status::BAD_SEQUENCE;
  }
  uint32_t crc = 0;
  Status status = slot_->CheckComplete(&crc);
  if (status == Status::BAD_SEQUENCE) {  // bytes missing: the upload stays open for them
    error_arg_ = slot_->received();
    error_detail_ = "model incomplete: arg = bytes received";
    return status;
  }
  slot_->End();
  if (status == Status::MODEL_CRC_MISMATCH) {
    error_arg_ = crc;
    return status;
  }
  status = VerifyModel(slot_->data(), slot_->declared_size(), &model_check_);
  if (status != Status::OK) {
    error_detail_ = model_check_.detail;
    return status;
  }
  runner_.Load(slot_->data(), slot_->declared_size(), slot_->model_id());
  status = runner_.status();
  if (status != Status::OK) {
    if (status == Status::ARENA_TOO_SMALL) {
      error_arg_ = runner_.bytes_needed();
      error_detail_ = "tensor arena too small: arg = bytes needed";
    } else {
      // Copy: Unload() below keeps the runner's detail, but be explicit about its lifetime.
      std::strncpy(model_check_.detail, runner_.load_detail(), sizeof(model_check_.detail) - 1);
      model_check_.detail[sizeof(model_check_.detail) - 1] = '\0';
      error_detail_ = model_check_.detail;
    }
    runner_.Unload();  // a failed commit leaves no model (model_status = NO_MODEL)
    OnModelLoaded();
    return status;
  }
  status = OnModelLoaded();
  if (status != Status::OK) {  // INFO too large: error_arg_/error_detail_ say so
    runner_.Unload();
    OnModelLoaded();
    return status;
  }
  slot_->Persist();  // kept across a reset where the slot is flash (not persisted: no harm)
  WriteInfo(reply);
  return Status::OK;
}

void ProtocolServer::WriteInfo(ByteWriter& reply) {
  uint8_t features = FeatureBit(Feature::PROFILE);
  if (slot_ != nullptr) features |= FeatureBit(Feature::MODEL_UPLOAD);
  if (TINYRIG_ARENA_PROBE) features |= FeatureBit(Feature::TEST_HOOKS);
  reply.U8(kProtocolVersion);
  reply.U8(features);
  reply.U16(static_cast<uint16_t>(kMaxPayload));
  reply.U32(hal::CpuHz());
  reply.U32(hal::TickHz());
  reply.U8(static_cast<uint8_t>(hal::TickUnit()));
  reply.U32(static_cast<uint32_t>(runner_.arena_size()));
  reply.U32(static_cast<uint32_t>(runner_.arena_used()));
  reply.U32(static_cast<uint32_t>(runner_.model_size()));
  reply.U32(model_crc32_);
  reply.Bytes(runner_.model_id(), ModelRunner::kModelIdSize);
  reply.U16(static_cast<uint16_t>(runner_.status()));
  reply.Str8(TINYRIG_FIRMWARE_VERSION);
  reply.Str8(hal::BoardName());
  reply.Str8(tflm_version_);
  reply.U8(static_cast<uint8_t>(kKernelSet));
  reply.U8(static_cast<uint8_t>(runner_.input_count()));
  for (size_t i = 0; i < runner_.input_count(); ++i) WriteTensor(reply, *runner_.input(i));
  reply.U8(static_cast<uint8_t>(runner_.output_count()));
  for (size_t i = 0; i < runner_.output_count(); ++i) WriteTensor(reply, *runner_.output(i));
}

void ProtocolServer::Log(LogLevel level, const char* text) {
  uint8_t payload[1 + kMaxLogText];
  ByteWriter writer(payload, sizeof(payload));
  writer.U8(static_cast<uint8_t>(level));
  size_t length = std::strlen(text);
  if (length > kMaxLogText) length = kMaxLogText;
  writer.Bytes(reinterpret_cast<const uint8_t*>(text), length);
  SendFrame(static_cast<uint8_t>(MessageType::kLog), 0, payload, writer.size());
}

void ProtocolServer::SendFrame(uint8_t type, uint16_t seq, const uint8_t* payload,
                               size_t size) {
  WriteFrame(sink_, type, seq, payload, size);
  ++stats_.frames_tx;
}

size_t ProtocolServer::WriteError(Status status, uint8_t request_type, uint32_t arg,
                                  const char* detail) {
  ByteWriter writer(reply_, sizeof(reply_));
  writer.U16(static_cast<uint16_t>(status));
  writer.U8(request_type);
  writer.U32(arg);
  size_t length = detail == nullptr ? 0 : std::strlen(detail);
  const size_t room = sizeof(reply_) - kErrorFixedSize - 1;
  if (length > room) length = room;
  if (length > 255) length = 255;
  writer.U8(static_cast<uint8_t>(length));
  writer.Bytes(reinterpret_cast<const uint8_t*>(detail), length);
  return writer.size();
}

void ProtocolServer::SendError(Status status, uint8_t request_type, uint16_t seq, uint32_t arg,
                               const char* detail) {
  // The detail may point into reply_ only if it was copied first: handlers' details are
  // string literals or model_check_.detail, never reply_.
  const size_t size = WriteError(status, request_type, arg, detail);
  const auto type = static_cast<uint8_t>(MessageType::kError);
  if (cache_.valid && cache_.seq == seq && cache_.request_type == request_type) {
    cache_.reply_type = type;
    cache_.reply_size = size;
  }
  SendFrame(type, seq, reply_, size);
}

// Reloads the active model using only the first `arena_bytes` of the arena (0: all of it) and
// answers INFO, whose model_status says whether it fit. The host bisects with it to find the
// exact minimum arena of this very build (kernels, pointer size, alignment) on the device.
Status ProtocolServer::HandleArenaLimit(const FrameView& request, ByteWriter& reply) {
#if !TINYRIG_ARENA_PROBE
  (void)request;
  (void)reply;
  error_detail_ = "ARENA_LIMIT is built into emulated runner firmware only";
  return Status::UNSUPPORTED;
#else
  ByteReader reader(request.payload, request.payload_size);
  uint32_t arena_bytes = 0;
  if (!reader.ReadU32(&arena_bytes) || request.payload_size != 4) return Status::BAD_PAYLOAD;
  const uint8_t* data = runner_.model_data();
  const size_t size = runner_.model_size();
  if (data == nullptr) return Status::NO_MODEL;
  runner_.Load(data, size, runner_.model_id(), arena_bytes);
  OnModelLoaded();  // same bytes, same CRC; rechecks the INFO size
  WriteInfo(reply);
  return Status::OK;
#endif
}

// Makes every later INVOKE/INFER busy-wait `ms` milliseconds more (counted in its ticks), so
// that tests can rehearse a slow model on an emulator: retries of a long first invoke, late
// replies. 0 turns it off. Emulated runner firmware only, like ARENA_LIMIT.
Status ProtocolServer::HandleInvokeDelay(const FrameView& request, ByteWriter& reply) {
  (void)reply;
#if !TINYRIG_ARENA_PROBE
  (void)request;
  error_detail_ = "INVOKE_DELAY is built into emulated runner firmware only";
  return Status::UNSUPPORTED;
#else
  ByteReader reader(request.payload, request.payload_size);
  uint32_t ms = 0;
  if (!reader.ReadU32(&ms) || reader.remaining() != 0) return Status::BAD_PAYLOAD;
  constexpr uint32_t kMaxInvokeDelayMs = 60000;
  if (ms > kMaxInvokeDelayMs) {
    error_arg_ = kMaxInvokeDelayMs;
    return Status::OUT_OF_RANGE;
  }
  invoke_delay_ms_ = ms;
  return Status::OK;
#endif
}

// STATE(keep u8): 0 resets the model's variable tensors before every invoke (the default), 1
// keeps them across invokes (streaming models). Either way the state is reset now.
Status ProtocolServer::HandleState(const FrameView& request, ByteWriter& reply) {
  (void)reply;
  if (request.payload_size != 1 || request.payload[0] > 1) return Status::BAD_PAYLOAD;
  runner_.set_keep_state(request.payload[0] == 1);
  return runner_.ResetState();
}

// Any tensor of the model after the last invoke (debug runner firmware only, which keeps every
// intermediate tensor): `dtype u8, rank u8, rank x dim i32, bytes u32`, then up to `length`
// bytes of its data from `offset` (fewer when the reply would exceed max_payload).
Status ProtocolServer::HandleReadTensor(const FrameView& request, ByteWriter& reply) {
  ByteReader reader(request.payload, request.payload_size);
  uint16_t index = 0;
  uint32_t offset = 0;
  uint32_t length = 0;
  if (!reader.ReadU16(&index) || !reader.ReadU32(&offset) || !reader.ReadU32(&length) ||
      reader.remaining() != 0) {
    return Status::BAD_PAYLOAD;
  }
  if (!runner_.preserves_tensors()) {
    error_detail_ = "intermediate tensors are not kept: boot the debug runner firmware";
    return Status::UNSUPPORTED;
  }
  if (runner_.status() != Status::OK) return runner_.status();
  const TfLiteEvalTensor* tensor = runner_.tensor(index);
  if (tensor == nullptr) {
    error_arg_ = static_cast<uint32_t>(runner_.tensor_count());
    return Status::BAD_TENSOR;
  }
  const size_t bytes = runner_.tensor_bytes(index);
  if (offset > bytes) {
    error_arg_ = static_cast<uint32_t>(bytes);
    return Status::OUT_OF_RANGE;
  }
  reply.U8(static_cast<uint8_t>(tensor->type));
  const int rank = tensor->dims == nullptr ? 0 : tensor->dims->size;
  reply.U8(static_cast<uint8_t>(rank));
  for (int i = 0; i < rank; ++i) reply.I32(tensor->dims->data[i]);
  reply.U32(static_cast<uint32_t>(bytes));
  size_t count = bytes - offset < length ? bytes - offset : length;
  if (count > reply.remaining()) count = reply.remaining();
  if (count > 0 && tensor->data.raw == nullptr) return Status::BAD_TENSOR;
  if (count > 0) reply.Bytes(static_cast<const uint8_t*>(tensor->data.data) + offset, count);
  return Status::OK;
}

}  // namespace tinyrig
