"""Firmware images built once per test session and shared by tests/build and tests/firmware."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tinyrig.boards import board
from tinyrig.builder.errors import ToolchainMissingError
from tinyrig.builder.firmware import FirmwareImage, build_firmware
from tinyrig.device.backends import launch
from tinyrig.device.client import DeviceClient
from tinyrig.device.emulators import EmulatedBoard
from tinyrig.protocol.messages import DeviceInfo
from tinyrig.transport import SerialTransport

REPO = Path(__file__).resolve().parents[2]
HELLO_WORLD = REPO.parent / "shared" / "models" / "hello_world_int8.tflite"
# Small and fixed, so the image is reusable across sessions (it is part of the cache key).
HELLO_WORLD_ARENA = 4096

_COMPILERS = {"host": "g++", "arm-none-eabi": "arm-none-eabi-g++"}  # by toolchain fact
# The upload firmware boots with this model (as tinyrig.device.open does).
RUNNER_BUILT_IN = REPO / "models" / "sine" / "sine_int8.tflite"


@dataclass(frozen=True)
class BuiltImage:
    image: FirmwareImage
    seconds: float
    steps: int  # build steps PlatformIO reported (0 when pio was not run)


_built: dict[str, BuiltImage] = {}


def missing_compiler(target: str) -> str | None:
    compiler = _COMPILERS[board(target).toolchain]
    return None if shutil.which(compiler) else f"{compiler} is not installed"


def hello_world_image(target: str) -> BuiltImage:
    """Build (or reuse) the hello_world firmware for ``target``; skip if its compiler is absent."""
    reason = missing_compiler(target)
    if reason is not None:
        pytest.skip(reason)
    if not HELLO_WORLD.is_file():
        pytest.skip(f"{HELLO_WORLD} is not present")
    if target not in _built:
        steps = 0

        def count(*, completed: float, total: float | None, description: str) -> None:
            nonlocal steps
            steps = int(completed)

        start = time.monotonic()
        try:
            image = build_firmware(target, HELLO_WORLD, arena_bytes=HELLO_WORLD_ARENA,
                                   progress=count)
        except ToolchainMissingError as exc:  # e.g. no PlatformIO, no newlib
            pytest.skip(f"{exc} ({exc.hint})")
        _built[target] = BuiltImage(image, time.monotonic() - start, steps)
    return _built[target]


def hello_world_image_with_arena(target: str, arena_bytes: int) -> FirmwareImage:
    """hello_world with a chosen arena (e.g. too small); reuses the cached TFLM objects."""
    reason = missing_compiler(target)
    if reason is not None:
        pytest.skip(reason)
    try:
        return build_firmware(target, HELLO_WORLD, arena_bytes=arena_bytes)
    except ToolchainMissingError as exc:
        pytest.skip(f"{exc} ({exc.hint})")


def runner_arena() -> int:
    """The arena open_device() builds runner firmware with (the built-in model's measured
    size), so that tests and `--runner` / `debug-layers` share one image per target."""
    from tinyrig.model.arena import measure_arena

    return measure_arena(RUNNER_BUILT_IN).arena_bytes


def runner_image(target: str) -> FirmwareImage:
    """The upload ("runner") firmware for ``target`` (e.g. native-runner); skip without its
    compiler. Its arena is the target's TINYRIG_RUNNER_ARENA_BYTES (platformio.ini)."""
    reason = missing_compiler(target)
    if reason is not None:
        pytest.skip(reason)
    try:
        return build_firmware(target, RUNNER_BUILT_IN, arena_bytes=runner_arena())
    except ToolchainMissingError as exc:
        pytest.skip(f"{exc} ({exc.hint})")


@dataclass
class Runner:
    """A runner image booted on its emulator, connected."""

    target: str
    board: EmulatedBoard
    client: DeviceClient
    boot_info: DeviceInfo


def launch_runner(target: str) -> Runner:
    """Boot ``target``'s runner image (skips when QEMU is missing) and connect to it; the
    caller stops ``board``."""
    from tests.firmware.link import qemu_missing

    if target.startswith("qemu"):
        reason = qemu_missing()
        if reason is not None:
            pytest.skip(reason)
    image = runner_image(target)
    emulated = launch(board(target), image.elf)
    client = DeviceClient(SerialTransport(emulated.uart))
    try:
        info = client.connect()
    except BaseException:
        emulated.stop()
        raise
    return Runner(target, emulated, client, info)
