"""Pass/fail thresholds (``--fail-on``) and the exit code that says which kind failed.

An expression is ``METRIC[:AGAINST] OP VALUE`` and names the failing condition:
``exact<1`` (fewer than all samples bit-exact with the host TFLM), ``steps>1``,
``cosine:float<0.99`` (device vs the float model), ``accuracy<0.9`` (device vs labels),
``accuracy:tflm<0.9``. Comparison metrics are of the device against ``AGAINST`` (default
``tflm``), over the worst output; ``accuracy`` is of the side ``AGAINST`` (default ``device``).
"""

from __future__ import annotations

import enum
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tinyrig.validate.errors import ThresholdError


class CheckKind(enum.IntFlag):
    """Bits of the exit code of a failed validation (1, 2, 70 and 130 stay for errors)."""

    EXACT = 4
    STEPS = 8
    ERROR = 16
    CLASSIFIER = 32


#: metric -> (kind, what it is)
METRICS: dict[str, tuple[CheckKind, str]] = {
    "exact": (CheckKind.EXACT, "fraction of samples with every output bit-exact"),
    "steps": (CheckKind.STEPS, "largest error in quantized steps"),
    "max-abs": (CheckKind.ERROR, "largest absolute error (real values)"),
    "mae": (CheckKind.ERROR, "mean absolute error"),
    "rmse": (CheckKind.ERROR, "root mean square error"),
    "l2r": (CheckKind.ERROR, "relative L2 error"),
    "cosine": (CheckKind.ERROR, "cosine similarity"),
    "nse": (CheckKind.ERROR, "Nash-Sutcliffe efficiency"),
    "top1": (CheckKind.CLASSIFIER, "top-1 agreement"),
    "accuracy": (CheckKind.CLASSIFIER, "accuracy against the labels"),
}
SIDES = ("float", "litert", "tflm", "device")
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}
_PATTERN = re.compile(r"^\s*([a-z0-9-]+)(?::([a-z]+))?\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*$")
DEFAULT_CHECKS: tuple[str, ...] = ("exact<1",)


@dataclass(frozen=True)
class Check:
    expression: str
    metric: str
    against: str
    op: str
    threshold: float

    @property
    def kind(self) -> CheckKind:
        return METRICS[self.metric][0]

    def fails(self, value: float) -> bool:
        return _OPS[self.op](value, self.threshold)

    @property
    def worst(self) -> Callable[[Sequence[float]], float]:
        """Which output's value decides: the smallest for ``<`` checks, else the largest."""
        return min if self.op.startswith("<") else max


@dataclass(frozen=True)
class CheckResult:
    expression: str
    kind: str
    value: float | None
    failed: bool
    detail: str


def parse_check(expression: str) -> Check:
    match = _PATTERN.match(expression)
    if match is None:
        raise ThresholdError(f"cannot read --fail-on '{expression}'",
                             hint="write METRIC[:AGAINST] < or > VALUE, e.g. exact<1, "
                                  "steps>1, accuracy<0.9, cosine:float<0.99")
    metric, against, op, number = match.groups()
    if metric not in METRICS:
        raise ThresholdError(f"unknown metric '{metric}' in --fail-on '{expression}'",
                             hint=f"metrics: {', '.join(METRICS)}")
    default = "device" if metric == "accuracy" else "tflm"
    side = against or default
    if side not in SIDES and not (side == "labels" and metric != "accuracy"):
        raise ThresholdError(f"unknown side '{side}' in --fail-on '{expression}'",
                             hint=f"sides: {', '.join(SIDES)}")
    if side == "device" and metric != "accuracy":
        raise ThresholdError(f"--fail-on '{expression}' compares the device with itself",
                             hint="compare with tflm, litert or float")
    try:
        threshold = float(number)
    except ValueError:
        raise ThresholdError(f"'{number}' in --fail-on '{expression}' is not a number") from None
    return Check(expression.strip(), metric, side, op, threshold)


def parse_checks(expressions: Sequence[str]) -> list[Check]:
    """``none`` alone disables every check."""
    if list(expressions) == ["none"]:
        return []
    return [parse_check(e) for e in expressions]
