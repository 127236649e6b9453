"""Which TFLM sources a model's firmware compiles: the core plus the kernels its resolver uses.

Everything is derived from the TFLM tree itself, nothing is a hand-kept table:

1. ``micro_mutable_op_resolver.h``: each ``Add*`` method names the ``Register_*`` functions it
   calls (``AddFullyConnected`` -> ``Register_FULLY_CONNECTED``).
2. The ``.cc`` defining ``Register_X() {`` is the kernel (``kernels/cmsis_nn/fully_connected.cc``
   in the CMSIS-NN tree, ``kernels/fully_connected.cc`` in the reference one).
3. Closure over quoted ``#include``\\ s: a header ``dir/x.h`` of the tree is implemented by
   ``dir/x.cc`` (or ``.c``) and ``dir/x_common.cc`` when they exist (``conv.h`` ->
   ``conv_common.cc``, ``lstm_eval.h`` -> ``lstm_eval.cc`` + ``lstm_eval_common.cc``,
   ``signal/src/window.h`` -> ``signal/src/window.cc``).
4. CMSIS-NN is C with one public function per file: every identifier a selected CMSIS-NN
   source (or CMSIS-NN kernel) mentions pulls in the CMSIS-NN file defining it at column 0
   (CMSIS-NN's style: functions such as ``arm_fully_connected_s8``, tables such as
   ``sigmoid_table_uint16``), transitively.

The core is every library source outside the kernel folders (interpreter, allocator, memory
planner, flatbuffer parsing, ``kernels/internal``); it is always compiled. Over-approximating is
harmless (the linker drops what is unused); missing a file fails the link, which the tests
catch by building every example model for every target.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Final

from tinyrig.builder.errors import BuildError

# The folders the TFLM library is compiled from (relative to a create_tflm_tree.py output).
LIBRARY_DIRS: Final = ("tensorflow", "signal", "third_party/cmsis_nn/Source")
# Sources the firmware's HAL replaces (DebugLog, ticks) or that only tests use.
PLATFORM_SOURCES: Final = (
    "tensorflow/lite/micro/debug_log.cc",
    "tensorflow/lite/micro/micro_time.cc",
    "tensorflow/lite/micro/system_setup.cc",
    "tensorflow/lite/micro/cortex_m_generic/",
    "tensorflow/lite/micro/test_helpers.cc",
    "tensorflow/lite/micro/test_helper_custom_ops.cc",
    "tensorflow/lite/micro/fake_micro_context.cc",
    "tensorflow/lite/micro/mock_micro_graph.cc",
)
# Folders whose sources are compiled only when something selected needs them.
KERNEL_DIRS: Final = ("tensorflow/lite/micro/kernels/", "signal/", "third_party/cmsis_nn/Source/")
RESOLVER_H: Final = "tensorflow/lite/micro/micro_mutable_op_resolver.h"
CMSIS_NN_SOURCE: Final = "third_party/cmsis_nn/Source/"

_SOURCE_SUFFIXES: Final = (".cc", ".c")
_METHOD_RE: Final = re.compile(r"^  TfLiteStatus (Add\w+)\(", re.M)
_REGISTER_RE: Final = re.compile(r"\b(Register_\w+)\s*\(")
_REGISTER_DEFINITION_RE: Final = re.compile(r"\b(Register_\w+)\s*\(\s*\)\s*\{")
_INCLUDE_RE: Final = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
_IDENTIFIER_RE: Final = re.compile(r"\b([A-Za-z_]\w*)\b")
# CMSIS-NN definitions start at column 0: a function (type, name, '(') or a table (type, name,
# optional [size], '=').
_C_DEFINITION_RE: Final = re.compile(
    r"^(?!static\b)[A-Za-z_][\w \t\*]*?\b(\w+)\s*(?:\(|(?:\[[^\]\n]*\]\s*)*=)", re.M)
_COMMENT_RE: Final = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)


def _is_platform(rel: str) -> bool:
    return any(rel == p or (p.endswith("/") and rel.startswith(p)) for p in PLATFORM_SOURCES)


def library_sources(root: Path) -> list[str]:
    """Every source of the whole TFLM library (what the runner firmware compiles), sorted."""
    found: list[str] = []
    for top in LIBRARY_DIRS:
        for path in (root / top).rglob("*"):
            if path.suffix in _SOURCE_SUFFIXES and path.is_file():
                rel = path.relative_to(root).as_posix()
                if not _is_platform(rel):
                    found.append(rel)
    return sorted(found)


def core_sources(root: Path) -> list[str]:
    """The library sources every model needs (outside the kernel folders)."""
    return [rel for rel in library_sources(root) if not rel.startswith(KERNEL_DIRS)]


@cache
def _text(path: Path) -> str:
    return _COMMENT_RE.sub(" ", path.read_text(errors="replace"))


def resolver_registrations(root: Path) -> dict[str, tuple[str, ...]]:
    """``MicroMutableOpResolver`` method -> the ``Register_*`` functions it calls."""
    text = (root / RESOLVER_H).read_text()
    text = text.split("\n private:", 1)[0]
    starts = list(_METHOD_RE.finditer(text))
    table: dict[str, tuple[str, ...]] = {}
    for match, after in zip(starts, [*starts[1:], None], strict=True):
        body = text[match.start():after.start() if after else len(text)]
        table[match[1]] = tuple(dict.fromkeys(_REGISTER_RE.findall(body)))
    return table


class _Index:
    """Lookups over one tree: which source defines a registration, implements a header."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.sources = library_sources(root)
        self.source_set = set(self.sources)
        self._cmsis: dict[str, str] | None = None
        self._registrations: dict[str, str] = {}
        self._deps: dict[str, set[str]] = {}
        self._header_includes: dict[Path, list[Path]] = {}
        for rel in self.sources:
            if rel.startswith(KERNEL_DIRS):
                for name in _REGISTER_DEFINITION_RE.findall(_text(root / rel)):
                    self._registrations.setdefault(name, rel)

    def kernel_defining(self, registration: str) -> str:
        if registration in self._registrations:
            return self._registrations[registration]
        raise BuildError(f"no source of the TFLM tree {self.root} defines {registration}()",
                         hint="the tree does not match the pinned TFLM; check TINYRIG_TFLM_SOURCE")

    def cmsis_definitions(self) -> dict[str, str]:
        """CMSIS-NN function name -> the source defining it."""
        if self._cmsis is None:
            table: dict[str, str] = {}
            for rel in self.sources:
                if rel.startswith(CMSIS_NN_SOURCE):
                    table.setdefault(Path(rel).stem, rel)
                    for name in _C_DEFINITION_RE.findall(_text(self.root / rel)):
                        table.setdefault(name, rel)
            self._cmsis = table
        return self._cmsis

    def resolve_include(self, name: str, includer: Path) -> Path | None:
        for base in (self.root, includer.parent):
            candidate = base / name
            if candidate.is_file():
                return candidate
        return None

    def includes(self, path: Path) -> list[Path]:
        """The headers of the tree ``path`` includes (quoted includes only)."""
        found = (self.resolve_include(n, path) for n in _INCLUDE_RE.findall(_text(path)))
        return [h for h in found if h is not None and h.is_relative_to(self.root)]

    def source_deps(self, rel: str) -> set[str]:
        """The sources ``rel`` needs directly: the implementations of every header it includes
        (transitively through headers) and, for CMSIS-NN code, the CMSIS-NN files defining
        the functions and tables it names."""
        if rel in self._deps:
            return self._deps[rel]
        deps: set[str] = set()
        if "cmsis_nn" in rel:
            cmsis = self.cmsis_definitions()
            deps.update(found for token in set(_IDENTIFIER_RE.findall(_text(self.root / rel)))
                        if (found := cmsis.get(token)) is not None)
        for header in self._headers_closure(self.root / rel):
            deps.update(self.implementations(header))
        deps.discard(rel)
        self._deps[rel] = deps
        return deps

    def _headers_closure(self, path: Path) -> set[Path]:
        seen: set[Path] = set()
        stack = self.includes(path)
        while stack:
            header = stack.pop()
            if header not in seen:
                seen.add(header)
                if header not in self._header_includes:
                    self._header_includes[header] = self.includes(header)
                stack.extend(self._header_includes[header])
        return seen

    def implementations(self, header: Path) -> list[str]:
        rel = header.relative_to(self.root).with_suffix("")
        stem = rel.as_posix()
        candidates = [f"{stem}.cc", f"{stem}.c", f"{stem}_common.cc"]
        return [c for c in candidates if c in self.source_set]


@cache
def _index(root: Path) -> _Index:
    return _Index(root)


def _closure(index: _Index, start: Iterable[str]) -> set[str]:
    selected: set[str] = set()
    pending = list(start)
    while pending:
        rel = pending.pop()
        if rel not in selected:
            selected.add(rel)
            pending.extend(dep for dep in index.source_deps(rel) if dep not in selected)
    return selected


def model_sources(root: Path, resolver_methods: Iterable[str]) -> list[str]:
    """The TFLM sources a firmware registering ``resolver_methods`` compiles, sorted.

    Raises BuildError for a method the tree's resolver lacks or a registration no source
    defines (a tree that does not match the pinned TFLM).
    """
    root = root.resolve()
    table = resolver_registrations(root)
    index = _index(root)
    start = list(core_sources(root))
    for method in resolver_methods:
        if method not in table:
            raise BuildError(f"MicroMutableOpResolver of {root} has no {method}()",
                             hint="the tree does not match the pinned TFLM")
        start += [index.kernel_defining(reg) for reg in table[method]]
    return sorted(_closure(index, start))
