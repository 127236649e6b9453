"""Timing you can trust: an emulated board whose board entry says ``timing = instructions``
runs under QEMU ``-icount shift=0`` and counts executed instructions, so the same inference
reports the same count every time (no interrupt runs while the CPU works)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import build_image
from tinyrig.device.backends import emulated_board, launch
from tinyrig.device.remote import RemoteDevice
from tinyrig.protocol import TimeUnit
from tinyrig.transport import SerialTransport

pytestmark = [pytest.mark.slow, pytest.mark.qemu]

URL = "qemu:netduinoplus2"


@pytest.fixture(scope="module")
def device(firmware_images: dict[str, object], model_path: Path) -> Iterator[RemoteDevice]:
    facts = emulated_board(URL)
    assert facts is not None and facts.timing == "instructions"
    image = build_image(firmware_images, facts.target, model_path)
    board = launch(facts, image.elf)  # type: ignore[attr-defined]
    dev = RemoteDevice(SerialTransport(board.uart), url=URL, board=board)
    try:
        yield dev
    finally:
        dev.close()


def test_repeated_inference_counts_the_same_instructions(device: RemoteDevice) -> None:
    info = device.client.connect()
    assert info.tick_hz == 1_000_000_000  # one virtual ns per instruction
    assert info.tick_unit == TimeUnit.INSTRUCTIONS  # instructions, never called cycles
    spec = info.inputs[0]
    counts = []
    for value in (0, 0, 0, 77):
        data = np.full(spec.shape, value, dtype=np.int8).tobytes()
        timing, _ = device.client.infer([data])
        counts.append(timing.ticks)
    print(f"hello_world on {URL}: {counts} instructions")
    assert counts[0] == counts[1] == counts[2], counts
    assert 1_000 < counts[0] < 1_000_000, counts  # hello_world: three tiny FULLY_CONNECTED ops
