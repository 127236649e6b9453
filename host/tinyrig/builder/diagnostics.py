"""The lines of a failed build that say why it failed.

A PlatformIO build of TFLM prints hundreds of lines (``Compiling``, ``Retrieved ... from
cache``); the compiler's or linker's own message is often far above the end of the log. This
module finds those messages anywhere in the log — ``file:line:col: error: ...``, ``fatal
error``, ``undefined reference``, ``region ... overflowed`` — so that a failure shows them first,
then the tail, then where the full log is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from tinyrig.builder.errors import BuildFailedError

TAIL_LINES: Final = 12
MAX_DIAGNOSTICS: Final = 20

# gcc/clang: "path:line:col: error: msg", "path:line: error: msg", "path: fatal error: msg".
_COMPILER: Final = re.compile(
    r"^(?P<file>[^\s:][^:]*?):(?:(?P<line>\d+):(?:(?P<col>\d+):)?)?\s*"
    r"(?P<severity>fatal error|error):\s*(?P<message>.+)$")
# GNU ld: "...: undefined reference to `x'", "region `RAM' overflowed by 12 bytes",
# "section `.bss' will not fit in region `RAM'", "cannot find -lfoo", "multiple definition".
_LINKER: Final = re.compile(
    r"(undefined reference to|region [`'\"]?\S+?[`'\"]? overflowed|will not fit in region|"
    r"cannot find -l|multiple definition of|collect2: error|ld returned \d+ exit status)")
# PlatformIO's own: "Error: Unknown development platform", "*** [x] Error 1" is not a cause.
_PLATFORMIO: Final = re.compile(r"^(Error|UnknownPackageError|PlatformioException): (.+)$")
_MISSING_COMPILER: Final = re.compile(
    r"(command not found|No such file or directory).*(gcc|g\+\+|cc1plus)|"
    r"(gcc|g\+\+)\S*: (command )?not found")


@dataclass(frozen=True)
class Diagnostic:
    """One compiler, linker or PlatformIO error line."""

    kind: str  # "compiler", "linker" or "platformio"
    text: str  # the line as printed (stripped)
    file: str | None = None
    line: int | None = None
    column: int | None = None
    message: str = ""


def parse_line(text: str) -> Diagnostic | None:
    """The diagnostic on ``text``, or None if it is not an error line."""
    text = text.strip()
    found = _COMPILER.match(text)
    if found and not _LINKER.search(text):
        return Diagnostic("compiler", text, found["file"],
                          int(found["line"]) if found["line"] else None,
                          int(found["col"]) if found["col"] else None, found["message"])
    if _LINKER.search(text):
        if "ld returned" in text and "exit status" in text:
            return None  # collect2's summary repeats what the lines above said
        return Diagnostic("linker", text, message=text)
    found = _PLATFORMIO.match(text)
    if found:
        return Diagnostic("platformio", text, message=found[2])
    return None


def extract(lines: Iterable[str], limit: int = MAX_DIAGNOSTICS) -> list[Diagnostic]:
    """The error lines of a build log, in order, each once, at most ``limit``."""
    seen: set[str] = set()
    found: list[Diagnostic] = []
    for line in lines:
        diagnostic = parse_line(line)
        if diagnostic is None or diagnostic.text in seen:
            continue
        seen.add(diagnostic.text)
        found.append(diagnostic)
        if len(found) >= limit:
            break
    return found


def _short(diagnostic: Diagnostic, project: Path | None) -> str:
    """The diagnostic with the project prefix dropped from its path."""
    text = diagnostic.text
    if project is not None:
        text = text.replace(str(project) + "/", "")
    return text


def build_failure(target: str, returncode: int, log_path: Path,
                  project: Path | None = None) -> BuildFailedError:
    """The error for a ``pio run`` that exited with ``returncode``; its full output is in
    ``log_path``. The message names the first diagnostic, ``diagnostics`` lists them all."""
    lines = log_path.read_text(errors="replace").splitlines() if log_path.is_file() else []
    diagnostics = extract(lines)
    tail = "\n".join(lines[-TAIL_LINES:])
    texts = tuple(_short(d, project) for d in diagnostics)
    log = "\n".join(lines)
    if _MISSING_COMPILER.search(log) and not diagnostics:
        return BuildFailedError(f"building {target} failed: a compiler is missing", log=tail,
                                diagnostics=texts, log_path=log_path,
                                hint="install the toolchain (see the log)")
    if texts:
        more = f" (+{len(texts) - 1} more)" if len(texts) > 1 else ""
        return BuildFailedError(f"building {target} failed: {texts[0]}{more}", log=tail,
                                diagnostics=texts, log_path=log_path,
                                hint="the compiler's and linker's errors, then the end of "
                                     "the log, follow")
    return BuildFailedError(f"building {target} failed (pio exit {returncode})", log=tail,
                            diagnostics=texts, log_path=log_path,
                            hint="the end of the build log follows")
