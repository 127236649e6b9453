"""The benchmark suite runs (--quick) and writes its results and summary; `--only kernels`
adds the kernel section to that summary and keeps the rest. No timings asserted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import missing_tool_reason
from tests.model.conftest import needs_tflm
from tinyrig.cli.bench_cmd import load_suite
from tinyrig.cli.main import _register, app


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One quick run of the suite, shared by the tests below."""
    out = tmp_path_factory.mktemp("bench")
    _register()
    result = CliRunner().invoke(app, ["bench", "--quick", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    (out / "stdout.json").write_text(result.stdout)
    return out


@needs_tflm
def test_quick_suite_writes_json_and_summary(quick_results: Path) -> None:
    results = json.loads((quick_results / "stdout.json").read_text())
    assert results["quick"] is True
    assert set(results["sections"]) == {"arena", "sim", "toolchain"}
    for row in results["sections"]["arena"]["models"]:
        # never above TFLM's own plan, never below the lower bound
        assert row["arena_lower_bound"] <= row["arena_ours"] <= row["arena_greedy"]
    assert results["sections"]["sim"]["samples"] > 0
    for name in ("arena", "sim", "toolchain", "summary"):
        assert json.loads((quick_results / f"{name}.json").read_text())
    summary = (quick_results / "SUMMARY.md").read_text()
    assert "Command: `tinyrig bench --quick`" in summary
    assert "ours/greedy" in summary


@needs_tflm
@pytest.mark.slow
@pytest.mark.qemu
def test_only_kernels_adds_the_kernel_section_and_keeps_the_others(quick_results: Path) -> None:
    """The quick kernel section (two models, both kernel sets, on the bench's default board)
    runs on real firmware; the images are the ones tests/device/test_kernel_sets.py builds."""
    kernels_bench = load_suite()._script("kernels_bench")
    device = kernels_bench.default_device()
    reason = missing_tool_reason(device)
    if reason:
        pytest.skip(reason)
    result = CliRunner().invoke(app, ["bench", "--quick", "--only", "kernels", "--out",
                                      str(quick_results), "--json"])
    assert result.exit_code == 0, result.output
    results = json.loads(result.stdout)
    assert set(results["sections"]) == {"arena", "sim", "toolchain", "kernels"}
    assert results["command"] == "tinyrig bench --quick"  # the run whose sections are kept
    assert results["runs"]["kernels"]["command"] == "tinyrig bench --quick --only kernels"
    section = json.loads((quick_results / "kernels.json").read_text())
    assert section["board"] == device and section["unit"] == "instructions"
    rows = {row["model"]: row for row in section["models"]}
    assert set(rows) == {"digits_int8", "sine_int8"}
    for row in rows.values():
        assert row["bit_exact_reference"] and row["bit_exact_cmsis_nn"]
        assert row["repeat_identical"]
    assert rows["digits_int8"]["conv"] and rows["digits_int8"]["reference_vs_cmsis_nn"] > 1
    summary = (quick_results / "SUMMARY.md").read_text()
    assert f"## Kernels: reference vs CMSIS-NN on `{device}`" in summary
    assert "ours/greedy" in summary  # the arena section is still there
    assert "- kernels: `tinyrig bench --quick --only kernels`" in summary


def test_unknown_section_is_one_error_line(tmp_path: Path) -> None:
    _register()
    result = CliRunner().invoke(app, ["bench", "--only", "kernals", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "unknown benchmark section(s): kernals" in result.output
    assert "Traceback" not in result.output
