"""Files of a validation run: ``samples.jsonl`` (one line per finished sample, flushed as it
goes), and at the end ``run.npz`` (inputs and every side's outputs, to replay), ``report.json``,
``report.html`` and ``junit.xml``."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from tinyrig.validate.data import Dataset
from tinyrig.validate.report import ValidationReport

Array = npt.NDArray[Any]

__all__ = ["ReportWriter", "jsonable", "load_run"]


def jsonable(value: Any) -> Any:
    """Dataclasses, enums, paths and numpy values as JSON types (non-finite floats: null)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


class ReportWriter:
    """Writes a run's files into ``directory`` (created)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.samples_path = self.directory / "samples.jsonl"
        self._samples: IO[str] = self.samples_path.open("w", encoding="utf-8")

    def sample(self, index: int, data: Dataset, outputs: dict[str, list[Array]],
               micros: int | None) -> None:
        line = {"sample": index, "micros": micros,
                "label": None if data.labels is None else jsonable(data.labels[index]),
                "outputs": {side: [jsonable(np.asarray(o).ravel()) for o in values]
                            for side, values in outputs.items()}}
        self._samples.write(json.dumps(line) + "\n")
        self._samples.flush()

    def finish(self, report: ValidationReport, data: Dataset, sides: dict[str, list[Array]],
               done: int) -> dict[str, str]:
        from tinyrig.validate.html import render_html
        from tinyrig.validate.junit import render_junit

        self._samples.close()
        files = {"samples": self.samples_path, "npz": self.directory / "run.npz",
                 "json": self.directory / "report.json",
                 "html": self.directory / "report.html",
                 "junit": self.directory / "junit.xml"}
        arrays: dict[str, Array] = {}
        for i, batch in enumerate(data.inputs):
            arrays[f"input{i}"] = batch[:done]
        for side, outputs in sides.items():
            for j, batch in enumerate(outputs):
                arrays[f"{side}_output{j}"] = batch[:done]
        if data.labels is not None:
            arrays["labels"] = data.labels[:done]
        with (self.directory / "run.npz.tmp").open("wb") as handle:
            np.savez_compressed(handle, **arrays)  # type: ignore[arg-type]
        (self.directory / "run.npz.tmp").replace(files["npz"])
        final = dataclasses.replace(report, files={k: str(v) for k, v in files.items()})
        _atomic_write(files["json"], json.dumps(jsonable(final), indent=2).encode())
        _atomic_write(files["html"], render_html(final).encode())
        _atomic_write(files["junit"], render_junit(final).encode())
        return final.files


def load_run(path: Path) -> dict[str, Array]:
    """The arrays of a ``run.npz`` (``input0``, ``device_output0``, ``tflm_output0``, ...)."""
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}
