"""Both TFLM kernel sets on the same Cortex-M4F board (qemu:netduinoplus2): a conv model built
with `--kernels reference` and `--kernels cmsis-nn` gives outputs bit-exact with the host
reference (TFLM's reference kernels on the host), and the image records which set it holds.
The instruction counts (exact under -icount) show what CMSIS-NN buys; bench/kernels_bench.py
tabulates every model."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import REPO, missing_tool_reason
from tinyrig.boards import board
from tinyrig.builder.firmware import build_firmware
from tinyrig.device.backends import launch
from tinyrig.device.remote import RemoteDevice
from tinyrig.device.sim import SimDevice
from tinyrig.model.arena import measure_arena
from tinyrig.transport import SerialTransport

pytestmark = [pytest.mark.slow, pytest.mark.qemu]

DIGITS = REPO / "models" / "digits" / "digits_int8.tflite"  # CONV_2D, MAX_POOL_2D, FC, SOFTMAX


def test_reference_and_cmsis_nn_agree_with_the_host() -> None:
    reason = missing_tool_reason("netduinoplus2")
    if reason:
        pytest.skip(reason)
    facts = board("netduinoplus2")
    reference = SimDevice(DIGITS)
    spec = reference.info().inputs[0]
    rng = np.random.default_rng(5)
    samples = [rng.integers(-128, 127, spec.shape, dtype=np.int8, endpoint=True)
               for _ in range(3)]
    expected = [reference.infer([x]).outputs[0].tobytes() for x in samples]
    arena = measure_arena(DIGITS).arena_bytes
    instructions: dict[str, int] = {}
    for kernel_set in ("reference", "cmsis-nn"):
        image = build_firmware(facts.target, DIGITS, arena_bytes=arena, kernel_set=kernel_set)
        assert image.kernel_set == kernel_set
        running = launch(facts, image.elf)
        with RemoteDevice(SerialTransport(running.uart), url="qemu:netduinoplus2",
                          board=running) as device:
            for x, want in zip(samples, expected, strict=True):
                result = device.infer([x])
                assert np.asarray(result.outputs[0]).tobytes() == want, kernel_set
                assert result.ticks is not None
                instructions[kernel_set] = result.ticks
    print(f"digits on the F405: {instructions} instructions")
    assert instructions["cmsis-nn"] < instructions["reference"]
