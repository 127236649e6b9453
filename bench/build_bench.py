#!/usr/bin/env python3
"""Benchmark the demo's firmware build: whole TFLM library (before) vs the model's kernels (after).

Usage: python bench/build_bench.py [--target qemu-m4] [--model models/sine/sine_int8.tflite]

Measured in one run, each from an empty private tinyrig cache (``TINYRIG_CACHE_DIR`` in a
temporary directory: no TFLM objects, no unpacked TFLM tree, no images):

- ``after``: ``build_firmware(target, model)``, what ``tinyrig build`` / ``make demo`` does now:
  the TFLM core plus the kernels the model's resolver registers;
- ``before``: the same build with ``kernels="all"``, the whole TFLM library (every kernel, all
  of CMSIS-NN and signal), what every build compiled before and the runner firmware still does;
- ``incremental``: on the warm ``after`` cache, a second model with the same ops
  (hello_world_int8: our sources and the model array recompile, TFLM objects come from the
  cache), then the same build again (the image is reused without running PlatformIO).

Besides wall time it records the CPU seconds of the compilers (children of this process) and
the load average: other work on the machine stretches wall time, CPU seconds / cores is what
the build costs on an idle machine. Writes bench/build_results.json and bench/build_results.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "host"))
_SHARED_TFLM = REPO.parent / "shared" / "vendor" / "tflite-micro" / "tflm-90b983c.tar.gz"
if not os.environ.get("TINYRIG_TFLM_SOURCE") and _SHARED_TFLM.is_file():
    os.environ["TINYRIG_TFLM_SOURCE"] = str(_SHARED_TFLM)

from tinyrig.builder.firmware import build_firmware  # noqa: E402

SINE = REPO / "models" / "sine" / "sine_int8.tflite"
HELLO_WORLD = REPO.parent / "shared" / "models" / "hello_world_int8.tflite"
ARENA = 4096  # enough for both one-op models (the arena is a static array in the image)
AFTER = "after: the model's kernels, empty cache"
BEFORE = "before: the whole TFLM library, empty cache"


def _child(cache: Path, target: str, model: Path, kernels: str) -> int:
    """One build in its own process (its rusage is the whole build's CPU time)."""
    os.environ["TINYRIG_CACHE_DIR"] = str(cache)
    image = build_firmware(target, model, arena_bytes=ARENA,
                           kernels="all" if kernels == "all" else "model")
    listing = image.elf.parents[2] / "tflm_sources.txt"
    print(json.dumps({"cached": image.cached, "flash_bytes": image.flash_bytes,
                      "tflm_sources": len(listing.read_text().split())}))
    return 0


def _start(cache: Path, target: str, model: Path, kernels: str) -> tuple[subprocess.Popen[str],
                                                                         float, float]:
    command = [sys.executable, __file__, "--child", str(cache), target, str(model), kernels]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    return process, time.monotonic(), os.getloadavg()[0]


def _finish(label: str, started: tuple[subprocess.Popen[str], float, float]
            ) -> dict[str, object]:
    process, start, load_before = started
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - start
    assert process.stdout is not None
    out = process.stdout.read()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{label}: build failed (exit {process.returncode})")
    result = json.loads(out.strip().splitlines()[-1])
    cpu_s = usage.ru_utime + usage.ru_stime
    row: dict[str, object] = {
        "build": label, "wall_s": round(wall, 1), "cpu_s": round(cpu_s, 1),
        "cpu_s_per_core": round(cpu_s / (os.cpu_count() or 1), 1),
        "load_before": round(load_before, 1), "load_after": round(os.getloadavg()[0], 1),
        **result,
    }
    print(json.dumps(row), flush=True)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="qemu-m4")
    parser.add_argument("--model", type=Path, default=SINE)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "build_results.json")
    parser.add_argument("--parallel", action="store_true",
                        help="run the before and after builds at the same time")
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        return _child(Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4]), sys.argv[5])
    args = parser.parse_args()
    target, model = args.target, args.model

    rows = []
    work = Path(tempfile.mkdtemp(prefix="tinyrig-build-bench-"))
    try:
        # The two empty-cache builds: one after the other, or (--parallel) side by side on a
        # busy machine; each one's CPU seconds are its own process tree's either way.
        after_build = _start(work / "after", target, model, "model")
        if args.parallel:
            before_build = _start(work / "before", target, model, "all")
        rows.append(_finish(AFTER, after_build))
        if not args.parallel:
            before_build = _start(work / "before", target, model, "all")
        if HELLO_WORLD.is_file():
            rows.append(_finish("incremental: another one-op model, warm cache",
                                _start(work / "after", target, HELLO_WORLD, "model")))
        rows.append(_finish("cached: the demo's build again",
                            _start(work / "after", target, model, "model")))
        rows.append(_finish(BEFORE, before_build))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    after, before = rows[0], rows[-1]
    ratio_wall = float(str(before["wall_s"])) / max(float(str(after["wall_s"])), 0.1)
    ratio_cpu = float(str(before["cpu_s"])) / max(float(str(after["cpu_s"])), 0.1)
    record = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"), "host": platform.node(),
        "machine": platform.machine(), "cpus": os.cpu_count(), "target": target,
        "model": str(model.relative_to(REPO) if model.is_relative_to(REPO) else model),
        "parallel": args.parallel, "rows": rows, "ratio_wall": round(ratio_wall, 1),
        "ratio_cpu": round(ratio_cpu, 1),
    }
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    lines = [
        "# Firmware build benchmark (bench/build_bench.py)", "",
        f"`python bench/build_bench.py`, {record['when']} on {record['machine']}, "
        f"{record['cpus']} CPUs: `{target}` firmware for `{record['model']}` (the demo's "
        "build), each \"empty cache\" row from its own empty `TINYRIG_CACHE_DIR` (the TFLM "
        "tarball unpack included). CPU s = user + system time of the build's whole process "
        "tree (PlatformIO, SCons, compilers, linker; os.wait4); CPU s / core is about the wall "
        "time on an otherwise idle machine (the build runs 2 jobs). Other work was running on "
        "the machine (load average in the table), so wall times are stretched by that load"
        + (", and the two empty-cache builds ran side by side (--parallel)."
           if args.parallel else "."), "",
        "| build | wall s | CPU s | CPU s / core | TFLM sources | load (1 min) |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(f"| {row['build']} | {row['wall_s']} | {row['cpu_s']} | "
                     f"{row['cpu_s_per_core']} | {row['tflm_sources']} | "
                     f"{row['load_before']} → {row['load_after']} |")
    lines += ["", f"Before / after: {record['ratio_wall']}x wall time, "
              f"{record['ratio_cpu']}x CPU time.", ""]
    if args.parallel:
        lines += ["With --parallel the wall-time ratio understates the gain: once the after "
                  "build is done the before build has the machine's share to itself; compare "
                  "the CPU seconds.", ""]
    args.out.with_suffix(".md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
