"""pyserial-backed transport: device nodes, ptys, ``socket://`` and ``rfc2217://`` URLs."""

from __future__ import annotations

import contextlib
import errno
from pathlib import Path
from typing import Any

from tinyrig.transport.errors import (
    LinkClosedError,
    PortBusyError,
    PortNotFoundError,
    PortPermissionError,
    TransportError,
)

DEFAULT_BAUDRATE = 115200


def list_ports() -> list[str]:
    """Serial ports present on this machine."""
    try:
        from serial.tools import list_ports as pyserial_ports

        found = [p.device for p in pyserial_ports.comports()]
    except (ImportError, OSError):
        found = []
    for pattern in ("ttyACM*", "ttyUSB*"):
        found += [str(p) for p in Path("/dev").glob(pattern) if str(p) not in found]
    return sorted(found)


class SerialTransport:
    """A pyserial port opened by URL (see ``serial.serial_for_url``) or handed in."""

    def __init__(self, url: str, *, baudrate: int = DEFAULT_BAUDRATE,
                 port: Any | None = None) -> None:
        self._url = url
        self._baudrate = baudrate
        self._port = port if port is not None else self._open(url, baudrate)

    @staticmethod
    def _open(url: str, baudrate: int) -> Any:
        import serial

        try:
            # Lock real device nodes so two rigs cannot interleave frames on one board.
            exclusive = True if url.startswith("/dev/") else None
            # pyserial's rfc2217 client refuses write_timeout (NotImplementedError).
            extra = {} if url.startswith("rfc2217://") else {"write_timeout": 30}
            return serial.serial_for_url(url, baudrate=baudrate, timeout=0,
                                         exclusive=exclusive, **extra)
        except serial.SerialException as exc:
            raise _classify(url, exc) from None
        except (OSError, ValueError) as exc:
            raise _classify(url, exc) from None

    @property
    def url(self) -> str:
        return self._url

    @property
    def bytes_per_second(self) -> float | None:
        # Only a real UART has a meaningful baud rate; ptys and sockets go as fast as the
        # other end consumes.
        if self._url.startswith("/dev/tty"):
            return self._baudrate / 10
        return None

    def write(self, data: bytes) -> None:
        import serial

        try:
            self._port.write(data)
            self._port.flush()
        except (serial.SerialException, OSError) as exc:
            raise LinkClosedError(f"write to {self._url} failed: {exc}", port=self._url,
                                  hint="the device was disconnected or has stopped") from None

    def read(self, max_bytes: int, timeout: float) -> bytes:
        import serial

        try:
            self._port.timeout = max(timeout, 0.0)
            first = self._port.read(1)
            if not first:
                return b""
            waiting = min(self._port.in_waiting, max_bytes - 1)
            return bytes(first + (self._port.read(waiting) if waiting > 0 else b""))
        except (serial.SerialException, OSError) as exc:
            raise LinkClosedError(f"read from {self._url} failed: {exc}", port=self._url,
                                  hint="the device was disconnected or has stopped") from None

    def discard_input(self) -> None:
        import serial

        try:
            self._port.reset_input_buffer()
        except (serial.SerialException, OSError) as exc:
            raise LinkClosedError(f"{self._url}: {exc}", port=self._url) from None

    def close(self) -> None:
        # Closing a dead port must not mask the error that killed it.
        with contextlib.suppress(Exception):
            self._port.close()


def _classify(url: str, exc: BaseException) -> TransportError:
    """Map pyserial's one exception type onto errors a user can act on."""
    cause: BaseException = exc
    while cause.__context__ is not None and not isinstance(cause, OSError):
        cause = cause.__context__
    code = getattr(cause, "errno", None) or getattr(exc, "errno", None)
    text = str(exc)
    if code == errno.EACCES or "Permission denied" in text:
        return PortPermissionError(url)
    if code == errno.EBUSY or "Resource busy" in text or "exclusively lock" in text:
        return PortBusyError(f"{url} is in use by another program", port=url,
                             hint="close serial monitors or other tinyrig sessions on it")
    if (code in (errno.ENOENT, errno.ENXIO, errno.ECONNREFUSED, errno.ENODEV)
            or "No such file" in text or "Connection refused" in text
            or "could not open port" in text.lower()):
        return PortNotFoundError(url, list_ports())
    return TransportError(f"cannot open {url}: {text}", port=url)
