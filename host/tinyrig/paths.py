"""Where tinyrig finds its project files and keeps its caches."""

from __future__ import annotations

import os
from pathlib import Path

from tinyrig.errors import TinyrigError


def project_dir() -> Path:
    """The tinyrig source tree holding ``platformio.ini`` and ``firmware/``.

    ``TINYRIG_PROJECT_DIR`` overrides; otherwise the checkout this package was installed from.
    """
    override = os.environ.get("TINYRIG_PROJECT_DIR")
    candidates = [Path(override)] if override else []
    candidates.append(Path(__file__).resolve().parents[2])
    for candidate in candidates:
        if (candidate / "platformio.ini").is_file() and (candidate / "firmware").is_dir():
            return candidate
    raise TinyrigError(
        "cannot find the tinyrig firmware project (platformio.ini and firmware/)",
        hint="set TINYRIG_PROJECT_DIR to a tinyrig checkout",
    )


def cache_dir() -> Path:
    """Root of tinyrig's caches (TFLM sources, PlatformIO core, builds, arena results)."""
    override = os.environ.get("TINYRIG_CACHE_DIR")
    if override:
        root = Path(override)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = (Path(xdg) if xdg else Path.home() / ".cache") / "tinyrig"
    root.mkdir(parents=True, exist_ok=True)
    return root
