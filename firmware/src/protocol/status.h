// The error codes of the wire protocol (docs/protocol.md section 4): the ONE table on the
// device. The host mirrors it as tinyrig.protocol.ErrorCode. Add codes only at the end.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tinyrig {

// X(name, code): one line per code, so the enum and the names cannot drift apart.
#define TINYRIG_STATUS_TABLE(X) \
  X(OK, 0)                      \
  X(BAD_VERSION, 1)             \
  X(UNKNOWN_MESSAGE, 2)         \
  X(BAD_PAYLOAD, 3)             \
  X(FRAME_TOO_LARGE, 4)         \
  X(NO_SESSION, 5)              \
  X(NO_MODEL, 6)                \
  X(MODEL_INVALID, 7)           \
  X(ARENA_TOO_SMALL, 8)         \
  X(INVOKE_FAILED, 9)           \
  X(BAD_TENSOR, 10)             \
  X(OUT_OF_RANGE, 11)           \
  X(MODEL_TOO_LARGE, 12)        \
  X(MODEL_CRC_MISMATCH, 13)     \
  X(BAD_SEQUENCE, 14)           \
  X(UNSUPPORTED, 15)

enum class Status : uint16_t {
#define TINYRIG_STATUS_ENUM(name, code) name = code,
  TINYRIG_STATUS_TABLE(TINYRIG_STATUS_ENUM)
#undef TINYRIG_STATUS_ENUM
};

namespace status_detail {
struct Entry {
  Status status;
  const char* name;
};
constexpr Entry kEntries[] = {
#define TINYRIG_STATUS_ENTRY(name, code) {Status::name, #name},
    TINYRIG_STATUS_TABLE(TINYRIG_STATUS_ENTRY)
#undef TINYRIG_STATUS_ENTRY
};
constexpr size_t kCount = sizeof(kEntries) / sizeof(kEntries[0]);

constexpr bool CodesAreDense() {
  for (size_t i = 0; i < kCount; ++i) {
    if (static_cast<size_t>(kEntries[i].status) != i) return false;
  }
  return true;
}
}  // namespace status_detail

static_assert(status_detail::kCount == 16, "the protocol defines 16 status codes");
static_assert(status_detail::CodesAreDense(), "status codes must be 0..N-1 in table order");

constexpr const char* StatusName(Status status) {
  const auto index = static_cast<size_t>(status);
  return index < status_detail::kCount ? status_detail::kEntries[index].name : "UNKNOWN";
}

}  // namespace tinyrig
