"""The largest example model on the STM32F405 (qemu:netduinoplus2): person_detect (300 KB of
weights, an 85 KB arena) does not fit the runner's RAM slot, but built into flash it fits the
chip, and `run` is bit-exact with the host reference."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import SHARED_MODELS, missing_tool_reason
from tinyrig.device import open_device
from tinyrig.device.sim import SimDevice

pytestmark = [pytest.mark.slow, pytest.mark.qemu]

PERSON_DETECT = SHARED_MODELS / "person_detect.tflite"


def test_person_detect_runs_bit_exact_on_the_f405() -> None:
    if not PERSON_DETECT.is_file():
        pytest.skip(f"{PERSON_DETECT} is not present")
    reason = missing_tool_reason("netduinoplus2")
    if reason:
        pytest.skip(reason)
    reference = SimDevice(PERSON_DETECT)
    spec = reference.info().inputs[0]
    image = np.random.default_rng(3).integers(-128, 127, spec.shape, dtype=np.int8,
                                              endpoint=True)
    with open_device("qemu:netduinoplus2", model=PERSON_DETECT) as device:
        info = device.info()
        assert info.board == "netduinoplus2"
        assert info.arena_size < 128 * 1024  # in the chip's SRAM, beside the stack
        result = device.infer([image])
    (expected,) = reference.infer([image]).outputs
    (got,) = result.outputs
    assert np.asarray(got).tobytes() == np.asarray(expected).tobytes()
    assert result.ticks is not None and result.ticks > 1_000_000  # instructions
