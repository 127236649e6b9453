"""measure_arena(): the measured minimum initializes and invokes; 16 bytes less fails."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tinyrig.model.arena import measure_arena, probe_arena
from tinyrig.model.errors import UnsupportedOpError

from .conftest import model_file, needs_tflm

pytestmark = needs_tflm


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TINYRIG_CACHE_DIR", str(tmp_path / "cache"))


@pytest.mark.parametrize("name", ["hello_world_int8", "micro_speech_quantized",
                                  "trained_lstm_int8", "person_detect"])
def test_minimum_works_and_16_bytes_less_fails(name: str) -> None:
    path = model_file(name)
    report = measure_arena(path)
    assert report.below_minimum_fails and report.recommended_verified and not report.cached
    # independent probes, not the search's own
    assert probe_arena(path, report.minimum_bytes).ok
    below = probe_arena(path, report.minimum_bytes - 16)
    assert not below.ok and below.reason
    assert report.arena_bytes % 16 == 0
    assert report.minimum_bytes + report.margin_bytes <= report.arena_bytes
    assert report.arena_bytes < report.minimum_bytes + report.margin_bytes + 16
    assert report.breakdown is not None
    assert report.breakdown.total_bytes == (report.breakdown.persistent_bytes
                                            + report.breakdown.non_persistent_bytes)
    assert report.peak_op is not None and report.largest_tensors
    assert report.host_pointer_bits == 64 and "32-bit" in report.note


def test_second_run_is_cached_and_fast() -> None:
    path = model_file("micro_speech_quantized")
    first = measure_arena(path, margin=0)
    start = time.monotonic()
    again = measure_arena(path, margin=64)
    assert time.monotonic() - start < 0.5
    assert again.cached and again.minimum_bytes == first.minimum_bytes
    assert again.arena_bytes == (first.minimum_bytes + 64 + 15) // 16 * 16
    fresh = measure_arena(path, use_cache=False)
    assert not fresh.cached and fresh.minimum_bytes == first.minimum_bytes


def test_probe_reports_a_crash_or_failure_without_dying() -> None:
    result = probe_arena(model_file("hello_world_int8"), 64)
    assert not result.ok
    assert result.reason


def test_unsupported_op(make_variant: object) -> None:
    def edit(m: object) -> None:
        m.operatorCodes[0].builtinCode = 208  # type: ignore[attr-defined]  # STABLEHLO_CBRT

    data = make_variant("hello_world_int8", edit)  # type: ignore[operator]
    with pytest.raises(UnsupportedOpError, match="STABLEHLO_CBRT"):
        measure_arena(data)
