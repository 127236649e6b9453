"""A rig run: one model and data set on one board, checked against the host reference.

A thin layer over :mod:`tinyrig.validate` (the same loader, quantization, metrics and reports
as ``tinyrig validate``); every output is compared, not only the first.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tinyrig.validate import DEFAULT_CHECKS, ValidationReport, validate_url


def run_rig(device_url: str, model: Path, data: Path, *, labels: Path | None = None,
            limit: int | None = None, runner: bool = False, report_dir: Path | None = None,
            checks: Sequence[str] = DEFAULT_CHECKS) -> ValidationReport:
    """Validate ``model`` on the device at ``device_url`` with ``data``."""
    return validate_url(device_url, model, data, labels=labels, limit=limit, runner=runner,
                        report_dir=report_dir, checks=checks)
