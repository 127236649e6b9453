"""`tinyrig run` end to end, as a user runs it: a subprocess per command, JSON out."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO, hello_world_model, missing_tool_reason
from tinyrig.boards import board
from tinyrig.builder.firmware import default_kernel_set
from tinyrig.protocol import KernelSet

HELLO_INPUTS = np.array([-96, -63, -34, 0], dtype=np.int8)


def tinyrig(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "tinyrig", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO, env=env, check=False)


@pytest.fixture(scope="module")
def inputs_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("inputs") / "x.npy"
    np.save(path, HELLO_INPUTS)
    return path


@pytest.fixture(scope="module")
def sim_outputs(inputs_file: Path) -> list[object]:
    result = tinyrig("run", "--device", "sim", "--model", str(hello_world_model()),
                     "--input", str(inputs_file), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    return [s["outputs"] for s in report["samples"]]


def test_sim_gives_one_output_per_input(sim_outputs: list[object]) -> None:
    assert len(sim_outputs) == 4


@pytest.mark.parametrize("device,target", [("native", "native"), ("qemu", "qemu-m4"),
                                           ("qemu:netduinoplus2", "netduinoplus2"),
                                           ("qemu:microbit", "microbit")])
def test_emulated_devices_return_exactly_what_sim_returns(
        device: str, target: str, inputs_file: Path, sim_outputs: list[object]) -> None:
    reason = missing_tool_reason(target)
    if reason:
        pytest.skip(reason)
    result = tinyrig("run", "--device", device, "--model", str(hello_world_model()),
                     "--input", str(inputs_file), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [s["outputs"] for s in report["samples"]] == sim_outputs
    assert all(s["reference"] == s["outputs"] for s in report["samples"])
    # Every time comes with its unit (never "cycles" under an emulator): ns on native,
    # instructions on the MPS2, the F405 and the micro:bit (-icount).
    unit = {"native": "ns", "qemu": "instructions", "qemu:netduinoplus2": "instructions",
            "qemu:microbit": "instructions"}[device]
    assert report["tick_unit"] == unit
    assert report["info"]["tick_unit"] == unit.upper()
    # The image reports the kernels it was built with: the target's default set.
    kernels = default_kernel_set(board(target))
    assert report["info"]["kernels"] == KernelSet[kernels.upper().replace("-", "_")].name


@pytest.mark.parametrize("device,target,kernels", [("native", "native", "reference"),
                                                   ("qemu", "qemu-m4", "cmsis-nn")])
def test_info_table_shows_the_kernel_set(device: str, target: str, kernels: str) -> None:
    """The same images as above (cached): `tinyrig info` names the kernels built in."""
    reason = missing_tool_reason(target)
    if reason:
        pytest.skip(reason)
    assert default_kernel_set(board(target)) == kernels
    result = tinyrig("info", "--device", device, "--model", str(hello_world_model()))
    assert result.returncode == 0, result.stderr
    assert re.search(rf"│ kernels\s+│ {kernels}\s+│", result.stdout), result.stdout


def test_table_output_says_bit_exact(inputs_file: Path) -> None:
    result = tinyrig("run", "--device", "native", "--model", str(hello_world_model()),
                     "--input", str(inputs_file))
    if missing_tool_reason("native"):
        pytest.skip("no host compiler")
    assert result.returncode == 0, result.stderr
    assert "bit-exact" in result.stdout
    assert "all 4 sample(s) match" in result.stdout
    assert "│ ns" in result.stdout or " ns " in result.stdout  # the time unit's column


def _one_error_line(result: subprocess.CompletedProcess[str], needle: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    assert needle in result.stderr, result.stderr
    assert result.stderr.count("error:") == 1


def test_missing_model_file(inputs_file: Path, tmp_path: Path) -> None:
    _one_error_line(tinyrig("run", "--device", "sim", "--model", str(tmp_path / "nope.tflite"),
                            "--input", str(inputs_file)), "does not exist")


def test_corrupt_model_file(inputs_file: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(hello_world_model().read_bytes()[:700])
    _one_error_line(tinyrig("run", "--device", "native", "--model", str(bad),
                            "--input", str(inputs_file)), "error:")


def test_not_a_model(inputs_file: Path, tmp_path: Path) -> None:
    bad = tmp_path / "notes.tflite"
    bad.write_text("these are not the weights you are looking for\n" * 10)
    _one_error_line(tinyrig("run", "--device", "sim", "--model", str(bad),
                            "--input", str(inputs_file)), "TFLite")


def test_wrong_input_shape(tmp_path: Path) -> None:
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((3, 2), dtype=np.int8))
    _one_error_line(tinyrig("run", "--device", "sim", "--model", str(hello_world_model()),
                            "--input", str(path)), "input 0 expects int8[1,1]")


def test_wrong_input_dtype(tmp_path: Path) -> None:
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((4,), dtype=np.float32))
    _one_error_line(tinyrig("run", "--device", "sim", "--model", str(hello_world_model()),
                            "--input", str(path)), "--quantize")


def test_float_inputs_with_quantize_flag(tmp_path: Path) -> None:
    path = tmp_path / "x.npy"
    np.save(path, np.array([0.0, 1.5, 3.0], dtype=np.float32))
    result = tinyrig("run", "--device", "sim", "--model", str(hello_world_model()),
                     "--input", str(path), "--quantize", "--json")
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)["samples"]) == 3


@pytest.mark.parametrize("url,needle", [
    ("/dev/ttyACM97", "no device at /dev/ttyACM97"),
    ("socket://127.0.0.1:9", "no device at socket://127.0.0.1:9"),
    ("qemu:mps2-an999", "unknown QEMU board"),
])
def test_device_that_does_not_exist(url: str, needle: str, inputs_file: Path) -> None:
    _one_error_line(tinyrig("run", "--device", url, "--model", str(hello_world_model()),
                            "--input", str(inputs_file)), needle)


def test_unreadable_input_file(tmp_path: Path) -> None:
    path = tmp_path / "x.npy"
    path.write_bytes(b"\x93NUMPY garbage")
    _one_error_line(tinyrig("run", "--device", "sim", "--model", str(hello_world_model()),
                            "--input", str(path)), "not a readable")
