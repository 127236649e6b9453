"""``tinyrig doctor``: what each target needs, found or missing, with the command that fixes it.

Every check is real: Debian packages through ``dpkg-query`` (the list in
``system_packages.txt``), compilers by compiling a C++ translation unit that uses the runtime
headers (``cxx_probe.cc``) with the target's own CPU flags, QEMU and gdb on PATH, the TFLM
sources where ``tinyrig build`` would look for them, the PlatformIO core and SCons importable,
and the serial ports' group (``dialout``) for real boards.

Targets are the firmware environments of ``platformio.ini`` (``native``, ``qemu-m4``, their
``-runner`` flavours, ...), plus ``board`` (flash and talk to a real board) and ``fuzz`` (the
libFuzzer builds ``make test`` runs).
"""

from __future__ import annotations

import dataclasses
import functools
import grp
import importlib.resources
import importlib.util
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Final

from tinyrig.errors import TinyrigError
from tinyrig.system_packages import apt_command, install_hint, is_installed, system_packages

EXTRA_TARGETS: Final = ("board", "fuzz")
_PIO_FIX: Final = "pip install 'tinyrig[build]'"
_TFLM_FIX: Final = ("export TINYRIG_TFLM_SOURCE=/path/to/tflm-90b983c.tar.gz "
                    "(a create_tflm_tree.py tree or tarball)")


class DoctorError(TinyrigError):
    """``tinyrig doctor`` was asked about something it does not know."""


class Status(Enum):
    FOUND = "found"
    MISSING = "missing"
    # Works, but not offline or not the way tinyrig prefers (e.g. TFLM from GitHub).
    WARNING = "warning"


@dataclass(frozen=True)
class Check:
    """One requirement: what it is, whether it is there, and how to get it."""

    name: str
    purpose: str
    status: Status
    detail: str  # a path, a version, or what went wrong
    fix: str | None  # the exact command (None when found)
    targets: tuple[str, ...]  # the requested targets that need it


@dataclass(frozen=True)
class DoctorReport:
    targets: tuple[str, ...]
    checks: tuple[Check, ...]

    @property
    def missing(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.status is Status.MISSING)

    @property
    def ok(self) -> bool:
        return not self.missing


# --- the checks -------------------------------------------------------------------------------


def _package_check(name: str, purpose: str) -> Check:
    found = is_installed(name)
    return Check(name=f"apt: {name}", purpose=purpose,
                 status=Status.FOUND if found else Status.MISSING,
                 detail="installed (dpkg)" if found else "not installed (dpkg-query)",
                 fix=None if found else apt_command([name]), targets=())


def _program_check(program: str, purpose: str, fix: str) -> Check:
    path = shutil.which(program)
    return Check(name=program, purpose=purpose,
                 status=Status.FOUND if path else Status.MISSING,
                 detail=path or "not on PATH", fix=None if path else fix, targets=())


def compile_probe(compiler: str, flags: Sequence[str]) -> str | None:
    """Compile ``cxx_probe.cc`` (``<cstddef>``, ``<cstdint>``, ``<new>``, ``<cstring>``) with
    ``compiler`` and ``flags``; None on success, else the compiler's first error line."""
    if shutil.which(compiler) is None:
        return f"{compiler} is not on PATH"
    probe = importlib.resources.files("tinyrig").joinpath("cxx_probe.cc").read_text()
    with tempfile.TemporaryDirectory(prefix="tinyrig-doctor-") as work:
        source = Path(work) / "probe.cc"
        source.write_text(probe)
        result = subprocess.run(
            [compiler, "-std=c++17", "-fno-exceptions", "-fno-rtti", *flags, "-c", str(source),
             "-o", str(Path(work) / "probe.o")],
            capture_output=True, text=True, check=False)
    if result.returncode == 0:
        return None
    lines = [line for line in result.stderr.splitlines() if "error" in line]
    return (lines or result.stderr.splitlines() or ["failed"])[0].replace(str(source), "probe.cc")


def _compile_check(name: str, compiler: str, flags: Sequence[str], purpose: str,
                   fix: str) -> Check:
    error = compile_probe(compiler, flags)
    return Check(name=name, purpose=purpose,
                 status=Status.FOUND if error is None else Status.MISSING,
                 detail=f"compiled ({' '.join(flags) or 'host'})" if error is None else error,
                 fix=None if error is None else fix, targets=())


def _library_check(compiler: str, library: str, purpose: str, fix: str) -> Check:
    found = ""
    if shutil.which(compiler):
        found = subprocess.run([compiler, f"-print-file-name={library}"], capture_output=True,
                               text=True, check=False).stdout.strip()
    ok = Path(found).is_absolute()
    return Check(name=library, purpose=purpose, status=Status.FOUND if ok else Status.MISSING,
                 detail=found if ok else f"{compiler} does not find it", fix=None if ok else fix,
                 targets=())


def _tflm_check() -> Check:
    from tinyrig import TFLM_COMMIT
    from tinyrig.paths import cache_dir

    purpose = f"the pinned TFLM sources ({TFLM_COMMIT})"
    source = os.environ.get("TINYRIG_TFLM_SOURCE")
    if source:
        path = Path(source).expanduser()
        if path.exists():
            return Check("TFLM sources", purpose, Status.FOUND,
                         f"TINYRIG_TFLM_SOURCE={path}", None, ())
        return Check("TFLM sources", purpose, Status.MISSING,
                     f"TINYRIG_TFLM_SOURCE={source} does not exist", _TFLM_FIX, ())
    unpacked = cache_dir() / "tflm-src" / TFLM_COMMIT
    if unpacked.is_dir():
        return Check("TFLM sources", purpose, Status.FOUND, f"cached in {unpacked}", None, ())
    return Check("TFLM sources", purpose, Status.WARNING,
                 "not cached; the first build downloads them from GitHub", _TFLM_FIX, ())


def _python_module_check(module: str, name: str, purpose: str) -> Check:
    spec = importlib.util.find_spec(module)
    where = str(Path(spec.origin).parent) if spec is not None and spec.origin else ""
    return Check(name=name, purpose=purpose, status=Status.FOUND if where else Status.MISSING,
                 detail=where or "not importable", fix=None if where else _PIO_FIX, targets=())


def _serial_check() -> Check:
    purpose = "open serial ports (/dev/ttyACM*, /dev/ttyUSB*) of a real board"
    if os.geteuid() == 0:
        return Check("serial permissions", purpose, Status.FOUND, "running as root", None, ())
    try:
        dialout = grp.getgrnam("dialout")
    except KeyError:
        return Check("serial permissions", purpose, Status.WARNING,
                     "no dialout group on this system", None, ())
    if dialout.gr_gid in os.getgroups():
        return Check("serial permissions", purpose, Status.FOUND, "member of dialout", None, ())
    user = os.environ.get("USER") or "$USER"
    if user in dialout.gr_mem:
        return Check("serial permissions", purpose, Status.MISSING,
                     "in dialout, but not in this login session",
                     "log out and in again (or: newgrp dialout)", ())
    return Check("serial permissions", purpose, Status.MISSING, "not a member of dialout",
                 f"sudo usermod -aG dialout {user}  (then log in again)", ())


# --- which target needs what ------------------------------------------------------------------


def _board_flags(project: Path, board: str) -> list[str]:
    meta = json.loads((project / "firmware" / "platforms" / "tinyrig-mps2" / "boards"
                       / f"{board}.json").read_text())["build"]
    flags = [f"-mcpu={meta['cpu']}", "-mthumb"]
    if meta.get("fpu"):
        flags += [f"-mfloat-abi={meta.get('float_abi', 'hard')}", f"-mfpu={meta['fpu']}"]
    else:
        flags.append("-mfloat-abi=soft")
    return flags


def _package_groups(target: str, platform: str) -> tuple[str, ...]:
    if target == "board":
        return ("arm", "flash")
    if target == "fuzz":
        return ("core", "fuzz")
    if "tinyrig-mps2" in platform:
        return ("core", "arm", "qemu")
    return ("core",)


def _target_checks(target: str, platform: str, board: str | None,
                   project: Path) -> list[tuple[str, Callable[[], Check]]]:
    """The checks ``target`` needs as (key, thunk): a check shared by targets runs once."""
    checks: list[tuple[str, Callable[[], Check]]] = []
    for package in system_packages():
        if package.group in _package_groups(target, platform):
            checks.append((f"apt:{package.name}",
                           functools.partial(_package_check, package.name, package.purpose)))
    if target == "fuzz":
        checks.append(("clang++", lambda: _program_check("clang++", "libFuzzer builds",
                                                         install_hint("fuzz"))))
        return checks
    if target == "board":
        checks.append(("gdb-multiarch", lambda: _program_check(
            "gdb-multiarch", "flash through a GDB server", install_hint("flash"))))
        checks.append(("serial", _serial_check))
        return checks
    checks += [
        ("tflm", _tflm_check),
        ("platformio", lambda: _python_module_check("platformio", "PlatformIO core",
                                                    "runs the firmware builds (pio run)")),
        ("scons", lambda: _python_module_check("SCons", "SCons", "PlatformIO's build engine")),
    ]
    if "tinyrig-mps2" in platform:
        flags = tuple(_board_flags(project, board or "mps2-an386"))
        cpu = flags[0].removeprefix("-mcpu=")
        checks += [
            (f"arm-g++:{flags}", lambda: _compile_check(
                f"arm-none-eabi-g++ ({cpu})", "arm-none-eabi-g++", flags,
                "Cortex-M C++ compiler and runtime headers", install_hint("arm"))),
            ("libc_nano", lambda: _library_check("arm-none-eabi-gcc", "libc_nano.a",
                                                 "Cortex-M C library (newlib-nano)",
                                                 install_hint("arm"))),
            ("qemu", lambda: _program_check("qemu-system-arm", "emulated Cortex-M boards",
                                            install_hint("qemu"))),
        ]
    else:
        checks.append(("g++", lambda: _compile_check("g++ (host)", "g++", (),
                                                     "host C++ compiler and runtime headers",
                                                     install_hint("core"))))
    return checks


def _platforms(project: Path) -> dict[str, tuple[str, str | None]]:
    """target -> (platform, board) from platformio.ini."""
    import configparser

    from tinyrig.builder.firmware import _read_targets

    parser = configparser.ConfigParser(interpolation=None)
    parser.read(project / "platformio.ini")
    out: dict[str, tuple[str, str | None]] = {}
    for target, platform in _read_targets(project).items():
        section = f"env:{target}"
        board = None
        while board is None and parser.has_section(section):
            if parser.has_option(section, "board"):
                board = parser.get(section, "board")
            elif parser.has_option(section, "extends"):
                section = parser.get(section, "extends").split(",")[0].strip()
            else:
                break
        out[target] = (platform, board)
    return out


def known_targets(project: Path | None = None) -> list[str]:
    from tinyrig.paths import project_dir

    return sorted(_platforms(project or project_dir())) + list(EXTRA_TARGETS)


def run_doctor(targets: Iterable[str] | None = None, project: Path | None = None
               ) -> DoctorReport:
    """Check what ``targets`` need (default: every target). Raises DoctorError for an unknown
    target; a missing requirement is a row of the report, not an exception."""
    from tinyrig.paths import project_dir

    project = project or project_dir()
    platforms = _platforms(project)
    known = sorted(platforms) + list(EXTRA_TARGETS)
    wanted = tuple(dict.fromkeys(targets)) if targets else tuple(known)
    unknown = [t for t in wanted if t not in known]
    if unknown:
        raise DoctorError(f"unknown target {', '.join(unknown)}",
                          hint=f"one of: {', '.join(known)}")
    results: dict[str, Check] = {}  # in first-seen order
    needed_by: dict[str, list[str]] = {}
    for target in wanted:
        platform, board = platforms.get(target, ("", None))
        for key, thunk in _target_checks(target, platform, board, project):
            if key not in results:
                results[key] = thunk()
                needed_by[key] = []
            needed_by[key].append(target)
    checks = tuple(dataclasses.replace(check, targets=tuple(needed_by[key]))
                   for key, check in results.items())
    return DoctorReport(targets=wanted, checks=checks)
