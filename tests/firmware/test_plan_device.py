"""Offline memory plans on the emulated board: every planned model uploads to the runner
firmware, its smallest arena is bisected on the device (ARENA_LIMIT) next to the original's, and
at that smallest arena it gives the host reference's outputs bit for bit."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.firmware.images import REPO, runner_image
from tests.firmware.link import qemu_missing
from tinyrig.device.client import DeviceClient
from tinyrig.device.emulators import EmulatedBoard, launch_qemu
from tinyrig.device.sim import SimDevice
from tinyrig.device.target_arena import bisect_arena
from tinyrig.model.flatbuffer import load_model, numpy_dtype_name
from tinyrig.model.plan import plan_model
from tinyrig.protocol import ErrorCode
from tinyrig.transport import SerialTransport

pytestmark = [pytest.mark.slow, pytest.mark.qemu]

SHARED_MODELS = REPO.parent / "shared" / "models"
MODELS = sorted([*REPO.glob("models/*/*.tflite"), *SHARED_MODELS.glob("*.tflite"),
                 *REPO.glob("bench/models/*.tflite")], key=lambda p: p.name)


@pytest.fixture(scope="module")
def board() -> Iterator[tuple[EmulatedBoard, DeviceClient]]:
    reason = qemu_missing()
    if reason is not None:
        pytest.skip(reason)
    running = launch_qemu(runner_image("qemu-m4-runner").elf)
    client = DeviceClient(SerialTransport(running.uart))
    try:
        client.connect()
        yield running, client
    finally:
        running.stop()


def _device_minimum(client: DeviceClient, data: bytes) -> int:
    client.upload_model(data, hashlib.sha256(data).digest()[:8])

    def probe(arena_bytes: int) -> tuple[bool, int, int]:
        info = client.set_arena_limit(arena_bytes)
        return info.model_status == ErrorCode.OK, info.arena_used, info.arena_size

    minimum, _, _ = bisect_arena(probe)
    return minimum


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
def test_planned_model_on_the_board(board: tuple[EmulatedBoard, DeviceClient], path: Path,
                                    tmp_path: Path) -> None:
    _, client = board
    planned = tmp_path / "planned.tflite"
    report = plan_model(path, planned)
    greedy_min = _device_minimum(client, path.read_bytes())
    planned_min = _device_minimum(client, planned.read_bytes())
    print(f"{path.stem}: device arena greedy {greedy_min} B, planned {planned_min} B "
          f"(head {report.greedy_head_bytes} -> {report.planned_head_bytes} B)")
    # the planned model is loaded; run it at its own smallest arena
    assert client.set_arena_limit(planned_min).model_status == ErrorCode.OK
    reference = SimDevice(path)  # the original model on the host TFLM
    try:
        for seed in range(2):
            x = _inputs(path, seed)
            _, raw = client.infer([a.tobytes() for a in x])
            expected = reference.infer(x).outputs
            for got, want in zip(raw, expected, strict=True):
                assert bytes(got) == want.tobytes(), seed
    finally:
        client.set_arena_limit(0)
    # what the plan saves in tensor bytes, the device saves too (its kernels' scratch buffers
    # are placed by TFLM around the plan)
    assert planned_min <= greedy_min - (report.greedy_head_bytes - report.planned_head_bytes)
