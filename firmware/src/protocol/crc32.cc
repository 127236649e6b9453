#include "protocol/crc32.h"

namespace tinyrig {
namespace {

struct Crc32Table {
  uint32_t entries[256];
};

constexpr Crc32Table MakeCrc32Table() {
  Crc32Table table{};
  for (uint32_t byte = 0; byte < 256; ++byte) {
    uint32_t value = byte;
    for (int bit = 0; bit < 8; ++bit) {
      value = (value & 1u) ? (value >> 1) ^ 0xEDB88320u : value >> 1;
    }
    table.entries[byte] = value;
  }
  return table;
}

// constexpr + const: the table lives in .rodata (flash), computed by the compiler.
constexpr Crc32Table kCrc32Table = MakeCrc32Table();
static_assert(kCrc32Table.entries[1] == 0x77073096u, "CRC-32 table");

}  // namespace

uint32_t Crc32Update(uint32_t state, const uint8_t* data, size_t size) {
  for (size_t i = 0; i < size; ++i) {
    state = kCrc32Table.entries[(state ^ data[i]) & 0xFFu] ^ (state >> 8);
  }
  return state;
}

}  // namespace tinyrig
