"""Both TFLM kernel sets on the same Cortex-M4F board (the kernel benchmark's: the first of
qemu-m4 and netduinoplus2 that counts instructions, so the images are shared): a model built with
`--kernels reference` and `--kernels cmsis-nn` gives outputs bit-exact with the host reference
(TFLM's reference kernels on the host), and the image reports the set it holds (INFO
`kernels`). The models: a conv model (CONV_2D, MAX_POOL_2D, FULLY_CONNECTED, SOFTMAX) and the
int8 LSTM, whose CMSIS-NN kernel differs most from the reference one (it keeps no state, and its
int16 activation needs a CMSIS-NN table the per-model source selection once missed). Every model
of models/ and ../shared/models is also run with both sets by bench/kernels_bench.py (recorded
in bench/kernels_results.md), and on native (reference) and qemu-m4 (CMSIS-NN) runner firmware
by tests/validate/test_validate_devices.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO, SHARED_MODELS, missing_tool_reason
from tinyrig.boards import board
from tinyrig.builder.firmware import build_firmware
from tinyrig.cli.bench_cmd import load_suite
from tinyrig.device.backends import launch
from tinyrig.device.remote import RemoteDevice
from tinyrig.device.sim import SimDevice
from tinyrig.model.arena import measure_arena
from tinyrig.transport import SerialTransport

pytestmark = [pytest.mark.slow, pytest.mark.qemu]

DIGITS = REPO / "models" / "digits" / "digits_int8.tflite"
LSTM = SHARED_MODELS / "trained_lstm_int8.tflite"


@pytest.mark.parametrize("model", [DIGITS, LSTM], ids=lambda p: p.stem)
def test_reference_and_cmsis_nn_agree_with_the_host(model: Path) -> None:
    target = load_suite()._script("kernels_bench").default_device()
    reason = missing_tool_reason(target)
    if reason:
        pytest.skip(reason)
    if not model.is_file():
        pytest.skip(f"{model} is not present")
    facts = board(target)
    assert facts.timing == "instructions" and facts.emulator is not None
    reference = SimDevice(model)
    specs = reference.info().inputs
    rng = np.random.default_rng(5)
    samples = [[rng.integers(-128, 127, spec.shape, dtype=np.int8, endpoint=True)
                for spec in specs] for _ in range(3)]
    expected = [[np.asarray(o).tobytes() for o in reference.infer(x).outputs] for x in samples]
    arena = measure_arena(model).arena_bytes
    instructions: dict[str, int] = {}
    for kernel_set in ("reference", "cmsis-nn"):
        image = build_firmware(facts.target, model, arena_bytes=arena, kernel_set=kernel_set)
        assert image.kernel_set == kernel_set
        running = launch(facts, image.elf)
        with RemoteDevice(SerialTransport(running.uart), url=facts.emulator,
                          board=running) as device:
            assert device.info().kernels.label == kernel_set  # recorded in the image
            for x, want in zip(samples, expected, strict=True):
                result = device.infer(x)
                assert [np.asarray(o).tobytes() for o in result.outputs] == want, kernel_set
                assert result.ticks is not None
                instructions[kernel_set] = result.ticks
    print(f"{model.stem} on {target}: {instructions} instructions")
    assert instructions["cmsis-nn"] < instructions["reference"]
