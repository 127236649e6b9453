"""Byte streams to devices, all behind the :class:`Transport` protocol."""

from tinyrig.transport.base import Transport
from tinyrig.transport.errors import (
    AmbiguousPortError,
    LinkClosedError,
    LinkStalledError,
    PortBusyError,
    PortNotFoundError,
    PortPermissionError,
    TransportError,
)
from tinyrig.transport.serial_port import DEFAULT_BAUDRATE, SerialTransport, list_ports

__all__ = [
    "DEFAULT_BAUDRATE", "AmbiguousPortError", "LinkClosedError", "LinkStalledError",
    "PortBusyError", "PortNotFoundError", "PortPermissionError", "SerialTransport", "Transport",
    "TransportError", "list_ports",
]
