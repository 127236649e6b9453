"""The result of a validation run, as one dataclass every output format renders."""

from __future__ import annotations

from dataclasses import dataclass, field

from tinyrig.validate.checks import CheckKind, CheckResult
from tinyrig.validate.metrics import LabelMetrics, OutputMetrics


@dataclass(frozen=True)
class OutputInfo:
    index: int
    dtype: str
    shape: tuple[int, ...]
    scale: float
    zero_point: int


@dataclass(frozen=True)
class Comparison:
    """Side ``a`` against side ``b``, one entry per model output."""

    a: str
    b: str
    outputs: list[OutputMetrics]
    exact: int  # samples with every output bit-exact


@dataclass(frozen=True)
class Latency:
    samples: int
    median_us: float
    p95_us: float
    min_us: float
    max_us: float


@dataclass(frozen=True)
class OpTime:
    index: int
    name: str
    ticks: int
    micros: float | None


@dataclass(frozen=True)
class LayerRow:
    """One op of the layer diff: its output on the device against the host TFLM."""

    index: int
    op: str
    tensor: int
    name: str
    shape: tuple[int, ...]
    exact: bool
    steps_max: int | None
    max_abs: float
    rmse: float
    cosine: float


@dataclass(frozen=True)
class LayerDiff:
    sample: int
    rows: list[LayerRow]
    first_divergent: int | None
    # Set when the sample differed during the run but is bit-exact rerun alone: the divergence
    # depends on what ran before (state, memory left over from earlier invokes).
    note: str | None = None

    @property
    def first(self) -> LayerRow | None:
        return next((r for r in self.rows if r.index == self.first_divergent), None)


@dataclass(frozen=True)
class ValidationReport:
    model: str
    model_sha256: str
    device: str
    board: str
    firmware: str
    data: str
    requested: int
    samples: int
    complete: bool
    error: str | None
    sides: list[str]
    outputs: list[OutputInfo]
    comparisons: list[Comparison]
    labels: dict[str, LabelMetrics]
    latency: Latency | None
    profile: list[OpTime]
    checks: list[CheckResult]
    seconds: float
    layers: LayerDiff | None = None
    files: dict[str, str] = field(default_factory=dict)
    # The state rule of the run (tinyrig.model.state): False, a stateful model is reset before
    # every sample on every side; True, the samples ran in order as one stream.
    keep_state: bool = False

    @property
    def failed_kinds(self) -> CheckKind:
        kinds = CheckKind(0)
        for check in self.checks:
            if check.failed:
                kinds |= CheckKind[check.kind]
        return kinds

    @property
    def passed(self) -> bool:
        return self.complete and not self.failed_kinds

    @property
    def exit_code(self) -> int:
        """0, or the bits of :class:`CheckKind` that failed (1 when the run did not finish)."""
        return int(self.failed_kinds) or (0 if self.complete else 1)

    def comparison(self, a: str, b: str) -> Comparison | None:
        return next((c for c in self.comparisons if c.a == a and c.b == b), None)
