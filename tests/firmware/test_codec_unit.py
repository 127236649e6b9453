"""The firmware's frame codec compiled for the host: C++ unit test and fuzz-target smoke run."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

FUZZ_DIR = Path(__file__).resolve().parents[2] / "firmware" / "fuzz"


@pytest.mark.parametrize("goal", ["unit", "fuzz-smoke"])
def test_frame_codec_on_host(goal: str, tmp_path: Path) -> None:
    missing = [tool for tool in ("make", "g++") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed")
    result = subprocess.run(["make", "-C", str(FUZZ_DIR), goal, f"OUT={tmp_path}"],
                            capture_output=True, text=True, check=False, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert ": OK" in result.stdout
