// The message ids, INFO feature bits, time units and kernel sets of the wire protocol
// (docs/protocol.md §3): the ONE table of each on the device. The host mirrors them as
// tinyrig.protocol's MessageType, Feature, TimeUnit and KernelSet; tests/protocol/test_tables.py
// parses this file and fails when the two sides (or the document) disagree. Add a message with
// one line here and one handler (ProtocolServer::Handle<Name>): the enum, IsRequest and Dispatch
// are generated.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tinyrig {

// REQUEST(Name, id, session): host -> device, answered with id | 0x80 or ERROR.
//   session: kOpen (answered without a session: HELLO, INFO, PING) or kSession.
#define TINYRIG_REQUEST_TABLE(REQUEST)       \
  REQUEST(Hello, 0x01, kOpen)                \
  REQUEST(Info, 0x02, kOpen)                 \
  REQUEST(Ping, 0x03, kOpen)                 \
  REQUEST(LinkTest, 0x04, kSession)          \
  REQUEST(SetInput, 0x10, kSession)          \
  REQUEST(Invoke, 0x11, kSession)            \
  REQUEST(GetOutput, 0x12, kSession)         \
  REQUEST(Infer, 0x13, kSession)             \
  REQUEST(Profile, 0x14, kSession)           \
  REQUEST(Stats, 0x15, kSession)             \
  REQUEST(Reset, 0x16, kSession)             \
  REQUEST(ReadTensor, 0x17, kSession)        \
  REQUEST(State, 0x18, kSession)             \
  REQUEST(ModelBegin, 0x20, kSession)        \
  REQUEST(ModelChunk, 0x21, kSession)        \
  REQUEST(ModelCommit, 0x22, kSession)       \
  REQUEST(ArenaLimit, 0x23, kSession)        \
  REQUEST(InvokeDelay, 0x24, kSession)

// DEVICE_FRAME(Name, id): sent by the device on its own (seq 0) or as the error reply.
#define TINYRIG_DEVICE_FRAME_TABLE(DEVICE_FRAME) \
  DEVICE_FRAME(Boot, 0x40)                       \
  DEVICE_FRAME(Log, 0x41)                        \
  DEVICE_FRAME(Error, 0x7F)

enum class MessageType : uint8_t {
#define TINYRIG_MESSAGE_ENUM(name, id, ...) k##name = id,
  TINYRIG_REQUEST_TABLE(TINYRIG_MESSAGE_ENUM)
  TINYRIG_DEVICE_FRAME_TABLE(TINYRIG_MESSAGE_ENUM)
#undef TINYRIG_MESSAGE_ENUM
};
constexpr uint8_t kReplyFlag = 0x80;

enum class SessionRule : uint8_t { kOpen, kSession };

// True for a request the device answers; `*rule` says whether it needs a session.
constexpr bool LookupRequest(uint8_t type, SessionRule* rule) {
#define TINYRIG_REQUEST_CASE(name, id, session) \
  if (type == (id)) {                           \
    *rule = SessionRule::session;               \
    return true;                                \
  }
  TINYRIG_REQUEST_TABLE(TINYRIG_REQUEST_CASE)
#undef TINYRIG_REQUEST_CASE
  return false;
}

// FEATURE(NAME, bit): INFO `features` bits.
#define TINYRIG_FEATURE_TABLE(FEATURE) \
  FEATURE(MODEL_UPLOAD, 0)             \
  FEATURE(PROFILE, 1)                  \
  FEATURE(TEST_HOOKS, 2)

enum class Feature : uint8_t {
#define TINYRIG_FEATURE_ENUM(name, bit) name = 1u << (bit),
  TINYRIG_FEATURE_TABLE(TINYRIG_FEATURE_ENUM)
#undef TINYRIG_FEATURE_ENUM
};
constexpr uint8_t FeatureBit(Feature feature) { return static_cast<uint8_t>(feature); }

// TIME_UNIT(NAME, code): what the `ticks` of INVOKE/INFER/STATS/PROFILE count (INFO tick_unit),
// reported by hal::TickUnit(). Never call instructions cycles.
#define TINYRIG_TIME_UNIT_TABLE(TIME_UNIT) \
  TIME_UNIT(INSTRUCTIONS, 0)               \
  TIME_UNIT(CYCLES, 1)                     \
  TIME_UNIT(TICKS, 2)                      \
  TIME_UNIT(NS, 3)

enum class TimeUnit : uint8_t {
#define TINYRIG_TIME_UNIT_ENUM(name, code) name = code,
  TINYRIG_TIME_UNIT_TABLE(TINYRIG_TIME_UNIT_ENUM)
#undef TINYRIG_TIME_UNIT_ENUM
};

// KERNEL_SET(NAME, code): the TFLM kernels compiled into the image (INFO `kernels`; chosen by
// `tinyrig build --kernels`). A CMSIS-NN build defines the macro CMSIS_NN (as TFLM's own
// makefiles do), so the enumerators are k##NAME: pasting keeps the macro from expanding.
#define TINYRIG_KERNEL_SET_TABLE(KERNEL_SET) \
  KERNEL_SET(REFERENCE, 0)                   \
  KERNEL_SET(CMSIS_NN, 1)

enum class KernelSet : uint8_t {
#define TINYRIG_KERNEL_SET_ENUM(name, code) k##name = code,
  TINYRIG_KERNEL_SET_TABLE(TINYRIG_KERNEL_SET_ENUM)
#undef TINYRIG_KERNEL_SET_ENUM
};

#if defined(CMSIS_NN)
constexpr KernelSet kKernelSet = KernelSet::kCMSIS_NN;
#else
constexpr KernelSet kKernelSet = KernelSet::kREFERENCE;
#endif

}  // namespace tinyrig
