"""Short libFuzzer runs of the firmware (firmware/fuzz: frame codec, protocol server, model
loader) so that `make test` covers them; `make fuzz` runs them longer."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

FUZZ_DIR = Path(__file__).resolve().parents[2] / "firmware" / "fuzz"
SMOKE_SECONDS = os.environ.get("TINYRIG_FUZZ_SMOKE_SECONDS", "30")

pytestmark = pytest.mark.slow


def _missing_libfuzzer() -> str | None:
    clang = shutil.which("clang++")
    if clang is None:
        return "clang++ is not installed (make -C firmware/fuzz deps)"
    probe = subprocess.run(
        [clang, "-fsanitize=fuzzer,address,undefined", "-x", "c++", "-", "-o", os.devnull],
        input=b'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long)'
              b"{return 0;}",
        capture_output=True, check=False)
    if probe.returncode != 0:
        return ("clang++ cannot link libFuzzer with ASan/UBSan (make -C firmware/fuzz deps): "
                + probe.stderr.decode(errors="replace").strip().splitlines()[-1])
    return None


def test_fuzz_smoke() -> None:
    reason = _missing_libfuzzer()
    if reason is not None:
        pytest.skip(reason)
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    # The first run compiles TFLM with the sanitizers (cached in ~/.cache/tinyrig/fuzz).
    result = subprocess.run(
        ["make", "-C", str(FUZZ_DIR), "smoke", f"SMOKE_SECONDS={SMOKE_SECONDS}"],
        capture_output=True, text=True, check=False, timeout=1800)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    for target in ("frame", "protocol", "model"):
        log = (FUZZ_DIR / "build" / f"{target}_fuzzer.log").read_text(errors="replace")
        assert "Done" in log and "ERROR" not in log, log[-2000:]
