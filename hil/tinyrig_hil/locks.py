"""One lock file per board, so two rigs (or two pytest-xdist workers) never drive the same board
at once. An ``flock`` lock: it goes away with the process that holds it, however it dies."""

from __future__ import annotations

import fcntl
import os
import re
import time
from pathlib import Path
from types import TracebackType
from typing import IO

from tinyrig.device.errors import DeviceError
from tinyrig.paths import cache_dir


class BoardBusyError(DeviceError):
    """Another process holds the board's lock."""


class BoardLock:
    def __init__(self, url: str, *, timeout: float = 600.0) -> None:
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", url).strip("_")
        self.path = cache_dir() / "locks" / f"{safe}.lock"
        self.url = url
        self.timeout = timeout
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "another process"
                    handle.close()
                    raise BoardBusyError(
                        f"{self.url} is in use by {holder} (lock {self.path})",
                        hint="wait for that run to finish; the lock goes away when it exits"
                    ) from None
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self) -> BoardLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def lock_path(url: str) -> Path:
    return BoardLock(url).path
