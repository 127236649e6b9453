#!/usr/bin/env bash
# Prove the Cortex-M C++ toolchain works before any build starts: compile one translation unit
# that uses the C++ runtime headers the firmware needs, with the Cortex-M4F flags of qemu-m4.
# On failure, print the apt command for the arm group of host/tinyrig/system_packages.txt.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
list="$here/../host/tinyrig/system_packages.txt"
arm_packages=$(awk '!/^[[:space:]]*(#|$)/ && $2 == "arm" {printf "%s ", $1}' "$list")
fix="sudo apt-get update && sudo apt-get install -y --no-install-recommends ${arm_packages% }"

cxx="${TINYRIG_ARM_CXX:-arm-none-eabi-g++}"
if ! command -v "$cxx" >/dev/null; then
  echo "tinyrig: $cxx is not installed; run:  $fix" >&2
  exit 1
fi
probe="$here/../host/tinyrig/cxx_probe.cc"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! "$cxx" -std=c++17 -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 \
    -fno-exceptions -fno-rtti -c "$probe" -o "$work/probe.o" 2>"$work/log"; then
  echo "tinyrig: arm-none-eabi-g++ cannot compile C++ for the Cortex-M4F:" >&2
  head -n 3 "$work/log" >&2
  echo "the Cortex-M C++ headers or libraries are missing; run:  $fix" >&2
  exit 1
fi
