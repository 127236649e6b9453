"""``flash()``: build if needed, write, verify, reset, then ask the board what it runs."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

from tinyrig.flash.base import FlashJob, FlashMethod, Progress, Reset, no_progress
from tinyrig.flash.board import BoardEntry, board_entry
from tinyrig.flash.errors import BoardCheckError, FlashError, UnknownMethodError
from tinyrig.flash.image import load_image
from tinyrig.protocol import DeviceInfo
from tinyrig.transport import DEFAULT_BAUDRATE


def methods() -> dict[str, type[FlashMethod]]:
    """Every flash method by name (imported lazily: some need optional packages)."""
    from tinyrig.flash.emulated import EmulatedMethod
    from tinyrig.flash.gdb import GdbMethod
    from tinyrig.flash.openocd import OpenocdMethod
    from tinyrig.flash.pyocd_method import PyocdMethod
    from tinyrig.flash.stlink import StlinkMethod
    from tinyrig.flash.uf2 import Uf2Method

    found: list[type[FlashMethod]] = [GdbMethod, PyocdMethod, OpenocdMethod, StlinkMethod,
                                      Uf2Method, EmulatedMethod]
    return {m.name: m for m in found}


def parse_via(via: str) -> tuple[str, str | None]:
    """``--via`` -> (method, address): ``gdb://h:p`` -> ("gdb", "h:p"); ``gdb:/dev/ttyX`` ->
    ("gdb", "/dev/ttyX"); ``uf2:/media/u/RPI-RP2`` -> ("uf2", that dir); ``pyocd`` -> ("pyocd",
    None)."""
    if "://" in via:
        scheme, _, rest = via.partition("://")
        return scheme, rest or None
    name, _, rest = via.partition(":")
    return name, rest or None


@dataclass(frozen=True)
class FlashReport:
    """The result of one ``tinyrig flash``."""

    target: str
    method: str
    destination: str
    image: Path
    bytes_written: int
    seconds: float
    verified: bool
    reset: str
    model_id: str | None  # what the image carries (hex), when a model was given
    info: DeviceInfo | None  # what the board reports after the reset, when it was reached
    port: str | None  # where the board was reached over the protocol


def flash(target: str, *, model: Path | None = None, image: Path | None = None,
          via: str | None = None, port: str | None = None, probe: str | None = None,
          verify: bool = True, reset: Reset = Reset.HARD, write: bool = True,
          arena_bytes: int | None = None, baudrate: int = DEFAULT_BAUDRATE,
          connect_timeout: float = 10.0, progress: Progress | None = None) -> FlashReport:
    """Write firmware for ``target`` to a board and check it.

    With ``model`` the firmware is built (cached) with it; ``image`` flashes an ELF as is. The
    method is ``via`` (``gdb://HOST:PORT``, ``pyocd``, ``uf2:/media/...``, ...) or the board
    entry's default. ``port`` is the board's serial port: after the reset tinyrig connects
    there and checks the board reports the model (``auto`` picks the only board attached).
    ``write=False`` only verifies what the board holds.
    """
    update = progress or no_progress
    board = board_entry(target)
    if (model is None) == (image is None):
        raise FlashError("give exactly one of --model or --image", method=via or board.flash)
    name, address = parse_via(via) if via else (board.flash, None)
    known = methods()
    if name not in known:
        if via is None:  # the board entry names a tool tinyrig does not drive (yet)
            raise FlashError(
                f"{target}'s usual flash method {name!r} is not one tinyrig drives",
                method=name, hint=f"choose one with --via: {', '.join(sorted(known))} "
                                  "(gdb://HOST:PORT reaches any GDB server or probe)")
        raise UnknownMethodError(name, sorted(known))
    model_id = None
    if model is not None:
        elf, model_id = _build(target, model, arena_bytes, update)
    else:
        assert image is not None
        elf = image
    loaded = load_image(elf)
    job = FlashJob(image=loaded, board=board, address=address, probe=probe, verify=verify,
                   reset=reset, write=write)
    start = time.monotonic()
    result = known[name]().run(job, update)
    seconds = time.monotonic() - start
    info = None
    uart = result.uart or port
    try:
        if uart is not None and write:
            update(description="checking the board")
            info = _check_board(uart, board, model_id, baudrate, connect_timeout)
    finally:
        if result.board is not None:
            result.board.stop()
    return FlashReport(target=target, method=name, destination=result.destination, image=elf,
                       bytes_written=result.bytes_written, seconds=seconds,
                       verified=result.verified, reset=reset.value, model_id=model_id,
                       info=info, port=uart)


def _build(target: str, model: Path, arena_bytes: int | None,
           progress: Progress) -> tuple[Path, str]:
    from tinyrig.builder.firmware import build_firmware
    from tinyrig.model.arena import measure_arena
    from tinyrig.model.flatbuffer import load_model

    load_model(model)  # a corrupt model is a model error, not a build failure
    arena = arena_bytes if arena_bytes is not None else measure_arena(model).arena_bytes
    built = build_firmware(target, model, arena_bytes=arena, progress=progress)
    return built.elf, hashlib.sha256(model.read_bytes()).digest()[:8].hex()


def _check_board(url: str, board: BoardEntry, model_id: str | None, baudrate: int,
                 connect_timeout: float) -> DeviceInfo:
    """Connect over the protocol; the board must report ``model_id``."""
    from tinyrig.device.remote import RemoteDevice
    from tinyrig.transport import SerialTransport
    from tinyrig.transport.discovery import resolve_port

    url = resolve_port(url, usb_ids=board.usb_ids)
    with RemoteDevice(SerialTransport(url, baudrate=baudrate),
                      connect_timeout=connect_timeout) as device:
        info = device.info()
    if model_id is not None and info.model_id.hex() != model_id:
        raise BoardCheckError(
            f"{url} reports model {info.model_id.hex()} after flashing, not {model_id}",
            method="check", hint="the write did not take, or --port is another board's; "
                                 "check the reset and the port")
    return info
