"""The rig runner and the pytest plugin, on the native firmware (a real process on a pty)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, missing_tool_reason
from tinyrig_hil.rig import run_rig

DIGITS = REPO / "models" / "digits"


def test_rig_validates_digits_on_native_firmware() -> None:
    reason = missing_tool_reason("native")
    if reason:
        pytest.skip(reason)
    report = run_rig("native", DIGITS / "digits_int8.tflite", DIGITS / "validation.npz",
                     limit=60)
    assert report.samples == 60
    assert report.passed, f"{report.bit_exact}/60 bit-exact"
    assert report.top1_agreement == 1.0
    assert report.device_accuracy is not None and report.device_accuracy > 0.9
    assert report.device_accuracy == report.reference_accuracy
    assert report.latency_us_median is not None


def test_rig_rejects_a_data_file_without_x(tmp_path: Path) -> None:
    import numpy as np

    bad = tmp_path / "bad.npz"
    np.savez(bad, features=np.zeros(3))
    result = subprocess.run(
        [sys.executable, "-m", "tinyrig_hil.rig", "--device", "sim", "--model",
         str(DIGITS / "digits_int8.tflite"), "--data", str(bad)],
        capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 1
    assert "no array named 'x'" in result.stderr
    assert "Traceback" not in result.stderr


def test_hardware_tests_skip_with_a_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.hardware
        def test_needs_board(tinyrig_device):
            assert tinyrig_device.info().board
    """)
    result = pytester.runpytest("-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*needs a real board*--device*"])
