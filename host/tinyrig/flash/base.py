"""The one interface every flash method implements, and what it is given and returns."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from tinyrig.device.emulators import EmulatedBoard
from tinyrig.flash.board import BoardEntry
from tinyrig.flash.image import Image

# Receives ``completed=``/``total=`` bytes and ``description=`` (a rich Progress.update fits).
Progress = Callable[..., None]


class Reset(enum.Enum):
    """How the board restarts after writing: through the probe's reset (``hard``), by the core
    itself (``soft``: SYSRESETREQ on Cortex-M), or not at all (``none``)."""

    HARD = "hard"
    SOFT = "soft"
    NONE = "none"


@dataclass(frozen=True)
class FlashJob:
    """One write (or, with ``write=False``, one read-back check) of an image to one board."""

    image: Image
    board: BoardEntry
    # Where the method reaches the board: a GDB server address, a serial device, a UF2
    # drive's directory; None lets the method look for one.
    address: str | None = None
    probe: str | None = None  # a debug probe's unique id / serial number
    verify: bool = True
    reset: Reset = Reset.HARD
    write: bool = True


@dataclass(frozen=True)
class WriteResult:
    """What a method did."""

    bytes_written: int
    verified: bool
    # Where it wrote (a probe id, a drive, a GDB server): for the report.
    destination: str
    # Set by methods that know the board's UART (an emulator they started): the check
    # connects there, then stops ``board``.
    uart: str | None = None
    board: EmulatedBoard | None = None


def no_progress(**_: object) -> None:
    """The default progress callback."""


class FlashMethod(Protocol):
    """A way of getting an image onto a board. ``run`` raises FlashError subclasses:
    ProbeNotFoundError (nothing to flash through; lists what was found),
    FlashToolMissingError, FlashWriteError, VerificationError."""

    name: str

    def run(self, job: FlashJob, progress: Progress) -> WriteResult: ...
