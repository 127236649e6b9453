#!/usr/bin/env python3
"""Benchmark tinyrig's arena search: time to the measured minimum, and to a cached answer.

Usage: python bench/arena_bench.py [MODEL.tflite ...] [--out bench/arena_results.json]

Default models: the third-party test models in ../shared/models. Each model is measured with a
private, empty cache (the full bisection in child processes), then again (the cached answer).
Results are appended to the JSON file (one record per run, with the interpreter build and host).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "host"))

from tinyrig.model.arena import interpreter_build, measure_arena, probe_arena  # noqa: E402

DEFAULT_MODELS = ["hello_world_int8", "hello_world_float", "micro_speech_quantized",
                  "trained_lstm_int8", "person_detect"]


def bench(path: Path) -> dict[str, object]:
    start = time.monotonic()
    report = measure_arena(path, use_cache=False)
    search = time.monotonic() - start
    measure_arena(path)  # store in the (private) cache
    start = time.monotonic()
    cached = measure_arena(path)
    cached_s = time.monotonic() - start
    assert cached.cached and cached.minimum_bytes == report.minimum_bytes
    below = probe_arena(path, report.minimum_bytes - 16)
    return {
        "model": path.name,
        "model_bytes": report.model_bytes,
        "minimum_bytes": report.minimum_bytes,
        "recommended_bytes": report.arena_bytes,
        "reported_used_bytes": report.breakdown.total_bytes if report.breakdown else None,
        "persistent_bytes": report.breakdown.persistent_bytes if report.breakdown else None,
        "non_persistent_bytes": (report.breakdown.non_persistent_bytes
                                 if report.breakdown else None),
        "minus_16_fails": not below.ok,
        "minus_16_reason": below.reason,
        "probes": report.probes,
        "search_seconds": round(search, 3),
        "cached_seconds": round(cached_s, 4),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", type=Path)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "arena_results.json")
    args = parser.parse_args()
    models = args.models or [REPO.parent / "shared" / "models" / f"{n}.tflite"
                             for n in DEFAULT_MODELS]
    with tempfile.TemporaryDirectory() as cache:
        os.environ["TINYRIG_CACHE_DIR"] = cache
        rows = [bench(m) for m in models if m.is_file()]
    run = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "interpreter": interpreter_build(),
        "host": f"{platform.machine()} {platform.system()} {os.cpu_count()} cpus, "
                f"Python {platform.python_version()}",
        "results": rows,
    }
    history = json.loads(args.out.read_text()) if args.out.is_file() else []
    history.append(run)
    args.out.write_text(json.dumps(history, indent=1) + "\n")
    print(f"interpreter {run['interpreter']} on {run['host']}")
    print("| model | min B | recommended B | used (print_allocations) B | probes | search s "
          "| cached s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['minimum_bytes']} | {r['recommended_bytes']} | "
              f"{r['reported_used_bytes']} | {r['probes']} | {r['search_seconds']} | "
              f"{r['cached_seconds']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
