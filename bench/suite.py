#!/usr/bin/env python3
"""The benchmark suite: every figure a ratio or count against its baseline, measured in one run.

Sections (``--quick`` runs the first three, in well under a minute):

- arena:     offline plan (ours) vs TFLM's greedy planner vs the lower bound, bisected with the
             real allocator, for every model in models/ and ../shared/models
- sim:       batch simulation vs a bare tflite_micro invoke loop (one core); scaling to all cores
- toolchain: arena search (probes, time in single-probe units) and plan time
- convert:   conversion time (bench/convert_bench.py), against TensorFlow's import time
- link:      payload vs raw echo throughput per size, native and QEMU (bench/link_bench.py)
- build:     first and incremental firmware builds (bench/build_bench.py, when present)
- kernels:   device instructions per inference, reference vs CMSIS-NN kernels, bit-exactness
             (bench/kernels_bench.py on its default board; --quick: two models)

Usage: python bench/suite.py [--quick] [--only kernels,...] [--json]   (also: tinyrig bench)
Writes bench/results/<section>.json and bench/results/SUMMARY.md (with the command). ``--only``
runs the sections named (with --quick: their quick form) and keeps the other sections' last
results in summary.json and SUMMARY.md, each section with the command and time that measured it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
if str(REPO / "host") not in sys.path:
    sys.path.insert(0, str(REPO / "host"))
if not os.environ.get("TINYRIG_TFLM_SOURCE"):
    _tarball = SHARED / "vendor/tflite-micro/tflm-90b983c.tar.gz"
    if _tarball.is_file():
        os.environ["TINYRIG_TFLM_SOURCE"] = str(_tarball)

Section = dict[str, Any]


def models() -> list[Path]:
    """The example models, the shared third-party models and the benchmark's own models."""
    return sorted([*REPO.glob("models/*/*.tflite"), *(SHARED / "models").glob("*.tflite"),
                   *REPO.glob("bench/models/*.tflite")], key=lambda p: p.name)


def _script(name: str) -> ModuleType | None:
    path = REPO / "bench" / f"{name}.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location(f"tinyrig_bench_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- sections

def bench_arena(quick: bool) -> Section:
    from tinyrig.model.plan import plan_model

    rows = []
    for path in models():
        r = plan_model(path, measure=True)
        assert r.planned_arena_bytes and r.greedy_arena_bytes and r.lower_bound_arena_bytes
        rows.append({
            "model": path.stem, "tensors": len(r.tensors), "method": r.method,
            "fixed": r.fixed,
            "head_ours": r.planned_head_bytes, "head_greedy": r.greedy_head_bytes,
            "head_lower_bound": r.lower_bound_head_bytes,
            "arena_ours": r.planned_arena_bytes, "arena_greedy": r.greedy_arena_bytes,
            "arena_lower_bound": r.lower_bound_arena_bytes, "persistent": r.persistent_bytes,
            "init": r.init_bytes,
            "ours_vs_greedy": round(r.planned_arena_bytes / r.greedy_arena_bytes, 4),
            "ours_vs_lower_bound": round(r.planned_arena_bytes / r.lower_bound_arena_bytes, 4),
            "saving_bytes": r.saving_bytes,
        })
        if not quick and r.fixed:
            rows[-1].update(_device_arena(path))
    return {"models": rows}


def _device_arena(path: Path) -> Section:
    """The same comparison on the QEMU board (its CMSIS-NN kernels, 32-bit pointers)."""
    import tempfile

    from tinyrig.device.target_arena import measure_target_arena
    from tinyrig.errors import TinyrigError
    from tinyrig.model.plan import plan_model

    with tempfile.TemporaryDirectory() as tmp:
        planned = Path(tmp) / f"{path.stem}_planned.tflite"
        plan_model(path, planned)
        try:
            greedy = measure_target_arena(path, "qemu").minimum_bytes
            ours = measure_target_arena(planned, "qemu").minimum_bytes
        except TinyrigError as exc:
            return {"device_skipped": str(exc)}
    return {"device_arena_ours": ours, "device_arena_greedy": greedy,
            "device_ours_vs_greedy": round(ours / greedy, 4)}


def bench_sim(quick: bool) -> Section:
    import numpy as np

    from tinyrig.device.batch import simulate
    from tinyrig.model.reference import ReferenceInterpreter

    model = REPO / "models" / "digits" / "digits_int8.tflite"
    n = 2000 if quick else 8000
    ref = ReferenceInterpreter(model)
    spec = ref.inputs[0]
    x = np.random.default_rng(0).integers(-128, 127, (n, *spec.shape), dtype=np.int8)
    raw = ref._interpreter

    def bare() -> float:
        began = time.process_time()
        for k in range(n):
            raw.set_input(x[k], 0)
            raw.invoke()
            raw.get_output(0)
        return time.process_time() - began

    def ours() -> float:
        began = time.process_time()
        simulate(model, [x], workers=1, interpreter=ref)
        return time.process_time() - began

    # CPU time of this process, interleaved: other load on a shared machine cancels out
    bare_runs, our_runs = [], []
    for _ in range(3 if quick else 5):
        bare_runs.append(bare())
        our_runs.append(ours())
    bare_s, one = min(bare_runs), min(our_runs)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    # scaling is wall time (several processes): one worker vs all cores, same run
    single = simulate(model, [x], workers=1).seconds
    many = simulate(model, [x], workers=cores)
    return {"model": model.stem, "samples": n, "cores": cores, "workers": many.workers,
            "overhead_vs_bare": round(one / bare_s - 1, 4),
            "speedup_all_cores": round(single / many.seconds, 3),
            "scaling_efficiency": round(single / many.seconds / max(many.workers, 1), 3),
            "load_average": round(os.getloadavg()[0], 2)}


def bench_toolchain(quick: bool) -> Section:
    from tinyrig.model.arena import measure_arena, probe_arena
    from tinyrig.model.plan import plan_model

    chosen = [p for p in models() if not quick or p.stem in ("hello_world_int8",
                                                             "person_detect")]
    rows = []
    for path in chosen:
        began = time.perf_counter()
        report = measure_arena(path, use_cache=False)
        search = time.perf_counter() - began
        probe = probe_arena(path, report.arena_bytes).seconds
        plan = plan_model(path).plan_seconds
        rows.append({"model": path.stem, "probes": report.probes,
                     "search_in_probe_units": round(search / probe, 2),
                     "plan_in_probe_units": round(plan / probe, 4)})
    return {"models": rows}


def bench_convert(quick: bool) -> Section:
    module = _script("convert_bench")
    if module is None:
        return {"skipped": "bench/convert_bench.py missing"}
    results: Section = module.bench(1)
    tf_s = float(results["tensorflow_import_s"])
    return {"tensorflow_import_s": tf_s, "models": [
        {"model": name, "total_vs_tf_import": round(float(r["total_s"]) / tf_s, 3),
         "identical_runs": r["identical_runs"]} for name, r in results["models"].items()]}


def bench_link(quick: bool) -> Section:
    import tempfile

    module = _script("link_bench")
    if module is None:
        return {"skipped": "bench/link_bench.py missing"}
    with tempfile.TemporaryDirectory() as tmp:
        sizes = {size: module.passthrough_model(size, Path(tmp) / f"pass_{size}.tflite")
                 for size in (1024, 65536)}
        boards = [module.bench_board(url, 2, sizes) for url in module.BOARDS.values()]
    keys = ("set_input_1024", "get_output_1024", "set_input_65536", "get_output_65536",
            "upload")
    return {"boards": [{"board": b["url"], **{k: round(float(b[k]), 3) for k in keys},
                        "bad_frames": b["bad_frames"]} for b in boards]}


def bench_build(quick: bool) -> Section:
    module = _script("build_bench")
    if module is None or not hasattr(module, "bench"):
        return {"skipped": "bench/build_bench.py (helper 'setup') is not on this branch yet"}
    result: Section = module.bench()
    return result


# --quick: one conv model and one fully connected model (bench/kernels_results.md has them all).
QUICK_KERNEL_MODELS = ("digits_int8", "sine_int8")


def bench_kernels(quick: bool) -> Section:
    """bench/kernels_bench.py on its default board: instructions per inference with reference
    and CMSIS-NN kernels, bit-exactness of each against the host reference."""
    module = _script("kernels_bench")
    if module is None:
        return {"skipped": "bench/kernels_bench.py missing"}
    try:
        device = module.default_device()
    except module.BenchRefusedError as exc:
        return {"skipped": str(exc)}
    chosen = [p for p in module.models() if not quick or p.stem in QUICK_KERNEL_MODELS]
    entry = module.run(device, chosen, quiet=True)
    rows = []
    for row in entry["rows"]:
        ref, nn = row["reference"], row["cmsis-nn"]
        failed = [r["error"] for r in (ref, nn) if "error" in r]
        if failed:
            rows.append({"model": Path(row["model"]).stem, "conv": row["conv"],
                         "error": "; ".join(failed)})
            continue
        rows.append({
            "model": Path(row["model"]).stem, "conv": row["conv"],
            "reference": ref["instructions"], "cmsis_nn": nn["instructions"],
            "reference_vs_cmsis_nn": round(module.ratio(row), 2),
            "bit_exact_reference": ref["bit_exact"], "bit_exact_cmsis_nn": nn["bit_exact"],
            "repeat_identical": all(r["instructions"] == r["repeat"] for r in (ref, nn)),
            "flash_reference": ref["flash"], "flash_cmsis_nn": nn["flash"]})
    return {"board": entry["target"], "unit": entry["timing"], "models": rows}


SECTIONS: dict[str, tuple[Callable[[bool], Section], bool]] = {
    # name: (function, runs with --quick)
    "arena": (bench_arena, True),
    "sim": (bench_sim, True),
    "toolchain": (bench_toolchain, True),
    "convert": (bench_convert, False),
    "link": (bench_link, False),
    "build": (bench_build, False),
    "kernels": (bench_kernels, False),
}


# --------------------------------------------------------------------------- summary

def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(str(c) for c in row) + " |" for row in rows)]


def markdown(results: Section) -> str:
    lines = ["# Benchmark suite", "", f"Command: `{results['command']}`  ",
             f"Run {results['when']} on {results['machine']}; every figure is a ratio or count "
             "against a baseline measured in the same run.", ""]
    s = results["sections"]
    if "arena" in s:
        lines += ["## Arena: ours (offline plan) vs TFLM greedy vs lower bound", "",
                  "Bytes are the smallest arena the real TFLM allocator accepts (bisected, host "
                  "TFLM). Lower bound = persistent bytes + max(largest live tensor total, the "
                  "temporary bytes TFLM needs while initialising, which no plan changes).", ""]
        lines += _table(["model", "ours B", "greedy B", "lower bound B", "ours/greedy",
                         "ours/bound", "saving B", "method"],
                        [[r["model"], r["arena_ours"], r["arena_greedy"],
                          r["arena_lower_bound"], f"{r['ours_vs_greedy']:.3f}",
                          f"{r['ours_vs_lower_bound']:.3f}", r["saving_bytes"], r["method"]]
                         for r in s["arena"]["models"]])
        device = [r for r in s["arena"]["models"] if "device_arena_ours" in r]
        if device:
            lines += ["", "The same models on the QEMU board (runner firmware, CMSIS-NN kernels; "
                      "ARENA_LIMIT bisection), where the plan fixes offsets:", ""]
            lines += _table(["model", "ours B", "greedy B", "ours/greedy"],
                            [[r["model"], r["device_arena_ours"], r["device_arena_greedy"],
                              f"{r['device_ours_vs_greedy']:.3f}"] for r in device])
        lines.append("")
    if "sim" in s:
        r = s["sim"]
        lines += ["## Simulation vs a bare tflite_micro invoke loop", ""]
        lines += ["Overhead: CPU time of `simulate()` over a bare set_input/invoke/get_output "
                  "loop on the same interpreter (best of interleaved runs). Speedup: wall time, "
                  "one worker vs all cores (the load average shows what else ran).", ""]
        lines += _table(["model", "samples", "overhead (one core)", "cores",
                         "speedup on all cores", "efficiency", "load average"],
                        [[r["model"], r["samples"], f"{100 * r['overhead_vs_bare']:+.1f}%",
                          r["cores"], f"{r['speedup_all_cores']:.2f}x",
                          f"{r['scaling_efficiency']:.2f}", r["load_average"]]])
        lines.append("")
    if "toolchain" in s:
        lines += ["## Toolchain: arena search and planning", "",
                  "Times in units of one arena probe (a child process that loads and invokes).",
                  ""]
        lines += _table(["model", "probes", "search / probe", "plan / probe"],
                        [[r["model"], r["probes"], r["search_in_probe_units"],
                          r["plan_in_probe_units"]] for r in s["toolchain"]["models"]])
        lines.append("")
    if "convert" in s and "models" in s["convert"]:
        lines += ["## Conversion time vs TensorFlow import time", ""]
        lines += _table(["model", "convert / TF import", "byte-identical"],
                        [[r["model"], r["total_vs_tf_import"], r["identical_runs"]]
                         for r in s["convert"]["models"]])
        lines.append("")
    if "link" in s and "boards" in s["link"]:
        lines += ["## Link: payload / raw echo throughput", ""]
        lines += _table(["board", "set 1K", "get 1K", "set 64K", "get 64K", "upload",
                         "bad frames"],
                        [[b["board"], b["set_input_1024"], b["get_output_1024"],
                          b["set_input_65536"], b["get_output_65536"], b["upload"],
                          b["bad_frames"]] for b in s["link"]["boards"]])
        lines.append("")
    if "kernels" in s and "models" in s["kernels"]:
        k = s["kernels"]
        lines += [f"## Kernels: reference vs CMSIS-NN on `{k['board']}`", "",
                  f"{k['unit'].capitalize()} per inference (exact: the second run gives the same "
                  "count); bit-exact against the host reference. Every model: "
                  "bench/kernels_results.md.", ""]
        lines += _table(["model", "conv", f"{k['unit']} reference", f"{k['unit']} CMSIS-NN",
                         "reference / CMSIS-NN", "bit-exact ref / CMSIS-NN", "repeat identical"],
                        [[r["model"], "yes" if r["conv"] else "no", r["error"], "", "", "", ""]
                         if "error" in r else
                         [r["model"], "yes" if r["conv"] else "no", r["reference"],
                          r["cmsis_nn"], f"{r['reference_vs_cmsis_nn']:.2f}x",
                          f"{r['bit_exact_reference']} / {r['bit_exact_cmsis_nn']}",
                          r["repeat_identical"]] for r in k["models"]])
        lines.append("")
    runs = results.get("runs", {})
    apart = [f"- {name}: `{run['command']}`, {run['when']}" for name, run in runs.items()
             if name in s and run["command"] != results["command"]]
    if apart:
        lines += ["## Sections measured by another command", "", *apart, ""]
    skipped = [f"- {name}: {sec['skipped']}" for name, sec in s.items() if "skipped" in sec]
    if skipped:
        lines += ["## Not measured in this run", "", *skipped, ""]
    return "\n".join(lines)


class UnknownSectionError(ValueError):
    """``only`` names a section the suite does not have."""


def run_suite(*, quick: bool = False, out_dir: Path | None = None,
              command: str = "python bench/suite.py",
              progress: Callable[[str], None] | None = None,
              only: list[str] | None = None) -> Section:
    """Run the sections, write ``out_dir``/<section>.json and SUMMARY.md, return everything.

    ``only``: run just these sections (``quick`` then picks their quick form, not which run)
    and keep the other sections of the last summary.json in ``out_dir``."""
    unknown = sorted(set(only or ()) - set(SECTIONS))
    if unknown:
        raise UnknownSectionError(f"unknown section(s) {', '.join(unknown)}; the suite has "
                                  f"{', '.join(SECTIONS)}")
    out = out_dir if out_dir is not None else REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    when = time.strftime("%Y-%m-%d %H:%M:%S")
    results: Section = {
        "command": command, "quick": quick, "when": when,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
                   f"{platform.python_version()}", "sections": {}, "seconds": {}, "runs": {}}
    previous = out / "summary.json"
    if only and previous.is_file():
        kept = json.loads(previous.read_text())
        results = kept | {"sections": kept.get("sections", {}),
                          "seconds": kept.get("seconds", {}), "runs": kept.get("runs", {})}
        for name in results["sections"]:
            results["runs"].setdefault(name, {"command": kept["command"], "when": kept["when"]})
    for name, (function, in_quick) in SECTIONS.items():
        if only and name not in only:
            continue
        if not only and quick and not in_quick:
            continue
        if progress is not None:
            progress(name)
        began = time.perf_counter()
        section = function(quick)
        results["sections"][name] = section
        results["seconds"][name] = round(time.perf_counter() - began, 2)
        results["runs"][name] = {"command": command, "when": when}
        (out / f"{name}.json").write_text(json.dumps(section, indent=1) + "\n")
    (out / "summary.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / "SUMMARY.md").write_text(markdown(results))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--only", default="", help="comma-separated sections to run")
    args = parser.parse_args()
    only = [name for name in args.only.split(",") if name]
    command = ("python bench/suite.py" + (" --quick" if args.quick else "")
               + (f" --only {','.join(only)}" if only else ""))
    try:
        results = run_suite(quick=args.quick, out_dir=args.out, command=command, only=only,
                            progress=lambda name: print(f"bench: {name}", file=sys.stderr))
    except UnknownSectionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print(json.dumps(results, indent=1) if args.json else markdown(results))


if __name__ == "__main__":
    main()
