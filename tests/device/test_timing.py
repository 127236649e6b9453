"""Timing you can trust: an emulated board whose board entry says ``timing = instructions``
runs under QEMU ``-icount shift=0`` and counts executed instructions, so the same inference
reports the same count every time (no interrupt runs while the CPU works).

Independent clocks give the count: the F405's TIM2, which QEMU runs at one step per virtual
nanosecond; the MPS2's 25 MHz timer (one step per 40 instructions) and the micro:bit's TIMER0
at 8 MHz (125), whose phase the HALs' vernier recovers to the instruction (hal/vernier.h)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import build_image
from tinyrig.device.backends import emulated_board, launch
from tinyrig.device.client import DeviceClient
from tinyrig.device.emulators import launch_qemu
from tinyrig.device.remote import RemoteDevice
from tinyrig.protocol import TimeUnit
from tinyrig.transport import SerialTransport

pytestmark = [pytest.mark.slow, pytest.mark.qemu]

# The first two are Cortex-M4F boards running the same compiled kernels; the micro:bit an M0.
URLS = ("qemu", "qemu:netduinoplus2", "qemu:microbit")


def _image_elf(firmware_images: dict[str, object], url: str, model_path: Path) -> Path:
    facts = emulated_board(url)
    assert facts is not None and facts.timing == "instructions", url
    image = build_image(firmware_images, facts.target, model_path)
    elf: Path = image.elf  # type: ignore[attr-defined]
    return elf


def _instruction_counts(device: RemoteDevice) -> list[int]:
    info = device.client.connect()
    assert info.tick_hz == 1_000_000_000  # one virtual ns per instruction
    assert info.tick_unit == TimeUnit.INSTRUCTIONS  # instructions, never called cycles
    spec = info.inputs[0]
    counts = []
    for value in (0, 0, 0, 77):
        data = np.full(spec.shape, value, dtype=np.int8).tobytes()
        timing, _ = device.client.infer([data])
        counts.append(timing.ticks)
    return counts


@pytest.fixture(scope="module")
def counts(firmware_images: dict[str, object], model_path: Path) -> Iterator[dict[str, list[int]]]:
    found: dict[str, list[int]] = {}
    for url in URLS:
        facts = emulated_board(url)
        assert facts is not None
        board = launch(facts, _image_elf(firmware_images, url, model_path))
        with closing(RemoteDevice(SerialTransport(board.uart), url=url, board=board)) as device:
            found[url] = _instruction_counts(device)
        print(f"hello_world on {url}: {found[url]} instructions")
    yield found


@pytest.mark.parametrize("url", URLS)
def test_repeated_inference_counts_the_same_instructions(
        counts: dict[str, list[int]], url: str) -> None:
    found = counts[url]
    assert found[0] == found[1] == found[2], found
    assert 1_000 < found[0] < 1_000_000, found  # hello_world: three tiny FULLY_CONNECTED ops


def test_the_two_m4_boards_count_alike(counts: dict[str, list[int]]) -> None:
    """The same kernels on the same core: the counts differ only by what reading each clock
    costs. The profiler reads it twice per op (hello_world: 3 ops) plus once at each end; a
    vernier read costs about 150 instructions, a TIM2 read about 20."""
    mps2, f405 = counts["qemu"][0], counts["qemu:netduinoplus2"][0]
    assert 0 < mps2 - f405 <= 200 * (2 * 3 + 2), (mps2, f405)


@pytest.mark.parametrize("url,machine,timer_hz", [("qemu", "mps2-an386", 25_000_000),
                                                  ("qemu:microbit", "microbit", 8_000_000)])
def test_without_icount_the_board_reports_ticks_not_instructions(
        firmware_images: dict[str, object], model_path: Path, url: str, machine: str,
        timer_hz: int) -> None:
    """Run by hand without -icount, the same image checks its clock at boot and reports its
    timer's ticks: real time is never passed off as instructions."""
    board = launch_qemu(_image_elf(firmware_images, url, model_path), machine=machine,
                        icount=False)
    with closing(SerialTransport(board.uart)) as transport:
        try:
            info = DeviceClient(transport).connect()
        finally:
            board.stop()
    assert info.tick_unit == TimeUnit.TICKS
    assert info.tick_hz == timer_hz
