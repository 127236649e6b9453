"""Exceptions of the build layer (TFLM sources, PlatformIO, toolchains)."""

from __future__ import annotations

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
    """The compiler or linker reported errors; ``log`` holds the tail of the build output."""

    def __init__(self, message: str, *, log: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.log = log


class ModelTooLargeError(BuildError):
    """The model (or its arena) cannot fit the target's flash or RAM: refused before building.
    ``problems`` holds one line per exceeded budget, with the numbers."""

    def __init__(self, message: str, *, problems: tuple[str, ...], hint: str) -> None:
        super().__init__(message, hint=hint)
        self.problems = problems
