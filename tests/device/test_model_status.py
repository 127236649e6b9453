"""A board whose model did not load: `run` names the status and its fix, `info` flags it.

Real firmware only: hello_world built for qemu-m4 with the 1,152-byte arena of the issue (and
for native with the 600-byte arena tests/firmware boots too), and the native/QEMU runner
firmware refusing a model whose op TFLM does not implement. Following the fix the error names
must work.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.cli.test_bad_input import LSH_PROJECTION, QEMU_TOO_SMALL_ARENA, tinyrig
from tests.conftest import HELLO_WORLD, missing_tool_reason
from tests.firmware.tflite_patch import set_builtin_code

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("status") / "x.npy"
    np.save(path, np.array([-96, -63, -34, 0], dtype=np.int8))
    return path


def _skip_without(target: str) -> None:
    reason = missing_tool_reason(target)
    if reason:
        pytest.skip(reason)


def _error(result: subprocess.CompletedProcess[str]) -> tuple[str, str]:
    """(error line, hint line) of a failed command; exactly one of each."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    errors = [x for x in result.stderr.splitlines() if x.startswith("error: ")]
    hints = [x for x in result.stderr.splitlines() if x.startswith("hint: ")]
    assert len(errors) == 1 and len(hints) == 1, result.stderr
    return errors[0], hints[0]


def test_qemu_arena_too_small_names_the_measured_minimum_and_the_fix_works(
        inputs: Path) -> None:
    _skip_without("qemu-m4")
    measured = tinyrig("arena", str(HELLO_WORLD), "--on-device", "qemu", "--json")
    assert measured.returncode == 0, measured.stderr
    minimum = json.loads(measured.stdout)["minimum_bytes"]
    assert minimum > QEMU_TOO_SMALL_ARENA

    error, hint = _error(tinyrig("run", "--device", "qemu", "--arena", str(QEMU_TOO_SMALL_ARENA),
                                 "--model", str(HELLO_WORLD), "--input", str(inputs)))
    assert error == (
        f"error: qemu: the model did not load (ARENA_TOO_SMALL): the firmware's tensor arena is "
        f"{QEMU_TOO_SMALL_ARENA:,} B, the model needs {minimum:,} B on qemu-m4 (measured on "
        "qemu-m4 by `tinyrig arena --on-device qemu`)")
    assert f"rerun with --arena {minimum} " in hint
    assert f"`tinyrig build --target qemu-m4 --model {HELLO_WORLD} --arena {minimum}`" in hint

    # info shows the board and flags the status with the same cause and fix; exit 0.
    shown = tinyrig("info", "--device", "qemu", "--arena", str(QEMU_TOO_SMALL_ARENA),
                    "--model", str(HELLO_WORLD), "--json")
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert report["model_status"] == "ARENA_TOO_SMALL"
    assert report["arena_size"] == QEMU_TOO_SMALL_ARENA
    problem = report["model_problem"]
    assert (problem["error"], problem["status"], problem["minimum_bytes"]) == (
        "ArenaTooSmallError", "ARENA_TOO_SMALL", minimum)
    assert problem["rebuild"] == (f"tinyrig build --target qemu-m4 --model {HELLO_WORLD} "
                                  f"--arena {minimum}")
    table = tinyrig("info", "--device", "qemu", "--arena", str(QEMU_TOO_SMALL_ARENA),
                    "--model", str(HELLO_WORLD))
    assert table.returncode == 0, table.stderr
    assert "ARENA_TOO_SMALL" in table.stdout
    assert f"warning: {error.removeprefix('error: ')}" in table.stderr

    fixed = tinyrig("run", "--device", "qemu", "--arena", str(minimum), "--model",
                    str(HELLO_WORLD), "--input", str(inputs))
    assert fixed.returncode == 0, fixed.stderr
    assert "all 4 sample(s) match" in fixed.stdout


def test_native_arena_too_small_names_a_size_that_works(inputs: Path) -> None:
    """600 B (the image tests/firmware boots too). Native runs the host's kernels with 64-bit
    pointers, so the host measurement is a size that works there, unless the on-device
    measurement of native is cached; either is named with where it comes from."""
    _skip_without("native")
    error, hint = _error(tinyrig("run", "--device", "native", "--arena", "600", "--model",
                                 str(HELLO_WORLD), "--input", str(inputs)))
    found = re.fullmatch(
        r"error: native: the model did not load \(ARENA_TOO_SMALL\): the firmware's tensor arena "
        r"is 600 B, the model needs ([\d,]+) B on native \((host TFLM measurement \+ 256 B margin"
        r"|measured on native by `tinyrig arena --on-device native`).*", error)
    assert found, error
    size = int(found[1].replace(",", ""))
    assert f"rerun with --arena {size} " in hint
    fixed = tinyrig("run", "--device", "native", "--arena", str(size), "--model",
                    str(HELLO_WORLD), "--input", str(inputs))
    assert fixed.returncode == 0, fixed.stderr


@pytest.mark.parametrize("device", ["native", "qemu"])
def test_model_the_runner_rejects_is_named_with_the_device_detail(
        device: str, inputs: Path, tmp_path: Path) -> None:
    _skip_without("native" if device == "native" else "qemu-m4")
    model = tmp_path / "lsh.tflite"
    model.write_bytes(set_builtin_code(HELLO_WORLD.read_bytes(), 0, LSH_PROJECTION))
    error, hint = _error(tinyrig("run", "--device", device, "--runner", "--model", str(model),
                                 "--input", str(inputs)))
    assert error.startswith(f"error: {device}: the model did not load (MODEL_INVALID): the "
                            "firmware refused the model: "), error
    assert "LSH_PROJECTION" in error  # the device's own explanation
    assert f"`tinyrig check {model}`" in hint
