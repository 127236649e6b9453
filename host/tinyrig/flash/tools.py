"""Running a flashing program (openocd, st-flash) and keeping its output for errors."""

from __future__ import annotations

import shutil
import subprocess
from typing import Final

from tinyrig.flash.errors import FlashToolMissingError, FlashWriteError
from tinyrig.system_packages import apt_command

_TIMEOUT: Final = 300.0


def require(program: str, *, method: str, package: str) -> str:
    path = shutil.which(program)
    if path is None:
        raise FlashToolMissingError(program, method=method,
                                    hint=apt_command([package]))
    return path


def run_tool(argv: list[str], *, method: str) -> str:
    """Run ``argv``; return its combined output (errors keep the output's tail)."""
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              errors="replace", timeout=_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout if isinstance(exc.stdout, str) else ""
        raise FlashWriteError(f"{argv[0]} did not finish within {_TIMEOUT:.0f} s",
                              method=method, log=out) from None
    return (done.stdout or "") + (done.stderr or "") + f"\n[exit {done.returncode}]"
