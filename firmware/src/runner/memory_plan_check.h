// Checks of an uploaded model that depend on TFLM's memory planning (part of VerifyModel, after
// the structural checks passed: every index is in range).
//
// 1. The call graph of control-flow ops (IF / WHILE / CALL_ONCE): TFLM walks it recursively
//    when it plans tensor lifetimes (micro_allocation_info.cc, MarkAllocationLifetimes) and reads
//    the options of every op whose builtin_code() is a control-flow op without checking them: a
//    cycle is unbounded recursion, missing options a null dereference.
// 2. The offline memory plan (`OfflineMemoryAllocation` metadata, TFLM's format: int32 words
//    [version = 0 or 1, subgraph = 0, N, N offsets], one offset per tensor of every subgraph,
//    -1 = planned by TFLM). TFLM places the tensors at these arena offsets without any check:
//    negative offsets write below the arena, overlapping tensors corrupt each other. Accepted
//    only when, exactly as TFLM will use it:
//      - the metadata names an existing buffer with data, of at least 12 + 4 N bytes;
//      - N equals the number of tensors of all subgraphs;
//      - every offset is -1 or a multiple of 16 (MicroArenaBufferAlignment) whose end, offset
//        + the tensor's bytes rounded to 16, is at most kMaxTensorBytes (TFLM adds them in
//        `int`); the end must also fit the arena, which TFLM checks itself when it reserves the
//        plan (an offset past the arena is ARENA_TOO_SMALL with the bytes needed, as for any
//        model);
//      - no two offline-placed tensors that TFLM allocates (no constant data, non-zero size)
//        share a byte while both are live. Lifetimes are TFLM's own: allocation scopes counted
//        over the operators in execution order, control-flow subgraphs walked in place; a tensor
//        lives from the scope of the op that first writes it (subgraph inputs: from the
//        subgraph's start) to the scope of the op that last reads or writes it (subgraph
//        outputs: to its end). Variable tensors keep state between invocations: live always.
//      - a variable tensor of a subgraph other than 0 gets the same -1 / not -1 answer at its
//        subgraph-local and global index (TFLM's AllocateVariables reads the local one).
//    Tensors TFLM plans online (-1) are placed around the offline ones by TFLM's planner.
// Uses a static scratch (not reentrant); at most kMaxPlannedTensors tensors in a planned model.
#pragma once

#include <cstddef>
#include <cstdint>

#include "protocol/status.h"

namespace tflite {
struct Model;
}

namespace tinyrig {

struct ModelCheck;

constexpr uint32_t kMaxPlannedTensors = 2048;
// Operators TFLM's lifetime walk may visit (control-flow subgraphs are walked once per call
// site, so a chain of subgraphs each calling the next twice grows exponentially).
constexpr uint32_t kMaxWalkedOperators = 1u << 20;

// OK, or MODEL_INVALID with the reason in check->detail.
Status CheckMemoryPlan(const tflite::Model& model, ModelCheck* check);

}  // namespace tinyrig
