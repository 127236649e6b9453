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

import configparser
import fcntl
import hashlib
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, Protocol

from tinyrig import TFLM_COMMIT
from tinyrig.builder.arena_floor import check_arena_floor
from tinyrig.builder.diagnostics import build_failure
from tinyrig.builder.errors import BuildError, BuildFailedError, ToolchainMissingError
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


class ProgressCallback(Protocol):
    """Receives build progress as keywords (a rich ``Progress.update`` fits).

    ``completed`` counts build steps seen so far (Compiling, Archiving, Indexing, Linking, or
    Retrieved from the build cache); ``total`` is an estimate of all steps; ``description``
    names the current step.
    """

    def __call__(self, *, completed: float, total: float | None, description: str) -> None: ...


def _toolchain_for(target: str, platform: str) -> Toolchain:
    if "tinyrig-mps2" in platform:
        return Toolchain(("arm-none-eabi-gcc", "arm-none-eabi-g++", "arm-none-eabi-gcc-ar"),
                         install_hint("arm"), library="libc_nano.a")
    if "tinyrig-native" in platform:
        return Toolchain(("gcc", "g++"), install_hint("core"))
    raise BuildError(f"target {target!r} uses an unknown platform {platform!r}")


def _read_targets(project: Path) -> dict[str, str]:
    """PlatformIO environment name -> platform, from platformio.ini (with `extends`)."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(project / "platformio.ini")

    def option(section: str, key: str, depth: int = 0) -> str | None:
        if depth > 8 or not parser.has_section(section):
            return None
        if parser.has_option(section, key):
            return parser.get(section, key)
        if parser.has_option(section, "extends"):
            for parent in parser.get(section, "extends").split(","):
                found = option(parent.strip(), key, depth + 1)
                if found is not None:
                    return found
        return parser.get("env", key) if parser.has_option("env", key) else None

    return {
        section.split(":", 1)[1]: option(section, "platform") or ""
        for section in parser.sections()
        if section.startswith("env:")
    }


_INTERPOLATION: Final = re.compile(r"\$\{([^.}]+)\.([^}]+)\}")


def runner_arena_bytes(target: str, project: Path | None = None) -> int | None:
    """The minimum arena of an upload ("runner") target (``-DTINYRIG_RUNNER_ARENA_BYTES`` in its
    build_flags in platformio.ini), or None for a target without model upload."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read((project or project_dir()) / "platformio.ini")

    def flags(section: str, depth: int = 0) -> str:
        if depth > 8 or not parser.has_section(section):
            return ""
        if parser.has_option(section, "build_flags"):
            return _INTERPOLATION.sub(
                lambda m: flags(m[1], depth + 1) if m[2] == "build_flags" else "",
                parser.get(section, "build_flags"))
        if parser.has_option(section, "extends"):
            return " ".join(flags(parent.strip(), depth + 1)
                            for parent in parser.get(section, "extends").split(","))
        return ""

    found = re.search(r"-DTINYRIG_RUNNER_ARENA_BYTES=(\d+)", flags(f"env:{target}"))
    return int(found[1]) if found else None


def available_targets(project: Path | None = None) -> list[str]:
    """The firmware targets (PlatformIO environments) of the project."""
    return sorted(_read_targets(project or project_dir()))


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


def _elf_name(platform: str) -> str:
    return "firmware.elf" if "tinyrig-mps2" in platform else "program"


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
                   kernels: TflmKernels | None = None) -> FirmwareImage:
    """Build (or reuse) the firmware for ``target`` with ``model_path`` built in.

    ``kernels`` chooses the TFLM sources: ``"model"`` compiles the TFLM core plus the kernels
    the model's resolver registers (:func:`tinyrig.builder.kernels.model_sources`), ``"all"``
    the whole library. Default: ``"all"`` for runner targets (every op), else ``"model"``.

    Raises ToolchainMissingError when the target's compiler or PlatformIO is not installed,
    BuildFailedError (with ``log``, the output tail) when compiling or linking fails, and the
    model layer's errors when the model cannot be exported.
    """
    project = project_dir()
    targets = _read_targets(project)
    if target not in targets:
        raise BuildError(f"unknown firmware target {target!r}",
                         hint=f"one of: {', '.join(sorted(targets))}")
    platform = targets[target]
    _toolchain_for(target, platform).check()
    if arena_bytes <= 0:
        raise BuildError(f"arena_bytes must be positive, got {arena_bytes}")
    if runner_arena_bytes(target, project) is None:  # runner targets raise it to their own
        check_arena_floor(target, platform, arena_bytes)

    model_path = Path(model_path)
    model_sha = hashlib.sha256(model_path.read_bytes()).hexdigest()
    runner_arena = runner_arena_bytes(target, project)
    image_arena = max(arena_bytes, runner_arena or 0)
    if kernels is None:
        kernels = "all" if runner_arena is not None else "model"
    if kernels not in ("model", "all"):
        raise BuildError(f"kernels must be 'model' or 'all', not {kernels!r}")
    tree = tflm_tree()
    uses_cmsis_nn = "tinyrig-mps2" in platform and tree.cmsis_nn_root is not None
    root = tree.cmsis_nn_root if uses_cmsis_nn and tree.cmsis_nn_root else tree.root
    if kernels == "model":
        from tinyrig.model.flatbuffer import load_model
        from tinyrig.model.ops import resolve_ops

        sources = model_sources(root, [op.method for op in resolve_ops(load_model(model_path))])
    else:
        sources = library_sources(root)
    listing_text = "".join(f"{rel}\n" for rel in sources)
    key_source = json.dumps({
        "target": target, "model": model_sha, "arena": arena_bytes,
        "firmware": firmware_sources_hash(project), "tflm": TFLM_COMMIT, "kernels": kernels,
        "tflm_sources": hashlib.sha256(listing_text.encode()).hexdigest(),
    }, sort_keys=True)
    key = hashlib.sha256(key_source.encode()).hexdigest()
    build_dir = cache_dir() / "firmware" / f"{target}-{key[:20]}"
    # PlatformIO wipes its build directory when the project configuration changes, so the
    # exported model lives beside it, not inside.
    pio_build_dir = build_dir / "pio"
    model_dir = build_dir / "model"
    elf = pio_build_dir / target / _elf_name(platform)
    stamp = build_dir / _STAMP

    with _locked(build_dir):
        if elf.is_file() and stamp.is_file() and json.loads(stamp.read_text()).get("key") == key:
            flash, ram = _elf_sizes(elf)
            return FirmwareImage(target=target, elf=elf, flash_bytes=flash, ram_bytes=ram,
                                 model_sha256=model_sha, arena_bytes=image_arena, cached=True)
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
                             model_sha256=exported_sha, arena_bytes=image_arena, cached=False)
