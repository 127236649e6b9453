// A bounded arena for TFLM: every allocation the arena cannot hold ends the model load cleanly
// (ARENA_TOO_SMALL with the bytes missing) instead of handing TFLM a null or overlapping block.
//
// The pinned TFLM crashes with arenas just under a model's minimum (protocol fuzzer, through
// ARENA_LIMIT; inputs in firmware/fuzz/regressions/protocol/arena-limit-*):
//
//  1. SingleArenaBufferAllocator::AllocatePersistentBuffer (arena_allocator/
//     single_arena_buffer_allocator.cc) checks the new tail only against head_, not against the
//     temp buffers a kernel's Prepare holds above head_. FULLY_CONNECTED's Prepare allocates its
//     temp TfLiteTensors, then CalculateOpDataFullyConnected (kernels/fully_connected_common.cc)
//     allocates the per-channel multipliers and shifts persistently: at ~1.7-1.8 KiB for the
//     sine model those land on the temp output tensor, the multipliers overwrite it and
//     CalculateActivationRangeQuantized reads a garbage type. Any kernel that allocates
//     persistent memory in Prepare after AllocateTemp*Tensor can do the same.
//  2. Nothing checks a null from the allocators before using it: BuiltinDataAllocator::
//     AllocatePOD (core/api/flatbuffer_conversions.h) placement-news the op options on the
//     result (ParseFullyConnected at 884 B, and every other Parse* the same way);
//     MicroAllocator::StartModelAllocation places its MicroBuiltinDataAllocator,
//     AllocateScratchBufferHandles hands out its array, and ~36 kernels' Init return
//     context->AllocatePersistentBuffer() as user_data that Prepare only DCHECKs (compiled out);
//     CalculateOpDataFullyConnected writes the per-channel arrays unchecked.
//
// BoundedArenaAllocator is TFLM's SingleArenaBufferAllocator (same object, same size, same place
// at the arena tail, so every arena size means what it meant before) whose allocations also
// check that a persistent block stays above every temp buffer. While armed (around
// AllocateTensors, inside RunGuarded), an allocation that does not fit records the bytes missing
// and abort()s: runner/abort_guard.cc turns that into a return from RunGuarded, so no TFLM code
// runs after a failed allocation. TFLM's sources are not changed.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tflite {
class MicroAllocator;
}

namespace tinyrig {

// Places TFLM's allocator objects at the tail of `arena` exactly as MicroInterpreter's arena
// constructor does (arena buffer allocator, then a Greedy or, with `preserve_all_tensors`, a
// Linear memory planner, then the MicroAllocator), with a BoundedArenaAllocator as the arena
// buffer allocator. nullptr when the arena cannot hold those objects. Disarms the guard.
tflite::MicroAllocator* CreateBoundedAllocator(uint8_t* arena, size_t arena_size,
                                               bool preserve_all_tensors);

// While armed, an allocation that does not fit aborts (call only inside RunGuarded).
void ArmArenaGuard(bool armed);

// Bytes the first allocation that did not fit lacked, since CreateBoundedAllocator (0: none).
uint32_t ArenaBytesMissing();

}  // namespace tinyrig
