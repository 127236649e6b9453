"""One process per port: a lock the OS releases when its holder dies.

Two processes on one board would interleave frames and reuse sequence numbers (only HELLO
carries the session nonce). Device nodes are locked by ``flock`` on the node itself (pyserial's
exclusive open; ``/dev/serial/by-id/...`` and the node it points to are one inode). Network
bridges (``socket://``, ``rfc2217://``) have no node, so ``SerialTransport`` takes ``flock`` on a
file named after the canonical URL; the file records the holder's pid and command line so that
a busy port can say who holds it. A lock file per device path would outlive the device: a pty
number reused by a new emulator would be blocked by a stale handle on the old one.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
from pathlib import Path
from typing import Final

from tinyrig.transport.errors import PortBusyError

_SYSTEM_LOCK_DIR: Final = Path("/run/lock")


def canonical_url(url: str) -> str:
    """The name two spellings of one port share (symlinks resolved, URL options dropped)."""
    if "://" in url:
        scheme, _, rest = url.partition("://")
        return f"{scheme.lower()}://{rest.split('?', 1)[0].lower().rstrip('/')}"
    return os.path.realpath(url)


def lock_dir() -> Path:
    """/run/lock (shared by every user and tinyrig checkout) if writable, else the cache."""
    if os.access(_SYSTEM_LOCK_DIR, os.W_OK | os.X_OK):
        return _SYSTEM_LOCK_DIR
    from tinyrig.paths import cache_dir

    directory = cache_dir() / "locks"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def lock_path(url: str) -> Path:
    key = hashlib.sha256(canonical_url(url).encode()).hexdigest()[:16]
    return lock_dir() / f"tinyrig-port-{key}.lock"


def _command_of(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)[:120]


def holders(device: str) -> list[str]:
    """Processes that have ``device`` open, as ``"pid N (command)"`` (Linux /proc; only the
    processes this user may inspect)."""
    target = os.path.realpath(device)
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            fds = list((proc / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if str(fd.readlink()) == target:
                    found.append(f"pid {proc.name} ({_command_of(int(proc.name))})")
                    break
            except OSError:
                continue
    return found


class PortLock:
    """An exclusive, non-blocking lock on one port URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = lock_path(url)
        self._fd: int | None = None

    def acquire(self) -> PortLock:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except PermissionError:  # another user's lock file: flock works read-only too
            fd = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = ""
            with contextlib.suppress(OSError):
                holder = os.pread(fd, 400, 0).decode(errors="replace")
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
            raise busy_error(self.url, holder_note(holder)) from None
        with contextlib.suppress(OSError):
            # Say who holds it (the lock itself is the flock, not the file's content).
            record = f"{os.getpid()}\n{_command_of(os.getpid())}\n"
            os.ftruncate(fd, 0)
            os.pwrite(fd, record.encode(), 0)
            with contextlib.suppress(OSError):
                os.fchmod(fd, 0o666)
        self._fd = fd
        return self

    def __del__(self) -> None:
        # A transport dropped without close() must not keep its port locked for the life of
        # the process (pyserial closes the port itself when it is collected).
        with contextlib.suppress(Exception):  # modules may be gone at interpreter exit
            self.release()

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing drops the flock
            self._fd = None


def holder_note(record: str) -> str | None:
    pid, _, command = record.partition("\n")
    if not pid.strip().isdigit():
        return None
    command = command.strip()
    return f"pid {pid.strip()}" + (f" ({command})" if command else "")


def busy_error(url: str, holder: str | None) -> PortBusyError:
    who = f" by {holder}" if holder else " by another program"
    return PortBusyError(f"{url} is in use{who}", port=url,
                         hint="close that program (a serial monitor or another tinyrig "
                              "session), or wait for it to finish")
