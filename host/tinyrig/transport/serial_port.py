"""pyserial-backed transport: device nodes, ptys, ``socket://`` and ``rfc2217://`` URLs."""

from __future__ import annotations

import contextlib
import errno
import time
from pathlib import Path
from typing import Any

from tinyrig.transport.errors import (
    LinkClosedError,
    LinkStalledError,
    PortNotFoundError,
    PortPermissionError,
    TransportError,
)
from tinyrig.transport.lock import PortLock, busy_error, holders

DEFAULT_BAUDRATE = 115200
# How long written bytes may sit unsent (plus their time on the wire) before the link counts
# as stalled.
STALL_TIMEOUT = 10.0


def _is_url(url: str) -> bool:
    return "://" in url


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
                 port: Any | None = None, stall_timeout: float = STALL_TIMEOUT) -> None:
        self._url = url
        self._baudrate = baudrate
        self._stall_timeout = stall_timeout
        self._lock: PortLock | None = None
        if port is not None:
            self._port = port
            return
        # One process per port. A device node is locked by flock on the node itself (pyserial's
        # exclusive open, below): the lock lives and dies with that device, so a pty number
        # reused by a new emulator is never blocked by a stale handle on the old one. Network
        # bridges have no node to lock: a lock file per URL (tinyrig.transport.lock) stands in.
        # pyserial's loop:// is private to its object: nothing to share, nothing to lock.
        if _is_url(url) and not url.startswith("loop://"):
            self._lock = PortLock(url).acquire()
        try:
            self._port = self._open(url, baudrate, stall_timeout)
        except BaseException:
            if self._lock is not None:
                self._lock.release()
            raise

    @staticmethod
    def _open(url: str, baudrate: int, stall_timeout: float) -> Any:
        import serial

        try:
            # Lock real device nodes so two rigs cannot interleave frames on one board.
            exclusive = None if _is_url(url) else True
            # pyserial's rfc2217 client refuses write_timeout (NotImplementedError).
            extra = {} if url.startswith("rfc2217://") else {"write_timeout": stall_timeout}
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
            self._drain(len(data))
        except serial.SerialTimeoutException:
            raise LinkStalledError(self._url, len(data), self._port.write_timeout) from None
        except (serial.SerialException, OSError) as exc:
            raise LinkClosedError(f"write to {self._url} failed: {exc}", port=self._url,
                                  hint="the device was disconnected or has stopped") from None

    def _drain(self, size: int) -> None:
        """Wait until the bytes written have left (tcdrain), but not forever: a wedged USB-CDC
        device or a port stopped by flow control would block ``flush()`` for good."""
        if not hasattr(self._port, "fd") or not hasattr(self._port, "out_waiting"):
            self._port.flush()  # sockets and RFC 2217: nothing is queued in the kernel tty
            return
        rate = self.bytes_per_second
        deadline = time.monotonic() + self._stall_timeout + (size / rate if rate else 0.0)
        delay = 0.0005
        while True:
            try:
                pending = int(self._port.out_waiting)
            except OSError:  # TIOCOUTQ unsupported: fall back to the kernel's own wait
                self._port.flush()
                return
            if pending == 0:
                return
            if time.monotonic() > deadline:
                raise LinkStalledError(self._url, pending, self._stall_timeout)
            time.sleep(delay)
            delay = min(delay * 2, 0.02)

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
        if self._lock is not None:
            self._lock.release()
            self._lock = None


def _owning_group(path: str) -> str | None:
    """The group a device node belongs to (dialout on Debian, uucp on Arch), if readable."""
    import grp

    try:
        return grp.getgrgid(Path(path).stat().st_gid).gr_name
    except (OSError, KeyError):
        return None


def _classify(url: str, exc: BaseException) -> TransportError:
    """Map pyserial's one exception type onto errors a user can act on."""
    cause: BaseException = exc
    while cause.__context__ is not None and not isinstance(cause, OSError):
        cause = cause.__context__
    code = getattr(cause, "errno", None) or getattr(exc, "errno", None)
    text = str(exc)
    if code == errno.EACCES or "Permission denied" in text:
        return PortPermissionError(url, _owning_group(url))
    if code == errno.EBUSY or "Resource busy" in text or "exclusively lock" in text:
        found = holders(url) if not _is_url(url) else []
        return busy_error(url, ", ".join(found) or None)
    if (code in (errno.ENOENT, errno.ENXIO, errno.ECONNREFUSED, errno.ENODEV)
            or "No such file" in text or "Connection refused" in text
            or "could not open port" in text.lower()):
        return PortNotFoundError(url, list_ports())
    return TransportError(f"cannot open {url}: {text}", port=url)
