#!/usr/bin/env python3
"""Kernel benchmark: TFLM reference kernels vs CMSIS-NN, instructions per inference.

For every model in models/ and ../shared/models: build it into the firmware of an emulated
Cortex-M board twice (``--kernels reference`` and ``--kernels cmsis-nn``), boot each image,
run the same inference twice (a fixed random input) and record the instructions it took (both
runs: they must agree), the image's flash and RAM, the arena, the kernel set the image reports
(INFO ``kernels``) and whether the output is bit-exact with the host reference (TFLM's reference
kernels on the host).

``--device`` names a target (``qemu-m4``, ``netduinoplus2``) or an emulated device URL
(``qemu:mps2-an386``). Only a board that counts instructions or cycles is benchmarked: its board
entry (``custom_tinyrig_timing``) must say so and the device's INFO ``tick_unit`` must agree;
a board timed by a clock (SysTick ticks, ns) is refused, since its counts would be neither
exact nor repeatable. Default: the first of qemu-m4 and netduinoplus2 whose entry says
``instructions`` (QEMU ``-icount shift=0``).

Usage: python bench/kernels_bench.py [--device qemu-m4] [--models a.tflite,...] [--out DIR]
Writes DIR/kernels_results.json (one entry per board; a run on another board keeps the others)
and DIR/kernels_results.md (a table per board and, for two boards with the same core, the
comparison of their counts). DIR defaults to bench/.
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
if str(REPO / "host") not in sys.path:
    sys.path.insert(0, str(REPO / "host"))
SHARED = REPO.parent / "shared"
if not os.environ.get("TINYRIG_TFLM_SOURCE"):
    tarball = SHARED / "vendor/tflite-micro/tflm-90b983c.tar.gz"
    if tarball.is_file():
        os.environ["TINYRIG_TFLM_SOURCE"] = str(tarball)

import numpy as np  # noqa: E402

from tinyrig.boards import Board, boards  # noqa: E402
from tinyrig.builder.firmware import build_firmware  # noqa: E402
from tinyrig.device.backends import emulated_board, launch  # noqa: E402
from tinyrig.device.remote import RemoteDevice  # noqa: E402
from tinyrig.device.sim import SimDevice  # noqa: E402
from tinyrig.errors import TinyrigError  # noqa: E402
from tinyrig.model.arena import measure_arena  # noqa: E402
from tinyrig.model.flatbuffer import BuiltinOperator, load_model  # noqa: E402
from tinyrig.protocol import TimeUnit  # noqa: E402
from tinyrig.transport import SerialTransport  # noqa: E402

KERNEL_SETS = ("reference", "cmsis-nn")
COUNTED = ("instructions", "cycles")  # timings that are counts, not clock readings
PREFERRED = ("qemu-m4", "netduinoplus2")  # the Cortex-M4F boards tinyrig emulates
RESULTS = "kernels_results"
_CONV = {BuiltinOperator.CONV_2D, BuiltinOperator.DEPTHWISE_CONV_2D}


class BenchRefusedError(Exception):
    """The board cannot give the counts this benchmark reports (one line, for the user)."""


def models() -> list[Path]:
    found = sorted(REPO.glob("models/*/*.tflite")) + sorted(SHARED.glob("models/*.tflite"))
    return [p for p in found if p.is_file()]


def resolve_board(device: str) -> Board:
    """The plain-firmware target ``device`` names (a target or an emulated URL), if it counts
    instructions or cycles; BenchRefusedError otherwise."""
    known = boards()
    facts = known.get(device)
    if facts is None:
        try:
            facts = emulated_board(device)
        except TinyrigError as exc:
            raise BenchRefusedError(f"{device}: {exc.message}") from None
    if facts is not None and facts.timing not in COUNTED:
        raise BenchRefusedError(
            f"{facts.target} times inferences in {facts.timing} (custom_tinyrig_timing), not "
            f"instructions or cycles: its counts would not be exact; use a board whose timing "
            f"is instructions ({', '.join(default_candidates())})")
    if facts is None or facts.emulator is None or not facts.emulator.startswith("qemu:"):
        emulated = sorted(t for t, b in known.items() if (b.emulator or "").startswith("qemu:")
                          and not b.is_runner and not b.is_debug and not b.is_test_variant)
        raise BenchRefusedError(f"{device}: not a board tinyrig emulates in QEMU (the benchmark "
                                f"boots each image itself); one of: {', '.join(emulated)}")
    return facts


def default_candidates() -> list[str]:
    known = boards()
    return [t for t in PREFERRED if t in known and known[t].timing == "instructions"]


def default_device() -> str:
    found = default_candidates()
    if not found:
        raise BenchRefusedError(f"none of {', '.join(PREFERRED)} counts instructions "
                           "(custom_tinyrig_timing); name a board with --device")
    return found[0]


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


def _first_line(exc: BaseException) -> str:
    text = exc.message if isinstance(exc, TinyrigError) else str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def measure(facts: Board, model: Path, *, quiet: bool = False) -> dict[str, object]:
    """One model on one board, both kernel sets: a row of the table."""
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
    assert facts.emulator is not None
    for kernel_set in KERNEL_SETS:
        started = time.monotonic()
        try:
            image = build_firmware(facts.target, model, arena_bytes=arena, kernel_set=kernel_set)
        except TinyrigError as exc:  # a model that does not fit is a row, not a crash
            row[kernel_set] = {"error": _first_line(exc)}
            continue
        build_s = time.monotonic() - started
        running = launch(facts, image.elf)
        with RemoteDevice(SerialTransport(running.uart), url=facts.emulator,
                          board=running) as device:
            info = device.info()
            if info.tick_unit not in (TimeUnit.INSTRUCTIONS, TimeUnit.CYCLES):
                raise BenchRefusedError(
                    f"{facts.target} reports {info.tick_unit.label} (INFO tick_unit) although "
                    f"its board entry says {facts.timing}: its counts would not be exact")
            runs = [device.infer(inputs) for _ in range(2)]
        exact = all(np.asarray(g).tobytes() == np.asarray(w).tobytes()
                    for g, w in zip(runs[0].outputs, expected, strict=True))
        row[kernel_set] = {
            "flash": image.flash_bytes, "ram": image.ram_bytes,
            "unit": info.tick_unit.label, "kernels_reported": info.kernels.label,
            "instructions": runs[0].ticks, "repeat": runs[1].ticks,
            "bit_exact": exact, "build_s": round(build_s, 1),
        }
        if not quiet:
            print(f"{facts.target:14} {model.name:30} {kernel_set:9} {runs[0].ticks:>12,} "
                  f"{info.tick_unit.label}  flash {image.flash_bytes:>8,}  ram "
                  f"{image.ram_bytes:>7,}  exact={exact}", flush=True)
    return row


def run(device: str, chosen: list[Path], *, quiet: bool = False) -> dict[str, object]:
    """Every model of ``chosen`` on ``device``: the board's entry of kernels_results.json."""
    facts = resolve_board(device)
    rows = [measure(facts, model, quiet=quiet) for model in chosen]
    return {"target": facts.target, "device": facts.emulator, "cpu": facts.cpu,
            "timing": facts.timing, "when": time.strftime("%Y-%m-%d %H:%M:%S"), "rows": rows}


# --------------------------------------------------------------------------- tables

def ratio(row: dict[str, Any]) -> float | None:
    ref, nn = row["reference"], row["cmsis-nn"]
    if "error" in ref or "error" in nn or not nn["instructions"]:
        return None
    return float(ref["instructions"]) / float(nn["instructions"])


def _board_table(board: dict[str, Any]) -> list[str]:
    unit = board["timing"]
    lines = [
        f"## `{board['target']}` ({board['device']}, {board['cpu']}; measured {board['when']})",
        "",
        f"| model | conv | arena built B | flash ref / CMSIS-NN B | RAM ref / CMSIS-NN B | "
        f"{unit} ref | {unit} CMSIS-NN | ratio | bit-exact ref / CMSIS-NN | repeat identical |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for row in board["rows"]:
        ref, nn = row["reference"], row["cmsis-nn"]
        failed = [f"{name}: {r['error']}" for name, r in (("reference", ref), ("CMSIS-NN", nn))
                  if "error" in r]
        if failed:
            lines.append(f"| {row['model']} | {'yes' if row['conv'] else 'no'} | "
                         f"{row['arena']:,} | not built: {'; '.join(failed)} | | | | | | |")
            continue
        same = all(r["instructions"] == r["repeat"] for r in (ref, nn))
        lines.append(
            f"| {row['model']} | {'yes' if row['conv'] else 'no'} | {row['arena']:,} | "
            f"{ref['flash']:,} / {nn['flash']:,} | {ref['ram']:,} / {nn['ram']:,} | "
            f"{ref['instructions']:,} | {nn['instructions']:,} | {ratio(row):.2f}x | "
            f"{'yes' if ref['bit_exact'] else 'NO'} / {'yes' if nn['bit_exact'] else 'NO'} | "
            f"{'yes' if same else 'NO'} |")
    conv = [r for r in (ratio(row) for row in board["rows"] if row["conv"]) if r is not None]
    if conv:
        lines += ["", f"Conv models: CMSIS-NN needs {min(conv):.2f}x to {max(conv):.2f}x fewer "
                  f"{unit} than the reference kernels (target: at least 2x)."]
    return lines


def _comparison(first: dict[str, Any], second: dict[str, Any]) -> list[str]:
    lines = [f"## `{first['target']}` vs `{second['target']}` (both {first['cpu']})", "",
             f"{first['timing'].capitalize()} per inference of the same model and kernels, built "
             "for each board (same core and compiler flags; the boards differ in start-up code, "
             "HAL and memory map).", "",
             f"| model | kernels | {first['target']} | {second['target']} | difference |",
             "|---|---|---:|---:|---:|"]
    others = {row["model"]: row for row in second["rows"]}
    per_model: dict[str, set[int]] = {}
    for row in first["rows"]:
        other = others.get(row["model"])
        for kernel_set in KERNEL_SETS:
            a = row[kernel_set]
            b = other[kernel_set] if other else {"error": "not measured"}
            if "error" in a or "error" in b:
                continue
            diff = int(b["instructions"]) - int(a["instructions"])
            per_model.setdefault(row["model"], set()).add(diff)
            lines.append(f"| {row['model']} | {kernel_set} | {a['instructions']:,} | "
                         f"{b['instructions']:,} | {diff:+,} "
                         f"({100 * diff / int(a['instructions']):+.3f}%) |")
    if per_model and all(len(diffs) == 1 for diffs in per_model.values()):
        spread = sorted(abs(next(iter(d))) for d in per_model.values())
        lines += ["", f"Each model's difference is the same for both kernel sets ({spread[0]:,} "
                  f"to {spread[-1]:,} instructions): the kernels execute identically on the two "
                  "boards; the difference is the cost of reading each board's clock (hal::Ticks: "
                  "twice around the inference and twice per op for the on-device profile)."]
    return lines


def markdown(results: dict[str, Any]) -> str:
    found = results["boards"]
    order = [t for t in PREFERRED if t in found] + sorted(t for t in found if t not in PREFERRED)
    lines = [
        "# Reference vs CMSIS-NN kernels, per inference, on emulated Cortex-M boards", "",
        "Each model is built twice (`tinyrig build --kernels reference|cmsis-nn`), booted in "
        "QEMU and run twice on a fixed random input. Counts are instructions (QEMU "
        "`-icount shift=0`: exact, and the second run must give the same count), flash and RAM "
        "are the image's, the arena is the size built in (the host-measured minimum plus "
        "`tinyrig arena`'s margin); `bit-exact`: the output equals the host "
        "reference (TFLM's reference kernels on the host). Written by "
        "`bench/kernels_bench.py`.", ""]
    for target in order:
        lines += [*_board_table(found[target]), ""]
    m4 = [t for t in order if found[t]["cpu"] == found[order[0]]["cpu"]]
    if len(m4) >= 2:
        lines += [*_comparison(found[m4[0]], found[m4[1]]), ""]
    return "\n".join(lines)


def write(out: Path, entry: dict[str, object]) -> dict[str, Any]:
    """Merge ``entry`` into out/kernels_results.json (other boards kept); rewrite the .md."""
    path = out / f"{RESULTS}.json"
    results: dict[str, Any] = {"machine": platform.machine(), "boards": {}}
    if path.is_file():
        previous = json.loads(path.read_text())
        results["boards"].update(previous.get("boards", {}))
    results["boards"][str(entry["target"])] = entry
    path.write_text(json.dumps(results, indent=2) + "\n")
    (out / f"{RESULTS}.md").write_text(markdown(results))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--device", default="",
                        help="target or emulated URL (default: " + " or ".join(PREFERRED) +
                        ", the first that counts instructions)")
    parser.add_argument("--models", default="", help="comma-separated .tflite paths")
    parser.add_argument("--out", type=Path, default=REPO / "bench")
    args = parser.parse_args()
    chosen = [Path(p) for p in args.models.split(",") if p] or models()
    try:
        entry = run(args.device or default_device(), chosen)
    except BenchRefusedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print(markdown(write(args.out, entry)))


if __name__ == "__main__":
    main()
