"""One loader for validation data: ``.npz``, ``.npy`` or a directory of ``.npy`` files, plus
labels, fitted to a model's inputs (quantized with :mod:`tinyrig.model.quantize`)."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tinyrig.device.errors import InputError
from tinyrig.device.tensors import split_batch
from tinyrig.model.quantize import dequantize_values, quantize_values
from tinyrig.protocol import TensorSpec
from tinyrig.validate.errors import DataError, LabelsError

Array = npt.NDArray[Any]
LABEL_KEYS = ("y", "labels", "label")

__all__ = ["Dataset", "fit_dataset", "load_arrays", "load_labels"]


@dataclass(frozen=True)
class Dataset:
    """Samples fitted to a model: ``inputs[i]`` is a batch ``[N, *shape_i]`` of input ``i`` in
    the tensor's dtype; ``real[i]`` the same values as real numbers (what a float model takes);
    ``labels`` class indices ``[N]`` or targets ``[N, ...]``."""

    source: str
    inputs: list[Array]
    real: list[npt.NDArray[np.float64]]
    labels: Array | None

    @property
    def count(self) -> int:
        return int(self.inputs[0].shape[0]) if self.inputs else 0

    def sample(self, index: int) -> list[Array]:
        return [batch[index] for batch in self.inputs]

    def head(self, count: int) -> Dataset:
        return Dataset(self.source, [a[:count] for a in self.inputs],
                       [a[:count] for a in self.real],
                       None if self.labels is None else self.labels[:count])


def _read(path: Path, what: str) -> Array | dict[str, Array]:
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{what} {path} is not a readable .npy/.npz file ({exc})") from None
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            return {key: np.asarray(loaded[key]) for key in loaded.files}
    return np.asarray(loaded)


def load_arrays(path: Path, *, inputs: int = 1) -> tuple[list[Array], Array | None]:
    """The arrays of a data set (one per model input, samples along axis 0) and the labels it
    holds, if any.

    ``.npz``: ``x`` (one input) or ``x0``, ``x1``, ... (several), labels ``y``; the
    ``run.npz`` of an earlier run (``input0``, ...) replays its inputs; without those names,
    the arrays in order (labels excepted). ``.npy``: one input. A directory: its ``.npy``
    files in name order, each one sample (or a batch) of a single-input model.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"data set {path} does not exist")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix == ".npy")
        if not files:
            raise DataError(f"data directory {path} contains no .npy files")
        parts = [_read(p, "data file") for p in files]
        arrays = [p for p in parts if isinstance(p, np.ndarray)]
        shapes = {a.shape for a in arrays}
        try:
            batch = np.stack(arrays) if len(shapes) == 1 else np.concatenate(arrays)
        except ValueError:
            raise DataError(f"the .npy files in {path} have shapes that do not fit together: "
                            f"{sorted(shapes)}") from None
        return [batch], None
    if path.suffix not in (".npz", ".npy"):
        raise DataError(f"data set {path} must be a .npz, a .npy or a directory of .npy files")
    content = _read(path, "data set")
    if isinstance(content, np.ndarray):
        return [content], None
    labels = next((content[k] for k in LABEL_KEYS if k in content), None)
    if inputs == 1 and "x" in content:
        return [content["x"]], labels
    for prefix in ("x", "input"):  # input0, input1...: a run.npz replayed
        numbered = [f"{prefix}{i}" for i in range(inputs)]
        if all(k in content for k in numbered):
            return [content[k] for k in numbered], labels
    rest = [v for k, v in content.items() if k not in LABEL_KEYS]
    if not rest:
        raise DataError(f"data set {path} holds no input arrays (it has "
                        f"{', '.join(content) or 'nothing'})",
                        hint="store the samples as 'x' (and labels as 'y'): "
                             "np.savez(path, x=x, y=y)")
    return rest, labels


def load_labels(path: Path) -> Array:
    """Labels from a ``.npy`` (or the ``y`` of a ``.npz``)."""
    path = Path(path)
    if not path.is_file():
        raise LabelsError(f"labels file {path} does not exist")
    try:
        content = _read(path, "labels file")
    except DataError as exc:
        raise LabelsError(exc.message) from None
    if isinstance(content, np.ndarray):
        return content
    for key in LABEL_KEYS:
        if key in content:
            return content[key]
    if len(content) == 1:
        return next(iter(content.values()))
    raise LabelsError(f"labels file {path} has no array named 'y' (it has {', '.join(content)})")


def _fit_input(spec: TensorSpec, array: Array, index: int, source: str
               ) -> tuple[Array, npt.NDArray[np.float64]]:
    arr = np.asarray(array)
    if arr.dtype.kind not in "biuf":
        raise DataError(f"{source}: input {index} has dtype {arr.dtype}; expected numbers")
    try:
        samples = split_batch(spec, arr, index)
    except InputError as exc:
        raise DataError(f"{source}: {exc.message}",
                        hint="samples go along the first axis: an array of shape "
                             f"(N, {', '.join(map(str, spec.shape))})") from None
    batch = np.stack(samples)
    want = spec.dtype.numpy
    if batch.dtype.kind == "f" and not np.all(np.isfinite(batch)):
        raise DataError(f"{source}: input {index} contains NaN or infinite values")
    if batch.dtype == want:
        return batch, dequantize_values(batch, spec.scale, spec.zero_point)
    if batch.dtype.kind == "f" and want.kind == "f":
        return batch.astype(want), batch.astype(np.float64)
    if batch.dtype.kind == "f" and want.kind in "iu":
        if not spec.scale:
            raise DataError(f"{source}: input {index} is {want.name} without a quantization "
                            f"scale, so float data cannot be quantized; pass {want.name} values")
        return (quantize_values(batch, spec.scale, spec.zero_point, want),
                batch.astype(np.float64))
    raise DataError(f"{source}: input {index} is {batch.dtype.name} but the model takes "
                    f"{spec.describe()}",
                    hint=f"give real values (float, quantized with the input's scale "
                         f"{spec.scale:g} and zero point {spec.zero_point}) or exactly "
                         f"{want.name} values")


def _fit_labels(labels: Array, count: int, source: str) -> Array:
    labels = np.asarray(labels)
    if labels.dtype.kind not in "biuf":
        raise LabelsError(f"{source}: labels have dtype {labels.dtype}; expected numbers")
    if labels.ndim == 0 or labels.shape[0] != count:
        got = labels.shape[0] if labels.ndim else 0
        raise LabelsError(f"{source}: {got} label(s) for {count} sample(s)",
                          hint="one label per sample, in the same order as the data")
    if (labels.ndim == 2 and labels.shape[1] > 1 and np.all((labels == 0) | (labels == 1))
            and np.all(labels.sum(axis=1) == 1)):
        indices: Array = labels.argmax(axis=1)  # one-hot
        return indices
    return labels


def fit_dataset(specs: Sequence[TensorSpec], arrays: Sequence[Array], labels: Array | None, *,
                source: str) -> Dataset:
    """Check ``arrays`` against the model's inputs and bring them to the tensors' dtypes."""
    if len(arrays) != len(specs):
        raise DataError(f"{source} holds {len(arrays)} input array(s) but the model has "
                        f"{len(specs)} input(s)",
                        hint="for several inputs store x0, x1, ... in a .npz")
    fitted = [_fit_input(spec, arr, i, source) for i, (spec, arr)
              in enumerate(zip(specs, arrays, strict=True))]
    counts = {int(batch.shape[0]) for batch, _ in fitted}
    if len(counts) != 1:
        raise DataError(f"{source}: the inputs hold different numbers of samples "
                        f"{sorted(counts)}")
    count = counts.pop()
    if count == 0:
        raise DataError(f"{source} holds no samples")
    fitted_labels = None if labels is None else _fit_labels(labels, count, source)
    return Dataset(source, [b for b, _ in fitted], [r for _, r in fitted], fitted_labels)
