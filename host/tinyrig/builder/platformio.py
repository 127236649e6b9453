"""An offline PlatformIO core for tinyrig's firmware project.

PlatformIO normally downloads its build engine (``tool-scons``), platforms and toolchains from
its registry. tinyrig needs none of that: the platforms live in ``firmware/platforms/``, the
toolchains come from ``PATH`` (apt's ``gcc-arm-none-eabi``, the host ``g++``), and SCons comes
from PyPI. :func:`ensure_core` lays out a project-local core directory (``<project>/.pio-core``)
holding a ``tool-scons`` package that runs the installed SCons, and :func:`pio_environment`
gives the environment variables under which ``pio`` never touches the network.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Final

from tinyrig.builder.errors import ToolchainMissingError
from tinyrig.paths import project_dir

# PlatformIO 6.2 asks for tool-scons "~4.41101.0" (SCons 4.11.1 in its own numbering).
TOOL_SCONS_VERSION: Final = "4.41101.0"
CORE_DIR_NAME: Final = ".pio-core"
_PIO_HINT: Final = "pip install 'tinyrig[build]' (PlatformIO 6.2 and SCons from PyPI)"

_SCONS_SHIM = '''\
"""tool-scons entry point written by tinyrig: runs the SCons installed from PyPI."""
import sys

sys.path.insert(0, {scons_parent!r})
from SCons.Script.Main import main  # noqa: E402

sys.exit(main())
'''


def _scons_parent() -> Path:
    """The directory holding the ``SCons`` package installed from PyPI."""
    spec = importlib.util.find_spec("SCons")
    if spec is None or spec.origin is None:
        raise ToolchainMissingError("SCons", hint=_PIO_HINT)
    return Path(spec.origin).resolve().parent.parent


def _platformio_version() -> str:
    try:
        return importlib.metadata.version("platformio")
    except importlib.metadata.PackageNotFoundError as exc:
        raise ToolchainMissingError("PlatformIO", hint=_PIO_HINT) from exc


def pio_executable() -> Path:
    """The ``pio`` command installed next to this Python (the build extra), else on PATH."""
    beside = Path(sys.executable).with_name("pio")
    if beside.is_file():
        return beside
    found = shutil.which("pio") or shutil.which("platformio")
    if found is None:
        raise ToolchainMissingError("PlatformIO", hint=_PIO_HINT)
    return Path(found)


def _write_if_changed(path: Path, text: str) -> None:
    """Atomic, so that concurrent builds never see a half-written file."""
    if path.is_file() and path.read_text() == text:
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def ensure_core(project: Path | None = None) -> Path:
    """Provision ``<project>/.pio-core`` for offline builds and return its path.

    Idempotent and cheap on the second call. Writes ``packages/tool-scons`` (``package.json``,
    ``.piopm`` as owner ``platformio`` so PlatformIO's core-package lookup accepts it, and a
    ``scons.py`` shim) and an ``appstate.json`` that tells PlatformIO it already ran this
    version, so it does not try to "upgrade" its core packages over the network.
    """
    project = project or project_dir()
    core = project / CORE_DIR_NAME
    scons_dir = core / "packages" / "tool-scons"
    scons_dir.mkdir(parents=True, exist_ok=True)
    package = {
        "name": "tool-scons",
        "version": TOOL_SCONS_VERSION,
        "description": "SCons from PyPI, wrapped by tinyrig for offline PlatformIO",
        "keywords": ["build tools"],
        "license": "MIT",
    }
    _write_if_changed(scons_dir / "package.json", json.dumps(package, indent=2) + "\n")
    meta = {
        "type": "tool",
        "name": "tool-scons",
        "version": TOOL_SCONS_VERSION,
        "spec": {"owner": "platformio", "id": None, "name": "tool-scons",
                 "requirements": None, "uri": None},
    }
    _write_if_changed(scons_dir / ".piopm", json.dumps(meta) + "\n")
    _write_if_changed(scons_dir / "scons.py",
                      _SCONS_SHIM.format(scons_parent=str(_scons_parent())))

    pio_version = _platformio_version()
    state_path = core / "appstate.json"
    state: dict[str, object] = {}
    if state_path.is_file():
        try:
            loaded = json.loads(state_path.read_text())
            if isinstance(loaded, dict):
                state = loaded
        except json.JSONDecodeError:
            state = {}
    if state.get("last_version") != pio_version:
        state["last_version"] = pio_version
        _write_if_changed(state_path, json.dumps(state))
    return core


def pio_environment(core: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for running ``pio`` offline with the core at ``core``."""
    env = dict(os.environ if base is None else base)
    env.update({
        "PLATFORMIO_CORE_DIR": str(core),
        "PLATFORMIO_SETTING_ENABLE_TELEMETRY": "no",
        "PLATFORMIO_SETTING_CHECK_PLATFORMIO_INTERVAL": "36500",
        "PLATFORMIO_SETTING_CHECK_PRUNE_SYSTEM_THRESHOLD": "1000000",
        "PLATFORMIO_SETTING_ENABLE_CACHE": "no",
        "PLATFORMIO_DISABLE_UPGRADE_CHECK": "true",
        "PLATFORMIO_DISABLE_PROGRESSBAR": "true",
        "PLATFORMIO_NO_ANSI": "true",
    })
    return env
