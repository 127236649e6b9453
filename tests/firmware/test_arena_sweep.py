"""Every arena size up to a model's minimum on the runner firmware: ARENA_TOO_SMALL with the
bytes needed, or a model that runs; never a dead device (firmware/src/runner/arena_guard.h).

TFLM used to crash just under the minimum (the protocol fuzzer's FULLY_CONNECTED Prepare at
1.7-1.8 KiB and ParseFullyConnected at 884 B for the sine model, both FC with per-channel
weights). Each runner boots once; each model is uploaded with DeviceClient.upload_model, its
minimum is bisected with the host's own bisect_arena (tinyrig.device.target_arena; no reboot
here, so a crash fails the test), then ARENA_LIMIT(n) is sent for sizes from 1 to the minimum.

Sizes: native every byte from 1 to the minimum; QEMU every SWEEP_STEP-th byte (an odd step, so
every residue modulo the 16-byte alignment is hit) plus every byte of the last NEAR bytes below
the minimum, where the crashes were. TINYRIG_ARENA_SWEEP_STEP=1 sweeps every byte on QEMU too.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.firmware.images import REPO, RUNNER_BUILT_IN, Runner, launch_runner
from tinyrig.device.errors import DeviceRejectedError
from tinyrig.device.target_arena import ARENA_ALIGNMENT, bisect_arena
from tinyrig.protocol.messages import ErrorCode

pytestmark = pytest.mark.slow

SWEEP_MODELS = [
    RUNNER_BUILT_IN,  # sine: FULLY_CONNECTED with per-channel weights, the fuzzer's crashes
    REPO.parent / "shared" / "models" / "hello_world_int8.tflite",
    REPO / "models" / "digits" / "digits_int8.tflite",
    REPO / "models" / "gesture" / "gesture_int8.tflite",
]
SWEEP_STEP = int(os.environ.get("TINYRIG_ARENA_SWEEP_STEP", "7"))
NEAR = 96


@pytest.fixture(scope="module", params=[
    pytest.param("native-runner", marks=pytest.mark.native),
    pytest.param("qemu-m4-runner", marks=pytest.mark.qemu)])
def runner(request: pytest.FixtureRequest) -> Iterator[Runner]:
    running = launch_runner(request.param)
    try:
        yield running
    finally:
        running.board.stop()


def _sizes(target: str, minimum: int) -> list[int]:
    step = 1 if target.startswith("native") else max(1, SWEEP_STEP)
    # From 1: ARENA_LIMIT(0) means the whole arena.
    return sorted(set(range(1, minimum + 1, step)) | set(range(max(1, minimum - NEAR),
                                                               minimum + 1)))


@pytest.mark.parametrize("model", SWEEP_MODELS, ids=lambda path: path.stem)
def test_every_arena_size_fits_or_is_too_small(runner: Runner, model: Path) -> None:
    if not model.is_file():
        pytest.skip(f"{model} is not present")
    client = runner.client
    data = model.read_bytes()
    assert client.upload_model(data, hashlib.sha256(data).digest()[:8]).model_status == \
        ErrorCode.OK

    def probe(arena_bytes: int) -> tuple[bool, int, int]:
        info = client.set_arena_limit(arena_bytes)
        assert info.model_status in (ErrorCode.OK, ErrorCode.ARENA_TOO_SMALL), info
        return info.model_status == ErrorCode.OK, info.arena_used, info.arena_size

    minimum, used, _ = bisect_arena(probe)
    assert 0 < used <= minimum

    fits: list[int] = []
    for arena_bytes in _sizes(runner.target, minimum):
        info = client.set_arena_limit(arena_bytes)
        if info.model_status == ErrorCode.OK:
            fits.append(arena_bytes)
            client.invoke()  # the model runs in what it was given
            continue
        assert info.model_status == ErrorCode.ARENA_TOO_SMALL, (arena_bytes, info)
        with pytest.raises(DeviceRejectedError) as refused:
            client.invoke()
        assert refused.value.code == ErrorCode.ARENA_TOO_SMALL
        assert refused.value.arg > arena_bytes, (arena_bytes, refused.value)  # bytes needed
    # The bisection's answer holds: the minimum fits and 16 bytes less does not.
    assert minimum in fits
    assert all(size > minimum - ARENA_ALIGNMENT for size in fits), (minimum, fits[:8])
    assert client.set_arena_limit(0).model_status == ErrorCode.OK
    client.invoke()
    print(f"{runner.target} {model.stem}: minimum {minimum} B, arena_used {used} B, "
          f"{len(_sizes(runner.target, minimum))} sizes, {len(fits)} fit")
