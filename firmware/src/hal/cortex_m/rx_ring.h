// The UART receive ring every bare-metal HAL uses: one producer (the RX interrupt), one consumer
// (the main loop), no locks. When it is full the producer switches its RX interrupt off and
// leaves the byte in the UART, so the sender is back-pressured (QEMU) instead of bytes lost; the
// consumer switches it back on once there is room. The caller owns the ring (a static) and
// supplies the UART-specific steps as callables.
#pragma once

#include <cstddef>
#include <cstdint>

#include "hal/cortex_m/interrupts.h"

namespace tinyrig {
namespace cortex_m {

template <size_t kSize>
class RxRing {
  static_assert(kSize > 0 && (kSize & (kSize - 1)) == 0, "ring size must be a power of two");

 public:
  bool Empty() const { return head_ == tail_; }

  // Producer (the RX handler, or code with interrupts masked): moves bytes while
  // `byte_waiting()`, taking each with `take_byte()`. When the ring is full it calls
  // `stop_rx_interrupt()` and returns with the byte still in the UART.
  template <typename ByteWaiting, typename TakeByte, typename StopRxInterrupt>
  void Fill(ByteWaiting byte_waiting, TakeByte take_byte, StopRxInterrupt stop_rx_interrupt) {
    while (byte_waiting()) {
      if (Full()) {
        stop_rx_interrupt();
        paused_ = true;
        return;
      }
      bytes_[head_ % kSize] = take_byte();
      head_ = head_ + 1;
    }
  }

  // Consumer: copies up to `capacity` bytes out, returns how many. If the producer paused and
  // there is room again, calls `resume()` with interrupts masked: it switches the RX interrupt
  // back on and calls Fill (a byte that arrived while paused raised no interrupt).
  template <typename Resume>
  size_t Read(uint8_t* buffer, size_t capacity, Resume resume) {
    size_t count = 0;
    while (count < capacity && tail_ != head_) {
      buffer[count++] = bytes_[tail_ % kSize];
      tail_ = tail_ + 1;
    }
    if (paused_ && !Full()) {
      DisableInterrupts();
      paused_ = false;
      resume();
      EnableInterrupts();
    }
    return count;
  }

  // The indices, for code that tests "nothing received" under its own masking.
  constexpr const volatile uint32_t& head() const { return head_; }
  constexpr const volatile uint32_t& tail() const { return tail_; }

 private:
  bool Full() const { return head_ - tail_ >= kSize; }

  uint8_t bytes_[kSize] = {};
  volatile uint32_t head_ = 0;    // written by the producer
  volatile uint32_t tail_ = 0;    // written by the consumer
  volatile bool paused_ = false;  // the producer found the ring full and stopped its interrupt
};

}  // namespace cortex_m
}  // namespace tinyrig
