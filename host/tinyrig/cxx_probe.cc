// A translation unit that needs the C++ runtime headers the firmware uses. tools/check-arm-cxx.sh
// (make demo / make test) and `tinyrig doctor` compile it for each target: a missing header
// package fails here, with the apt command, instead of in the middle of a firmware build.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

alignas(16) static unsigned char probe_buffer[16];

std::size_t tinyrig_cxx_probe(const std::uint8_t* data, std::size_t n) {
  int* slot = new (probe_buffer) int(0);
  std::memcpy(slot, data, n < sizeof(int) ? n : sizeof(int));
  return static_cast<std::size_t>(*slot);
}
