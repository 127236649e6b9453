#include "runner/memory_plan_check.h"

#include <cstdio>
#include <cstring>

#include "runner/model_verifier.h"
#include "runner/tensor_types.h"
#include "tensorflow/lite/schema/schema_generated.h"

namespace tinyrig {
namespace {

using flatbuffers::uoffset_t;

constexpr char kOfflinePlanName[] = "OfflineMemoryAllocation";  // micro_allocation_info.cc
constexpr int32_t kOnlinePlanned = -1;                           // kOnlinePlannedBuffer
constexpr int64_t kPlanAlignment = 16;                           // MicroArenaBufferAlignment()
constexpr uint32_t kPlanHeaderWords = 3;                          // version, subgraph, count
constexpr uoffset_t kMaxWalkSubgraphs = 64;                       // VerifyModel's limit
constexpr int32_t kAlwaysLive = 0x7fffffff;

// Per tensor of all subgraphs (global index, TFLM's order) of a planned model: its lifetime in
// TFLM's allocation scopes, then its arena bytes [begin, end) when placed offline.
struct PlanEntry {
  int32_t first;
  int32_t last;
  int32_t begin;
  int32_t end;
};
PlanEntry g_plan[kMaxPlannedTensors];

// TFLM's AllocationInfoBuilder::MarkAllocationLifetimes, replayed.
struct LifetimeWalk {
  const tflite::Model* model;
  uint32_t base[kMaxWalkSubgraphs];  // global index of each subgraph's tensor 0
  bool track;                        // record lifetimes (the model has an offline plan)
  int32_t scope;
  uint32_t operators;
  bool on_stack[kMaxWalkSubgraphs];
  ModelCheck* check;

  void Created(uoffset_t sg, int32_t tensor) {
    if (!track) return;
    PlanEntry& life = g_plan[base[sg] + static_cast<uint32_t>(tensor)];
    if (life.first == -1) life.first = scope;
  }
  void Used(uoffset_t sg, int32_t tensor) {
    if (track) g_plan[base[sg] + static_cast<uint32_t>(tensor)].last = scope;
  }
};

// The subgraphs a control-flow op runs, as TFLM's MarkSubgraphLifetimesIfNecessary reads them:
// by builtin_code() alone, options dereferenced unchecked.
Status CalledSubgraphs(const LifetimeWalk& walk, const tflite::Operator& op, uoffset_t sg,
                       uoffset_t op_index, int32_t* first, int32_t* second) {
  *first = -1;
  *second = -1;
  const auto* code = walk.model->operator_codes()->Get(op.opcode_index());
  bool options_ok = true;
  switch (code->builtin_code()) {
    case tflite::BuiltinOperator_IF: {
      const auto* options = op.builtin_options_as_IfOptions();
      options_ok = options != nullptr;
      if (options_ok) {
        *first = options->then_subgraph_index();
        *second = options->else_subgraph_index();
      }
      break;
    }
    case tflite::BuiltinOperator_CALL_ONCE: {
      const auto* options = op.builtin_options_as_CallOnceOptions();
      options_ok = options != nullptr;
      if (options_ok) *first = options->init_subgraph_index();
      break;
    }
    case tflite::BuiltinOperator_WHILE: {
      const auto* options = op.builtin_options_as_WhileOptions();
      options_ok = options != nullptr;
      if (options_ok) {
        *first = options->cond_subgraph_index();
        *second = options->body_subgraph_index();
      }
      break;
    }
    default:
      break;
  }
  if (!options_ok) {
    return Reject(walk.check, "subgraph %u operator %u: control-flow op without its options",
                  sg, op_index);
  }
  const uoffset_t count = walk.model->subgraphs()->size();
  for (const int32_t index : {*first, *second}) {
    if (index < -1 || index >= static_cast<int32_t>(count)) {
      return Reject(walk.check, "subgraph %u operator %u: subgraph index %d out of range", sg,
                    op_index, index);
    }
  }
  return Status::OK;
}

Status WalkSubgraph(LifetimeWalk& walk, int32_t sg_index) {
  const auto sg = static_cast<uoffset_t>(sg_index);
  if (walk.on_stack[sg]) {
    return Reject(walk.check, "control flow: subgraph %u calls itself", sg);
  }
  walk.on_stack[sg] = true;
  const tflite::SubGraph& subgraph = *walk.model->subgraphs()->Get(sg);
  for (const int32_t tensor : *subgraph.inputs()) {
    walk.Created(sg, tensor);
    walk.Used(sg, tensor);
  }
  const auto& operators = *subgraph.operators();
  for (uoffset_t i = 0; i < operators.size(); ++i) {
    const tflite::Operator& op = *operators.Get(i);
    if (++walk.operators > kMaxWalkedOperators) {
      return Reject(walk.check, "control flow: more than %u operators to plan",
                    kMaxWalkedOperators);
    }
    ++walk.scope;
    for (const int32_t tensor : *op.outputs()) walk.Created(sg, tensor);
    int32_t first = -1;
    int32_t second = -1;
    Status status = CalledSubgraphs(walk, op, sg, i, &first, &second);
    if (status != Status::OK) return status;
    for (const int32_t called : {first, second}) {
      if (called == -1) continue;
      ++walk.scope;
      status = WalkSubgraph(walk, called);
      if (status != Status::OK) return status;
    }
    for (const int32_t tensor : *op.inputs()) {
      if (tensor >= 0) walk.Used(sg, tensor);
    }
    for (const int32_t tensor : *op.outputs()) walk.Used(sg, tensor);
  }
  for (const int32_t tensor : *subgraph.outputs()) {
    walk.Created(sg, tensor);
    walk.Used(sg, tensor);
  }
  walk.on_stack[sg] = false;
  return Status::OK;
}

// TfLiteEvalTensorByteLength: elements x TfLiteTypeSizeOf (VerifyModel bounded both).
uint64_t TensorBytes(const tflite::Tensor& tensor) {
  const TensorTypeInfo* type = FindTensorType(tensor.type());
  uint64_t bytes = type == nullptr ? 0 : type->element_bytes;
  if (const auto* shape = tensor.shape()) {
    for (const int32_t dim : *shape) bytes *= static_cast<uint64_t>(dim);
  }
  return bytes;
}

int64_t AlignedBytes(const tflite::Tensor& tensor) {
  return (static_cast<int64_t>(TensorBytes(tensor)) + kPlanAlignment - 1) / kPlanAlignment *
         kPlanAlignment;
}

bool HasConstantData(const tflite::Model& model, const tflite::Tensor& tensor) {
  const tflite::Buffer* buffer = model.buffers()->Get(tensor.buffer());
  return buffer != nullptr && buffer->data() != nullptr && buffer->data()->size() != 0;
}

// (subgraph, tensor) of a global tensor index.
void Locate(const LifetimeWalk& walk, uint32_t global, uoffset_t* sg, uoffset_t* tensor) {
  const uoffset_t count = walk.model->subgraphs()->size();
  *sg = 0;
  while (*sg + 1 < count && walk.base[*sg + 1] <= global) ++*sg;
  *tensor = global - walk.base[*sg];
}

Status CheckOfflinePlan(const tflite::Model& model, const tflite::Metadata& metadata,
                        const LifetimeWalk& walk, uint32_t tensor_count, ModelCheck* check) {
  const auto* buffers = model.buffers();
  if (metadata.buffer() >= buffers->size()) {
    return Reject(check, "offline plan: buffer %u out of range", metadata.buffer());
  }
  const auto* data = buffers->Get(metadata.buffer())->data();
  if (data == nullptr || data->size() < kPlanHeaderWords * 4 ||
      reinterpret_cast<uintptr_t>(data->data()) % 4 != 0) {
    return Reject(check, "offline plan: buffer %u holds no plan", metadata.buffer());
  }
  int32_t header[kPlanHeaderWords];
  std::memcpy(header, data->data(), sizeof(header));
  // TFLM reads neither word; writers use version 0 (TFLM's docs) or 1 (tinyrig.model.plan).
  if ((header[0] != 0 && header[0] != 1) || header[1] != 0) {
    return Reject(check, "offline plan: version %d subgraph %d (0 or 1, and 0 supported)",
                  header[0], header[1]);
  }
  if (header[2] < 0 || static_cast<uint32_t>(header[2]) != tensor_count) {
    return Reject(check, "offline plan: %d offsets for %u tensors", header[2], tensor_count);
  }
  if (tensor_count > kMaxPlannedTensors) {
    return Reject(check, "offline plan: %u tensors (at most %u)", tensor_count,
                  kMaxPlannedTensors);
  }
  if (data->size() < (kPlanHeaderWords + tensor_count) * 4) {
    return Reject(check, "offline plan: %u bytes, %u offsets need %u", data->size(),
                  tensor_count, (kPlanHeaderWords + tensor_count) * 4);
  }
  const auto* offsets = reinterpret_cast<const int32_t*>(data->data()) + kPlanHeaderWords;
  const auto* subgraphs = model.subgraphs();
  // Pass 1: every offset, and the variable tensors TFLM looks up at two indices.
  for (uoffset_t sg = 0; sg < subgraphs->size(); ++sg) {
    const auto& tensors = *subgraphs->Get(sg)->tensors();
    for (uoffset_t t = 0; t < tensors.size(); ++t) {
      const uint32_t global = walk.base[sg] + t;
      const int32_t offset = offsets[global];
      const tflite::Tensor& tensor = *tensors.Get(t);
      if (offset != kOnlinePlanned &&
          (offset < 0 || offset % kPlanAlignment != 0 ||
           offset + AlignedBytes(tensor) > static_cast<int64_t>(kMaxTensorBytes))) {
        return Reject(check, "offline plan: subgraph %u tensor %u: offset %d", sg, t, offset);
      }
      if (tensor.is_variable() && (offsets[t] == kOnlinePlanned) != (offset == kOnlinePlanned)) {
        return Reject(check, "offline plan: subgraph %u variable tensor %u: offsets %d and %d",
                      sg, t, offsets[t], offset);
      }
    }
  }
  // Pass 2: the offline-placed tensors TFLM allocates (InitializeAllocationInfo's
  // needs_allocating), compacted to the front of g_plan (variables: live always).
  uint32_t placed = 0;
  uint32_t global_of[2] = {0, 0};
  for (uoffset_t sg = 0; sg < subgraphs->size(); ++sg) {
    const auto& tensors = *subgraphs->Get(sg)->tensors();
    for (uoffset_t t = 0; t < tensors.size(); ++t) {
      const uint32_t global = walk.base[sg] + t;
      const tflite::Tensor& tensor = *tensors.Get(t);
      const uint64_t bytes = TensorBytes(tensor);
      const bool allocated =
          offsets[global] != kOnlinePlanned &&
          (tensor.is_variable() || (!HasConstantData(model, tensor) && bytes != 0));
      if (!allocated) continue;
      PlanEntry entry = g_plan[global];
      entry.begin = offsets[global];
      entry.end = offsets[global] + static_cast<int32_t>(bytes);  // < 2^31: pass 1
      if (tensor.is_variable()) {
        entry.first = 0;
        entry.last = kAlwaysLive;
      }
      g_plan[placed++] = entry;  // placed <= global: nothing unread is overwritten
    }
  }
  // Pass 3: no two of them share a byte while both are live (GreedyMemoryPlanner's
  // DoesEntryOverlapInTime).
  for (uint32_t i = 0; i < placed; ++i) {
    const PlanEntry& a = g_plan[i];
    for (uint32_t j = i + 1; j < placed; ++j) {
      const PlanEntry& b = g_plan[j];
      const bool same_time = !(a.first > b.last || b.first > a.last);
      const bool same_bytes = a.begin < b.end && b.begin < a.end;
      if (!same_time || !same_bytes) continue;
      // The i-th and j-th placed tensors, by a second scan.
      uint32_t seen = 0;
      for (uint32_t global = 0; global < tensor_count && seen <= j; ++global) {
        uoffset_t sg = 0;
        uoffset_t t = 0;
        Locate(walk, global, &sg, &t);
        const tflite::Tensor& tensor = *subgraphs->Get(sg)->tensors()->Get(t);
        const bool allocated =
            offsets[global] != kOnlinePlanned &&
            (tensor.is_variable() || (!HasConstantData(model, tensor) && TensorBytes(tensor) != 0));
        if (!allocated) continue;
        if (seen == i) global_of[0] = global;
        if (seen == j) global_of[1] = global;
        ++seen;
      }
      uoffset_t sg_a = 0;
      uoffset_t t_a = 0;
      uoffset_t sg_b = 0;
      uoffset_t t_b = 0;
      Locate(walk, global_of[0], &sg_a, &t_a);
      Locate(walk, global_of[1], &sg_b, &t_b);
      return Reject(check,
                    "offline plan: subgraph %u tensor %u and subgraph %u tensor %u overlap "
                    "while both are live",
                    sg_a, t_a, sg_b, t_b);
    }
  }
  return Status::OK;
}

}  // namespace

Status CheckMemoryPlan(const tflite::Model& model, ModelCheck* check) {
  const auto* subgraphs = model.subgraphs();
  LifetimeWalk walk{};
  walk.model = &model;
  walk.check = check;
  uint64_t tensor_count = 0;
  for (uoffset_t sg = 0; sg < subgraphs->size() && sg < kMaxWalkSubgraphs; ++sg) {
    walk.base[sg] = static_cast<uint32_t>(tensor_count);
    tensor_count += subgraphs->Get(sg)->tensors()->size();
  }
  // Everything TFLM may place in the arena, summed as its planner will (aligned): bounded, so
  // that no offset it computes wraps its `int` arithmetic.
  uint64_t arena_bytes = 0;
  for (const tflite::SubGraph* subgraph : *subgraphs) {
    for (const tflite::Tensor* tensor : *subgraph->tensors()) {
      if (tensor->is_variable() || !HasConstantData(model, *tensor)) {
        arena_bytes += static_cast<uint64_t>(AlignedBytes(*tensor));
      }
    }
  }
  if (arena_bytes > kMaxTensorBytes) {
    return Reject(check, "tensors need %llu bytes of arena (at most %llu)",
                  static_cast<unsigned long long>(arena_bytes),
                  static_cast<unsigned long long>(kMaxTensorBytes));
  }
  // The plan TFLM would read: the metadata entry named exactly so (TFLM takes the last one;
  // more than one is refused: pass 2 below reuses the lifetimes' storage).
  const tflite::Metadata* plan = nullptr;
  if (const auto* metadata = model.metadata()) {
    for (const tflite::Metadata* entry : *metadata) {
      const auto* name = entry->name();
      if (name == nullptr || name->size() != sizeof(kOfflinePlanName) - 1 ||
          std::memcmp(name->data(), kOfflinePlanName, name->size()) != 0) {
        continue;
      }
      if (plan != nullptr) return Reject(check, "offline plan: more than one");
      plan = entry;
    }
  }
  walk.track = plan != nullptr && tensor_count <= kMaxPlannedTensors;
  if (walk.track) {
    for (uint32_t i = 0; i < tensor_count; ++i) g_plan[i] = PlanEntry{-1, -1, 0, 0};
  }
  const Status status = WalkSubgraph(walk, 0);
  if (status != Status::OK) return status;
  if (plan == nullptr) return Status::OK;
  return CheckOfflinePlan(model, *plan, walk, static_cast<uint32_t>(tensor_count), check);
}

}  // namespace tinyrig
