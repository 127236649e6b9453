"""The one quantization: TFLite's Quantize kernel (float32 division, std::round), checked
against the same expression compiled with g++, where numpy.round or float64 disagree."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tinyrig.model.quantize import dequantize_values, quantize_values, round_half_away

CXX = r"""
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <algorithm>
int main() {
  float scale, x; int zp;
  while (std::scanf("%a %a %d", &x, &scale, &zp) == 3) {
    int32_t q = static_cast<int32_t>(std::round(x / static_cast<float>(scale))) + zp;
    std::printf("%d\n", std::min(std::max(q, -128), 127));
  }
}
"""


def test_rounds_half_away_from_zero_like_std_round() -> None:
    values = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49999997, -0.49999997],
                      dtype=np.float32)
    assert round_half_away(values).tolist() == [-3, -2, -1, 1, 2, 3, 0, 0]
    assert np.round(values).tolist() != round_half_away(values).tolist()


def test_matches_the_kernel_expression_compiled_with_gxx(tmp_path: Path) -> None:
    if shutil.which("g++") is None:
        pytest.skip("g++ is not installed")
    source = tmp_path / "q.cc"
    source.write_text(CXX)
    binary = tmp_path / "q"
    subprocess.run(["g++", "-O0", "-ffp-contract=off", "-o", str(binary), str(source)],
                   check=True)
    rng = np.random.default_rng(3)
    scale = np.float32(0.0246357)
    # Values on and next to every .5 boundary, plus random ones.
    halves = (np.arange(-140, 140) + 0.5).astype(np.float32) * scale
    near = np.concatenate([np.nextafter(halves, np.float32(np.inf)),
                           np.nextafter(halves, np.float32(-np.inf)), halves,
                           rng.uniform(-4, 4, 2000).astype(np.float32)])
    zp = -128
    text = "".join(f"{float(x).hex()} {float(scale).hex()} {zp}\n" for x in near)
    out = subprocess.run([str(binary)], input=text, capture_output=True, text=True, check=True)
    want = np.array([int(v) for v in out.stdout.split()], dtype=np.int8)
    got = quantize_values(near, float(scale), zp, np.int8)
    assert np.array_equal(got, want)
    # The two paths tinyrig used to have each disagree with the kernel somewhere here.
    float64_path = np.clip(np.round(near.astype(np.float64) / float(scale)) + zp, -128, 127)
    assert np.count_nonzero(float64_path.astype(np.int8) != want) > 0


def test_dequantize_is_the_inverse_on_the_grid() -> None:
    q = np.arange(-128, 128, dtype=np.int8)
    real = dequantize_values(q, 0.05, 3)
    assert np.array_equal(quantize_values(real, 0.05, 3, np.int8), q)
    assert dequantize_values(np.array([1.5]), 0.1, 0).tolist() == [1.5]  # floats pass
