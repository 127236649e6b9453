// libFuzzer target: the device's frame parser (COBS decoder + ParseFrame) and the encoder
// round trip. Any crash, sanitizer report or abort() is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "protocol/cobs.h"
#include "protocol/frame.h"

namespace {

class VectorSink final : public tinyrig::ByteSink {
 public:
  void Write(const uint8_t* data, size_t size) override {
    bytes.insert(bytes.end(), data, data + size);
  }
  std::vector<uint8_t> bytes;
};

void ParseStream(const uint8_t* data, size_t size, size_t capacity) {
  std::vector<uint8_t> buffer(capacity);
  tinyrig::CobsDecoder decoder(buffer.data(), buffer.size());
  for (size_t i = 0; i < size; ++i) {
    const auto event = decoder.Push(data[i]);
    if (decoder.size() > capacity) std::abort();
    if (event == tinyrig::CobsDecoder::Event::kFrame) {
      tinyrig::FrameView view{};
      if (tinyrig::ParseFrame(decoder.frame(), decoder.size(), &view) ==
          tinyrig::FrameCheck::kOk) {
        if (view.payload + view.payload_size > decoder.frame() + decoder.size()) std::abort();
      }
    } else if (event == tinyrig::CobsDecoder::Event::kOverflow) {
      tinyrig::FrameHeader header{};
      tinyrig::ReadFrameHeader(decoder.frame(), decoder.size(), &header);
    }
  }
}

void RoundTrip(const uint8_t* data, size_t size) {
  VectorSink sink;
  tinyrig::CobsEncoder encoder(sink);
  encoder.Put(data, size);
  encoder.Finish();
  if (sink.bytes.size() > tinyrig::CobsMaxEncodedSize(size)) std::abort();
  std::vector<uint8_t> buffer(size + 1);
  tinyrig::CobsDecoder decoder(buffer.data(), buffer.size());
  int frames = 0;
  for (uint8_t byte : sink.bytes) {
    const auto event = decoder.Push(byte);
    if (event == tinyrig::CobsDecoder::Event::kNone) continue;
    if (event != tinyrig::CobsDecoder::Event::kFrame || decoder.size() != size ||
        (size != 0 && std::memcmp(decoder.frame(), data, size) != 0)) {
      std::abort();
    }
    ++frames;
  }
  if (frames != (size == 0 ? 0 : 1) && !(size == 0 && frames == 1)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ParseStream(data, size, 16);
  ParseStream(data, size, 1034);  // 1024-byte max_payload + 10
  RoundTrip(data, size);
  return 0;
}
