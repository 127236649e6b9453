"""Commands that talk to devices: run, info, ports."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from tinyrig.cli.common import (
    JsonOption,
    console,
    emit,
    err_console,
    handle_errors,
    print_json,
    progress,
    to_jsonable,
)
from tinyrig.cli.main import app
from tinyrig.device import build_target, dequantize, open_device
from tinyrig.device.base import Array
from tinyrig.device.errors import DeviceError, ModelNotLoadedError
from tinyrig.device.model_status import model_problem
from tinyrig.device.session import RunReport, load_arrays, run_batch
from tinyrig.device.sim import SimDevice
from tinyrig.protocol import DeviceInfo, TensorSpec
from tinyrig.transport import DEFAULT_BAUDRATE, list_ports

DeviceOption = Annotated[str, typer.Option(
    "--device", "-d", envvar="TINYRIG_DEVICE",
    help="sim | native | qemu[:mps2-an386] | /dev/ttyACM0 | socket://host:port | "
         "rfc2217://host:port")]
ModelOption = Annotated[Path | None, typer.Option(
    "--model", "-m", help="The .tflite model (built into emulated firmware; checked on boards).")]
BaudOption = Annotated[int, typer.Option("--baud", help="UART baud rate of a real board.")]
ArenaOption = Annotated[int | None, typer.Option(
    "--arena", help="Tensor arena bytes for emulated firmware (default: measured).")]
RunnerOption = Annotated[bool, typer.Option(
    "--runner", help="Emulated boards: boot the runner firmware and upload the model over the "
                     "link instead of building firmware for it.")]


def _building(device: str, quiet: bool) -> AbstractContextManager[Callable[..., None]]:
    """A progress bar while an emulated device's firmware is built (nothing for others)."""
    return progress("building firmware", quiet=quiet or build_target(device) is None)


def _fmt(array: Array, spec: TensorSpec) -> str:
    """Values as stored; for a small quantized tensor also the real values (≈...)."""
    flat = np.asarray(array).ravel()
    text = " ".join(str(v) for v in flat[:8])
    if flat.size > 8:
        return text + f" … ({flat.size})"
    if spec.scale and np.issubdtype(flat.dtype, np.integer):
        real = dequantize(spec, flat)
        text += " (≈" + " ".join(f"{v:.3g}" for v in real) + ")"
    return text


def _fmt_all(arrays: list[Array], specs: tuple[TensorSpec, ...]) -> str:
    return " | ".join(_fmt(a, spec) for a, spec in zip(arrays, specs, strict=True))


def _render_run(report: RunReport) -> None:
    table = Table(title=f"{report.model} on {report.device}", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("input")
    if report.compared:
        table.add_column("reference (host TFLM)")
    table.add_column("device output")
    if report.compared:
        table.add_column("match")
    timed = any(sample.micros is not None for sample in report.samples)
    # Under an instruction-counting emulator the device's µs are virtual (1 ns per
    # instruction), not a time anyone waited: show the count alone.
    show_micros = timed and report.tick_unit != "instructions"
    if show_micros:
        table.add_column("µs", justify="right")
    if timed:
        table.add_column(report.tick_unit or "ticks", justify="right", no_wrap=True)
    for i, sample in enumerate(report.samples):
        info = report.info
        row = [str(i), _fmt_all(sample.inputs, info.inputs)]
        if report.compared:
            assert sample.reference is not None
            row.append(_fmt_all(sample.reference, info.outputs))
        row.append(_fmt_all(sample.outputs, info.outputs))
        if report.compared:
            row.append("[green]bit-exact[/]" if sample.matches else "[bold red]DIFFERS[/]")
        if show_micros:
            row.append("" if sample.micros is None else str(sample.micros))
        if timed:
            row.append("" if sample.ticks is None else f"{sample.ticks:,}")
        table.add_row(*row)
    console.print(table)
    if report.compared and not report.mismatches:
        console.print(f"[green]all {len(report.samples)} sample(s) match the host reference "
                      "bit for bit[/]")


@app.command()
@handle_errors
def run(
    device: DeviceOption,
    model: ModelOption = None,
    inputs: Annotated[list[Path], typer.Option(
        "--input", "-i", help=".npy per model input (one sample, or a batch along axis 0), "
                              "or one .npz")] = [],  # noqa: B006 - typer needs a literal
    quantize: Annotated[bool, typer.Option(
        "--quantize", help="Quantize float inputs with the input tensor's scale/zero point.")
    ] = False,
    reference: Annotated[bool, typer.Option(
        "--reference/--no-reference", help="Also run the host TFLM and compare bit for bit.")
    ] = True,
    arena: ArenaOption = None,
    runner: RunnerOption = False,
    baud: BaudOption = DEFAULT_BAUDRATE,
    keep_state: Annotated[bool, typer.Option(
        "--keep-state", help="Stateful models (LSTM...): carry the state from sample to sample "
                             "(default: reset before each).")] = False,
    json: JsonOption = False,
) -> None:
    """Run a model on a device and print its outputs (compared with the host reference)."""
    if not inputs:
        raise DeviceError("no input given", hint="pass --input X.npy")
    if model is not None and not model.is_file():
        raise DeviceError(f"model file {model} does not exist")
    arrays = load_arrays(inputs)
    with _building(device, json) as update:
        dev = open_device(device, model=model, arena_bytes=arena, baudrate=baud,
                          progress=update, runner=runner)
    with dev:
        ref = SimDevice(model) if reference and model is not None and device != "sim" else None
        report = run_batch(dev, arrays, reference=ref, quantize=quantize,
                           model_name=model.name if model else "model", keep_state=keep_state)
    emit(report, json, _render_run)
    if report.mismatches:
        err_console.print(f"[bold red]error:[/] {report.mismatches} of {len(report.samples)} "
                          "sample(s) differ from the host reference")
        raise typer.Exit(1)


def _render_info(info: DeviceInfo, problem: ModelNotLoadedError | None = None) -> None:
    table = Table(show_header=False, title="device", title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for key, value in [
        ("board", info.board), ("firmware", info.firmware), ("TFLM", info.tflm),
        ("kernels", info.kernels.label),
        ("protocol", f"v{info.protocol_version}"), ("features", str(info.features)),
        ("max payload", f"{info.max_payload} B"), ("CPU clock", f"{info.cpu_hz} Hz"),
        ("time unit", f"{info.tick_unit.label} at {info.tick_hz} Hz"),
        ("arena", f"{info.arena_used} of {info.arena_size} B used"),
        ("model", f"{info.model_size} B, id {info.model_id.hex()}, crc {info.model_crc32:08x}"),
        ("model status", info.model_status.name if problem is None
         else f"[bold red]{info.model_status.name}[/] (not loaded: see below)"),
        ("inputs", ", ".join(s.describe() for s in info.inputs)),
        ("outputs", ", ".join(s.describe() for s in info.outputs)),
    ]:
        table.add_row(key, value)
    console.print(table)
    if problem is not None:
        err_console.print(f"[bold yellow]warning:[/] {problem.message}", highlight=False,
                          soft_wrap=True)
        if problem.hint:
            err_console.print(f"[dim]hint:[/] {problem.hint}", highlight=False, soft_wrap=True)
        for line in problem.details():
            err_console.print(line, style="dim", highlight=False, markup=False, soft_wrap=True)


def _problem_json(problem: ModelNotLoadedError | None) -> dict[str, object] | None:
    if problem is None:
        return None
    fields = {k: v for k, v in vars(problem).items() if not k.startswith("_")}
    return {"error": type(problem).__name__, **fields}


@app.command()
@handle_errors
def info(device: DeviceOption, model: ModelOption = None, arena: ArenaOption = None,
         runner: RunnerOption = False, baud: BaudOption = DEFAULT_BAUDRATE,
         json: JsonOption = False) -> None:
    """Connect to a device and show what it reports (board, firmware, model, arena); a model
    that did not load is flagged with its cause and fix."""
    with _building(device, json) as update:
        dev = open_device(device, model=model, arena_bytes=arena, baudrate=baud,
                          progress=update, runner=runner, check_model=False)
    with dev:
        found, problem = dev.info(), model_problem(dev)
    if json:
        print_json(to_jsonable(found) | {"model_problem": to_jsonable(_problem_json(problem))})
    else:
        _render_info(found, problem)


@app.command()
@handle_errors
def ports(json: JsonOption = False) -> None:
    """List serial ports present on this machine."""
    found = list_ports()
    emit(found, json, lambda ps: console.print("\n".join(ps) if ps else "no serial ports"))
