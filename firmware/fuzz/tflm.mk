# TFLM (reference kernels) compiled for the host with clang + libFuzzer coverage + ASan/UBSan,
# for the model-loader fuzzer. Included by Makefile; builds once into $(TFLM_FUZZ_DIR), outside
# the repo (default ~/.cache/tinyrig/fuzz/tflm-<commit>-<flags hash>), and is reused afterwards.
# TFLM sources are read from the pinned tree (tinyrig.builder.tflm.tflm_tree()); never copied.

TFLM_COMMIT_ID ?= 90b983c
TFLM_DIR ?= $(shell $(PYTHON) -c "from tinyrig.builder.tflm import tflm_tree; print(tflm_tree().root)")

TFLM_DEFINES  := -DTF_LITE_STATIC_MEMORY -DTF_LITE_DISABLE_X86_NEON -DNDEBUG
TFLM_INCLUDES  = -isystem $(TFLM_DIR) -isystem $(TFLM_DIR)/third_party/flatbuffers/include \
                 -isystem $(TFLM_DIR)/third_party/gemmlowp -isystem $(TFLM_DIR)/third_party/kissfft \
                 -isystem $(TFLM_DIR)/third_party/ruy
# UBSan minus signed-integer-overflow, shift and float-cast-overflow inside TFLM: its quantized
# kernels wrap int32 accumulators, shift by computed amounts and convert out-of-range multipliers
# when weights, zero points or scales are extreme (Cortex-M wraps, shifts and saturates: wrong
# numbers, not a crash); reporting those would bury the memory errors this fuzzer is for. Our
# sources (Makefile) keep the full -fsanitize=undefined.
TFLM_CXXFLAGS := -std=c++17 -O1 -g -fno-rtti -fno-exceptions -fno-threadsafe-statics \
                 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
                 -fno-sanitize=vptr,signed-integer-overflow,shift,float-cast-overflow -w $(TFLM_DEFINES)
TFLM_FLAGS_HASH := $(shell echo '$(CLANGXX) $(TFLM_CXXFLAGS)' | sha256sum | cut -c1-12)
TFLM_FUZZ_DIR ?= $(or $(TINYRIG_CACHE_DIR),$(HOME)/.cache/tinyrig)/fuzz/tflm-$(TFLM_COMMIT_ID)-$(TFLM_FLAGS_HASH)
TFLM_LIB := $(TFLM_FUZZ_DIR)/libtflm.a

# The platform hooks (DebugLog, ticks) come from the fuzz harness, as in tinyrig_build.py.
TFLM_EXCLUDE := tensorflow/lite/micro/debug_log.cc tensorflow/lite/micro/micro_time.cc \
                tensorflow/lite/micro/system_setup.cc tensorflow/lite/micro/test_helpers.cc \
                tensorflow/lite/micro/test_helper_custom_ops.cc \
                tensorflow/lite/micro/fake_micro_context.cc tensorflow/lite/micro/mock_micro_graph.cc
TFLM_SOURCES = $(filter-out $(TFLM_EXCLUDE) tensorflow/lite/micro/cortex_m_generic/%, \
                 $(shell cd $(TFLM_DIR) && find tensorflow signal -name '*.cc' | sort))
TFLM_OBJECTS = $(addprefix $(TFLM_FUZZ_DIR)/obj/,$(TFLM_SOURCES:.cc=.o))

$(TFLM_FUZZ_DIR)/obj/%.o: $(TFLM_DIR)/%.cc
	@mkdir -p $(dir $@)
	@echo "  CXX (tflm, asan) $*.cc"
	@$(CLANGXX) $(TFLM_CXXFLAGS) $(TFLM_INCLUDES) -c $< -o $@

$(TFLM_LIB): $(TFLM_OBJECTS)
	rm -f $@.tmp
	ar rcs $@.tmp $^
	mv $@.tmp $@

.PHONY: tflm
tflm: $(TFLM_LIB)
