"""Device URLs -> Device objects (docs in README "Device URLs").

| URL | backend |
|---|---|
| ``sim`` | the TFLM interpreter in this process |
| ``native`` | the firmware compiled for the host, over a pty |
| ``qemu`` / ``qemu:mps2-an386`` | the Cortex-M firmware under qemu-system-arm, UART on a pty |
| ``/dev/ttyACM0``, ``socket://h:port``, ``rfc2217://h:port`` | a board with tinyrig firmware |
| ``auto`` | the only board attached (``tinyrig devices`` lists them) |
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
from tinyrig.device.errors import DeviceError, DeviceRejectedError, ModelMismatchError
from tinyrig.device.remote import RemoteDevice
from tinyrig.paths import project_dir
from tinyrig.protocol import ErrorCode, Feature
from tinyrig.transport import DEFAULT_BAUDRATE, SerialTransport

Progress = Callable[..., None]
# The runner firmware of each target is the target's name plus this; it boots with the sine
# example built in and takes any model over the link (docs/protocol.md §3.1).
RUNNER_SUFFIX = "-runner"
# The debug runner keeps every intermediate tensor (READ_TENSOR, docs/protocol.md §3.4).
DEBUG_SUFFIX = "-debug"
RUNNER_BUILT_IN_MODEL = Path("models") / "sine" / "sine_int8.tflite"


def _runner_model() -> Path:
    return project_dir() / RUNNER_BUILT_IN_MODEL


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


def _boot(url: str, target: str, model: Path, arena_bytes: int,
          progress: Progress | None, connect_timeout: float,
          wanted: Path | None = None) -> RemoteDevice:
    """Build (cached) firmware for ``target`` with ``model`` built in, boot it, connect."""
    from tinyrig.builder.firmware import build_firmware

    build_kwargs: dict[str, Any] = {"arena_bytes": arena_bytes}
    if progress is not None:
        build_kwargs["progress"] = progress
    image = build_firmware(target, model, **build_kwargs)
    board: EmulatedBoard = (launch_native(image.elf) if target.startswith("native")
                            else launch_qemu(image.elf, machine=url.partition(":")[2]
                                             or DEFAULT_QEMU_MACHINE))
    try:
        transport = SerialTransport(board.uart)
    except BaseException:
        board.stop()
        raise
    return RemoteDevice(transport, url=url, board=board, connect_timeout=connect_timeout,
                        target=target, model_path=wanted or model)


def _ensure_model(device: RemoteDevice, model: Path, url: str) -> None:
    """Make the device run ``model``: nothing to do if it already does, upload it if the
    firmware has a model slot, else a clear error."""
    data = model.read_bytes()
    expected = hashlib.sha256(data).digest()[:8]
    info = device.info()
    if info.model_id == expected:
        return
    if Feature.MODEL_UPLOAD in info.features:
        try:
            device.client.upload_model(data, expected)
        except DeviceRejectedError as refused:
            if refused.code not in (ErrorCode.ARENA_TOO_SMALL, ErrorCode.MODEL_INVALID,
                                    ErrorCode.MODEL_TOO_LARGE):
                raise
            from tinyrig.device.model_status import diagnose

            problem = diagnose(device, status=ErrorCode(refused.code), detail=refused.detail,
                               arg=refused.arg)
            raise (problem or refused) from None
        return
    raise ModelMismatchError(
        f"{url} runs model {info.model_id.hex()}, not {model.name} ({expected.hex()}), and its "
        "firmware cannot take uploads",
        hint=f"flash firmware built for it (tinyrig build --model {model}), or the runner "
             "firmware (a *-runner target) to switch models over the link")


def open_device(url: str, *, model: Path | None = None, arena_bytes: int | None = None,
                baudrate: int = DEFAULT_BAUDRATE, progress: Progress | None = None,
                connect_timeout: float = 10.0, runner: bool = False,
                debug: bool = False, check_model: bool = True) -> Device:
    """Open the device behind ``url``.

    Emulated boards boot firmware built for ``model`` (cached), or with ``runner`` the
    runner firmware, to which ``model`` is then uploaded over the link. Real boards are
    checked to run ``model``; runner firmware on them gets it uploaded. ``debug`` boots the
    debug runner of an emulated board instead (every intermediate tensor kept). Then, unless
    ``check_model`` is False, a model that did not load raises ModelNotLoadedError (e.g.
    ArenaTooSmallError) naming the cause and its fix (``tinyrig.device.model_status``).
    """
    target = build_target(url)
    if (url == "sim" or target is not None) and model is None:
        raise DeviceError(f"device '{url}' needs a model (--model M.tflite)")
    if model is not None:
        from tinyrig.model.flatbuffer import load_model

        load_model(model)  # a corrupt model is a model error, not a build or link failure
    if url == "sim":
        from tinyrig.device.sim import SimDevice

        assert model is not None
        return SimDevice(model, arena_bytes=arena_bytes)
    if target is not None:
        assert model is not None
        if debug:
            device = _boot(url, target + DEBUG_SUFFIX, _runner_model(),
                           _arena_for(_runner_model(), None), progress, connect_timeout,
                           wanted=model)
        elif runner:
            device = _boot(url, target + RUNNER_SUFFIX, _runner_model(),
                           _arena_for(_runner_model(), None), progress, connect_timeout,
                           wanted=model)
        else:
            device = _boot(url, target, model, _arena_for(model, arena_bytes), progress,
                           connect_timeout)
    else:
        from tinyrig.transport.discovery import resolve_port

        url = resolve_port(url)  # "auto": the only board attached
        device = RemoteDevice(SerialTransport(url, baudrate=baudrate),
                              connect_timeout=connect_timeout, model_path=model)
    try:
        if model is not None:
            _ensure_model(device, model, url)
        if check_model:
            device.check_model()
    except BaseException:
        device.close()
        raise
    return device


def launch_runner(url: str, *, connect_timeout: float = 10.0) -> tuple[EmulatedBoard,
                                                                        RemoteDevice]:
    """Boot the runner firmware of an emulated board (for benchmarks and upload tests)."""
    target = build_target(url)
    if target is None:
        raise DeviceError(f"'{url}' is not an emulated board")
    device = _boot(url, target + RUNNER_SUFFIX, _runner_model(),
                   _arena_for(_runner_model(), None), None, connect_timeout)
    assert device.board is not None
    return device.board, device
