"""Board facts: what tinyrig knows about each firmware target, from one place.

Every PlatformIO environment in ``platformio.ini`` declares its board in ``custom_tinyrig_*``
options (see the comment above ``[env:native]`` there, and docs/add-a-board.md); the CPU comes
from the environment's board JSON (``firmware/platforms/<platform>/boards/<board>.json``,
``build.cpu`` / ``build.fpu``), which PlatformIO itself compiles with. This module is the only
place the host reads them: the builder (toolchain, image name, memory), the device layer
(which emulator runs which target, on which serial port) and ``check --target`` all ask here.
"""

from __future__ import annotations

import configparser
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final

from tinyrig.errors import TinyrigError
from tinyrig.paths import project_dir

TIMING_UNITS: Final = ("instructions", "cycles", "ticks", "ns")
# Cores with the DSP extension (SIMD MACs) that CMSIS-NN's optimised kernels use.
DSP_CPUS: Final = frozenset({"cortex-m4", "cortex-m7", "cortex-m33", "cortex-m35p",
                             "cortex-m55", "cortex-m85"})
RUNNER_SUFFIX: Final = "-runner"
# The debug runner of a target (<target>-debug) keeps every intermediate tensor (READ_TENSOR).
DEBUG_SUFFIX: Final = "-debug"
# A flash model slot ends with a record of the committed model (so the firmware boots with it
# after a reset): ModelSlot::kRecordBytes in firmware/src/runner/model_slot.h. The upload tests
# check the slot size the device reports against model_slot_bytes.
FLASH_SLOT_RECORD_BYTES: Final = 32

_INTERPOLATION: Final = re.compile(r"\$\{(?:([^.}]+)\.)?([^}]+)\}")
_SIZE: Final = re.compile(r"^(\d+)([KM]?)$", re.IGNORECASE)
_MAX_DEPTH: Final = 10


class BoardError(TinyrigError):
    """A board entry is missing or malformed."""


class UnknownTargetError(BoardError):
    """No environment of that name in platformio.ini."""

    def __init__(self, target: str, known: list[str]) -> None:
        super().__init__(f"unknown firmware target {target!r}", hint=f"one of: {', '.join(known)}")
        self.target = target
        self.known = known


class UnknownEmulatorError(BoardError):
    """No environment declares that emulator (e.g. ``qemu:<machine>``)."""

    def __init__(self, emulator: str, known: list[str]) -> None:
        super().__init__(f"no firmware target runs on {emulator!r}",
                         hint=f"supported: {', '.join(known)}")
        self.emulator = emulator
        self.known = known


@dataclass(frozen=True)
class MemoryRegion:
    """A span of the address space."""

    origin: int
    size: int

    @property
    def end(self) -> int:
        return self.origin + self.size

    def contains(self, address: int, size: int = 0) -> bool:
        return self.origin <= address and address + size <= self.end


@dataclass(frozen=True)
class Board:
    """One firmware target (PlatformIO environment) and the facts of its board."""

    target: str
    platform: str  # the platform directory name, e.g. tinyrig-stm32f4
    board: str | None  # the board JSON's id (None for the host)
    cpu: str | None  # e.g. cortex-m4 (None for the host)
    fpu: str | None
    toolchain: str  # arm-none-eabi | host
    program: str  # file name of the image in the build directory
    flash: MemoryRegion | None
    ram: MemoryRegion | None
    ccm: MemoryRegion | None
    # The flash model slot of upload firmware that keeps models in flash (None: a RAM slot).
    model_slot: MemoryRegion | None
    # RAM the firmware takes besides its arena, measured on the board's images (None: not
    # declared); `check --target` and the build's pre-flight add it to a model's arena.
    firmware_ram_bytes: int | None
    # Flash the firmware takes besides its model and kernels, measured likewise (None: not
    # declared): `check --target`'s flash estimate starts from it.
    firmware_flash_bytes: int | None
    clock_hz: int
    uart: str
    flash_method: str
    emulator: str | None  # native | qemu:<machine> | None (a real board only)
    emulator_uart: int  # QEMU serial port index of the protocol UART
    timing: str  # one of TIMING_UNITS
    kernels: str  # the TFLM kernel set the environment compiles (reference | cmsis_nn)
    build_flags: str  # interpolated

    @property
    def is_runner(self) -> bool:
        """Upload ("runner") firmware: a RAM model slot, models arrive over the link."""
        return "-DTINYRIG_MODEL_UPLOAD=1" in self.build_flags.split()

    @property
    def is_debug(self) -> bool:
        """Debug runner: the interpreter keeps every intermediate tensor (READ_TENSOR)."""
        return "-DTINYRIG_PRESERVE_TENSORS=1" in self.build_flags.split()

    @property
    def is_test_variant(self) -> bool:
        """A firmware variant for tinyrig's own tests only (e.g. an op's output perturbed)."""
        return "-DTINYRIG_PERTURB_OP" in self.build_flags

    @property
    def arena_probe(self) -> bool:
        """The firmware answers ARENA_LIMIT (emulated runners only)."""
        return "-DTINYRIG_ARENA_PROBE=1" in self.build_flags.split()

    @property
    def runner_arena_bytes(self) -> int | None:
        found = re.search(r"-DTINYRIG_RUNNER_ARENA_BYTES=(\d+)", self.build_flags)
        return int(found[1]) if found else None

    @property
    def model_slot_bytes(self) -> int | None:
        """The largest model the upload firmware takes: its flash slot (less the record of the
        committed model) or its RAM slot."""
        if self.model_slot is not None:
            return self.model_slot.size - FLASH_SLOT_RECORD_BYTES
        found = re.search(r"-DTINYRIG_MODEL_SLOT_BYTES=(\d+)", self.build_flags)
        return int(found[1]) if found else None

    @property
    def runner_ops(self) -> frozenset[str] | None:
        """The ops upload firmware has when its flash cannot hold every TFLM kernel
        (``-DTINYRIG_RUNNER_OPS_ONLY`` with ``-DTINYRIG_RUNNER_OP_<NAME>`` flags); None: all."""
        flags = self.build_flags.split()
        if not any(f.startswith("-DTINYRIG_RUNNER_OPS_ONLY") for f in flags):
            return None
        return frozenset(found[1] for f in flags
                         if (found := re.fullmatch(r"-DTINYRIG_RUNNER_OP_(\w+?)(?:=1)?", f)))

    @property
    def ram_regions(self) -> tuple[MemoryRegion, ...]:
        return tuple(r for r in (self.ram, self.ccm) if r is not None)

    @property
    def has_dsp(self) -> bool:
        return self.cpu in DSP_CPUS

    @property
    def emulator_kind(self) -> str | None:
        """``native`` or ``qemu`` (the part of ``emulator`` before the colon)."""
        return None if self.emulator is None else self.emulator.partition(":")[0]

    @property
    def machine(self) -> str | None:
        """The QEMU machine (``qemu:<machine>``), else None."""
        if self.emulator is None or not self.emulator.startswith("qemu:"):
            return None
        return self.emulator.partition(":")[2]


def parse_size(text: str) -> int:
    """``4M`` -> 4194304, ``128K`` -> 131072, ``0x1000`` -> 4096."""
    text = text.strip()
    if text.lower().startswith("0x"):
        return int(text, 16)
    match = _SIZE.match(text)
    if not match:
        raise BoardError(f"not a size: {text!r}", hint="bytes, or a number with K or M")
    return int(match[1]) * {"": 1, "k": 1024, "m": 1024 * 1024}[match[2].lower()]


def _region(target: str, key: str, value: str | None) -> MemoryRegion | None:
    if value is None or not value.strip():
        return None
    parts = value.split()
    if len(parts) != 2:
        raise BoardError(f"{target}: custom_tinyrig_{key} must be '<origin> <size>', "
                         f"not {value!r}", hint="e.g. 0x08000000 512K (platformio.ini)")
    return MemoryRegion(int(parts[0], 0), parse_size(parts[1]))


class _Ini:
    """platformio.ini with PlatformIO's ``extends`` and ``${section.option}`` semantics."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self.parser = configparser.ConfigParser(interpolation=None)
        self.parser.read(project / "platformio.ini")

    def raw(self, section: str, key: str, depth: int = 0) -> str | None:
        parser = self.parser
        if depth > _MAX_DEPTH or not parser.has_section(section):
            return None
        if parser.has_option(section, key):
            return parser.get(section, key)
        if parser.has_option(section, "extends"):
            for parent in parser.get(section, "extends").split(","):
                found = self.raw(parent.strip(), key, depth + 1)
                if found is not None:
                    return found
        if section.startswith("env:") and parser.has_option("env", key):
            return parser.get("env", key)
        return None

    def get(self, section: str, key: str, depth: int = 0) -> str | None:
        value = self.raw(section, key)
        if value is None:
            return None

        def expand(match: re.Match[str]) -> str:
            other, option = match[1], match[2]
            if other is None:
                return str(self.project) if option == "PROJECT_DIR" else match[0]
            found = self.get(other, option, depth + 1) if depth < _MAX_DEPTH else None
            return found or ""

        return " ".join(_INTERPOLATION.sub(expand, value).split())


def _platform_dir(project: Path, platform: str) -> Path:
    return Path(platform.removeprefix("symlink://").replace("${PROJECT_DIR}", str(project)))


def _board_json(platform_dir: Path, board: str | None) -> dict[str, object]:
    if board is None:
        return {}
    path = platform_dir / "boards" / f"{board}.json"
    if not path.is_file():
        raise BoardError(f"board {board!r} has no {path}")
    data: dict[str, object] = json.loads(path.read_text())
    return data


def _read_board(ini: _Ini, target: str) -> Board:
    section = f"env:{target}"

    def fact(key: str) -> str | None:
        return ini.get(section, f"custom_tinyrig_{key}")

    def required(key: str) -> str:
        value = fact(key)
        if not value:
            raise BoardError(f"{target}: platformio.ini has no custom_tinyrig_{key}",
                             hint="docs/add-a-board.md lists what a board entry declares")
        return value

    platform_option = ini.get(section, "platform") or ""
    platform_dir = _platform_dir(ini.project, platform_option)
    board_id = ini.get(section, "board")
    build = _board_json(platform_dir, board_id).get("build", {})
    assert isinstance(build, dict)
    timing = required("timing")
    if timing not in TIMING_UNITS:
        raise BoardError(f"{target}: custom_tinyrig_timing must be one of "
                         f"{', '.join(TIMING_UNITS)}, not {timing!r}")
    return Board(
        target=target,
        platform=platform_dir.name,
        board=board_id,
        cpu=build.get("cpu") or None,
        fpu=build.get("fpu") or None,
        toolchain=required("toolchain"),
        program=required("program"),
        flash=_region(target, "flash", fact("flash")),
        ram=_region(target, "ram", fact("ram")),
        ccm=_region(target, "ccm", fact("ccm")),
        model_slot=_region(target, "model_slot", fact("model_slot")),
        firmware_ram_bytes=parse_size(fact("firmware_ram") or "0") or None,
        firmware_flash_bytes=parse_size(fact("firmware_flash") or "0") or None,
        clock_hz=int(fact("clock_hz") or 0),
        uart=required("uart"),
        flash_method=required("flash_method"),
        emulator=fact("emulator") or None,
        emulator_uart=int(fact("emulator_uart") or 0),
        timing=timing,
        kernels=ini.get(section, "custom_tflm_kernels") or "reference",
        build_flags=ini.get(section, "build_flags") or "",
    )


@lru_cache(maxsize=8)
def _boards_cached(ini_path: Path, mtime_ns: int) -> dict[str, Board]:
    ini = _Ini(ini_path.parent)
    targets = [s.split(":", 1)[1] for s in ini.parser.sections() if s.startswith("env:")]
    return {target: _read_board(ini, target) for target in sorted(targets)}


def boards(project: Path | None = None) -> dict[str, Board]:
    """Every firmware target of the project, by name."""
    ini_path = (project or project_dir()) / "platformio.ini"
    return _boards_cached(ini_path, ini_path.stat().st_mtime_ns)


def board(target: str, project: Path | None = None) -> Board:
    """The board facts of ``target``; UnknownTargetError names the known targets."""
    known = boards(project)
    if target not in known:
        raise UnknownTargetError(target, sorted(known))
    return known[target]


def emulators(project: Path | None = None) -> list[str]:
    """Every emulator a target declares (``native``, ``qemu:<machine>``)."""
    return sorted({b.emulator for b in boards(project).values() if b.emulator})


def emulated_target(emulator: str, *, runner: bool = False, debug: bool = False,
                    project: Path | None = None) -> Board:
    """The target that runs on ``emulator`` (its plain firmware, with ``runner`` its upload
    firmware, with ``debug`` its debug runner)."""
    matches = [b for b in boards(project).values()
               if b.emulator == emulator and not b.is_test_variant and b.is_debug == debug
               and (debug or b.is_runner == runner)]
    if not matches:
        raise UnknownEmulatorError(emulator, emulators(project))
    if len(matches) > 1:
        names = ", ".join(b.target for b in matches)
        raise BoardError(f"several targets declare emulator {emulator!r}: {names}",
                         hint="a runner target extends its plain one and adds the runner flags")
    return matches[0]


def runner_of(target: str, project: Path | None = None) -> Board:
    """The upload ("runner") firmware of a plain target: ``<target>-runner``."""
    return board(target + RUNNER_SUFFIX, project)
