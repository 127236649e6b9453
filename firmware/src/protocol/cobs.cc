#include "protocol/cobs.h"

namespace tinyrig {

void CobsDecoder::Reset() {
  size_ = 0;
  block_remaining_ = 0;
  block_adds_zero_ = false;
  in_frame_ = false;
  overflowed_ = false;
  completed_ = false;
}

void CobsDecoder::Append(uint8_t byte) {
  if (size_ < capacity_) {
    buffer_[size_++] = byte;
  } else {
    overflowed_ = true;
  }
}

CobsDecoder::Event CobsDecoder::Push(uint8_t wire_byte) {
  if (completed_) Reset();
  if (wire_byte == 0x00) {
    const bool had_data = in_frame_;
    const bool truncated = block_remaining_ != 0;
    const bool overflowed = overflowed_;
    completed_ = true;
    if (!had_data) return Event::kNone;  // lone delimiter: a flush, not a frame
    if (overflowed) return Event::kOverflow;
    if (truncated) return Event::kMalformed;
    return Event::kFrame;
  }
  in_frame_ = true;
  if (block_remaining_ == 0) {
    // A code byte: the previous block (if any) ended in an implicit zero unless it was full.
    if (block_adds_zero_) Append(0x00);
    block_remaining_ = static_cast<uint8_t>(wire_byte - 1);
    block_adds_zero_ = wire_byte != 0xFF;
    return Event::kNone;
  }
  Append(wire_byte);
  --block_remaining_;
  return Event::kNone;
}

void CobsEncoder::FlushBlock() {
  block_[0] = block_size_;
  sink_.Write(block_, block_size_);
  block_size_ = 1;
}

void CobsEncoder::Put(uint8_t byte) {
  if (byte == 0x00) {
    FlushBlock();
    previous_block_full_ = false;
    return;
  }
  block_[block_size_++] = byte;
  previous_block_full_ = false;
  if (block_size_ == 0xFF) {
    FlushBlock();
    previous_block_full_ = true;
  }
}

void CobsEncoder::Put(const uint8_t* data, size_t size) {
  for (size_t i = 0; i < size; ++i) Put(data[i]);
}

void CobsEncoder::Finish() {
  // Canonical COBS: a frame ending exactly after a full block gets no empty trailing block.
  if (!(previous_block_full_ && block_size_ == 1)) FlushBlock();
  block_size_ = 1;
  previous_block_full_ = false;
  const uint8_t delimiter = 0x00;
  sink_.Write(&delimiter, 1);
}

}  // namespace tinyrig
