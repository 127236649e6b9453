// Host unit test of the frame codec (COBS decoder/encoder, CRC-32, frame parse/write).
// Built and run by tests/firmware/test_codec_unit.py (and `make -C firmware/fuzz unit`).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "protocol/cobs.h"
#include "protocol/crc32.h"
#include "protocol/frame.h"

namespace {

int g_failures = 0;

#define EXPECT(condition)                                                   \
  do {                                                                      \
    if (!(condition)) {                                                     \
      std::printf("%s:%d: EXPECT(%s) failed\n", __FILE__, __LINE__, #condition); \
      ++g_failures;                                                         \
    }                                                                       \
  } while (0)

class VectorSink final : public tinyrig::ByteSink {
 public:
  void Write(const uint8_t* data, size_t size) override { bytes.insert(bytes.end(), data, data + size); }
  std::vector<uint8_t> bytes;
};

std::vector<uint8_t> Encode(const std::vector<uint8_t>& data) {
  VectorSink sink;
  tinyrig::CobsEncoder encoder(sink);
  encoder.Put(data.data(), data.size());
  encoder.Finish();
  return sink.bytes;
}

struct Decoded {
  tinyrig::CobsDecoder::Event event;
  std::vector<uint8_t> data;
};

std::vector<Decoded> DecodeAll(const std::vector<uint8_t>& wire, size_t capacity) {
  std::vector<uint8_t> buffer(capacity);
  tinyrig::CobsDecoder decoder(buffer.data(), buffer.size());
  std::vector<Decoded> out;
  for (uint8_t byte : wire) {
    const auto event = decoder.Push(byte);
    if (event != tinyrig::CobsDecoder::Event::kNone) {
      out.push_back({event, std::vector<uint8_t>(decoder.frame(), decoder.frame() + decoder.size())});
    }
  }
  return out;
}

void TestCrc32() {
  const char* check = "123456789";
  EXPECT(tinyrig::Crc32(reinterpret_cast<const uint8_t*>(check), 9) == 0xCBF43926u);
  EXPECT(tinyrig::Crc32(nullptr, 0) == 0);
}

void TestCobsVectors() {
  // Canonical examples (Cheshire & Baker / Wikipedia).
  EXPECT((Encode({0x00}) == std::vector<uint8_t>{0x01, 0x01, 0x00}));
  EXPECT((Encode({0x00, 0x00}) == std::vector<uint8_t>{0x01, 0x01, 0x01, 0x00}));
  EXPECT((Encode({0x11, 0x22, 0x00, 0x33}) == std::vector<uint8_t>{0x03, 0x11, 0x22, 0x02, 0x33, 0x00}));
  EXPECT((Encode({}) == std::vector<uint8_t>{0x01, 0x00}));
  std::vector<uint8_t> full(254);
  for (size_t i = 0; i < full.size(); ++i) full[i] = static_cast<uint8_t>(i + 1);
  std::vector<uint8_t> expected{0xFF};
  expected.insert(expected.end(), full.begin(), full.end());
  expected.push_back(0x00);
  EXPECT(Encode(full) == expected);  // no empty trailing block
  std::vector<uint8_t> longer = full;
  longer.push_back(0xFF);
  std::vector<uint8_t> expected_longer{0xFF};
  expected_longer.insert(expected_longer.end(), full.begin(), full.end());
  expected_longer.insert(expected_longer.end(), {0x02, 0xFF, 0x00});
  EXPECT(Encode(longer) == expected_longer);
}

void TestCobsRoundTrip() {
  std::srand(1234);  // fixed seed: reproducible
  for (int round = 0; round < 2000; ++round) {
    std::vector<uint8_t> data(static_cast<size_t>(std::rand() % 1200));
    for (auto& byte : data) byte = static_cast<uint8_t>(std::rand() % 4 == 0 ? 0 : std::rand());
    const auto wire = Encode(data);
    EXPECT(wire.size() <= tinyrig::CobsMaxEncodedSize(data.size()));
    for (size_t i = 0; i + 1 < wire.size(); ++i) EXPECT(wire[i] != 0);
    const auto frames = DecodeAll(wire, 1200);
    EXPECT(frames.size() == 1);
    if (frames.size() == 1) {
      EXPECT(frames[0].event == tinyrig::CobsDecoder::Event::kFrame);
      EXPECT(frames[0].data == data);
    }
  }
}

void TestCobsOverflowAndResync() {
  std::vector<uint8_t> big(100, 0x42);
  auto wire = Encode(big);
  const auto small = Encode({1, 2, 3});
  wire.insert(wire.begin(), 0x00);  // lone delimiter: ignored
  wire.insert(wire.end(), small.begin(), small.end());
  const auto frames = DecodeAll(wire, 16);
  EXPECT(frames.size() == 2);
  if (frames.size() == 2) {
    EXPECT(frames[0].event == tinyrig::CobsDecoder::Event::kOverflow);
    EXPECT(frames[0].data.size() == 16);  // the start is kept (header readable)
    EXPECT(frames[1].event == tinyrig::CobsDecoder::Event::kFrame);
    EXPECT((frames[1].data == std::vector<uint8_t>{1, 2, 3}));
  }
  // A delimiter inside a block: malformed, then the next frame decodes.
  std::vector<uint8_t> truncated{0x05, 0x11, 0x22, 0x00};
  truncated.insert(truncated.end(), small.begin(), small.end());
  const auto after = DecodeAll(truncated, 16);
  EXPECT(after.size() == 2);
  if (after.size() == 2) {
    EXPECT(after[0].event == tinyrig::CobsDecoder::Event::kMalformed);
    EXPECT(after[1].event == tinyrig::CobsDecoder::Event::kFrame);
  }
}

void TestFrames() {
  VectorSink sink;
  const uint8_t nonce[] = {0x78, 0x56, 0x34, 0x12};
  tinyrig::WriteFrame(sink, 0x01, 1, nonce, sizeof(nonce));
  const auto frames = DecodeAll(sink.bytes, 64);
  EXPECT(frames.size() == 1);
  if (frames.size() != 1) return;
  const auto& raw = frames[0].data;
  const std::vector<uint8_t> header{tinyrig::kProtocolVersion, 0x01, 0x01, 0x00, 0x04, 0x00,
                                    0x78, 0x56, 0x34, 0x12};
  EXPECT(std::vector<uint8_t>(raw.begin(), raw.begin() + 10) == header);
  tinyrig::FrameView view{};
  EXPECT(tinyrig::ParseFrame(raw.data(), raw.size(), &view) == tinyrig::FrameCheck::kOk);
  EXPECT(view.header.type == 0x01 && view.header.seq == 1 && view.payload_size == 4);
  EXPECT(std::memcmp(view.payload, nonce, 4) == 0);

  auto corrupt = raw;
  corrupt[7] ^= 0x40;
  EXPECT(tinyrig::ParseFrame(corrupt.data(), corrupt.size(), &view) == tinyrig::FrameCheck::kBadCrc);
  EXPECT(tinyrig::ParseFrame(raw.data(), 9, &view) == tinyrig::FrameCheck::kTooShort);

  // A correct CRC over a header whose len disagrees with the size.
  std::vector<uint8_t> lying{0x01, 0x03, 0x02, 0x00, 0x09, 0x00, 0xAA};
  const uint32_t crc = tinyrig::Crc32(lying.data(), lying.size());
  for (int i = 0; i < 4; ++i) lying.push_back(static_cast<uint8_t>(crc >> (8 * i)));
  EXPECT(tinyrig::ParseFrame(lying.data(), lying.size(), &view) ==
         tinyrig::FrameCheck::kLengthMismatch);
}

}  // namespace

int main() {
  TestCrc32();
  TestCobsVectors();
  TestCobsRoundTrip();
  TestCobsOverflowAndResync();
  TestFrames();
  if (g_failures != 0) {
    std::printf("FAILED: %d expectation(s)\n", g_failures);
    return 1;
  }
  std::printf("frame_codec_test: OK\n");
  return 0;
}
