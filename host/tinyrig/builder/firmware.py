"""Build the tinyrig firmware for one target with one model built in.

:func:`build_firmware` exports the model (``tinyrig.model.export``), runs ``pio run -e
<target>`` with the offline core from :mod:`tinyrig.builder.platformio`, and returns a
:class:`FirmwareImage`. Images are cached: a build directory is keyed by (target, model SHA-256,
arena bytes, hash of the firmware sources, TFLM commit) and PlatformIO is not run at all when
its ELF is already there. A model's firmware compiles the TFLM core plus only the kernels
its resolver registers (:mod:`tinyrig.builder.kernels`); runner targets compile the whole
library. TFLM objects are shared across build directories through PlatformIO's
``build_cache_dir`` (an SCons CacheDir keyed by command line and contents), so a new model
recompiles only our sources, the model array and kernels no earlier build needed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, Protocol

from tinyrig import TFLM_COMMIT
from tinyrig.boards import Board, UnknownTargetError
from tinyrig.boards import board as board_facts
from tinyrig.boards import boards as all_boards
from tinyrig.builder.arena_floor import check_arena_floor
from tinyrig.builder.diagnostics import build_failure
from tinyrig.builder.errors import (
    BuildError,
    BuildFailedError,
    ModelTooLargeError,
    ToolchainMissingError,
)
from tinyrig.builder.kernels import library_sources, model_sources
from tinyrig.builder.platformio import ensure_core, pio_environment, pio_executable
from tinyrig.builder.tflm import tflm_tree
from tinyrig.paths import cache_dir, project_dir
from tinyrig.system_packages import install_hint

_STAMP: Final = "tinyrig-image.json"
_BUILD_LOG: Final = "build.log"  # the whole output of the last `pio run` in a build directory
# What `pio run` reads from firmware/ (not fuzz/ or tests/, which have their own outputs).
_FIRMWARE_BUILD_INPUTS: Final = ("src", "platforms", "scripts", "include", "lib")
_PROGRESS_ACTIONS: Final = ("Compiling", "Archiving", "Linking", "Indexing", "Retrieved")


@dataclass(frozen=True)
class Toolchain:
    """The programs a target needs from PATH and how to install them."""

    programs: tuple[str, ...]
    install_hint: str
    # A library the C compiler must find (-print-file-name), e.g. newlib-nano's libc.
    library: str | None = None

    def check(self) -> None:
        """Raise ToolchainMissingError naming the first missing piece."""
        for program in self.programs:
            if shutil.which(program) is None:
                raise ToolchainMissingError(program, hint=self.install_hint)
        if self.library is not None:
            found = subprocess.run([self.programs[0], f"-print-file-name={self.library}"],
                                   capture_output=True, text=True, check=False).stdout.strip()
            if not Path(found).is_absolute():
                raise ToolchainMissingError(f"{self.library} (newlib)", hint=self.install_hint)


@dataclass(frozen=True)
class FirmwareImage:
    """A built firmware: the ELF to run or flash, its footprint and what is inside."""

    target: str
    elf: Path
    flash_bytes: int
    ram_bytes: int
    model_sha256: str
    arena_bytes: int  # the tensor arena in the image (runner targets: at least their minimum)
    cached: bool
    kernel_set: str = "reference"  # the TFLM kernels compiled in: reference | cmsis-nn


class ProgressCallback(Protocol):
    """Receives build progress as keywords (a rich ``Progress.update`` fits).

    ``completed`` counts build steps seen so far (Compiling, Archiving, Indexing, Linking, or
    Retrieved from the build cache); ``total`` is an estimate of all steps; ``description``
    names the current step.
    """

    def __call__(self, *, completed: float, total: float | None, description: str) -> None: ...


# The toolchain a board fact (custom_tinyrig_toolchain, tinyrig.boards) names.
TOOLCHAINS: Final = {
    "arm-none-eabi": Toolchain(("arm-none-eabi-gcc", "arm-none-eabi-g++", "arm-none-eabi-gcc-ar"),
                               install_hint("arm"), library="libc_nano.a"),
    "host": Toolchain(("gcc", "g++"), install_hint("core")),
}


def _toolchain_for(board: Board) -> Toolchain:
    if board.toolchain not in TOOLCHAINS:
        raise BuildError(f"target {board.target!r} names an unknown toolchain "
                         f"{board.toolchain!r}", hint=f"one of: {', '.join(TOOLCHAINS)}")
    return TOOLCHAINS[board.toolchain]


# `--kernels` names -> the build script's custom_tflm_kernels values (TINYRIG_TFLM_KERNEL_SET).
KERNEL_SETS: Final = {"reference": "reference", "cmsis-nn": "cmsis_nn"}


def default_kernel_set(board: Board) -> str:
    """The target's kernels unless asked otherwise: its ``custom_tflm_kernels`` (CMSIS-NN on a
    Cortex-M with DSP, reference elsewhere; tests/builder/test_boards.py holds them to that)."""
    return next(name for name, option in KERNEL_SETS.items() if option == board.kernels)


def check_kernel_set(board: Board, kernel_set: str) -> str:
    """``kernel_set`` if ``board`` can compile it; BuildError naming the choices if not."""
    if kernel_set not in KERNEL_SETS:
        raise BuildError(f"unknown kernel set {kernel_set!r}",
                         hint=f"one of: {', '.join(KERNEL_SETS)}")
    if kernel_set == "cmsis-nn" and not (board.cpu or "").startswith("cortex-m"):
        raise BuildError(f"target {board.target!r} cannot use CMSIS-NN kernels: they are "
                         "Arm Cortex-M code", hint="use --kernels reference")
    return kernel_set


def runner_arena_bytes(target: str, project: Path | None = None) -> int | None:
    """The minimum arena of an upload ("runner") target (``-DTINYRIG_RUNNER_ARENA_BYTES`` in its
    build_flags in platformio.ini), or None for a target without model upload."""
    return board_facts(target, project).runner_arena_bytes


def available_targets(project: Path | None = None) -> list[str]:
    """The firmware targets (PlatformIO environments) of the project."""
    return sorted(all_boards(project))


def firmware_sources_hash(project: Path | None = None) -> str:
    """SHA-256 over every file the firmware build reads from the repo."""
    project = project or project_dir()
    digest = hashlib.sha256()
    files = [project / "platformio.ini"]
    for part in _FIRMWARE_BUILD_INPUTS:
        files += sorted(p for p in (project / "firmware" / part).rglob("*")
                        if p.is_file() and "__pycache__" not in p.parts)
    for path in files:
        digest.update(str(path.relative_to(project)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def _elf_sizes(elf: Path) -> tuple[int, int]:
    """(flash, ram) bytes: flash = allocated sections with contents (code, constants, .data
    initial values); ram = writable allocated sections (.data, .bss, .noinit, stack)."""
    from elftools.elf.constants import SH_FLAGS
    from elftools.elf.elffile import ELFFile

    flash = ram = 0
    with elf.open("rb") as stream:
        for section in ELFFile(stream).iter_sections():
            flags = section["sh_flags"]
            if not flags & SH_FLAGS.SHF_ALLOC:
                continue
            size = int(section["sh_size"])
            if section["sh_type"] != "SHT_NOBITS":
                flash += size
            if flags & SH_FLAGS.SHF_WRITE:
                ram += size
    return flash, ram


def runner_op_methods(ops: frozenset[str]) -> list[str]:
    """The ``MicroMutableOpResolver`` methods of upload firmware's op list (builtin op names
    and custom op codes, as in ``-DTINYRIG_RUNNER_OP_<NAME>``); BuildError for an unknown one."""
    from tinyrig.model.flatbuffer import BuiltinOperator
    from tinyrig.model.ops import CUSTOM_RESOLVER_METHODS, RESOLVER_METHODS

    methods: list[str] = []
    for name in sorted(ops):
        builtin = BuiltinOperator.__members__.get(name)
        method = (RESOLVER_METHODS.get(builtin) if builtin is not None
                  else CUSTOM_RESOLVER_METHODS.get(name))
        if method is None:
            raise BuildError(f"-DTINYRIG_RUNNER_OP_{name}: no such op in TFLM {TFLM_COMMIT}",
                             hint="platformio.ini lists the ops of upload firmware by their "
                                  "builtin name (FULLY_CONNECTED) or custom code")
        methods.append(method)
    return methods


def _refuse_if_too_large(board: Board, model_path: Path, arena_bytes: int) -> None:
    """ModelTooLargeError, before any build, when the model alone exceeds the board's flash, or
    its arena alone (plus, where the board entry declares it, the firmware's measured own RAM:
    custom_tinyrig_firmware_ram) the board's RAM. (Anything else is the linker's to count: a
    build that overflows fails with its "region ... overflowed by N bytes"; `tinyrig check
    --target` estimates the whole budget.)"""
    problems: list[str] = []
    model_bytes = model_path.stat().st_size
    if board.flash is not None and model_bytes > board.flash.size:
        problems.append(f"the model alone needs {model_bytes:,} B of flash, {board.target} has "
                        f"{board.flash.size:,} B")
    if board.ram is not None and arena_bytes > board.ram.size:
        problems.append(f"its arena alone needs {arena_bytes:,} B of RAM, {board.target} has "
                        f"{board.ram.size:,} B")
    elif (board.ram is not None and board.firmware_ram_bytes is not None
          and arena_bytes + board.firmware_ram_bytes > board.ram.size):
        problems.append(f"its {arena_bytes:,} B arena and the firmware's own "
                        f"{board.firmware_ram_bytes:,} B (stack, buffers, .data/.bss; measured) "
                        f"need {arena_bytes + board.firmware_ram_bytes:,} B of RAM, "
                        f"{board.target} has {board.ram.size:,} B")
    if problems:
        raise ModelTooLargeError(
            f"{model_path.name} does not fit {board.target}: {'; '.join(problems)}",
            problems=tuple(problems),
            hint=f"tinyrig check {model_path} --target {board.target} shows the estimate; "
                 "choose a board with more memory or a smaller model")


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _export(model_path: Path, out_dir: Path, arena_bytes: int) -> str:
    """Export the model sources; returns the model's SHA-256."""
    from tinyrig.model.export import export_model

    return export_model(model_path, out_dir, arena_bytes=arena_bytes).sha256


def _estimate_steps(tflm_sources: int, project: Path) -> int:
    """Roughly how many Compiling/Archiving/Linking lines a clean build prints."""
    sources = tflm_sources + sum(1 for _ in (project / "firmware" / "src").rglob("*.cc"))
    return sources + 2 + 4 + 1  # model sources, archives and indexes, link


def _run_pio(target: str, project: Path, env: dict[str, str],
             progress: ProgressCallback | None, total_steps: int, log_path: Path) -> None:
    """Run ``pio run -e target``, its whole output to ``log_path``; a failure raises
    BuildFailedError with the compiler's and linker's errors (builder/diagnostics.py)."""
    command = [str(pio_executable()), "run", "--project-dir", str(project), "-e", target]
    steps = 0
    with subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, errors="replace") as process, \
            log_path.open("w") as log:
        assert process.stdout is not None
        for raw in process.stdout:
            log.write(raw)
            line = raw.rstrip("\n")
            action = next((a for a in _PROGRESS_ACTIONS if line.startswith(a)), None)
            if action is not None:
                steps += 1
                if progress is not None:
                    total = max(total_steps, steps)
                    progress(completed=steps, total=total,
                             description=f"{target}: {action} {Path(line.split()[-1]).name}")
        returncode = process.wait()
    if returncode != 0:
        raise build_failure(target, returncode, log_path, project)


TflmKernels = Literal["model", "all"]


def build_firmware(target: str, model_path: Path, *, arena_bytes: int,
                   progress: ProgressCallback | None = None,
                   kernel_set: str | None = None,
                   kernels: TflmKernels | None = None) -> FirmwareImage:
    """Build (or reuse) the firmware for ``target`` with ``model_path`` built in.

    ``kernel_set``: ``reference`` or ``cmsis-nn`` TFLM kernels (default: the target's,
    :func:`default_kernel_set`); a set the target cannot use is a BuildError.
    ``kernels`` chooses the TFLM sources: ``"model"`` compiles the TFLM core plus the kernels
    the model's resolver registers (:func:`tinyrig.builder.kernels.model_sources`), ``"all"``
    the whole library. Default: ``"all"`` for runner targets (every op), else ``"model"``.

    Raises ToolchainMissingError when the target's compiler or PlatformIO is not installed,
    BuildFailedError (with ``log``, the output tail) when compiling or linking fails, and the
    model layer's errors when the model cannot be exported.
    """
    project = project_dir()
    try:
        board = board_facts(target, project)
    except UnknownTargetError as exc:
        raise BuildError(exc.message, hint=exc.hint) from None
    kernel_set = check_kernel_set(board, kernel_set or default_kernel_set(board))
    _toolchain_for(board).check()
    if arena_bytes <= 0:
        raise BuildError(f"arena_bytes must be positive, got {arena_bytes}")
    if board.runner_arena_bytes is None:  # runner targets raise it to their own
        check_arena_floor(target, board.platform, arena_bytes)

    model_path = Path(model_path)
    model_sha = hashlib.sha256(model_path.read_bytes()).hexdigest()
    image_arena = max(arena_bytes, board.runner_arena_bytes or 0)
    _refuse_if_too_large(board, model_path, image_arena)
    if kernels is None:
        kernels = "all" if board.is_runner else "model"
    if kernels not in ("model", "all"):
        raise BuildError(f"kernels must be 'model' or 'all', not {kernels!r}")
    tree = tflm_tree()
    uses_cmsis_nn = kernel_set == "cmsis-nn" and tree.cmsis_nn_root is not None
    root = tree.cmsis_nn_root if uses_cmsis_nn and tree.cmsis_nn_root else tree.root
    if kernels == "model" or (kernels == "all" and board.runner_ops is not None):
        from tinyrig.model.flatbuffer import load_model
        from tinyrig.model.ops import resolve_ops

        methods = {op.method for op in resolve_ops(load_model(model_path))}
        if kernels == "all":  # upload firmware with the board's op list: those kernels
            methods |= set(runner_op_methods(board.runner_ops or frozenset()))
        sources = model_sources(root, sorted(methods))
    else:
        sources = library_sources(root)
    listing_text = "".join(f"{rel}\n" for rel in sources)
    key_source = json.dumps({
        "target": target, "model": model_sha, "arena": arena_bytes,
        "firmware": firmware_sources_hash(project), "tflm": TFLM_COMMIT,
        "kernel_set": kernel_set, "kernels": kernels,
        "tflm_sources": hashlib.sha256(listing_text.encode()).hexdigest(),
    }, sort_keys=True)
    key = hashlib.sha256(key_source.encode()).hexdigest()
    build_dir = cache_dir() / "firmware" / f"{target}-{key[:20]}"
    # PlatformIO wipes its build directory when the project configuration changes, so the
    # exported model lives beside it, not inside.
    pio_build_dir = build_dir / "pio"
    model_dir = build_dir / "model"
    elf = pio_build_dir / target / board.program
    stamp = build_dir / _STAMP

    with _locked(build_dir):
        if elf.is_file() and stamp.is_file() and json.loads(stamp.read_text()).get("key") == key:
            flash, ram = _elf_sizes(elf)
            return FirmwareImage(target=target, elf=elf, flash_bytes=flash, ram_bytes=ram,
                                 model_sha256=model_sha, arena_bytes=image_arena, cached=True,
                                 kernel_set=kernel_set)
        stamp.unlink(missing_ok=True)
        exported_sha = _export(model_path, model_dir, arena_bytes)
        core = ensure_core(project)
        env = pio_environment(core)
        env.update({
            "PLATFORMIO_BUILD_DIR": str(pio_build_dir),
            # TFLM objects outlive checkouts: every clone on this machine shares them.
            "PLATFORMIO_BUILD_CACHE_DIR": str(cache_dir() / "pio-build-cache"),
            "TINYRIG_TFLM_DIR": str(tree.root),
            "TINYRIG_MODEL_DIR": str(model_dir),
            "PYTHONUNBUFFERED": "1",
        })
        if tree.cmsis_nn_root is not None:
            env["TINYRIG_TFLM_CMSIS_NN_DIR"] = str(tree.cmsis_nn_root)
        env["TINYRIG_TFLM_KERNEL_SET"] = KERNEL_SETS[kernel_set]
        listing = build_dir / "tflm_sources.txt"
        listing.write_text(listing_text)
        env["TINYRIG_TFLM_SOURCES"] = str(listing)
        env["TINYRIG_TFLM_KERNELS"] = kernels
        _run_pio(target, project, env, progress, _estimate_steps(len(sources), project),
                 build_dir / _BUILD_LOG)
        if not elf.is_file():
            raise BuildFailedError(f"building {target} produced no {elf.name}", log="")
        stamp.write_text(json.dumps({"key": key, "inputs": json.loads(key_source)}, indent=2))
        flash, ram = _elf_sizes(elf)
        return FirmwareImage(target=target, elf=elf, flash_bytes=flash, ram_bytes=ram,
                             model_sha256=exported_sha, arena_bytes=image_arena, cached=False,
                             kernel_set=kernel_set)
