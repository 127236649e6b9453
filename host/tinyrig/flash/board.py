"""Board facts the flash layer needs, read from the target's entry in platformio.ini.

Each option is a ``custom_tinyrig_<key>`` line of the environment (or a section it extends):

| option | meaning |
|---|---|
| ``custom_tinyrig_flash_method`` | default method: ``gdb``, ``pyocd``, ``stlink``, ... (1) |
| ``custom_tinyrig_emulator`` | ``native`` or ``qemu:<machine>`` for an emulated board |
| ``custom_tinyrig_pyocd_target`` | pyOCD built-in target name (e.g. ``stm32f446re``) |
| ``custom_tinyrig_openocd`` | OpenOCD ``-f`` config files, space separated |
| ``custom_tinyrig_uf2_family`` | UF2 family id (number or a name of ``uf2.FAMILIES``) |
| ``custom_tinyrig_usb_ids`` | ``VID:PID`` pairs of the board's USB serial port, space separated |
| ``custom_tinyrig_gdb_reset`` | the GDB ``monitor`` command of a hard reset (default ``reset``) |

(1) ``qemu``, ``host`` and ``emulated`` mean the image runs in an emulator: "flashing" boots it.
"""

from __future__ import annotations

import configparser
from dataclasses import dataclass
from pathlib import Path

from tinyrig.device.emulators import QEMU_MACHINES
from tinyrig.flash.errors import FlashError
from tinyrig.paths import project_dir

_MAX_DEPTH = 8
# Method names of the board entries that mean "an emulator runs the image".
_EMULATED = ("emulated", "qemu", "host")


@dataclass(frozen=True)
class BoardEntry:
    """One firmware target's flashing facts."""

    target: str
    flash: str
    emulator: str | None  # "native", or the QEMU machine; None for a real board
    pyocd_target: str | None = None
    openocd: tuple[str, ...] = ()
    uf2_family: str | None = None
    usb_ids: tuple[tuple[int, int], ...] = ()
    gdb_reset: str = "reset"


def _options(project: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(project / "platformio.ini")
    return parser


def _option(parser: configparser.ConfigParser, section: str, key: str,
            depth: int = 0) -> str | None:
    if depth > _MAX_DEPTH or not parser.has_section(section):
        return None
    if parser.has_option(section, key):
        return parser.get(section, key).strip()
    if parser.has_option(section, "extends"):
        for parent in parser.get(section, "extends").split(","):
            found = _option(parser, parent.strip(), key, depth + 1)
            if found is not None:
                return found
    if section != "env" and parser.has_option("env", key):
        return parser.get("env", key).strip()
    return None


def parse_usb_id(text: str) -> tuple[int, int]:
    """``"0483:374b"`` -> (0x0483, 0x374B)."""
    vid, sep, pid = text.strip().partition(":")
    try:
        if not sep:
            raise ValueError(text)
        return int(vid, 16), int(pid, 16)
    except ValueError:
        raise FlashError(f"bad USB id {text!r}: expected VID:PID in hex (e.g. 0483:374b)",
                         method="board") from None


def board_entries(project: Path | None = None) -> dict[str, BoardEntry]:
    """Every target of the project, by name."""
    parser = _options(project or project_dir())
    entries: dict[str, BoardEntry] = {}
    for section in parser.sections():
        if not section.startswith("env:"):
            continue
        target = section.split(":", 1)[1]

        def get(key: str, section: str = section) -> str | None:
            return _option(parser, section, f"custom_tinyrig_{key}")

        base = target.removesuffix("-runner")
        declared = get("emulator")
        if declared is not None:
            emulator: str | None = declared.removeprefix("qemu:")
        else:
            emulator = ("native" if base == "native" else
                        next((m for m, env in QEMU_MACHINES.items() if env == base), None))
        method = get("flash_method") or ("emulated" if emulator else "gdb")
        entries[target] = BoardEntry(
            target=target,
            flash="emulated" if method in _EMULATED else method,
            emulator=emulator,
            pyocd_target=get("pyocd_target"),
            openocd=tuple((get("openocd") or "").split()),
            uf2_family=get("uf2_family"),
            usb_ids=tuple(parse_usb_id(t) for t in (get("usb_ids") or "").split()),
            gdb_reset=get("gdb_reset") or "reset",
        )
    return entries


def board_entry(target: str, project: Path | None = None) -> BoardEntry:
    entries = board_entries(project)
    if target not in entries:
        raise FlashError(f"unknown firmware target {target!r}", method="board",
                         hint=f"one of: {', '.join(sorted(entries))}")
    return entries[target]
