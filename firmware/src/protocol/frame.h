// Frame layout (docs/protocol.md §1): | ver u8 | type u8 | seq u16 | len u16 | payload | crc32 u32 |
#pragma once

#include <cstddef>
#include <cstdint>

#include "protocol/byte_sink.h"
#include "protocol/messages.h"

namespace tinyrig {

constexpr uint8_t kProtocolVersion = 3;
constexpr size_t kFrameHeaderSize = 6;
constexpr size_t kFrameCrcSize = 4;
constexpr size_t kFrameOverhead = kFrameHeaderSize + kFrameCrcSize;


struct FrameHeader {
  uint8_t version;
  uint8_t type;
  uint16_t seq;
  uint16_t payload_length;
};

struct FrameView {
  FrameHeader header;
  const uint8_t* payload;
  size_t payload_size;
};

enum class FrameCheck : uint8_t {
  kOk,
  kTooShort,        // fewer bytes than header + CRC
  kLengthMismatch,  // `len` disagrees with the decoded size
  kBadCrc,
};

// Reads the header only (for answering an overflowed frame): needs kFrameHeaderSize bytes.
bool ReadFrameHeader(const uint8_t* decoded, size_t size, FrameHeader* header);

// Validates a decoded (un-COBSed) frame and points `frame` into it.
FrameCheck ParseFrame(const uint8_t* decoded, size_t size, FrameView* frame);

// Builds header + payload + CRC and streams it COBS-encoded, delimiter included, to `sink`.
void WriteFrame(ByteSink& sink, uint8_t type, uint16_t seq, const uint8_t* payload,
                size_t payload_size);

}  // namespace tinyrig
