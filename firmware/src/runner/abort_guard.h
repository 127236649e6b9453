// TFLM's kernels end with abort() when a TFLITE_CHECK fails at run time (e.g. ADD on operands
// whose shapes only disagree in Eval), even with NDEBUG. An uploaded model must not take the
// firmware down that way: RunGuarded() runs TFLM code so that an abort() inside it returns
// false instead (setjmp/longjmp, no heap); the caller then drops the interpreter. An abort()
// outside a guard resets the device (hal::SystemReset).
#pragma once

namespace tinyrig {

// Calls fn(arg); true if it returned, false if it called abort(). Not reentrant.
bool RunGuarded(void (*fn)(void* arg), void* arg);

}  // namespace tinyrig
