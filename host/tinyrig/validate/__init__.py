"""Validation of a model on a device: one data loader, one quantization, one set of metrics,
and the reports (JSON, HTML, JUnit) the CLI, the rig and the pytest plugin all use.

    from tinyrig.validate import validate_url
    report = validate_url("qemu", Path("m.tflite"), Path("val.npz"), report_dir=Path("out"))
"""

from tinyrig.validate.checks import DEFAULT_CHECKS, CheckKind, parse_checks
from tinyrig.validate.data import Dataset, fit_dataset, load_arrays, load_labels
from tinyrig.validate.errors import (
    DataError,
    LabelsError,
    RunAbortedError,
    ThresholdError,
    ValidationError,
)
from tinyrig.validate.report import Comparison, ValidationReport
from tinyrig.validate.run import load_dataset, model_specs, validate, validate_url

__all__ = [
    "DEFAULT_CHECKS", "CheckKind", "Comparison", "DataError", "Dataset", "LabelsError",
    "RunAbortedError", "ThresholdError", "ValidationError", "ValidationReport", "fit_dataset",
    "load_arrays", "load_dataset", "load_labels", "model_specs", "parse_checks", "validate",
    "validate_url",
]
