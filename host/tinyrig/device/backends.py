"""The device backends, keyed by URL scheme; emulated ones resolve through the board facts.

- ``sim``: the TFLM interpreter in this process;
- ``native``: the firmware compiled for the host, over a pty;
- ``qemu``, ``qemu:<machine>``: the target declaring ``custom_tinyrig_emulator = qemu:<machine>``
  in platformio.ini, under qemu-system-arm;
- anything else (``/dev/ttyACM0``, ``socket://h:p``, ``rfc2217://h:p``): ``serial``, a board
  running tinyrig firmware.

An emulated URL is its board's emulator fact (``native``, ``qemu:<machine>``; ``qemu`` alone is
``qemu:`` + :data:`~tinyrig.device.emulators.DEFAULT_QEMU_MACHINE`): a new board with an
emulator needs a platformio.ini entry, not code here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from tinyrig.boards import Board, UnknownEmulatorError, emulated_target
from tinyrig.device.emulators import DEFAULT_QEMU_MACHINE, EmulatedBoard, launch_native, launch_qemu
from tinyrig.device.errors import DeviceError

Launcher = Callable[[Path, Board], EmulatedBoard]


@dataclass(frozen=True)
class Backend:
    """One kind of device URL."""

    scheme: str
    summary: str
    # Starts an image of a board whose emulator fact has this scheme (None: not emulated).
    launcher: Launcher | None = None


def _launch_native(elf: Path, board: Board) -> EmulatedBoard:
    return launch_native(elf)


def _launch_qemu(elf: Path, board: Board) -> EmulatedBoard:
    assert board.machine is not None
    return launch_qemu(elf, machine=board.machine)


BACKENDS: Final = {
    backend.scheme: backend
    for backend in (
        Backend("sim", "the TFLM interpreter in this process"),
        Backend("native", "the firmware compiled for the host, over a pty", _launch_native),
        Backend("qemu", "the Cortex-M firmware under qemu-system-arm, UART on a pty",
                _launch_qemu),
        Backend("serial", "a board running tinyrig firmware (serial port, socket://, "
                          "rfc2217://)"),
    )
}


def scheme_of(url: str) -> str:
    """The backend scheme of a device URL (``serial`` for anything that names a port)."""
    if "://" not in url:
        head = url.partition(":")[0]
        if head in BACKENDS:
            return head
    return "serial"


def emulator_of(url: str) -> str | None:
    """The emulator fact an emulated URL stands for (``qemu`` -> ``qemu:mps2-an386``), else
    None."""
    scheme = scheme_of(url)
    if BACKENDS[scheme].launcher is None:
        return None
    if scheme == "qemu":
        return "qemu:" + (url.partition(":")[2] or DEFAULT_QEMU_MACHINE)
    return url


def emulated_board(url: str, *, runner: bool = False, debug: bool = False) -> Board | None:
    """The target an emulated device URL boots (None for sim and real boards); DeviceError
    when no target declares that emulator."""
    emulator = emulator_of(url)
    if emulator is None:
        return None
    try:
        return emulated_target(emulator, runner=runner, debug=debug)
    except UnknownEmulatorError as exc:
        what = "QEMU board" if emulator.startswith("qemu:") else "emulator"
        name = emulator.partition(":")[2] if emulator.startswith("qemu:") else emulator
        raise DeviceError(f"unknown {what} '{name}'",
                          hint=f"supported: {', '.join(exc.known)}") from None


def launch(board: Board, elf: Path) -> EmulatedBoard:
    """Start ``elf`` on the emulator ``board`` declares."""
    kind = board.emulator_kind
    backend = BACKENDS.get(kind or "")
    if backend is None or backend.launcher is None:
        raise DeviceError(f"target {board.target!r} has no emulator tinyrig can start",
                          hint="flash it to the board and use its serial port as the device")
    return backend.launcher(elf, board)
