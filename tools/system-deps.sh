#!/usr/bin/env bash
# Install the Debian packages tinyrig needs (as root), or print the exact command (otherwise).
# Idempotent: installs nothing when every tool is already there.
#   tools/system-deps.sh          build + run firmware (Arm GCC, newlib, QEMU, g++, make)
#   tools/system-deps.sh --fuzz   also clang + libFuzzer/ASan runtimes (firmware/fuzz, make fuzz)
set -euo pipefail

fuzz=0
[ "${1:-}" = "--fuzz" ] && fuzz=1

missing=()
command -v arm-none-eabi-g++ >/dev/null || missing+=(gcc-arm-none-eabi)
[ -f /usr/lib/arm-none-eabi/newlib/libc.a ] || [ -f /usr/lib/arm-none-eabi/lib/libc.a ] \
  || missing+=(libnewlib-arm-none-eabi)
command -v qemu-system-arm >/dev/null || missing+=(qemu-system-arm)
command -v g++ >/dev/null || missing+=(g++)
command -v make >/dev/null || missing+=(make)
if [ "$fuzz" -eq 1 ]; then
  command -v clang++ >/dev/null || missing+=(clang)
  # libFuzzer and the sanitizer runtimes are a separate package on Debian 12 (clang 14).
  if ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
    missing+=(libclang-rt-14-dev)
  fi
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "tinyrig needs these Debian packages: ${missing[*]}" >&2
  echo "run:  sudo apt-get update && sudo $cmd" >&2
  exit 1
fi
echo "installing ${missing[*]} (apt)..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
$cmd -qq >/dev/null
