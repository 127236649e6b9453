"""tinyrig profile: the on-device per-op profile as a table and a chart."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tinyrig.cli.common import JsonOption, console, emit, handle_errors
from tinyrig.cli.device_cmds import ArenaOption, BaudOption, DeviceOption, RunnerOption, _building
from tinyrig.cli.main import app
from tinyrig.device import open_device
from tinyrig.device.errors import DeviceError
from tinyrig.device.profile import ProfileReport, profile_device, write_chart
from tinyrig.device.session import load_arrays
from tinyrig.transport import DEFAULT_BAUDRATE


def _render(report: ProfileReport) -> None:
    table = Table(title=f"{report.model} on {report.device}: per-op time ({report.unit})",
                  title_justify="left")
    for name, justify in (("#", "right"), ("op", "left"), (report.unit, "right"),
                          ("share", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for op in report.ops:
        table.add_row(str(op.index), op.op, f"{op.time:,}", f"{op.share:.1%}")
    table.add_section()
    table.add_row("", "[bold]total[/]", f"[bold]{report.total:,}[/]", "100%")
    console.print(table)
    by_type = Table(title="by op type", title_justify="left")
    for name, justify in (("op", "left"), ("count", "right"), (report.unit, "right"),
                          ("share", "right")):
        by_type.add_column(name, justify=justify)  # type: ignore[arg-type]
    for t in report.by_type:
        by_type.add_row(t.op, str(t.count), f"{t.time:,}", f"{t.share:.1%}")
    console.print(by_type)


@app.command()
@handle_errors
def profile(
    device: DeviceOption,
    model: Annotated[Path, typer.Option("--model", "-m", help="The .tflite model.")],
    inputs: Annotated[list[Path], typer.Option(
        "--input", "-i", help=".npy per model input (default: zeros)")] = [],  # noqa: B006
    chart: Annotated[Path | None, typer.Option(
        "--chart", help="Also draw a bar chart: profile.svg / .png / .pdf (needs the chart "
                        "extra).")] = None,
    arena: ArenaOption = None,
    runner: RunnerOption = False,
    baud: BaudOption = DEFAULT_BAUDRATE,
    json: JsonOption = False,
) -> None:
    """Per-op time of one inference on the device: op, type, time (with its unit), share."""
    if not model.is_file():
        raise DeviceError(f"model file {model} does not exist")
    arrays = load_arrays(inputs) if inputs else None
    with _building(device, json) as update:
        dev = open_device(device, model=model, arena_bytes=arena, baudrate=baud,
                          progress=update, runner=runner)
    with dev:
        report = profile_device(dev, arrays, url=device, model_name=model.name)
    if chart is not None:
        write_chart(report, chart)
    emit(report, json, _render)
    if chart is not None and not json:
        console.print(f"chart: {chart}")
