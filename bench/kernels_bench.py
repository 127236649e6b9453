#!/usr/bin/env python3
"""Kernel benchmark: TFLM reference kernels vs CMSIS-NN, instructions per inference.

For every model in models/ and ../shared/models: build it into the firmware of an emulated
Cortex-M4F board twice (``--kernels reference`` and ``--kernels cmsis-nn``), boot each image,
run one inference (a fixed random input) and record the instructions it took, the image's flash
and RAM, the arena, and whether the output is bit-exact with the host reference (TFLM's
reference kernels on the host).

The board is ``qemu:netduinoplus2`` (STM32F405, Cortex-M4F) by default: its board entry says
``timing = instructions`` (QEMU ``-icount shift=0``, TIM2 counting virtual ns), so a count is
exact and repeats. ``qemu-m4`` (mps2-an386) has the same core and kernels, but its SysTick is a
25 MHz timer, not an instruction counter.

Usage: python bench/kernels_bench.py [--device qemu:netduinoplus2] [--models a.tflite,...]
Writes bench/kernels_results.json and bench/kernels_results.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "host"))
SHARED = REPO.parent / "shared"
if not os.environ.get("TINYRIG_TFLM_SOURCE"):
    tarball = SHARED / "vendor/tflite-micro/tflm-90b983c.tar.gz"
    if tarball.is_file():
        os.environ["TINYRIG_TFLM_SOURCE"] = str(tarball)

import numpy as np  # noqa: E402

from tinyrig.builder.firmware import build_firmware  # noqa: E402
from tinyrig.device.backends import emulated_board, launch  # noqa: E402
from tinyrig.device.remote import RemoteDevice  # noqa: E402
from tinyrig.device.sim import SimDevice  # noqa: E402
from tinyrig.model.arena import measure_arena  # noqa: E402
from tinyrig.model.flatbuffer import BuiltinOperator, load_model  # noqa: E402
from tinyrig.transport import SerialTransport  # noqa: E402

KERNEL_SETS = ("reference", "cmsis-nn")
_CONV = {BuiltinOperator.CONV_2D, BuiltinOperator.DEPTHWISE_CONV_2D}


def _models() -> list[Path]:
    found = sorted(REPO.glob("models/*/*.tflite")) + sorted(SHARED.glob("models/*.tflite"))
    return [p for p in found if p.is_file()]


_INTEGERS: dict[int, type[np.signedinteger[Any] | np.unsignedinteger[Any]]] = {
    9: np.int8, 3: np.uint8, 7: np.int16, 2: np.int32}  # TfLiteType codes


def _inputs(reference: SimDevice, seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = []
    for spec in reference.info().inputs:
        if spec.dtype == 1:  # float32
            arrays.append(rng.uniform(-1, 1, spec.shape).astype(np.float32))
            continue
        dtype = _INTEGERS[spec.dtype]
        info = np.iinfo(dtype)
        arrays.append(rng.integers(info.min, info.max, spec.shape, dtype=dtype, endpoint=True))
    return arrays


def measure(device_url: str, model: Path) -> dict[str, object]:
    board = emulated_board(device_url)
    assert board is not None
    arena = measure_arena(model).arena_bytes
    reference = SimDevice(model)
    inputs = _inputs(reference)
    expected = reference.infer(inputs).outputs
    m = load_model(model)
    row: dict[str, object] = {
        "model": model.name, "bytes": model.stat().st_size, "arena": arena,
        "conv": any(m.opcode(op).builtin in _CONV for op in m.main.operators),
        "ops": len(m.main.operators),
    }
    for kernel_set in KERNEL_SETS:
        started = time.monotonic()
        try:
            image = build_firmware(board.target, model, arena_bytes=arena, kernel_set=kernel_set)
        except Exception as exc:  # a model that does not fit is a row, not a crash
            row[kernel_set] = {"error": str(exc)}
            continue
        build_s = time.monotonic() - started
        running = launch(board, image.elf)
        with RemoteDevice(SerialTransport(running.uart), url=device_url,
                          board=running) as device:
            counts = [device.infer(inputs) for _ in range(2)]
        exact = all(np.asarray(g).tobytes() == np.asarray(w).tobytes()
                    for g, w in zip(counts[0].outputs, expected, strict=True))
        row[kernel_set] = {
            "flash": image.flash_bytes, "ram": image.ram_bytes,
            "instructions": counts[0].ticks, "repeat": counts[1].ticks,
            "bit_exact": exact, "build_s": round(build_s, 1),
        }
        print(f"{model.name:32} {kernel_set:9} {counts[0].ticks:>12,} instr  flash "
              f"{image.flash_bytes:>8,}  ram {image.ram_bytes:>7,}  exact={exact}", flush=True)
    return row


def _markdown(device: str, rows: list[dict[str, object]]) -> str:
    lines = [
        f"# Reference vs CMSIS-NN kernels on `{device}` (Cortex-M4F)",
        "",
        "Instructions per inference (QEMU `-icount shift=0`: exact, identical on a second run),",
        "image flash and RAM, measured arena; `bit-exact`: output equals the host reference.",
        "Written by `bench/kernels_bench.py`.",
        "",
        "| model | conv | arena B | flash ref / CMSIS-NN B | RAM ref / CMSIS-NN B | "
        "instructions ref | instructions CMSIS-NN | ratio | bit-exact ref / CMSIS-NN |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        ref, nn = row["reference"], row["cmsis-nn"]
        assert isinstance(ref, dict) and isinstance(nn, dict)
        if "error" in ref or "error" in nn:
            lines.append(f"| {row['model']} | | {row['arena']:,} | "
                         f"{ref.get('error') or nn.get('error')} | | | | | |")
            continue
        ratio = ref["instructions"] / nn["instructions"] if nn["instructions"] else 0.0
        lines.append(
            f"| {row['model']} | {'yes' if row['conv'] else 'no'} | {row['arena']:,} | "
            f"{ref['flash']:,} / {nn['flash']:,} | {ref['ram']:,} / {nn['ram']:,} | "
            f"{ref['instructions']:,} | {nn['instructions']:,} | {ratio:.2f}x | "
            f"{'yes' if ref['bit_exact'] else 'NO'} / {'yes' if nn['bit_exact'] else 'NO'} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="qemu:netduinoplus2")
    parser.add_argument("--models", default="", help="comma-separated .tflite paths")
    parser.add_argument("--out", type=Path, default=REPO / "bench")
    args = parser.parse_args()
    models = [Path(p) for p in args.models.split(",") if p] or _models()
    rows = [measure(args.device, model) for model in models]
    result = {"device": args.device, "machine": platform.machine(), "rows": rows}
    (args.out / "kernels_results.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "kernels_results.md").write_text(_markdown(args.device, rows))
    print(_markdown(args.device, rows))


if __name__ == "__main__":
    main()
