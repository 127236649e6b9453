"""tinyrig profile: the real firmware's per-op profile (PROFILE) as a table, JSON and a chart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.firmware.images import HELLO_WORLD, HELLO_WORLD_ARENA, hello_world_image
from tinyrig.cli.main import _register, app
from tinyrig.device.errors import DeviceError
from tinyrig.device.sim import SimDevice
from tinyrig.model.flatbuffer import load_model

pytestmark = [pytest.mark.slow, pytest.mark.native]


def _cli(*args: str) -> tuple[int, str]:
    _register()
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_profile_json_and_chart(tmp_path: Path) -> None:
    hello_world_image("native")  # the session's image: same model and arena, no new build
    chart = tmp_path / "profile.svg"
    code, output = _cli("profile", "--device", "native", "--model", str(HELLO_WORLD),
                        "--arena", str(HELLO_WORLD_ARENA), "--chart", str(chart), "--json")
    assert code == 0, output
    report = json.loads(output)
    model = load_model(HELLO_WORLD)
    expected = [model.opcode(op).name for op in model.main.operators]
    assert [op["op"] for op in report["ops"]] == expected
    assert report["unit"] == "ns"  # the host build times with CLOCK_MONOTONIC
    assert report["total"] == sum(op["time"] for op in report["ops"]) > 0
    assert sum(op["share"] for op in report["ops"]) == pytest.approx(1.0)
    (fc,) = report["by_type"]
    assert (fc["op"], fc["count"]) == ("FULLY_CONNECTED", len(expected))
    svg = chart.read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "FULLY_CONNECTED" in svg


def test_profile_table_and_bad_chart_name(tmp_path: Path) -> None:
    hello_world_image("native")
    code, output = _cli("profile", "-d", "native", "-m", str(HELLO_WORLD),
                        "--arena", str(HELLO_WORLD_ARENA))
    assert code == 0, output
    assert "per-op time (ns)" in output and "FULLY_CONNECTED" in output and "100%" in output
    code, output = _cli("profile", "-d", "native", "-m", str(HELLO_WORLD),
                        "--arena", str(HELLO_WORLD_ARENA), "--chart", str(tmp_path / "p.gif"))
    assert code == 1
    assert "cannot write a chart as p.gif" in output


def test_sim_has_no_profile() -> None:
    from tinyrig.device.profile import profile_device

    with pytest.raises(DeviceError, match="reports no per-op profile"):
        profile_device(SimDevice(HELLO_WORLD), url="sim")
