"""Rig runner: run a labelled data set on a device, compare every sample with the host
reference, and report agreement, accuracy and latency — the job a HIL rig repeats for every
firmware build.

    tinyrig-rig --device /dev/ttyACM0 --model m.tflite --data validation.npz [--json]

``--data`` is an ``.npz`` with ``x`` (samples along axis 0) and optionally ``y`` (labels). Exit
status: 0 when every device output equals the reference bit for bit, 1 otherwise.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from tinyrig.cli.common import JsonOption, console, emit, handle_errors, progress
from tinyrig.device import open_device, prepare_batch
from tinyrig.device.errors import InputError
from tinyrig.device.sim import SimDevice


@dataclass(frozen=True)
class RigReport:
    device: str
    model: str
    samples: int
    bit_exact: int
    device_accuracy: float | None
    reference_accuracy: float | None
    top1_agreement: float | None
    latency_us_median: float | None
    latency_us_p95: float | None

    @property
    def passed(self) -> bool:
        return self.bit_exact == self.samples


def _load(data: Path) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        with np.load(data, allow_pickle=False) as archive:
            if "x" not in archive.files:
                raise InputError(f"{data} has no array named 'x' (has {archive.files})")
            return archive["x"], archive["y"] if "y" in archive.files else None
    except (OSError, ValueError) as exc:
        raise InputError(f"{data} is not a readable .npz file ({exc})") from None


def run_rig(device_url: str, model: Path, data: Path, *, quantize: bool = True,
            limit: int | None = None, runner: bool = False) -> RigReport:
    """Run ``data`` on the device and the reference; the library API behind tinyrig-rig."""
    x, y = _load(data)
    if limit is not None:
        x, y = x[:limit], (y[:limit] if y is not None else None)
    with open_device(device_url, model=model, runner=runner) as device:
        reference = SimDevice(model)
        samples = prepare_batch(device.info().inputs, [x], quantize=quantize)
        exact, agree, right_dev, right_ref, micros = 0, 0, 0, 0, []
        with progress("samples", total=len(samples)) as update:
            for index, sample in enumerate(samples):
                got = device.infer(sample)
                want = reference.infer(sample).outputs
                exact += all(np.array_equal(a, b) for a, b in
                             zip(got.outputs, want, strict=True))
                top_dev, top_ref = int(np.argmax(got.outputs[0])), int(np.argmax(want[0]))
                agree += top_dev == top_ref
                if y is not None:
                    right_dev += top_dev == int(y[index])
                    right_ref += top_ref == int(y[index])
                if got.micros is not None:
                    micros.append(got.micros)
                update(advance=1)
    count = len(samples)
    classifier = device.info().outputs[0].shape[-1] > 1
    return RigReport(
        device=device_url, model=model.name, samples=count, bit_exact=exact,
        device_accuracy=right_dev / count if y is not None and classifier else None,
        reference_accuracy=right_ref / count if y is not None and classifier else None,
        top1_agreement=agree / count if classifier else None,
        latency_us_median=statistics.median(micros) if micros else None,
        latency_us_p95=float(np.percentile(micros, 95)) if micros else None,
    )


def _render(report: RigReport) -> None:
    table = Table(show_header=False, title=f"{report.model} on {report.device}",
                  title_justify="left")
    for key, value in [
        ("samples", str(report.samples)),
        ("bit-exact with host TFLM", f"{report.bit_exact}/{report.samples}"),
        ("top-1 agreement", "" if report.top1_agreement is None
         else f"{report.top1_agreement:.2%}"),
        ("accuracy (device / host)", "" if report.device_accuracy is None
         else f"{report.device_accuracy:.2%} / {report.reference_accuracy:.2%}"),
        ("latency median / p95", "" if report.latency_us_median is None
         else f"{report.latency_us_median:.0f} / {report.latency_us_p95:.0f} µs"),
    ]:
        table.add_row(key, value)
    console.print(table)


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command()
@handle_errors
def rig(
    device: Annotated[str, typer.Option("--device", "-d", envvar="TINYRIG_DEVICE")],
    model: Annotated[Path, typer.Option("--model", "-m")],
    data: Annotated[Path, typer.Option("--data", help=".npz with x (and y)")],
    limit: Annotated[int | None, typer.Option("--limit", help="First N samples only.")] = None,
    runner: Annotated[bool, typer.Option("--runner", help="Upload to runner firmware.")] = False,
    json: JsonOption = False,
) -> None:
    """Validate a model on a device against the host reference."""
    report = run_rig(device, model, data, limit=limit, runner=runner)
    emit(report, json, _render)
    if not report.passed:
        raise typer.Exit(1)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
