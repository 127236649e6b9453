#!/usr/bin/env python3
"""Link benchmark: protocol payload throughput as a fraction of the raw echo throughput of the
same link, measured in the same run (docs/protocol.md §3.3).

For each emulated board (the runner firmware, which accepts models over the link):
  - raw:     LINK_TEST echo of 64 KiB (bytes/s one way; the link's capacity)
  - set/get: SET_INPUT and GET_OUTPUT of 1 KiB and 64 KiB tensors (pass-through models)
  - upload:  a ~300 KB model (person_detect) with MODEL_BEGIN/CHUNK/COMMIT

Usage: python bench/link_bench.py [--boards native,qemu] [--repeat 3]
Writes bench/link_results.json and bench/link_results.md. Not a test: numbers vary by machine;
the ratios are what to compare.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "host"))
SHARED = REPO.parent / "shared"
if not os.environ.get("TINYRIG_TFLM_SOURCE"):
    tarball = SHARED / "vendor/tflite-micro/tflm-90b983c.tar.gz"
    if tarball.is_file():
        os.environ["TINYRIG_TFLM_SOURCE"] = str(tarball)

from tinyrig.device.client import DeviceClient  # noqa: E402
from tinyrig.device.open import launch_runner  # noqa: E402

BOARDS = {"native": "native", "qemu": "qemu:mps2-an386"}
UPLOAD_MODEL = SHARED / "models" / "person_detect.tflite"


def passthrough_model(size: int, out: Path) -> Path:
    """An int8 model whose input and output are ``size`` bytes (one RELU between them)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np
    import tensorflow as tf

    inputs = tf.keras.Input(shape=(size,), batch_size=1)
    model = tf.keras.Model(inputs, tf.keras.layers.ReLU()(inputs))
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    rng = np.random.default_rng(0)
    converter.representative_dataset = lambda: (
        [rng.uniform(-1, 1, (1, size)).astype("float32")] for _ in range(4))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    out.write_bytes(converter.convert())
    return out


def best(samples: list[float]) -> float:
    return min(samples)


def bench_board(url: str, repeat: int, models: dict[int, Path]) -> dict[str, object]:
    board, device = launch_runner(url)
    client: DeviceClient = device.client
    try:
        echo_bytes = os.urandom(64 * 1024)
        raw = []
        for _ in range(repeat):
            echoed, seconds = client.link_test(echo_bytes)
            assert echoed == echo_bytes, "echo corrupted"
            raw.append(len(echo_bytes) / seconds)
        raw_bps = max(raw)
        result: dict[str, object] = {"url": url, "max_payload": client.max_payload,
                                     "raw_echo_bytes_per_s": raw_bps}
        for size, path in models.items():
            data = path.read_bytes()
            client.upload_model(data, hashlib.sha256(data).digest()[:8])
            payload = os.urandom(size)
            set_times, get_times = [], []
            for _ in range(repeat):
                start = time.perf_counter()
                client.set_input(0, payload)
                set_times.append(time.perf_counter() - start)
                client.invoke()
                start = time.perf_counter()
                client.get_output(0, size)
                get_times.append(time.perf_counter() - start)
            result[f"set_input_{size}"] = size / best(set_times) / raw_bps
            result[f"get_output_{size}"] = size / best(get_times) / raw_bps
        data = UPLOAD_MODEL.read_bytes()
        uploads = []
        for _ in range(repeat):
            start = time.perf_counter()
            client.upload_model(data, hashlib.sha256(data).digest()[:8])
            uploads.append(time.perf_counter() - start)
        result["upload_bytes"] = len(data)
        result["upload_seconds"] = best(uploads)
        result["upload"] = len(data) / best(uploads) / raw_bps
        result["bad_frames"] = client.counters().bad_frames
        return result
    finally:
        device.close()
        board.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--boards", default="native,qemu")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        models = {size: passthrough_model(size, Path(tmp) / f"pass_{size}.tflite")
                  for size in (1024, 65536)}
        results = [bench_board(BOARDS[name], args.repeat, models)
                   for name in args.boards.split(",")]
    record = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "host": platform.node(),
              "python": platform.python_version(), "results": results}
    (REPO / "bench" / "link_results.json").write_text(json.dumps(record, indent=2) + "\n")
    lines = ["# Link benchmark (bench/link_bench.py)", "",
             f"Run {record['when']} on {platform.machine()}, best of {args.repeat}. Ratios are "
             "payload bytes/s divided by the raw LINK_TEST echo bytes/s of the same link, "
             "measured in the same run (target: 0.9 or more).", "",
             "| board | raw echo | set 1 KiB | get 1 KiB | set 64 KiB | get 64 KiB | "
             "upload 300 KB | upload time |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(
            f"| {r['url']} | {float(str(r['raw_echo_bytes_per_s'])) / 1024:.1f} KiB/s | "
            f"{r['set_input_1024']:.2f} | {r['get_output_1024']:.2f} | "
            f"{r['set_input_65536']:.2f} | {r['get_output_65536']:.2f} | {r['upload']:.2f} | "
            f"{r['upload_seconds']:.2f} s |")
    lines.append("")
    (REPO / "bench" / "link_results.md").write_text("\n".join(lines))
    print("\n".join(lines))
    print(f"median upload ratio {statistics.median(float(str(r['upload'])) for r in results):.2f}")


if __name__ == "__main__":
    main()
