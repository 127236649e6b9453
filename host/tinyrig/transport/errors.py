"""Exceptions of the transport layer: opening, reading and writing byte streams."""

from __future__ import annotations

from tinyrig.errors import TinyrigError


class TransportError(TinyrigError):
    """The byte stream to the device failed."""

    def __init__(self, message: str, *, port: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.port = port


class PortNotFoundError(TransportError):
    """The serial port or socket does not exist or refuses connections."""

    def __init__(self, port: str, available: list[str]) -> None:
        if "://" in port:
            hint = "is the board server or emulator running and listening on that address?"
        else:
            listing = ", ".join(available) if available else "none found"
            hint = f"serial ports present: {listing}; check the cable and the port name"
        text = (f"no device at {port}" if port != "auto" else
                "no board with a known USB id is attached (auto)")
        super().__init__(text, port=port, hint=hint)
        self.available = available


class PortPermissionError(TransportError):
    """The user may not open the port."""

    def __init__(self, port: str, group: str | None = None) -> None:
        group = group or "dialout"
        super().__init__(f"permission denied opening {port}", port=port,
                         hint=f"add your user to the '{group}' group that owns it (sudo "
                              f"usermod -aG {group} $USER; on Arch and Fedora it is 'uucp'), "
                              "then log in again")
        self.group = group


class PortBusyError(TransportError):
    """Another process holds the port."""


class LinkClosedError(TransportError):
    """The other end went away (board unplugged, emulator exited, socket closed)."""


class AmbiguousPortError(TransportError):
    """``auto`` was asked for and several boards are attached."""

    def __init__(self, candidates: list[str]) -> None:
        super().__init__(f"--port auto found {len(candidates)} boards: "
                         + "; ".join(candidates), port="auto",
                         hint="name one of them (e.g. its /dev/serial/by-id path)")
        self.candidates = candidates


class LinkStalledError(TransportError):
    """Bytes written to the port do not leave it: the device stopped reading."""

    def __init__(self, port: str, pending: int, seconds: float | None) -> None:
        waited = f" after {seconds:.0f} s" if seconds else ""
        super().__init__(f"{port}: {pending} byte(s) still unsent{waited}; the device stopped "
                         "reading", port=port,
                         hint="the board hung or its USB serial port is wedged: reset or "
                              "replug it")
        self.pending = pending
