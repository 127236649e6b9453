"""Exceptions of the flash layer: writing an image to a board and checking it took."""

from __future__ import annotations

from tinyrig.errors import TinyrigError


class FlashError(TinyrigError):
    """Writing firmware to a board failed."""

    def __init__(self, message: str, *, method: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.method = method


class UnknownMethodError(FlashError):
    """``--via`` names no flash method tinyrig knows."""

    def __init__(self, method: str, known: list[str]) -> None:
        super().__init__(f"unknown flash method {method!r}", method=method,
                         hint=f"one of: {', '.join(known)}")
        self.known = known


class FlashToolMissingError(FlashError):
    """The program or Python package a method drives is not installed."""

    def __init__(self, tool: str, *, method: str, hint: str) -> None:
        super().__init__(f"flashing with {method} needs {tool}, which is not installed",
                         method=method, hint=hint)
        self.tool = tool


class ProbeNotFoundError(FlashError):
    """No debug probe, GDB server or bootloader drive to flash through."""

    def __init__(self, message: str, *, method: str, found: list[str],
                 hint: str | None = None) -> None:
        listing = ", ".join(found) if found else "none"
        super().__init__(f"{message} (found: {listing})", method=method, hint=hint)
        self.found = found


class FlashWriteError(FlashError):
    """The tool reported a failure while writing (its output tail is in ``log``)."""

    def __init__(self, message: str, *, method: str, log: str = "",
                 hint: str | None = None) -> None:
        super().__init__(message, method=method, hint=hint)
        self.log = log


class VerificationError(FlashError):
    """What the board holds after writing differs from the image."""

    def __init__(self, *, method: str, regions: list[str], first_address: int | None,
                 differing_bytes: int | None) -> None:
        where = ", ".join(regions)
        text = f"verification failed: the board's memory differs from the image in {where}"
        if first_address is not None:
            text += f" (first difference at {first_address:#010x}"
            text += f", {differing_bytes} byte(s) differ)" if differing_bytes else ")"
        super().__init__(text, method=method,
                         hint="flash again; if it keeps failing, the flash may be worn, "
                              "write-protected, or the board's memory map differs from the "
                              "target's linker script")
        self.regions = regions
        self.first_address = first_address
        self.differing_bytes = differing_bytes


class BoardCheckError(FlashError):
    """The board was written but does not report the model it was given."""
