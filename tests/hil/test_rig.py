"""The rig layer and the pytest plugin: the example HIL suite (hil/examples) against the
emulated boards, over rfc2217:// to an emulated board, and skipped with the reason without one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.validate.boards import runner_board
from tinyrig_hil.rfc2217 import Rfc2217Server
from tinyrig_hil.rig import run_rig

DIGITS = REPO / "models" / "digits"
SINE = REPO / "models" / "sine"
EXAMPLES = REPO / "hil" / "examples"


def _suite(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TINYRIG_DEVICE": ""}
    return subprocess.run([sys.executable, "-m", "pytest", str(EXAMPLES), "-rs", "-q",
                           "-p", "no:cacheprovider", "--rootdir", str(REPO), *args],
                          capture_output=True, text=True, check=False, timeout=1800, env=env)


def test_rig_run_checks_every_output(tmp_path: Path) -> None:
    report = run_rig("native", DIGITS / "digits_int8.tflite", DIGITS / "validation.npz",
                     limit=30, runner=True, report_dir=tmp_path)
    assert report.samples == 30 and report.passed
    main = report.comparison("device", "tflm")
    assert main is not None and main.exact == 30
    assert report.labels["device"].accuracy == report.labels["tflm"].accuracy
    assert (tmp_path / "junit.xml").is_file()


@pytest.mark.slow
def test_example_suite_on_native_and_qemu() -> None:
    result = _suite("--tinyrig-device", "native", "--tinyrig-device", "qemu",
                    "--tinyrig-runner", "--tinyrig-model", str(SINE / "sine_int8.tflite"),
                    "--tinyrig-data", str(SINE / "validation.npz"))
    assert result.returncode == 0, result.stdout[-3000:]
    assert "6 passed, 1 skipped" in result.stdout, result.stdout[-2000:]
    assert "needs a real board" in result.stdout


@pytest.mark.slow
def test_example_suite_over_rfc2217_to_an_emulated_board() -> None:
    with runner_board("native") as board, Rfc2217Server(board.uart) as server:
        result = _suite("--tinyrig-device", server.url, "--tinyrig-model",
                        str(DIGITS / "digits_int8.tflite"),
                        "--tinyrig-data", str(DIGITS / "validation.npz"))
    assert result.returncode == 0, result.stdout[-3000:]
    assert "4 passed" in result.stdout, result.stdout[-2000:]


def test_without_a_device_the_suite_skips_with_the_reason() -> None:
    result = _suite()
    assert result.returncode == 0, result.stdout[-2000:]
    assert "4 skipped" in result.stdout
    assert "needs a device: pass --tinyrig-device URL" in result.stdout


def test_a_device_that_does_not_exist_skips_with_what_went_wrong() -> None:
    result = _suite("--tinyrig-device", "/dev/ttyTINYRIG404", "--tinyrig-model",
                    str(SINE / "sine_int8.tflite"))
    assert result.returncode == 0, result.stdout[-2000:]
    assert "/dev/ttyTINYRIG404 cannot be used" in result.stdout
    assert "passed" not in result.stdout and "failed" not in result.stdout


def test_hardware_tests_skip_with_a_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.hardware
        def test_needs_board(tinyrig_device):
            assert tinyrig_device.info().board
    """)
    result = pytester.runpytest("-rs", "-p", "no:cacheprovider", "--tinyrig-device", "native")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*needs a real board*native*emulated*"])
