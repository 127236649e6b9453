// CRC-32/ISO-HDLC (zlib crc32): reflected poly 0xEDB88320, init and xorout 0xFFFFFFFF.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tinyrig {

constexpr uint32_t kCrc32Initial = 0xFFFFFFFFu;

// Incremental form: start with kCrc32Initial, feed pieces, then Crc32Finish.
uint32_t Crc32Update(uint32_t state, const uint8_t* data, size_t size);
constexpr uint32_t Crc32Finish(uint32_t state) { return state ^ 0xFFFFFFFFu; }

inline uint32_t Crc32(const uint8_t* data, size_t size) {
  return Crc32Finish(Crc32Update(kCrc32Initial, data, size));
}

}  // namespace tinyrig
