"""The on-device per-op profile (PROFILE, docs/protocol.md) as a report and a chart.

:func:`profile_device` runs one inference on a device and reads back how long each operator
took, in the device's own time unit (instructions under QEMU ``-icount``, DWT cycles on a
Cortex-M3/M4/M7 board, timer ticks elsewhere, ns on the host build): a per-op table, the
same grouped by op type, and each one's share of the total. :func:`write_chart` draws it with
matplotlib (the ``chart`` extra).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyrig.device.base import Array, Device
from tinyrig.device.errors import DeviceError
from tinyrig.errors import MissingExtraError
from tinyrig.protocol import DeviceInfo
from tinyrig.protocol.messages import TfLiteType

_DTYPES = {TfLiteType.INT8: np.int8, TfLiteType.UINT8: np.uint8, TfLiteType.INT16: np.int16,
           TfLiteType.INT32: np.int32, TfLiteType.FLOAT32: np.float32}


@dataclass(frozen=True)
class OpTime:
    index: int  # position in the invoke order
    op: str  # the op type TFLM names (FULLY_CONNECTED, ...)
    time: int  # in ProfileReport.unit
    share: float  # of the profile's total


@dataclass(frozen=True)
class OpTypeTime:
    op: str
    count: int
    time: int
    share: float


@dataclass(frozen=True)
class ProfileReport:
    model: str
    device: str
    unit: str  # instructions | cycles | ticks | ns
    tick_hz: int
    total: int  # sum over ops, in unit
    invoke: int | None  # the whole invoke as the device timed it, in unit
    ops: tuple[OpTime, ...]
    by_type: tuple[OpTypeTime, ...]  # largest first


def _zeros(info: DeviceInfo) -> list[Array]:
    arrays: list[Array] = []
    for spec in info.inputs:
        dtype = _DTYPES.get(TfLiteType(spec.dtype))
        if dtype is None:
            raise DeviceError(f"cannot make a default input of type {spec.dtype}",
                              hint="pass --input X.npy")
        arrays.append(np.zeros(spec.shape, dtype=dtype))
    return arrays


def profile_device(device: Device, inputs: Sequence[Array] | None = None, *, url: str,
                   model_name: str = "model") -> ProfileReport:
    """Run one inference (``inputs``, default all zeros) and read its per-op profile."""
    info = device.info()
    inference = device.infer(list(inputs) if inputs is not None else _zeros(info))
    entries = device.profile()
    if not entries:
        raise DeviceError(f"{url} reports no per-op profile",
                          hint="profiles come from tinyrig firmware (native, qemu, a board); "
                               "the sim device has none")
    total = sum(e.ticks for e in entries)
    share = (lambda t: t / total) if total else (lambda t: 0.0)
    ops = tuple(OpTime(i, e.name, e.ticks, share(e.ticks)) for i, e in enumerate(entries))
    grouped: dict[str, list[int]] = {}
    for op in ops:
        grouped.setdefault(op.op, []).append(op.time)
    by_type = tuple(sorted((OpTypeTime(name, len(times), sum(times), share(sum(times)))
                            for name, times in grouped.items()),
                           key=lambda t: (-t.time, t.op)))
    return ProfileReport(model=model_name, device=url, unit=info.tick_unit.label,
                         tick_hz=info.tick_hz, total=total, invoke=inference.ticks, ops=ops,
                         by_type=by_type)


def write_chart(report: ProfileReport, path: Path) -> Path:
    """A horizontal bar chart of the per-op times (SVG, PNG or PDF by ``path``'s suffix)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ModuleNotFoundError:
        raise MissingExtraError("chart", "the profile chart") from None
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in ("svg", "png", "pdf"):
        raise DeviceError(f"cannot write a chart as {path.name}", hint="use .svg, .png or .pdf")
    many = len(report.ops) > 40  # one bar per op type when the model is long
    labels = ([f"{t.op} ×{t.count}" for t in report.by_type] if many
              else [f"#{o.index} {o.op}" for o in report.ops])
    values = [t.time for t in report.by_type] if many else [o.time for o in report.ops]
    figure, axes = plt.subplots(figsize=(8, 0.35 * len(values) + 1.5))
    positions = list(range(len(values)))[::-1]
    axes.barh(positions, values, color="#3b75af")
    axes.set_yticks(positions, labels, fontsize=8)
    axes.set_xlabel(report.unit)
    axes.set_title(f"{report.model} on {report.device}: {report.total:,} {report.unit}",
                   fontsize=10)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format=suffix)
    plt.close(figure)
    return path
