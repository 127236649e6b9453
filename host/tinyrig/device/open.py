"""Device URLs -> Device objects (docs in README "Device URLs"; the backends and how an
emulated URL finds its target: tinyrig.device.backends)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tinyrig.boards import DEBUG_SUFFIX, RUNNER_SUFFIX, Board
from tinyrig.device.backends import emulated_board, launch
from tinyrig.device.base import Device
from tinyrig.device.emulators import EmulatedBoard
from tinyrig.device.errors import (
    DeviceError,
    DeviceRejectedError,
    ModelMismatchError,
    UploadRefusedError,
)
from tinyrig.device.remote import RemoteDevice
from tinyrig.paths import project_dir
from tinyrig.protocol import ErrorCode, Feature
from tinyrig.transport import DEFAULT_BAUDRATE, SerialTransport

Progress = Callable[..., None]
# The runner firmware of each target (<target>-runner, tinyrig.boards.RUNNER_SUFFIX) boots with
# the sine example built in and takes any model over the link (docs/protocol.md §3.1).
# The debug runner (<target>-debug) keeps every intermediate tensor (READ_TENSOR, §3.4).
__all__ = ["DEBUG_SUFFIX", "RUNNER_SUFFIX", "build_target", "launch_runner", "open_device"]
RUNNER_BUILT_IN_MODEL = Path("models") / "sine" / "sine_int8.tflite"


def _runner_model() -> Path:
    return project_dir() / RUNNER_BUILT_IN_MODEL


def build_target(url: str) -> str | None:
    """The firmware build target an emulated device URL needs (None for sim and boards)."""
    board = emulated_board(url)
    return None if board is None else board.target


def _arena_for(model: Path, arena_bytes: int | None) -> int:
    if arena_bytes is not None:
        return arena_bytes
    from tinyrig.model.arena import measure_arena

    return measure_arena(model).arena_bytes


def _boot(url: str, board: Board, model: Path, arena_bytes: int,
          progress: Progress | None, connect_timeout: float,
          wanted: Path | None = None) -> RemoteDevice:
    """Build (cached) firmware for ``board`` with ``model`` built in, boot it, connect."""
    from tinyrig.builder.firmware import build_firmware

    build_kwargs: dict[str, Any] = {"arena_bytes": arena_bytes}
    if progress is not None:
        build_kwargs["progress"] = progress
    image = build_firmware(board.target, model, **build_kwargs)
    running: EmulatedBoard = launch(board, image.elf)
    try:
        transport = SerialTransport(running.uart)
    except BaseException:
        running.stop()
        raise
    return RemoteDevice(transport, url=url, board=running, connect_timeout=connect_timeout,
                        target=board.target, model_path=wanted or model)


def upload_problems(target: str, model: Path) -> list[str]:
    """Why the upload firmware ``target`` cannot take ``model`` (its board facts: the model
    slot's size, the op list of a board whose flash holds only some kernels); [] if it can."""
    from tinyrig.boards import board as board_facts
    from tinyrig.model.flatbuffer import BuiltinOperator, load_model

    facts = board_facts(target)
    problems: list[str] = []
    size = model.stat().st_size
    slot = facts.model_slot_bytes
    if slot is not None and size > slot:
        where = "flash" if facts.model_slot is not None else "RAM"
        problems.append(f"the model is {size:,} B, the {where} model slot of {target} holds "
                        f"{slot:,} B")
    if facts.runner_ops is not None:
        used = {c.custom_code or "" if c.builtin is BuiltinOperator.CUSTOM else c.builtin.name
                for c in load_model(model).distinct_ops()}
        ops = sorted(used - facts.runner_ops)
        if ops:
            problems.append(f"{target} has no kernel for {', '.join(ops)} (its flash holds the "
                            f"ops {', '.join(sorted(facts.runner_ops))})")
    return problems


def refuse_upload(target: str, model: Path) -> None:
    """UploadRefusedError, with the numbers, when ``model`` cannot go to ``target``."""
    problems = upload_problems(target, model)
    if problems:
        raise UploadRefusedError(
            f"{model.name} cannot be uploaded to {target}: {'; '.join(problems)}",
            target=target, problems=tuple(problems),
            hint=f"tinyrig check {model} --target {target.removesuffix(RUNNER_SUFFIX)} "
                 "estimates what the board can hold; choose a smaller model or a board with "
                 "more memory")


def _ensure_model(device: RemoteDevice, model: Path, url: str) -> None:
    """Make the device run ``model``: nothing to do if it already does, upload it if the
    firmware has a model slot, else a clear error."""
    data = model.read_bytes()
    expected = hashlib.sha256(data).digest()[:8]
    info = device.info()
    if info.model_id == expected:
        return
    if Feature.MODEL_UPLOAD in info.features:
        if isinstance(device, RemoteDevice) and device.target is not None:
            refuse_upload(device.target, model)
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
    board = emulated_board(url, runner=runner)
    if (url == "sim" or board is not None) and model is None:
        raise DeviceError(f"device '{url}' needs a model (--model M.tflite)")
    if model is not None:
        from tinyrig.model.flatbuffer import load_model

        load_model(model)  # a corrupt model is a model error, not a build or link failure
    if url == "sim":
        from tinyrig.device.sim import SimDevice

        assert model is not None
        return SimDevice(model, arena_bytes=arena_bytes)
    if board is not None:
        assert model is not None
        if debug or runner:
            flavour = emulated_board(url, debug=True) if debug else board
            assert flavour is not None
            device = _boot(url, flavour, _runner_model(),
                           _arena_for(_runner_model(), None), progress, connect_timeout,
                           wanted=model)
        else:
            device = _boot(url, board, model, _arena_for(model, arena_bytes), progress,
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
    board = emulated_board(url, runner=True)
    if board is None:
        raise DeviceError(f"'{url}' is not an emulated board")
    device = _boot(url, board, _runner_model(),
                   _arena_for(_runner_model(), None), None, connect_timeout)
    assert device.board is not None
    return device.board, device
