"""The validation loop: the device and the reference sides on one data set, metrics, checks,
and every result written as it arrives (``samples.jsonl``), so a crash, a reset or Ctrl-C
keeps what finished."""

from __future__ import annotations

import hashlib
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tinyrig.device.base import Device, set_keep_state
from tinyrig.errors import TinyrigError
from tinyrig.model.flatbuffer import load_model
from tinyrig.protocol import DeviceInfo, Feature, TensorSpec
from tinyrig.validate.checks import DEFAULT_CHECKS, Check, CheckResult, parse_checks
from tinyrig.validate.data import Dataset, fit_dataset, load_arrays, load_labels
from tinyrig.validate.errors import RunAbortedError
from tinyrig.validate.metrics import LabelMetrics, compare_output, label_metrics
from tinyrig.validate.output import ReportWriter
from tinyrig.validate.report import (
    Comparison,
    Latency,
    OpTime,
    OutputInfo,
    ValidationReport,
)
from tinyrig.validate.sides import Side, run_device, run_float, run_litert, run_reference

Array = npt.NDArray[Any]
#: ``progress(stage, done, total)``
ProgressFn = Callable[[str, int, int], None]

__all__ = ["load_dataset", "model_specs", "validate", "validate_url"]


def model_specs(model: Path) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
    """The model's inputs and outputs as a device running it would describe them."""
    from tinyrig.device.sim import tensor_spec

    main = load_model(model).main
    return (tuple(tensor_spec(t) for t in main.input_tensors),
            tuple(tensor_spec(t) for t in main.output_tensors))


def load_dataset(model: Path, data: Path, labels: Path | None = None, *,
                 limit: int | None = None) -> Dataset:
    """Load ``data`` (and ``labels``) and fit them to ``model``'s inputs."""
    inputs, _ = model_specs(model)
    arrays, held = load_arrays(data, inputs=len(inputs))
    label_array = load_labels(labels) if labels is not None else held
    dataset = fit_dataset(inputs, arrays, label_array, source=str(data))
    return dataset.head(limit) if limit is not None else dataset


def _output_spec(spec: TensorSpec) -> TensorSpec | None:
    """How a quantized side's outputs dequantize (None: already real values)."""
    return spec if spec.dtype.numpy.kind in "iu" else None


def _compare(a: str, b: str, left: list[Array], right: list[Array],
             specs: Sequence[TensorSpec], count: int) -> Comparison:
    real = Side.FLOAT.value
    outputs = [compare_output(j, left[j][:count], right[j][:count],
                              spec_a=None if a == real else _output_spec(spec),
                              spec_b=None if b == real else _output_spec(spec))
               for j, spec in enumerate(specs)]
    same = np.ones(count, dtype=bool)
    for j in range(len(specs)):
        l_j, r_j = left[j][:count], right[j][:count]
        if l_j.dtype != r_j.dtype:
            same[:] = False
            break
        same &= np.all(l_j.reshape(count, -1) == r_j.reshape(count, -1), axis=1)
    return Comparison(a, b, outputs, int(same.sum()))


def _comparisons(sides: dict[str, list[Array]], specs: Sequence[TensorSpec],
                 count: int) -> list[Comparison]:
    pairs = [("device", "tflm"), ("tflm", "litert"), ("device", "litert"),
             ("device", "float"), ("tflm", "float"), ("litert", "float")]
    return [_compare(a, b, sides[a], sides[b], specs, count) for a, b in pairs
            if a in sides and b in sides and count]


def _labels(sides: dict[str, list[Array]], labels: Array | None, specs: Sequence[TensorSpec],
            count: int) -> dict[str, LabelMetrics]:
    if labels is None or not count:
        return {}
    result = {}
    for name, outputs in sides.items():
        spec = None if name == Side.FLOAT.value else _output_spec(specs[0])
        metrics = label_metrics(outputs[0][:count], labels[:count], spec)
        if metrics is not None:
            result[name] = metrics
    return result


def _check_value(check: Check, comparisons: list[Comparison],
                 labels: dict[str, LabelMetrics]) -> tuple[float | None, str]:
    if check.metric == "accuracy":
        found = labels.get(check.against)
        if found is None or found.accuracy is None:
            return None, f"no accuracy for {check.against} (labels of a classifier needed)"
        return found.accuracy, f"{check.against} accuracy"
    comparison = next((c for c in comparisons if c.a == "device" and c.b == check.against),
                      None)
    if comparison is None:
        return None, f"no {check.against} column in this run"
    if check.metric == "exact":
        return comparison.exact / max(1, comparison.outputs[0].samples), \
            f"device vs {check.against}"
    attribute = {"max-abs": "max_abs", "steps": "steps_max", "top1": "top1"}.get(
        check.metric, check.metric)
    values = [getattr(m, attribute) for m in comparison.outputs]
    values = [float(v) for v in values if v is not None]
    if not values:
        return None, f"{check.metric} does not apply to these outputs"
    return check.worst(values), f"device vs {check.against}, worst output"


def evaluate_checks(checks: Sequence[Check], comparisons: list[Comparison],
                    labels: dict[str, LabelMetrics]) -> list[CheckResult]:
    results = []
    for check in checks:
        value, detail = _check_value(check, comparisons, labels)
        failed = value is not None and check.fails(value)
        results.append(CheckResult(check.expression, str(check.kind.name), value, failed,
                                   detail))
    return results


def _latency(micros: list[int]) -> Latency | None:
    if not micros:
        return None
    return Latency(len(micros), float(statistics.median(micros)),
                   float(np.percentile(micros, 95)), float(min(micros)), float(max(micros)))


def _profile(device: Device, info: DeviceInfo) -> list[OpTime]:
    if Feature.PROFILE not in info.features:
        return []
    try:
        entries = device.profile()
    except TinyrigError:
        return []
    per_us = info.tick_hz / 1e6 if info.tick_hz else None
    return [OpTime(i, e.name, e.ticks, e.ticks / per_us if per_us else None)
            for i, e in enumerate(entries)]


def validate(device: Device, model: Path, data: Dataset, *, float_model: Path | None = None,
             litert: bool | None = None, checks: Sequence[str] = DEFAULT_CHECKS,
             report_dir: Path | None = None, progress: ProgressFn | None = None,
             after_sample: Callable[[int], None] | None = None,
             layers: bool = False, keep_state: bool = False) -> ValidationReport:
    """Run ``data`` on ``device`` and on the reference sides, compare, and write the report.

    Sides: the host TFLM always; LiteRT int8 when ``litert`` (default: when a float model is
    given); the float model when ``float_model``. With ``report_dir``, ``samples.jsonl`` grows
    as samples finish, and ``report.json``/``.html``, ``junit.xml`` and ``run.npz`` (inputs and
    every side's outputs, for replay) are written at the end — also when the device fails or
    the run is interrupted, with what finished (then :class:`RunAbortedError` is raised).
    With ``layers`` (debug runner firmware), the first sample that differs from the host TFLM
    (else the first) is rerun layer by layer and the report names the first op that differs.
    Stateless by default, every side resetting a stateful model before each sample;
    ``keep_state`` runs the samples in order as one stream on every side
    (:mod:`tinyrig.model.state`).
    """
    started = time.monotonic()
    parsed = parse_checks(checks)
    say: ProgressFn = progress or (lambda _stage, _done, _total: None)
    info = device.info()
    specs = info.outputs
    total = data.count
    use_litert = float_model is not None if litert is None else litert
    set_keep_state(device, keep_state)

    host: dict[str, list[Array]] = {}

    def host_side(name: Side, run: Callable[[Callable[[], None]], list[Array]]) -> None:
        count = 0

        def tick() -> None:
            nonlocal count
            count += 1
            say(f"{name.title} (host)", count, total)

        host[name.value] = run(tick)

    if float_model is not None:
        host_side(Side.FLOAT, lambda tick: run_float(float_model, data, specs))
    if use_litert:
        host_side(Side.LITERT, lambda tick: run_litert(model, data, tick, keep_state=keep_state))
    host_side(Side.TFLM, lambda tick: run_reference(model, data, tick,
                                                            keep_state=keep_state))

    writer = ReportWriter(report_dir) if report_dir is not None else None
    device_out: list[list[Array]] = [[] for _ in specs]
    micros: list[int] = []
    failure: TinyrigError | None = None
    interrupted = False
    try:
        for index in range(total):
            outputs, us = run_device(device, data, index)
            for j, value in enumerate(outputs):
                device_out[j].append(value)
            if us is not None:
                micros.append(us)
            if writer is not None:
                writer.sample(index, data, {**{k: [v[index] for v in vs]
                                               for k, vs in host.items()},
                                            "device": outputs}, us)
            say(f"{device.url}", index + 1, total)
            if after_sample is not None:
                after_sample(index)
    except TinyrigError as exc:
        failure = exc
    except KeyboardInterrupt:
        interrupted = True
    done = len(device_out[0]) if specs else 0
    sides = dict(host)
    sides[Side.DEVICE.value] = [
        np.stack(v) if v else np.zeros((0, *spec.shape), spec.dtype.numpy)
        for v, spec in zip(device_out, specs, strict=True)]
    profile = _profile(device, info) if failure is None and not interrupted else []
    comparisons = _comparisons(sides, specs, done)
    labels = _labels(sides, data.labels, specs, done)
    layer_diff = None
    if layers and done and failure is None and not interrupted:
        from tinyrig.validate.layers import diff_layers

        differs = [i for i in range(done) if not all(
            np.array_equal(sides["device"][j][i], sides["tflm"][j][i]) for j in range(len(specs)))]
        chosen = differs[0] if differs else 0
        say("layer by layer", 0, 1)
        set_keep_state(device, keep_state)  # the rerun starts from the initial state too
        layer_diff = diff_layers(device, model, data.sample(chosen), sample_index=chosen)
        if differs and layer_diff.first_divergent is None:
            layer_diff = replace(layer_diff, note=(
                f"sample {chosen} differed from the host TFLM during the run but every op is "
                "bit-exact when it is rerun alone: the divergence depends on what ran before "
                "(state or memory left over from earlier invokes)"
                + ("; with --keep-state, a kernel that ignores the model's state (CMSIS-NN's "
                   "LSTM) does this" if keep_state else "")))
    error = (failure.message if failure is not None
             else "interrupted" if interrupted else None)
    report = ValidationReport(
        model=model.name, model_sha256=hashlib.sha256(model.read_bytes()).hexdigest(),
        device=device.url, board=info.board, firmware=info.firmware, data=data.source,
        requested=total, samples=done, complete=done == total and error is None, error=error,
        sides=[s.value for s in Side if s.value in sides],
        outputs=[OutputInfo(j, s.dtype.numpy.name, s.shape, s.scale, s.zero_point)
                 for j, s in enumerate(specs)],
        comparisons=comparisons, labels=labels, latency=_latency(micros), profile=profile,
        checks=evaluate_checks(parsed, comparisons, labels) if done else [],
        seconds=round(time.monotonic() - started, 3), layers=layer_diff,
        keep_state=keep_state)
    if writer is not None:
        report = replace(report, files=writer.finish(report, data, sides, done))
    if interrupted:
        raise KeyboardInterrupt
    if failure is not None:
        raise RunAbortedError(failure, done=done, total=total, report_dir=report_dir)
    return report


def validate_url(url: str, model: Path, data: Path, *, labels: Path | None = None,
                 float_model: Path | None = None, litert: bool | None = None,
                 checks: Sequence[str] = DEFAULT_CHECKS, report_dir: Path | None = None,
                 limit: int | None = None, runner: bool = False,
                 arena_bytes: int | None = None, progress: ProgressFn | None = None,
                 build_progress: Callable[..., None] | None = None,
                 layers: bool = False, keep_state: bool = False) -> ValidationReport:
    """Open the device at ``url`` (booting emulated ones) and :func:`validate` on it. The data
    and thresholds are checked first, before any firmware is built. ``layers`` boots the debug
    runner of an emulated board (a real board must run it already)."""
    from tinyrig.device import open_device

    parse_checks(checks)
    dataset = load_dataset(model, data, labels, limit=limit)
    with open_device(url, model=model, runner=runner, arena_bytes=arena_bytes,
                     progress=build_progress, debug=layers) as device:
        return validate(device, model, dataset, float_model=float_model, litert=litert,
                        checks=checks, report_dir=report_dir, progress=progress,
                        layers=layers, keep_state=keep_state)
