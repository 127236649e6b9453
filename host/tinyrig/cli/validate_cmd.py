"""``tinyrig validate``: a data set on a device against the host TFLM (and LiteRT and the float
model), with thresholds, reports and an exit code that says what failed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tinyrig.cli.common import JsonOption, console, emit, err_console, handle_errors, progress
from tinyrig.cli.main import app
from tinyrig.device import build_target, open_device
from tinyrig.validate import (
    DEFAULT_CHECKS,
    CheckKind,
    ValidationError,
    ValidationReport,
    load_dataset,
    validate_url,
)
from tinyrig.validate.layers import diff_layers
from tinyrig.validate.output import jsonable
from tinyrig.validate.report import LayerDiff
from tinyrig.validate.sides import Side

EXIT_HELP = ("Exit code: 0 when every check passes; otherwise the sum of 4 (bit-exactness), "
             "8 (quantized steps), 16 (error metrics), 32 (top-1 / accuracy); 1 on an error.")


def _num(value: float | int | None, digits: int = 4) -> str:
    return "–" if value is None else (str(value) if isinstance(value, int)
                                      else f"{value:.{digits}g}")


def render_report(report: ValidationReport) -> None:
    """Tables of a validation report for people."""
    title = f"{report.model} on {report.device}: {report.samples}/{report.requested} samples"
    if report.keep_state:
        title += " in one stream (state kept)"
    table = Table(title=title, title_justify="left")
    for head in ("comparison", "out", "bit-exact", "max steps", "max abs", "RMSE", "cosine",
                 "top-1"):
        table.add_column(head, justify="left" if head == "comparison" else "right")
    for comparison in report.comparisons:
        for m in comparison.outputs:
            exact = f"{m.exact}/{m.samples}"
            if comparison.a == "device" and comparison.b == "tflm":
                exact = f"[green]{exact}[/]" if m.exact == m.samples else f"[red]{exact}[/]"
            table.add_row(f"{comparison.a} vs {comparison.b}", str(m.output), exact,
                          _num(m.steps_max), _num(m.max_abs), _num(m.rmse), _num(m.cosine, 6),
                          _num(m.top1))
    console.print(table)
    if report.labels:
        labels = Table(title="against the labels", title_justify="left")
        for head in ("column", "accuracy", "MAE", "RMSE"):
            labels.add_column(head, justify="left" if head == "column" else "right")
        for side, metrics in report.labels.items():
            labels.add_row(Side(side).title, "–" if metrics.accuracy is None
                           else f"{metrics.accuracy:.2%}", _num(metrics.mae), _num(metrics.rmse))
        console.print(labels)
    if report.latency is not None:
        console.print(f"latency median {report.latency.median_us:.0f} µs, "
                      f"p95 {report.latency.p95_us:.0f} µs")
    for check in report.checks:
        state = ("[red]FAILED[/]" if check.failed else
                 "[dim]n/a[/]" if check.value is None else "[green]passed[/]")
        console.print(f"check {check.expression}: {state} ({check.detail}: "
                      f"{_num(check.value, 6)})")
    if report.layers is not None:
        render_layers(report.layers)
    if report.files:
        console.print(f"report: {report.files.get('html')}")


def render_layers(diff: LayerDiff) -> None:
    table = Table(title=f"layer by layer, sample {diff.sample}", title_justify="left")
    for head in ("#", "op", "tensor", "shape", "bit-exact", "max steps", "max abs", "cosine"):
        table.add_column(head, justify="left" if head in ("op", "tensor") else "right")
    for row in diff.rows:
        style = None if row.exact else "red"
        table.add_row(str(row.index), row.op, f"{row.tensor} {row.name}"[:40],
                      "x".join(map(str, row.shape)), "yes" if row.exact else "NO",
                      _num(row.steps_max), _num(row.max_abs), _num(row.cosine, 6), style=style)
    console.print(table)
    first = diff.first
    if diff.note:
        console.print(f"[bold red]{diff.note}[/]", highlight=False)
    elif first is None:
        console.print("[green]every op's output is bit-exact with the host TFLM[/]")
    else:
        console.print(f"[bold red]first op that differs: #{first.index} {first.op}[/] (tensor "
                      f"{first.tensor} '{first.name}': max {_num(first.steps_max)} steps, "
                      f"max abs {_num(first.max_abs)}, RMSE {_num(first.rmse)})")


@app.command("debug-layers")
@handle_errors
def debug_layers(
    device: Annotated[str, typer.Option(
        "--device", "-d", envvar="TINYRIG_DEVICE",
        help="native | qemu (boot the debug runner) | a board running the debug runner")],
    model: Annotated[Path, typer.Option("--model", "-m", help="The .tflite model.")],
    data: Annotated[Path, typer.Option("--data", help=".npz / .npy / directory of .npy")],
    sample: Annotated[int, typer.Option("--sample", help="Which sample to run.")] = 0,
    json: JsonOption = False,
) -> None:
    """Run one sample layer by layer on the device and the host TFLM; name the first op whose
    output differs. Exit code 4 when one does."""
    dataset = load_dataset(model, data)
    if not 0 <= sample < dataset.count:
        raise ValidationError(f"--sample {sample} is outside the data set "
                              f"({dataset.count} samples)")
    with progress("building firmware", quiet=json or build_target(device) is None) as build, \
            open_device(device, model=model, debug=True, progress=build) as dev:
        diff = diff_layers(dev, model, dataset.sample(sample), sample_index=sample)
    emit(jsonable(diff) if json else diff, json, render_layers)
    if diff.first_divergent is not None:
        raise typer.Exit(int(CheckKind.EXACT))


@app.command()
@handle_errors
def validate(
    device: Annotated[str, typer.Option(
        "--device", "-d", envvar="TINYRIG_DEVICE",
        help="sim | native | qemu[:machine] | /dev/ttyACM0 | socket:// | rfc2217://")],
    model: Annotated[Path, typer.Option("--model", "-m", help="The int8 .tflite model.")],
    data: Annotated[Path, typer.Option(
        "--data", help=".npz (x, or x0, x1...; labels y), .npy or a directory of .npy")],
    labels: Annotated[Path | None, typer.Option(
        "--labels", help=".npy with one label per sample (overrides y in the .npz)")] = None,
    float_model: Annotated[Path | None, typer.Option(
        "--float", help="The float model (.keras, .h5, SavedModel or float .tflite): adds the "
                        "float and LiteRT columns.")] = None,
    litert: Annotated[bool | None, typer.Option(
        "--litert/--no-litert", help="LiteRT int8 column (default: with --float).")] = None,
    report_dir: Annotated[Path | None, typer.Option(
        "--report", help="Directory for samples.jsonl (as it goes), run.npz, report.json/.html "
                         "and junit.xml.")] = None,
    fail_on: Annotated[list[str], typer.Option(
        "--fail-on", help="Failing condition METRIC[:AGAINST]<|>VALUE (repeatable; default "
                          "exact<1; 'none' disables): exact, steps, max-abs, mae, rmse, l2r, "
                          "cosine, nse, top1, accuracy.")] = [],  # noqa: B006
    limit: Annotated[int | None, typer.Option("--limit", help="First N samples only.")] = None,
    runner: Annotated[bool, typer.Option(
        "--runner", help="Emulated boards: upload the model to the runner firmware.")] = False,
    layers: Annotated[bool, typer.Option(
        "--layers", help="Also compare every op's output on the first differing sample (debug "
                         "runner firmware; emulated boards boot it).")] = False,
    keep_state: Annotated[bool, typer.Option(
        "--keep-state", help="Stateful models (LSTM...): run the samples as one stream, the "
                             "state carried over, on every side (default: reset before each "
                             "sample).")] = False,
    json: JsonOption = False,
) -> None:
    """Validate a model on a device against the host TFLM (and LiteRT and the float model)."""
    quiet = json or not err_console.is_terminal
    with progress("building firmware", quiet=quiet or build_target(device) is None) as build, \
            progress("validating", quiet=quiet) as update:
        report = validate_url(
            device, model, data, labels=labels, float_model=float_model, litert=litert,
            checks=fail_on or DEFAULT_CHECKS, report_dir=report_dir, limit=limit,
            runner=runner, build_progress=build, layers=layers, keep_state=keep_state,
            progress=lambda stage, done, total: update(description=stage, completed=done,
                                                       total=total))
    emit(jsonable(report) if json else report, json, render_report)  # JSON: NaN -> null
    if report.exit_code:
        raise typer.Exit(report.exit_code)


validate.__doc__ = (validate.__doc__ or "") + "\n\n" + EXIT_HELP
