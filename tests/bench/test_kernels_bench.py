"""bench/kernels_bench.py benchmarks only boards that count instructions or cycles, and says so
in one line for any other (from the board facts, before building anything)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from tests.conftest import REPO
from tinyrig.boards import board
from tinyrig.cli.bench_cmd import load_suite


@pytest.fixture(scope="module")
def kernels_bench() -> Any:
    return load_suite()._script("kernels_bench")


def test_default_board_counts_instructions(kernels_bench: Any) -> None:
    target = kernels_bench.default_device()
    assert target in ("qemu-m4", "netduinoplus2")
    assert board(target).timing == "instructions"
    # A device URL names the same board as its target.
    assert kernels_bench.resolve_board(board(target).emulator).target == target


@pytest.mark.parametrize("device,needle", [
    # The host firmware times with a clock: nanoseconds, neither exact nor repeatable.
    ("native", "native times inferences in ns (custom_tinyrig_timing), not instructions or "
               "cycles: its counts would not be exact"),
    # A real board counts cycles, but the benchmark boots each image in QEMU itself.
    ("nucleo-f446re", "nucleo-f446re: not a board tinyrig emulates in QEMU"),
    ("/dev/ttyACM0", "/dev/ttyACM0: not a board tinyrig emulates in QEMU"),
])
def test_board_without_counted_timing_is_refused(kernels_bench: Any, device: str,
                                                 needle: str) -> None:
    with pytest.raises(kernels_bench.BenchRefusedError) as refused:
        kernels_bench.resolve_board(device)
    assert needle in str(refused.value)


def test_board_whose_facts_say_ticks_is_refused(kernels_bench: Any,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Every emulated board counts instructions today; an entry saying ticks is refused."""
    from dataclasses import replace

    known = dict(kernels_bench.boards())
    known["qemu-m4"] = replace(known["qemu-m4"], timing="ticks")
    monkeypatch.setattr(kernels_bench, "boards", lambda: known)
    with pytest.raises(kernels_bench.BenchRefusedError) as refused:
        kernels_bench.resolve_board("qemu-m4")
    assert "qemu-m4 times inferences in ticks (custom_tinyrig_timing)" in str(refused.value)


def test_refusal_is_one_error_line_and_exit_2() -> None:
    result = subprocess.run([sys.executable, str(REPO / "bench" / "kernels_bench.py"),
                             "--device", "native"], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: native times inferences in ns")
    assert len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.stderr
