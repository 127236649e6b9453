"""The benchmark suite runs (--quick) and writes its results and summary; no timings asserted."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.model.conftest import needs_tflm
from tinyrig.cli.main import _register, app


@needs_tflm
def test_quick_suite_writes_json_and_summary(tmp_path: Path) -> None:
    _register()
    result = CliRunner().invoke(app, ["bench", "--quick", "--out", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    results = json.loads(result.stdout)
    assert results["quick"] is True
    assert set(results["sections"]) == {"arena", "sim", "toolchain"}
    for row in results["sections"]["arena"]["models"]:
        # never above TFLM's own plan, never below the lower bound
        assert row["arena_lower_bound"] <= row["arena_ours"] <= row["arena_greedy"]
    assert results["sections"]["sim"]["samples"] > 0
    for name in ("arena", "sim", "toolchain", "summary"):
        assert json.loads((tmp_path / f"{name}.json").read_text())
    summary = (tmp_path / "SUMMARY.md").read_text()
    assert "Command: `tinyrig bench --quick`" in summary
    assert "ours/greedy" in summary
