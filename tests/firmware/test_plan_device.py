"""Offline memory plans on the emulated board: every planned model uploads to the runner
firmware, its smallest arena is bisected on the device (ARENA_LIMIT, the target's CMSIS-NN
kernels and 32-bit pointers) next to the original's, and at that smallest arena it gives the
host reference's outputs bit for bit."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from tests.firmware.images import REPO, runner_image
from tests.firmware.link import qemu_missing
from tinyrig.device.open import open_device
from tinyrig.device.remote import RemoteDevice
from tinyrig.device.sim import SimDevice
from tinyrig.device.target_arena import measure_target_arena
from tinyrig.model.flatbuffer import load_model, numpy_dtype_name
from tinyrig.model.plan import plan_model
from tinyrig.protocol import ErrorCode

pytestmark = [pytest.mark.slow, pytest.mark.qemu]

SHARED_MODELS = REPO.parent / "shared" / "models"
MODELS = sorted([*REPO.glob("models/*/*.tflite"), *SHARED_MODELS.glob("*.tflite"),
                 *REPO.glob("bench/models/*.tflite")], key=lambda p: p.name)


def _inputs(path: Path, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = []
    for t in load_model(path).main.input_tensors:
        dtype = np.dtype(numpy_dtype_name(t.dtype) or "int8")
        if dtype.kind == "f":
            arrays.append(rng.uniform(-1, 1, t.shape).astype(dtype))
        else:
            info = np.iinfo(dtype)
            arrays.append(rng.integers(info.min, info.max, t.shape, dtype=dtype, endpoint=True))
    return arrays


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_planned_model_on_the_board(path: Path, tmp_path: Path) -> None:
    reason = qemu_missing()
    if reason is not None:
        pytest.skip(reason)
    runner_image("qemu-m4-runner")  # skips without the ARM toolchain
    planned = tmp_path / f"{path.stem}_planned.tflite"
    report = plan_model(path, planned)
    # bisected on the board (a board that dies near the minimum is rebooted)
    greedy_min = measure_target_arena(path, "qemu").minimum_bytes
    planned_min = measure_target_arena(planned, "qemu").minimum_bytes
    print(f"{path.stem}: device arena greedy {greedy_min} B, planned {planned_min} B "
          f"(head {report.greedy_head_bytes} -> {report.planned_head_bytes} B)")
    device = open_device("qemu", model=planned, runner=True)
    try:
        assert isinstance(device, RemoteDevice)
        assert device.client.set_arena_limit(planned_min).model_status == ErrorCode.OK
        reference = SimDevice(path)  # the original model on the host TFLM
        for seed in range(2):
            x = _inputs(path, seed)
            got = device.infer(x).outputs
            for a, b in zip(got, reference.infer(x).outputs, strict=True):
                assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), seed
        # every tensor at a fixed offline offset (also where TFLM's plan ties): same outputs
        fixed = tmp_path / f"{path.stem}_fixed.tflite"
        assert plan_model(path, fixed, fix_ties=True).fixed
        data = fixed.read_bytes()
        device.client.set_arena_limit(0)
        info = device.client.upload_model(data, hashlib.sha256(data).digest()[:8])
        assert info.model_status == ErrorCode.OK
        x = _inputs(path, 7)
        for a, b in zip(device.infer(x).outputs, reference.infer(x).outputs, strict=True):
            assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    finally:
        device.close()
    # never above TFLM's own plan on the device either (its CMSIS-NN scratch buffers included)
    assert planned_min <= greedy_min
