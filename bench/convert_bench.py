"""Conversion time per example model: Keras -> int8 .tflite with calibration and validation.

Runs ``convert_model()`` on each model of ``models/`` a few times in one process (TensorFlow is
imported once; its import time is reported apart) and writes the medians to
``bench/convert_results.json`` and ``bench/convert_results.md``::

    .venv/bin/python bench/convert_bench.py [--repeats 3]

Single-threaded TensorFlow (the build machines are shared), so the numbers are a pessimistic
baseline rather than the best this machine can do.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")

REPO = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent

# name -> (float source, representative set, validation set)
MODELS = {
    "sine": ("sine/sine_float.keras", "sine/calibration.npy", "sine/validation.npz"),
    "digits": ("digits/digits_float.keras", "digits/calibration.npz", "digits/validation.npz"),
    "gesture": ("gesture/gesture_float.keras", "gesture/calibration.npz",
                "gesture/validation.npz"),
}


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def bench(repeats: int) -> dict[str, Any]:
    started = time.perf_counter()
    import tensorflow as tf

    tf_import_s = time.perf_counter() - started
    from tinyrig.model.convert import convert_model

    rows: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (src, rep, val) in MODELS.items():
            runs = []
            for i in range(repeats):
                report = convert_model(REPO / "models" / src, Path(tmp) / f"{name}{i}.tflite",
                                       quantize="int8", representative=REPO / "models" / rep,
                                       validate=REPO / "models" / val)
                runs.append(report)
                print(f"{name} run {i + 1}/{repeats}: {report.timings.total_s:.2f} s",
                      file=sys.stderr)
            last = runs[-1]
            v = last.validation
            assert v is not None
            rows[name] = {
                "load_s": _median([r.timings.load_s for r in runs]),
                "convert_s": _median([r.timings.convert_s for r in runs]),
                "validate_s": _median([r.timings.validate_s for r in runs]),
                "total_s": _median([r.timings.total_s for r in runs]),
                "calibration_samples": last.calibration_samples,
                "validation_samples": v.samples,
                "validation_runtime": v.runtime,
                "source_bytes": last.source_bytes,
                "tflite_bytes": last.output_bytes,
                "identical_runs": len({r.output.read_bytes() for r in runs}) == 1,
            }
    return {
        "repeats": repeats,
        "tensorflow": tf.__version__,
        "tensorflow_import_s": round(tf_import_s, 3),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, TF threads 1/1",
        "models": rows,
    }


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "# Conversion benchmark (bench/convert_bench.py)",
        "",
        f"TensorFlow {results['tensorflow']}, Python {results['python']}, "
        f"{results['machine']}; median of {results['repeats']} runs in one process. "
        f"Importing TensorFlow took {results['tensorflow_import_s']:.2f} s once (not included).",
        "",
        "| model | load s | convert + calibrate s | validate s | total s "
        "| calibration samples | validation samples (runtime) | .keras bytes "
        "| int8 .tflite bytes | byte-identical runs |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---|",
    ]
    for name, r in results["models"].items():
        lines.append(
            f"| {name} | {r['load_s']:.2f} | {r['convert_s']:.2f} | {r['validate_s']:.2f} "
            f"| {r['total_s']:.2f} | {r['calibration_samples']} "
            f"| {r['validation_samples']} ({r['validation_runtime']}) | {r['source_bytes']:,} "
            f"| {r['tflite_bytes']:,} | {'yes' if r['identical_runs'] else 'NO'} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    results = bench(args.repeats)
    (HERE / "convert_results.json").write_text(json.dumps(results, indent=2) + "\n")
    (HERE / "convert_results.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
