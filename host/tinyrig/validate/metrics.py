"""Comparing two sides' outputs: bit-exact counts, errors in quantized steps, errors in real
values (the set ST Edge AI's validate reports) and classifier agreement."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tinyrig.model.quantize import dequantize_values
from tinyrig.protocol import TensorSpec

Array = npt.NDArray[Any]
F64 = npt.NDArray[np.float64]

__all__ = ["LabelMetrics", "OutputMetrics", "compare_output", "confusion_matrix",
           "is_classifier", "label_metrics", "real_values"]


@dataclass(frozen=True)
class OutputMetrics:
    """Side ``a`` against side ``b`` on one output over every sample.

    ``exact``: samples whose output is identical. ``steps_*``: ``a - b`` in quantized steps
    (only when both sides hold the same integer tensor). Real-valued errors are of ``a - b``
    after dequantizing: ``max_abs``, ``mae`` (mean absolute), ``rmse``, ``l2r`` (relative L2,
    ``|a-b| / |b|``), ``cosine``, ``nse`` (Nash–Sutcliffe efficiency, 1 is perfect),
    ``mean``/``std`` of the error. ``top1`` for classifiers: the fraction of samples whose
    argmax agrees."""

    output: int
    samples: int
    exact: int
    steps_max: int | None
    steps_histogram: dict[int, int] | None
    max_abs: float
    mae: float
    rmse: float
    l2r: float
    cosine: float
    nse: float
    mean: float
    std: float
    top1: float | None

    @property
    def exact_fraction(self) -> float:
        return self.exact / self.samples if self.samples else 1.0


@dataclass(frozen=True)
class LabelMetrics:
    """One side against the labels: accuracy and confusion matrix for classifiers, real-valued
    errors for regression targets."""

    samples: int
    accuracy: float | None
    confusion: list[list[int]] | None
    mae: float | None
    rmse: float | None
    max_abs: float | None


def real_values(spec: TensorSpec | None, batch: Array) -> F64:
    """A batch of outputs as real numbers (integers dequantized with ``spec``)."""
    if spec is None:
        return np.asarray(batch, dtype=np.float64)
    return dequantize_values(batch, spec.scale, spec.zero_point)


def is_classifier(shape: tuple[int, ...]) -> bool:
    """More than one class along the last axis and nothing else per sample."""
    return len(shape) >= 1 and shape[-1] > 1 and math.prod(shape) == shape[-1]


def _clean(value: float) -> float:
    return float(value) if math.isfinite(value) else float("nan")


def compare_output(index: int, a: Array, b: Array, *, spec_a: TensorSpec | None,
                   spec_b: TensorSpec | None) -> OutputMetrics:
    """Metrics of batch ``a`` against batch ``b`` (``[N, ...]`` each). ``spec_x`` is the
    quantized tensor a side produced (None for a float side)."""
    n = int(a.shape[0])
    flat_a = a.reshape(n, -1)
    flat_b = b.reshape(n, -1)
    same_kind = flat_a.dtype == flat_b.dtype
    exact = int(np.sum(np.all(flat_a == flat_b, axis=1))) if same_kind else 0
    steps_max: int | None = None
    histogram: dict[int, int] | None = None
    if (same_kind and np.issubdtype(flat_a.dtype, np.integer) and spec_a is not None
            and spec_b is not None and spec_a.scale == spec_b.scale
            and spec_a.zero_point == spec_b.zero_point):
        steps = flat_a.astype(np.int64) - flat_b.astype(np.int64)
        steps_max = int(np.abs(steps).max()) if steps.size else 0
        values, counts = np.unique(steps, return_counts=True)
        histogram = {int(v): int(c) for v, c in zip(values, counts, strict=True)}
    ra = real_values(spec_a, flat_a)
    rb = real_values(spec_b, flat_b)
    err = ra - rb
    norm_b = float(np.linalg.norm(rb))
    norm_a = float(np.linalg.norm(ra))
    err_norm = float(np.linalg.norm(err))
    spread = float(np.sum((rb - rb.mean()) ** 2)) if rb.size else 0.0
    if norm_a and norm_b:
        cosine = float(np.dot(ra.ravel(), rb.ravel()) / (norm_a * norm_b))
    else:
        cosine = 1.0 if norm_a == norm_b else 0.0
    classifier = is_classifier(tuple(a.shape[1:]))
    return OutputMetrics(
        output=index, samples=n, exact=exact, steps_max=steps_max, steps_histogram=histogram,
        max_abs=_clean(float(np.abs(err).max())) if err.size else 0.0,
        mae=_clean(float(np.abs(err).mean())) if err.size else 0.0,
        rmse=_clean(math.sqrt(float(np.mean(err ** 2)))) if err.size else 0.0,
        l2r=_clean(err_norm / norm_b) if norm_b else (0.0 if err_norm == 0 else float("inf")),
        cosine=_clean(cosine),
        nse=_clean(1.0 - float(np.sum(err ** 2)) / spread) if spread
        else (1.0 if err_norm == 0 else float("-inf")),
        mean=_clean(float(err.mean())) if err.size else 0.0,
        std=_clean(float(err.std())) if err.size else 0.0,
        top1=float(np.mean(flat_a.argmax(axis=1) == flat_b.argmax(axis=1)))
        if classifier and n else None,
    )


def confusion_matrix(truth: Array, predicted: Array, classes: int) -> list[list[int]]:
    """``matrix[t][p]``: samples of class ``t`` predicted as ``p``."""
    matrix = np.zeros((classes, classes), dtype=np.int64)
    t = truth.astype(np.int64)
    keep = (t >= 0) & (t < classes)
    np.add.at(matrix, (t[keep], predicted.astype(np.int64)[keep]), 1)
    return [[int(v) for v in row] for row in matrix]


def label_metrics(output: Array, labels: Array, spec: TensorSpec | None) -> LabelMetrics | None:
    """One side's output 0 against the labels (None when they do not fit each other)."""
    n = int(output.shape[0])
    shape = tuple(output.shape[1:])
    if is_classifier(shape) and labels.ndim == 1 and (
            labels.dtype.kind in "biu" or bool(np.all(np.mod(labels, 1) == 0))):
        predicted = output.reshape(n, -1).argmax(axis=1)
        truth = labels.astype(np.int64)
        return LabelMetrics(n, float(np.mean(predicted == truth)),
                            confusion_matrix(truth, predicted, shape[-1]), None, None, None)
    real = real_values(spec, output.reshape(n, -1))
    target = np.asarray(labels, dtype=np.float64).reshape(n, -1)
    if target.shape != real.shape:
        return None
    err = real - target
    return LabelMetrics(n, None, None, float(np.abs(err).mean()),
                        math.sqrt(float(np.mean(err ** 2))), float(np.abs(err).max()))
