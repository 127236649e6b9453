#include "protocol/frame.h"

#include "protocol/cobs.h"
#include "protocol/crc32.h"
#include "protocol/wire.h"

namespace tinyrig {

bool ReadFrameHeader(const uint8_t* decoded, size_t size, FrameHeader* header) {
  ByteReader reader(decoded, size);
  return reader.ReadU8(&header->version) && reader.ReadU8(&header->type) &&
         reader.ReadU16(&header->seq) && reader.ReadU16(&header->payload_length);
}

FrameCheck ParseFrame(const uint8_t* decoded, size_t size, FrameView* frame) {
  if (size < kFrameOverhead) return FrameCheck::kTooShort;
  const size_t body_size = size - kFrameCrcSize;
  ByteReader crc_reader(decoded + body_size, kFrameCrcSize);
  uint32_t received_crc = 0;
  crc_reader.ReadU32(&received_crc);
  if (Crc32(decoded, body_size) != received_crc) return FrameCheck::kBadCrc;
  ReadFrameHeader(decoded, size, &frame->header);
  if (frame->header.payload_length != size - kFrameOverhead) return FrameCheck::kLengthMismatch;
  frame->payload = decoded + kFrameHeaderSize;
  frame->payload_size = frame->header.payload_length;
  return FrameCheck::kOk;
}

void WriteFrame(ByteSink& sink, uint8_t type, uint16_t seq, const uint8_t* payload,
                size_t payload_size) {
  uint8_t header[kFrameHeaderSize];
  ByteWriter writer(header, sizeof(header));
  writer.U8(kProtocolVersion);
  writer.U8(type);
  writer.U16(seq);
  writer.U16(static_cast<uint16_t>(payload_size));

  uint32_t crc = Crc32Update(kCrc32Initial, header, sizeof(header));
  crc = Crc32Finish(Crc32Update(crc, payload, payload_size));
  uint8_t trailer[kFrameCrcSize];
  ByteWriter crc_writer(trailer, sizeof(trailer));
  crc_writer.U32(crc);

  CobsEncoder encoder(sink);
  encoder.Put(header, sizeof(header));
  encoder.Put(payload, payload_size);
  encoder.Put(trailer, sizeof(trailer));
  encoder.Finish();
}

}  // namespace tinyrig
