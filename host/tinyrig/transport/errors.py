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
        super().__init__(f"no device at {port}", port=port, hint=hint)
        self.available = available


class PortPermissionError(TransportError):
    """The user may not open the port."""

    def __init__(self, port: str) -> None:
        super().__init__(f"permission denied opening {port}", port=port,
                         hint="add your user to the 'dialout' group (sudo usermod -aG dialout "
                              "$USER), then log in again")


class PortBusyError(TransportError):
    """Another process holds the port."""


class LinkClosedError(TransportError):
    """The other end went away (board unplugged, emulator exited, socket closed)."""
