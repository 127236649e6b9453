#!/usr/bin/env bash
# Install the Debian packages tinyrig needs (as root), or print the exact command (otherwise).
# The packages come from the one list host/tinyrig/system_packages.txt (columns: package, group,
# purpose); each is checked with dpkg-query, so a header-only package counts like a compiler.
#   tools/system-deps.sh                 the groups `make demo` needs: core arm qemu
#   tools/system-deps.sh GROUP...        those groups (e.g. core fuzz; --fuzz is the same)
#   tools/system-deps.sh --all           every package of the list (`make test`)
#   tools/system-deps.sh --check ...     only report: print the command, install nothing
# TINYRIG_SYSTEM_PACKAGES names another list (tests).
# Idempotent: installs nothing when every package is there. When the arm group is asked for, it
# then proves the Cortex-M C++ toolchain works by compiling a translation unit that uses the
# C++ runtime headers (<cstddef>, <cstdint>, <new>, <cstring>) for the Cortex-M4F.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
list="${TINYRIG_SYSTEM_PACKAGES:-$here/../host/tinyrig/system_packages.txt}"
[ -f "$list" ] || { echo "system-deps: $list is missing" >&2; exit 1; }

check_only=0
if [ "${1:-}" = "--check" ]; then
  check_only=1
  shift
fi
groups=("$@")
[ ${#groups[@]} -eq 0 ] && groups=(core arm qemu)
[ "${groups[0]}" = "--fuzz" ] && groups=(core fuzz)  # the name firmware/fuzz/Makefile uses
all=0
[ "${groups[0]}" = "--all" ] && all=1

known_groups=$(awk '!/^[[:space:]]*(#|$)/ {print $2}' "$list" | sort -u)
if [ "$all" -eq 0 ]; then
  for g in "${groups[@]}"; do
    if ! grep -qx -- "$g" <<<"$known_groups"; then
      echo "system-deps: no group '$g' in $list (groups: $(echo $known_groups))" >&2
      exit 2
    fi
  done
fi

wanted=()
while read -r package group _; do
  case "$package" in ''|\#*) continue ;; esac
  if [ "$all" -eq 1 ] || printf '%s\n' "${groups[@]}" | grep -qx -- "$group"; then
    wanted+=("$package")
  fi
done <"$list"

missing=()
for package in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  case "$status" in
    *" installed") ;;
    *) missing+=("$package") ;;
  esac
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] || [ "$check_only" -eq 1 ]; then
    echo "tinyrig needs these Debian packages: ${missing[*]}" >&2
    echo "run:  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  echo "installing ${missing[*]} (apt-get)..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$all" -eq 1 ] || printf '%s\n' "${groups[@]}" | grep -qx arm; then
  "$here/check-arm-cxx.sh"
fi
