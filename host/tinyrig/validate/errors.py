"""Exceptions of the validation layer: data sets, labels, thresholds and interrupted runs."""

from __future__ import annotations

from pathlib import Path

from tinyrig.errors import TinyrigError


class ValidationError(TinyrigError):
    """Validating a model on a device could not start or finish."""


class DataError(ValidationError):
    """The data set cannot be read, or does not fit the model's inputs."""


class LabelsError(ValidationError):
    """The labels cannot be read, or do not match the data set."""


class ThresholdError(ValidationError):
    """A ``--fail-on`` expression is not understood."""


class RunAbortedError(ValidationError):
    """The run stopped early (device error, reset); what finished was written out."""

    def __init__(self, cause: TinyrigError, *, done: int, total: int,
                 report_dir: Path | None) -> None:
        kept = (f"; the {done} finished sample(s) are in {report_dir}" if report_dir
                else f" after {done} of {total} sample(s)")
        super().__init__(f"{cause.message}{kept}", hint=cause.hint)
        self.cause = cause
        self.done = done
        self.total = total
        self.report_dir = report_dir
