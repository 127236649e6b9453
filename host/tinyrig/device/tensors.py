"""Fitting user arrays to a model's input tensors, one sample or a batch along axis 0."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from tinyrig.device.errors import InputError
from tinyrig.model.quantize import dequantize_values, quantize_values
from tinyrig.protocol.messages import TensorSpec

Array = npt.NDArray[np.generic]


def split_batch(spec: TensorSpec, array: Array, index: int) -> list[Array]:
    """Return the samples in ``array`` for one input tensor.

    Accepted: exactly the tensor's shape; a batch of them along a new leading axis; or, when
    the tensor's own leading dimension is 1, a batch along that axis (``[N, ...]`` for
    ``[1, ...]``), which includes a flat vector of scalars for a ``[1, 1]`` tensor.
    """
    shape = tuple(spec.shape)
    size = math.prod(shape)
    arr = np.asarray(array)
    if arr.shape == shape:
        return [arr]
    fits = (
        arr.shape[1:] == shape
        or (len(shape) >= 1 and shape[0] == 1 and arr.shape[1:] == shape[1:])
        or (arr.ndim == 1 and size == 1)
    )
    if not fits or size == 0 or arr.size % size:
        raise InputError(
            f"input {index} expects {spec.describe()} (or a batch of them along a leading "
            f"axis), got {arr.dtype}[{','.join(map(str, arr.shape))}]"
        )
    return [sample.reshape(shape) for sample in arr.reshape(-1, *shape)]


def to_tensor_dtype(spec: TensorSpec, sample: Array, index: int, *, quantize: bool) -> Array:
    """Check (or, with ``quantize``, convert) ``sample`` to the tensor's dtype."""
    want = spec.dtype.numpy
    if sample.dtype == want:
        return sample
    if quantize and np.issubdtype(sample.dtype, np.floating) and np.issubdtype(want, np.integer):
        if spec.scale == 0:
            raise InputError(f"input {index} has no quantization scale; pass {want} values")
        quantized: Array = quantize_values(sample, spec.scale, spec.zero_point, want)
        return quantized
    hint = (" (quantize them with the input's scale "
            f"{spec.scale:g} and zero point {spec.zero_point}: --quantize on the command line, "
            "quantize=True in tinyrig.device.tensors.prepare_batch)"
            if np.issubdtype(want, np.integer) and np.issubdtype(sample.dtype, np.floating)
            else "")
    raise InputError(f"input {index} expects {want.name} values, got {sample.dtype.name}{hint}")


def check_sample(specs: Sequence[TensorSpec], inputs: Sequence[Array]) -> list[Array]:
    """The check every backend (sim, native, QEMU, boards) applies to one sample before it
    runs: one array per input, each with exactly the tensor's shape and dtype — never a silent
    cast (float 200.7 is not int8 -56) or reshape ((3, 64) is not (1, 64, 3)). Returns the
    arrays C-contiguous. :func:`prepare_batch` turns user data into such samples."""
    if len(inputs) != len(specs):
        raise InputError(f"the model has {len(specs)} input(s), {len(inputs)} given")
    checked: list[Array] = []
    for index, (spec, array) in enumerate(zip(specs, inputs, strict=True)):
        arr = np.asarray(array)
        if arr.shape != tuple(spec.shape):
            raise InputError(f"input {index} expects {spec.describe()}, got "
                             f"{arr.dtype}[{','.join(map(str, arr.shape))}]")
        checked.append(np.ascontiguousarray(to_tensor_dtype(spec, arr, index, quantize=False)))
    return checked


def prepare_batch(specs: Sequence[TensorSpec], arrays: Sequence[Array], *,
                  quantize: bool = False) -> list[list[Array]]:
    """Turn user arrays into a list of samples, each a list with one array per input."""
    if len(arrays) != len(specs):
        raise InputError(f"the model has {len(specs)} input(s), {len(arrays)} given")
    per_input = [
        [to_tensor_dtype(spec, s, i, quantize=quantize) for s in split_batch(spec, arr, i)]
        for i, (spec, arr) in enumerate(zip(specs, arrays, strict=True))
    ]
    counts = {len(samples) for samples in per_input}
    if len(counts) != 1:
        raise InputError(f"inputs hold different batch sizes: {sorted(counts)}")
    return [list(sample) for sample in zip(*per_input, strict=True)]


def dequantize(spec: TensorSpec, array: Array) -> npt.NDArray[np.float64]:
    """Real values of a quantized tensor (floats pass through)."""
    return dequantize_values(array, spec.scale, spec.zero_point)
