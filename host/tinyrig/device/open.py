"""Device URLs -> Device objects (docs in README "Device URLs").

| URL | backend |
|---|---|
| ``sim`` | the TFLM interpreter in this process |
| ``native`` | the firmware compiled for the host, over a pty |
| ``qemu`` / ``qemu:mps2-an386`` | the Cortex-M firmware under qemu-system-arm, UART on a pty |
| ``/dev/ttyACM0``, ``socket://h:port``, ``rfc2217://h:port`` | a board with tinyrig firmware |
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tinyrig.device.base import Device
from tinyrig.device.emulators import (
    DEFAULT_QEMU_MACHINE,
    QEMU_MACHINES,
    EmulatedBoard,
    launch_native,
    launch_qemu,
)
from tinyrig.device.errors import DeviceError, ModelMismatchError
from tinyrig.device.remote import RemoteDevice
from tinyrig.transport import DEFAULT_BAUDRATE, SerialTransport

Progress = Callable[..., None]


def build_target(url: str) -> str | None:
    """The firmware build target an emulated device URL needs (None for sim and boards)."""
    if url == "native":
        return "native"
    if url == "qemu" or url.startswith("qemu:"):
        machine = url.partition(":")[2] or DEFAULT_QEMU_MACHINE
        if machine not in QEMU_MACHINES:
            raise DeviceError(f"unknown QEMU board '{machine}'",
                              hint=f"supported: {', '.join('qemu:' + m for m in QEMU_MACHINES)}")
        return QEMU_MACHINES[machine]
    return None


def _arena_for(model: Path, arena_bytes: int | None) -> int:
    if arena_bytes is not None:
        return arena_bytes
    from tinyrig.model.arena import measure_arena

    return measure_arena(model).arena_bytes


def open_device(url: str, *, model: Path | None = None, arena_bytes: int | None = None,
                baudrate: int = DEFAULT_BAUDRATE, progress: Progress | None = None,
                connect_timeout: float = 10.0) -> Device:
    """Open the device behind ``url``; for emulated boards, build (cached) and boot the
    firmware for ``model`` first. For real boards, check that it runs ``model``."""
    target = build_target(url)
    if (url == "sim" or target is not None) and model is None:
        raise DeviceError(f"device '{url}' needs a model (--model M.tflite)")
    if url == "sim":
        from tinyrig.device.sim import SimDevice

        assert model is not None
        return SimDevice(model, arena_bytes=arena_bytes)
    if target is not None:
        from tinyrig.build.firmware import build_firmware
        from tinyrig.model.flatbuffer import load_model

        assert model is not None
        load_model(model)  # a corrupt model is a model error, not a build failure
        build_kwargs: dict[str, Any] = {"arena_bytes": _arena_for(model, arena_bytes)}
        if progress is not None:
            build_kwargs["progress"] = progress
        image = build_firmware(target, model, **build_kwargs)
        board: EmulatedBoard = (launch_native(image.elf) if target == "native"
                                else launch_qemu(image.elf, machine=url.partition(":")[2]
                                                 or DEFAULT_QEMU_MACHINE))
        try:
            transport = SerialTransport(board.uart)
        except BaseException:
            board.stop()
            raise
        return RemoteDevice(transport, url=url, board=board, connect_timeout=connect_timeout)
    device = RemoteDevice(SerialTransport(url, baudrate=baudrate), connect_timeout=connect_timeout)
    if model is not None:
        expected = hashlib.sha256(model.read_bytes()).digest()[:8]
        if device.info().model_id != expected:
            device.close()
            raise ModelMismatchError(
                f"{url} runs model {device.info().model_id.hex()}, not {model.name} "
                f"({expected.hex()})",
                hint=f"flash firmware built for it: tinyrig build --model {model} and flash")
    return device
