"""``tinyrig bench``: the benchmark suite of a source checkout (bench/suite.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Annotated, Any

import typer

from tinyrig.cli.common import JsonOption, console, emit, handle_errors, progress
from tinyrig.cli.main import app
from tinyrig.errors import TinyrigError

SUITE = Path(__file__).resolve().parents[3] / "bench" / "suite.py"


class BenchError(TinyrigError):
    """The benchmark suite is not available (an installed package, not a checkout)."""


def load_suite(path: Path = SUITE) -> Any:
    """The ``bench/suite.py`` module of the checkout tinyrig runs from."""
    if not path.is_file():
        raise BenchError(f"no benchmark suite at {path}",
                         hint="run tinyrig bench from a source checkout of tinyrig")
    spec = importlib.util.spec_from_file_location("tinyrig_bench_suite", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@app.command()
@handle_errors
def bench(
    quick: Annotated[bool, typer.Option(
        "--quick", help="Arena, simulation and toolchain sections only (under a minute); "
        "with --only, the quick form of the sections named.")
    ] = False,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Directory for the results (default: bench/results).")] = None,
    only: Annotated[str, typer.Option(
        "--only", help="Comma-separated sections to run (e.g. kernels); the others keep their "
        "last results.")] = "",
    json: JsonOption = False,
) -> None:
    """Run the benchmark suite: ratios against baselines measured in the same run, written to
    bench/results/*.json and bench/results/SUMMARY.md."""
    suite = load_suite()
    if out is not None:  # before minutes of measuring, not after
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BenchError(f"cannot write the results to {out}: {exc.strerror}",
                             hint="give --out a writable directory") from None
    sections = [name for name in only.split(",") if name]
    unknown = sorted(set(sections) - set(suite.SECTIONS))
    if unknown:
        raise BenchError(f"unknown benchmark section(s): {', '.join(unknown)}",
                         hint=f"one of: {', '.join(suite.SECTIONS)}")
    command = ("tinyrig bench" + (" --quick" if quick else "")
               + (f" --only {','.join(sections)}" if sections else ""))
    with progress("benchmarking", quiet=json) as update:
        results = suite.run_suite(quick=quick, out_dir=out, command=command, only=sections,
                                  progress=lambda name: update(description=f"bench: {name}"))
    emit(results, json, lambda r: console.print(suite.markdown(r), markup=False))
