# tinyrig: two commands set everything up on a fresh Debian machine.
#   make demo   the main job on an emulated Cortex-M4 board (no hardware needed)
#   make test   the whole suite (CI calls exactly this)

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
TINYRIG:= $(VENV)/bin/tinyrig
DEMO   := build/demo

# Offline labs (and CI here): the pinned TFLM tree from a local tarball, when one is beside us.
SHARED_TFLM := $(abspath ../shared/vendor/tflite-micro/tflm-90b983c.tar.gz)
ifeq ($(origin TINYRIG_TFLM_SOURCE), undefined)
  ifneq ($(wildcard $(SHARED_TFLM)),)
    export TINYRIG_TFLM_SOURCE := $(SHARED_TFLM)
  endif
endif

.PHONY: setup system-deps all-deps fuzz-deps demo test lint typecheck unit fuzz bench bench-quick \
  build-bench clean

# The Debian packages come from one list, host/tinyrig/system_packages.txt (checked with
# dpkg-query, installed as root, else the exact apt-get command is printed); then a C++
# translation unit is compiled for the Cortex-M4F (tools/check-arm-cxx.sh), before any build.
system-deps:
	@tools/system-deps.sh core arm qemu

# make test: every package of the list (the fuzzers' clang + libFuzzer, gdb-multiarch, ...).
all-deps:
	@tools/system-deps.sh --all

fuzz-deps:
	@tools/system-deps.sh core fuzz

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

setup: system-deps $(VENV)/.installed

demo: setup
	$(TINYRIG) doctor --target qemu-m4
	$(TINYRIG) convert models/sine/sine_float.keras --representative models/sine/calibration.npy \
	  --validate models/sine/validation.npz -o $(DEMO)/sine_int8.tflite
	$(TINYRIG) arena $(DEMO)/sine_int8.tflite
	$(TINYRIG) export $(DEMO)/sine_int8.tflite -o $(DEMO)/export
	$(TINYRIG) build --target qemu-m4 --model $(DEMO)/sine_int8.tflite
	$(TINYRIG) run --device qemu --model $(DEMO)/sine_int8.tflite --input models/sine/demo_inputs.npy

lint: setup
	$(VENV)/bin/ruff check host hil tests tools bench models

typecheck: setup
	$(VENV)/bin/mypy

unit: setup all-deps
	$(VENV)/bin/pytest

test: lint typecheck unit

fuzz: setup fuzz-deps
	$(MAKE) -C firmware/fuzz run

bench: setup
	$(TINYRIG) bench

bench-quick: setup
	$(TINYRIG) bench --quick

# The firmware build from an empty cache, whole TFLM library vs the model's kernels (slow).
build-bench: setup
	$(PY) bench/build_bench.py

clean:
	rm -rf build .pio
