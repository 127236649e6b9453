// Stand-in for the exported model header (tinyrig.model.export) in the host fuzz builds: the
// fuzzers load models themselves, so only the arena size is needed (the upload flavour's
// TINYRIG_RUNNER_ARENA_BYTES, set by the Makefile, is what ModelRunner uses).
#pragma once

#define TINYRIG_ARENA_BYTES 1024
#define TINYRIG_TFLM_VERSION "90b983c"
