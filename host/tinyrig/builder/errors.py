"""Exceptions of the build layer (TFLM sources, PlatformIO, toolchains)."""

from __future__ import annotations

from pathlib import Path

from tinyrig.errors import TinyrigError


class BuildError(TinyrigError):
    """Building firmware failed."""


class SourceUnavailableError(BuildError):
    """The pinned TFLM sources could not be found or fetched."""


class ToolchainMissingError(BuildError):
    """A compiler, emulator or PlatformIO is not installed."""

    def __init__(self, tool: str, *, hint: str) -> None:
        super().__init__(f"{tool} is not installed", hint=hint)
        self.tool = tool


class BuildFailedError(BuildError):
    """The compiler or linker reported errors: ``diagnostics`` are their error lines (from the
    whole log, see :mod:`tinyrig.builder.diagnostics`), ``log`` the end of the build output,
    ``log_path`` the full output."""

    def __init__(self, message: str, *, log: str, hint: str | None = None,
                 diagnostics: tuple[str, ...] = (), log_path: Path | None = None) -> None:
        super().__init__(message, hint=hint)
        self.log = log
        self.diagnostics = diagnostics
        self.log_path = log_path

    def details(self) -> list[str]:
        lines: list[str] = []
        if self.diagnostics:
            lines += ["compiler and linker errors:", *(f"  {d}" for d in self.diagnostics)]
        if self.log.strip():
            lines += ["end of the build log:", *self.log.strip().splitlines()]
        if self.log_path is not None:
            lines.append(f"full build log: {self.log_path}")
        return lines


class ArenaBelowFloorError(BuildError):
    """The requested arena cannot hold even TFLM's own allocator objects on the target."""

    def __init__(self, target: str, arena_bytes: int, floor_bytes: int) -> None:
        super().__init__(
            f"an arena of {arena_bytes:,} B is below the {floor_bytes:,} B that TFLM's own "
            f"allocator objects take on {target}: no model can load in it",
            hint="measure what the model needs: `tinyrig arena MODEL` (or `tinyrig arena MODEL "
                 "--on-device qemu` on the target itself), or leave out --arena")
        self.target = target
        self.arena_bytes = arena_bytes
        self.floor_bytes = floor_bytes
