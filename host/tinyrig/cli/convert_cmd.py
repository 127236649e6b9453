"""``tinyrig convert``: Keras / SavedModel -> quantized .tflite, checked in the TFLM interpreter."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tinyrig.cli.common import JsonOption, console, handle_errors, print_json, progress
from tinyrig.cli.main import app
from tinyrig.model.convert import ConvertReport, TensorInfo, ValidationReport, convert_model


class QuantizeMode(str, enum.Enum):
    int8 = "int8"
    int16x8 = "int16x8"
    float16 = "float16"
    none = "none"


def _size(n: int) -> str:
    return f"{n:,} B" if n < 10 * 1024 else f"{n / 1024:,.1f} KiB"


def _tensor(t: TensorInfo) -> str:
    shape = "x".join(str(d) for d in t.shape)
    quant = f"  scale {t.scale:.6g}, zero point {t.zero_point}" if t.scale else ""
    return f"{t.dtype} [{shape}]{quant}"


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.2f} %"


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:.5f}"


def _validation_rows(table: Table, v: ValidationReport) -> None:
    table.add_section()
    table.add_row("validated on", f"{v.samples} samples ({v.task}, quantized model run by "
                  f"{'TFLM' if v.runtime == 'tflm' else 'LiteRT reference kernels'})")
    if v.task == "classification":
        table.add_row("top-1 agreement", _pct(v.top1_agreement))
        if v.float_accuracy is not None or v.quantized_accuracy is not None:
            table.add_row("accuracy", f"float {_pct(v.float_accuracy)} -> quantized "
                          f"{_pct(v.quantized_accuracy)}")
        table.add_row("max / mean abs error", f"{_num(v.max_abs_error)} / "
                      f"{_num(v.mean_abs_error)}  (scores vs float)")
    else:
        table.add_row("max / mean abs error", f"{_num(v.max_abs_error)} / "
                      f"{_num(v.mean_abs_error)}  (vs float)")
        table.add_row("cosine similarity", _num(v.cosine))
        if v.quantized_label_mean_abs_error is not None:
            table.add_row("error vs labels", f"max {_num(v.quantized_label_max_abs_error)}, "
                          f"mean {_num(v.quantized_label_mean_abs_error)} (float mean "
                          f"{_num(v.float_label_mean_abs_error)})")


def render(report: ConvertReport) -> None:
    table = Table(title=f"convert {report.source.name} -> {report.output}", show_header=False,
                  title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    params = f", {report.parameters:,} parameters" if report.parameters else ""
    table.add_row("source", f"{report.source_format}, {_size(report.source_bytes)}{params}")
    table.add_row("output", f"{_size(report.output_bytes)} "
                  f"({100 * report.size_ratio:.0f} % of the source)")
    table.add_row("quantization", report.quantization
                  + (f", calibrated on {report.calibration_samples} samples"
                     if report.calibration_samples else ""))
    for i, t in enumerate(report.inputs):
        table.add_row(f"input {i}", _tensor(t))
    for i, t in enumerate(report.outputs):
        table.add_row(f"output {i}", _tensor(t))
    tm = report.timings
    table.add_row("time", f"{tm.total_s:.2f} s (load {tm.load_s:.2f}, convert {tm.convert_s:.2f}"
                  f", validate {tm.validate_s:.2f})")
    if report.validation is not None:
        _validation_rows(table, report.validation)
    console.print(table)
    for note in report.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)


def _stage_step(stage: str) -> int:
    """Which of the three steps (load, convert, validate) a progress message belongs to."""
    word = stage.split(maxsplit=1)[0].rstrip(":") if stage else ""
    return {"loading": 0, "validating": 2}.get(word, 1)


def _default_output(src: Path, quantize: QuantizeMode) -> Path:
    stem = src.name if src.is_dir() else src.stem
    return src.parent / f"{stem}_{quantize.value}.tflite"


@app.command("convert")
@handle_errors
def convert(
    src: Annotated[Path, typer.Argument(
        help="Float model: .keras, .h5, a SavedModel directory, or a .tflite (a float one is "
             "re-quantized, a quantized one copied).",
        metavar="SRC", show_default=False)],
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="The .tflite to write (default: SRC_<quantize>.tflite beside SRC).",
        show_default=False)] = None,
    quantize: Annotated[QuantizeMode, typer.Option(
        "--quantize", "-q", help="int8: full integer, int8 in/out (TFLM's native mode).",
        case_sensitive=False)] = QuantizeMode.int8,
    representative: Annotated[Path | None, typer.Option(
        "--representative", "-r",
        help="Calibration inputs: .npy, .npz (array 'x' or the first) or a directory of .npy.",
        show_default=False)] = None,
    calibration_samples: Annotated[int, typer.Option(
        "--calibration-samples", min=1, help="Use at most this many representative samples."
    )] = 200,
    validate: Annotated[Path | None, typer.Option(
        "--validate", help="A .npz with x (and y): compare the float and converted models.",
        show_default=False)] = None,
    as_json: JsonOption = False,
) -> None:
    """Convert a Keras or SavedModel model to a quantized .tflite and validate it."""
    out = output if output is not None else _default_output(src, quantize)
    with progress("loading model", total=3, quiet=as_json) as update:
        report = convert_model(
            src, out,
            quantize=quantize.value,
            representative=representative,
            calibration_samples=calibration_samples,
            validate=validate,
            progress=lambda stage: update(description=stage, completed=_stage_step(stage)),
        )
    if as_json:
        print_json(report)
    else:
        render(report)
