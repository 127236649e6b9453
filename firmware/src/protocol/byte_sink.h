#pragma once

#include <cstddef>
#include <cstdint>

namespace tinyrig {

// Where encoded bytes go: the UART on a device, a buffer in tests.
class ByteSink {
 public:
  virtual void Write(const uint8_t* data, size_t size) = 0;

 protected:
  ~ByteSink() = default;
};

}  // namespace tinyrig
