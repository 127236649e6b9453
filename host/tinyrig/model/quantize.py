"""The one affine quantization tinyrig uses everywhere (run --quantize, validate, convert).

It matches TFLite's own ``Quantize`` kernel (``reference_ops::AffineQuantize``): the division
``x / scale`` in float32, rounded half away from zero (``TfLiteRound``, i.e. ``std::round``), plus
the zero point, clamped to the integer type. ``numpy.round`` (half to even) and a float64
division each land on a different integer for some inputs; a test pins the differences.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["dequantize_values", "quantize_values", "round_half_away"]


def round_half_away(values: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.floating[Any]]:
    """``std::round`` elementwise, exactly (no ``floor(x + 0.5)`` double rounding)."""
    whole = np.trunc(values)
    fraction = values - whole  # exact in binary floating point
    step: npt.NDArray[np.floating[Any]] = np.where(np.abs(fraction) >= 0.5,
                                                   np.sign(values), 0).astype(values.dtype)
    result: npt.NDArray[np.floating[Any]] = whole + step
    return result


def quantize_values(values: npt.ArrayLike, scale: float, zero_point: int,
                    dtype: npt.DTypeLike) -> npt.NDArray[Any]:
    """Real values -> integers of ``dtype`` the way TFLite's Quantize op computes them."""
    target = np.dtype(dtype)
    limits = np.iinfo(target)
    scaled = np.asarray(values, dtype=np.float32) / np.float32(scale)
    with np.errstate(invalid="ignore"):
        rounded = round_half_away(scaled).astype(np.float64) + zero_point
    return np.clip(rounded, limits.min, limits.max).astype(target)


def dequantize_values(values: npt.ArrayLike, scale: float, zero_point: int
                      ) -> npt.NDArray[np.float64]:
    """Integers -> real values (float64: exact for every int8/int16 value and float32 scale)."""
    array = np.asarray(values)
    if not scale or not np.issubdtype(array.dtype, np.integer):
        return array.astype(np.float64)
    return (array.astype(np.float64) - zero_point) * float(np.float32(scale))
