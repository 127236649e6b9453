#include "runner/model_slot.h"

#include <cstring>

#include "protocol/crc32.h"

namespace tinyrig {

namespace {

constexpr uint32_t kRecordMagic = 0x4D4F444Cu;  // "LDOM": a committed model follows

struct Record {
  uint32_t magic;
  uint32_t size;
  uint32_t crc32;
  uint8_t model_id[ModelSlot::kModelIdSize];
  uint8_t unused[12];
};
static_assert(sizeof(Record) == ModelSlot::kRecordBytes, "the record fills its bytes");

}  // namespace

Status ModelSlot::Persist() {
  if (!store_.persistent()) return Status::OK;
  Record record{};
  std::memset(&record, 0xFF, sizeof(record));  // erased flash: the unused bytes stay erased
  record.magic = kRecordMagic;
  record.size = size_;
  record.crc32 = crc32_;
  std::memcpy(record.model_id, model_id_, kModelIdSize);
  return store_.Write(capacity(), reinterpret_cast<const uint8_t*>(&record), sizeof(record));
}

bool ModelSlot::Stored(const uint8_t** data, uint32_t* size, const uint8_t** model_id) const {
  if (!store_.persistent()) return false;
  const auto* record = reinterpret_cast<const Record*>(store_.data() + capacity());
  if (record->magic != kRecordMagic || record->size == 0 || record->size > capacity()) {
    return false;
  }
  if (Crc32(store_.data(), record->size) != record->crc32) return false;
  *data = store_.data();
  *size = record->size;
  *model_id = record->model_id;
  return true;
}

Status ModelSlot::Check(uint32_t size) const {
  if (size > capacity()) return Status::MODEL_TOO_LARGE;
  if (size == 0) return Status::BAD_PAYLOAD;
  return Status::OK;
}

Status ModelSlot::Begin(uint32_t size, uint32_t crc32, const uint8_t* model_id) {
  active_ = false;
  Status status = Check(size);
  // The record first: an interrupted upload must not leave it pointing at half a model.
  if (status == Status::OK && store_.persistent()) status = store_.Erase(capacity(), kRecordBytes);
  if (status == Status::OK) status = store_.Erase(0, size);
  if (status != Status::OK) return status;
  active_ = true;
  size_ = size;
  crc32_ = crc32;
  received_ = 0;
  span_count_ = 0;
  std::memcpy(model_id_, model_id, kModelIdSize);
  return Status::OK;
}

bool ModelSlot::AddSpan(uint32_t begin, uint32_t end) {
  // Merge every span overlapping or touching [begin, end) into it, then insert it sorted.
  size_t kept = 0;
  size_t insert_at = 0;
  for (size_t i = 0; i < span_count_; ++i) {
    const Span span = spans_[i];
    if (span.end < begin) {
      spans_[kept++] = span;
      insert_at = kept;
    } else if (span.begin > end) {
      spans_[kept++] = span;
    } else {
      if (span.begin < begin) begin = span.begin;
      if (span.end > end) end = span.end;
    }
  }
  if (kept == kMaxSpans) {
    // No room: the merge removed nothing and the new span is disjoint. The array still holds
    // the original spans (nothing was dropped), so the state is unchanged.
    return false;
  }
  for (size_t i = kept; i > insert_at; --i) spans_[i] = spans_[i - 1];
  spans_[insert_at] = Span{begin, end};
  span_count_ = kept + 1;
  uint32_t total = 0;
  for (size_t i = 0; i < span_count_; ++i) total += spans_[i].end - spans_[i].begin;
  received_ = total;
  return true;
}

Status ModelSlot::Write(uint32_t offset, const uint8_t* data, size_t size) {
  if (!active_) return Status::BAD_SEQUENCE;
  if (offset > size_ || size > size_ - offset) return Status::OUT_OF_RANGE;
  if (size == 0) return Status::OK;
  const auto end = static_cast<uint32_t>(offset + size);
  // Stored first: a span is recorded only for bytes that are in the store.
  const Status stored = store_.Write(offset, data, size);
  if (stored != Status::OK) return stored;
  if (!AddSpan(offset, end)) return Status::BAD_SEQUENCE;
  return Status::OK;
}

Status ModelSlot::CheckComplete(uint32_t* computed_crc) const {
  if (!active_ || received_ != size_) return Status::BAD_SEQUENCE;
  *computed_crc = Crc32(store_.data(), size_);
  return *computed_crc == crc32_ ? Status::OK : Status::MODEL_CRC_MISMATCH;
}

}  // namespace tinyrig
