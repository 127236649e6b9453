// Stack use measured, not guessed: at boot the unused part of the stack is painted with a
// pattern; the high-water mark is how much of it has been overwritten since (the deepest the
// stack has ever reached, interrupts included). Reported in STATS (docs/protocol.md §3).
//
// Boards: the stack is [__stack_limit__, __stack_top__) of the linker script (every tinyrig
// Cortex-M script defines both). The host build (native) has no fixed stack: size 0, not
// measured.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tinyrig {
namespace stack {

// Paints the stack below the caller's frame (less a small margin). Call first thing in main().
void Paint();
// The stack's size in bytes (0: not measured on this target).
size_t Size();
// The most bytes of stack ever in use since Paint() (0 when not measured). A watermark of
// Size() means the pattern is gone to the bottom: the stack may have overflowed.
size_t HighWater();

}  // namespace stack
}  // namespace tinyrig
