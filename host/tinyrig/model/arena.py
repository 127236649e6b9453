"""Measure the smallest tensor arena a model runs in, with the real TFLM allocator.

:func:`measure_arena` bisects arena sizes: each probe forks a child process that builds the
``tflite_micro`` interpreter with that arena, fills the inputs with zeros and invokes once. A
probe fails when allocation or invoke fails, when the child crashes (too-small arenas can
segfault ``tflite_micro``) or when it times out. The result is the *measured* minimum (it works,
and 16 bytes less fails), a recommended size (minimum + a stated margin, 16-byte aligned), and a
breakdown from ``print_allocations()`` (captured at fd 2 in the child).

The measurement uses the host build of TFLM: 64-bit pointers and reference kernels. A 32-bit
target with the same kernels needs at most this much (its TfLiteEvalTensor and node structs
are smaller); optimized kernels (CMSIS-NN) may request scratch buffers the reference kernels do
not, which is one reason for the margin. Results are cached by model SHA-256 (and interpreter
build) in ``cache_dir()/arena/``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import select
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Final

from tinyrig.model.errors import ArenaError, InterpreterError
from tinyrig.model.flatbuffer import Model, load_model, numpy_dtype_name
from tinyrig.model.ops import TFLM_VERSION, require_supported
from tinyrig.paths import cache_dir

__all__ = [
    "DEFAULT_MARGIN",
    "AllocationBreakdown",
    "AllocationRecord",
    "ArenaReport",
    "PeakOp",
    "ProbeResult",
    "TensorUse",
    "cached_arena",
    "interpreter_build",
    "measure_arena",
    "probe_arena",
]

# Added to the measured minimum for the recommended size (then rounded up to 16 bytes).
DEFAULT_MARGIN: Final = 256
ALIGN: Final = 16
_CACHE_FORMAT: Final = 2
_MAX_ARENA: Final = 1 << 30
_HOST_NOTE: Final = (
    "measured with the host (64-bit) TFLM build and reference kernels; 32-bit targets with the "
    "same kernels need at most this, optimized kernels (CMSIS-NN) may need extra scratch"
)

Progress = Callable[..., None]


@dataclass(frozen=True)
class AllocationRecord:
    """One line of RecordingMicroAllocator's report."""

    name: str
    used_bytes: int
    requested_bytes: int
    count: int


@dataclass(frozen=True)
class AllocationBreakdown:
    """What ``print_allocations()`` reported: head = non-persistent (planned activations and
    scratch), tail = persistent (tensor structs, op data)."""

    total_bytes: int
    non_persistent_bytes: int
    persistent_bytes: int
    records: tuple[AllocationRecord, ...]


@dataclass(frozen=True)
class ProbeResult:
    arena_bytes: int
    ok: bool
    reason: str  # "ok", or why it failed
    seconds: float
    breakdown: AllocationBreakdown | None = None


@dataclass(frozen=True)
class TensorUse:
    index: int
    name: str
    dtype: str
    shape: tuple[int, ...]
    bytes: int


@dataclass(frozen=True)
class PeakOp:
    """The operator at which the most activation bytes are live (a static estimate from the
    graph: a lower bound of what the memory planner must place at once)."""

    index: int
    op: str
    live_bytes: int
    live_tensors: tuple[int, ...]


@dataclass(frozen=True)
class ArenaReport:
    model_sha256: str
    model_bytes: int
    minimum_bytes: int  # smallest arena that initialized and invoked
    arena_bytes: int  # recommended: minimum + margin, rounded up to 16
    margin_bytes: int
    below_minimum_fails: bool  # minimum - 16 was probed and failed
    recommended_verified: bool  # arena_bytes was probed and worked
    breakdown: AllocationBreakdown | None
    largest_tensors: tuple[TensorUse, ...]
    peak_op: PeakOp | None
    probes: int
    search_seconds: float
    cached: bool
    interpreter: str  # tflite_micro build, e.g. 0.dev20261023182759-g8f6596d
    tflm_version: str  # the pinned TFLM of the firmware
    interpreter_matches_pin: bool  # the interpreter was built from the pinned TFLM commit
    host_pointer_bits: int
    note: str


# --------------------------------------------------------------------------- interpreter build

def interpreter_build() -> str:
    """The installed tflite_micro build string (read from its files, without loading it)."""
    try:
        spec = importlib.util.find_spec("tflite_micro")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        return "missing"
    root = Path(next(iter(spec.submodule_search_locations)))
    try:
        text = (root / "python" / "tflite_micro" / "_version.py").read_text()
    except OSError:
        return "unknown"
    match = re.search(r"__version__\s*=\s*['\"]([^'\"]+)['\"]", text)
    return match.group(1) if match else "unknown"


# --------------------------------------------------------------------------- child probes

_TOTAL_RE = re.compile(r"Arena allocation (total|head|tail) (\d+) bytes")
_RECORD_RE = re.compile(r"'([^']+)' used (\d+) bytes with alignment overhead "
                        r"\(requested (\d+) bytes for (\d+)")


def parse_allocations(text: str) -> AllocationBreakdown | None:
    """Parse RecordingMicroAllocator's ``print_allocations()`` output."""
    sizes = {m.group(1): int(m.group(2)) for m in _TOTAL_RE.finditer(text)}
    if "total" not in sizes:
        return None
    records = tuple(AllocationRecord(name=m.group(1), used_bytes=int(m.group(2)),
                                     requested_bytes=int(m.group(3)), count=int(m.group(4)))
                    for m in _RECORD_RE.finditer(text))
    return AllocationBreakdown(total_bytes=sizes["total"],
                               non_persistent_bytes=sizes.get("head", 0),
                               persistent_bytes=sizes.get("tail", 0), records=records)


def _child(model: Model, arena_bytes: int, want_allocations: bool, out_fd: int) -> None:
    """Runs in the forked child: report {"ok", "reason", "alloc"} as JSON on ``out_fd``."""
    import faulthandler

    import numpy as np

    from tinyrig.model.reference import import_tflite_micro

    # a crash is an expected outcome here: no fault report on the parent's stderr (pytest and
    # other hosts enable faulthandler on a descriptor the child inherits)
    faulthandler.disable()
    log = os.memfd_create("tinyrig-probe") if hasattr(os, "memfd_create") else os.open(
        os.devnull, os.O_WRONLY)
    os.dup2(log, 1)
    os.dup2(log, 2)
    result: dict[str, Any] = {"ok": False, "reason": "", "alloc": ""}
    try:
        runtime = import_tflite_micro()
        interp = runtime.Interpreter.from_bytes(
            model.data, arena_size=arena_bytes,
            intrepreter_config=runtime.InterpreterConfig.kAllocationRecording)
        for i, t in enumerate(model.main.input_tensors):
            interp.set_input(np.zeros(t.shape, dtype=numpy_dtype_name(t.dtype)), i)
        interp.invoke()
        result["ok"] = True
        result["reason"] = "ok"
        if want_allocations:
            os.lseek(log, 0, os.SEEK_END)
            start = os.lseek(log, 0, os.SEEK_CUR)
            interp.print_allocations()
            os.lseek(log, start, os.SEEK_SET)
            result["alloc"] = os.read(log, 1 << 16).decode("utf-8", "replace")
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.lseek(log, 0, os.SEEK_SET)
        try:
            printed = os.read(log, 1 << 16).decode("utf-8", "replace")
        except OSError:
            printed = ""
        lines = [ln.strip() for ln in printed.splitlines() if ln.strip()]
        result["reason"] = (lines[0] if lines else f"{type(exc).__name__}: {exc}")[:300]
    os.write(out_fd, json.dumps(result).encode())


def probe_arena(model: Model | bytes | str | os.PathLike[str], arena_bytes: int, *,
                timeout: float = 120.0, allocations: bool = False) -> ProbeResult:
    """Try ``arena_bytes`` in a forked child: init, zero inputs, invoke once."""
    from tinyrig.model.reference import import_tflite_micro

    model = load_model(model)
    import_tflite_micro()  # fail here, in the parent, when it is missing or broken
    if not hasattr(os, "fork"):
        raise ArenaError("arena probing needs os.fork (Linux or macOS)")
    start = time.monotonic()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.close(read_fd)
            _child(model, arena_bytes, allocations, write_fd)
        finally:
            os._exit(0)
    os.close(write_fd)
    chunks: list[bytes] = []
    timed_out = False
    finished = False
    try:
        deadline = start + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([read_fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(read_fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
        finished = True
    finally:
        os.close(read_fd)
        if timed_out or not finished:  # also on KeyboardInterrupt: never leave a child behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    seconds = time.monotonic() - start
    if timed_out:
        return ProbeResult(arena_bytes, False, f"timed out after {timeout:g} s", seconds)
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return ProbeResult(arena_bytes, False, f"crashed ({name})", seconds)
    try:
        data = json.loads(b"".join(chunks).decode())
    except (UnicodeDecodeError, json.JSONDecodeError):
        return ProbeResult(arena_bytes, False, f"probe exited {code} without a result", seconds)
    breakdown = parse_allocations(data.get("alloc", "")) if data.get("ok") else None
    return ProbeResult(arena_bytes, bool(data.get("ok")), str(data.get("reason", "")), seconds,
                       breakdown)


def _is_memory_failure(reason: str) -> bool:
    return bool(re.search(r"crashed|allocat|resize|arena|missing|memory|buffers|timed out",
                          reason, re.IGNORECASE))


# --------------------------------------------------------------------------- static analysis

def _largest_tensors(model: Model, n: int = 5) -> tuple[TensorUse, ...]:
    sizes = model.buffer_sizes
    sg = model.main
    activations = [t for t in sg.tensors if t.buffer >= len(sizes) or sizes[t.buffer] == 0]
    activations.sort(key=lambda t: (-t.nbytes, t.index))
    return tuple(TensorUse(index=t.index, name=t.name, dtype=t.dtype.name.lower(),
                           shape=t.shape, bytes=t.nbytes) for t in activations[:n])


def _peak_op(model: Model) -> PeakOp | None:
    sg = model.main
    if not sg.operators:
        return None
    sizes = model.buffer_sizes
    planned = {t.index for t in sg.tensors
               if (t.buffer >= len(sizes) or sizes[t.buffer] == 0) and not t.is_variable}
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    n_ops = len(sg.operators)
    for i in sg.inputs:
        first[i] = 0
    for k, op in enumerate(sg.operators):
        for t in op.outputs:
            if t in planned:
                first.setdefault(t, k)
                last[t] = max(last.get(t, k), k)
        for t in (*op.inputs, *op.intermediates):
            if t in planned:
                first.setdefault(t, k)
                last[t] = k
    for o in sg.outputs:
        last[o] = n_ops - 1
    best: PeakOp | None = None
    for k, op in enumerate(sg.operators):
        live = tuple(sorted(t for t in planned if first.get(t, n_ops) <= k <= last.get(t, -1)))
        total = sum((sg.tensors[t].nbytes + ALIGN - 1) // ALIGN * ALIGN for t in live)
        if best is None or total > best.live_bytes:
            best = PeakOp(index=k, op=model.opcode(op).name, live_bytes=total, live_tensors=live)
    return best


# --------------------------------------------------------------------------- cache

def _cache_path(model: Model, build: str) -> Path:
    safe = re.sub(r"[^0-9A-Za-z.-]", "_", build)
    return cache_dir() / "arena" / f"{model.sha256}-{safe}.json"


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def _load_cached(model: Model, margin: int) -> ArenaReport | None:
    path = _cache_path(model, interpreter_build())
    try:
        raw = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(raw, dict) or raw.get("format") != _CACHE_FORMAT:
        return None
    try:
        report = _report_from_json(raw["report"])
    except (KeyError, TypeError, ValueError):
        return None
    if report.model_sha256 != model.sha256:
        return None
    recommended = _align(report.minimum_bytes + margin)
    return replace(report, cached=True, margin_bytes=margin, arena_bytes=recommended,
                   recommended_verified=report.recommended_verified
                   and recommended == report.arena_bytes)


def _report_from_json(d: dict[str, Any]) -> ArenaReport:
    b = d.get("breakdown")
    breakdown = None if b is None else AllocationBreakdown(
        total_bytes=int(b["total_bytes"]), non_persistent_bytes=int(b["non_persistent_bytes"]),
        persistent_bytes=int(b["persistent_bytes"]),
        records=tuple(AllocationRecord(**r) for r in b["records"]))
    p = d.get("peak_op")
    peak = None if p is None else PeakOp(index=int(p["index"]), op=str(p["op"]),
                                        live_bytes=int(p["live_bytes"]),
                                        live_tensors=tuple(p["live_tensors"]))
    fields = {k: d[k] for k in ("model_sha256", "model_bytes", "minimum_bytes", "arena_bytes",
                                "margin_bytes", "below_minimum_fails", "recommended_verified",
                                "probes", "search_seconds", "cached", "interpreter",
                                "tflm_version", "interpreter_matches_pin",
                                "host_pointer_bits", "note")}
    return ArenaReport(
        **fields, breakdown=breakdown, peak_op=peak,
        largest_tensors=tuple(TensorUse(index=t["index"], name=t["name"], dtype=t["dtype"],
                                        shape=tuple(t["shape"]), bytes=t["bytes"])
                              for t in d["largest_tensors"]),
    )


def _store_cached(model: Model, report: ArenaReport) -> None:
    path = _cache_path(model, report.interpreter)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"format": _CACHE_FORMAT, "report": asdict(report)}, indent=1))
        tmp.replace(path)
    except OSError:
        pass  # a cache that cannot be written only costs time


def cached_arena(model: Model | bytes | str | os.PathLike[str], *,
                 margin: int = DEFAULT_MARGIN) -> ArenaReport | None:
    """The cached measurement of ``model`` for the installed interpreter build, if any."""
    return _load_cached(load_model(model), margin)


# --------------------------------------------------------------------------- search

class _Search:
    def __init__(self, model: Model, timeout: float, progress: Progress | None) -> None:
        self.model = model
        self.timeout = timeout
        self.progress = progress
        self.results: dict[int, ProbeResult] = {}

    def probe(self, size: int, *, allocations: bool = False) -> ProbeResult:
        if size in self.results and not allocations:
            return self.results[size]
        if self.progress is not None:
            self.progress(advance=1, description=f"probing a {size}-byte arena")
        result = probe_arena(self.model, size, timeout=self.timeout, allocations=allocations)
        self.results[size] = result
        return result


def measure_arena(model: Model | bytes | str | os.PathLike[str], *,
                  margin: int = DEFAULT_MARGIN, progress: Progress | None = None,
                  use_cache: bool = True, timeout: float = 120.0) -> ArenaReport:
    """Measure the smallest working arena of ``model`` (see module doc).

    ``margin`` bytes are added to the minimum for the recommended ``arena_bytes`` (then rounded
    up to 16). ``progress`` is called as ``progress(advance=1, description=...)`` per probe
    (and once with ``total=`` an estimate of the probe count). Raises UnsupportedOpError,
    InterpreterError when TFLM cannot run the model at any arena size, ArenaError when the
    search fails, MissingExtraError without ``tflite_micro``.
    """
    from tinyrig.model.reference import estimate_arena_upper_bound, import_tflite_micro

    if isinstance(margin, bool) or not isinstance(margin, int) or margin < 0:
        raise ArenaError(f"margin must be a non-negative number of bytes, got {margin!r}")
    model = load_model(model)
    require_supported(model)
    import_tflite_micro("arena measurement")
    if use_cache:
        cached = _load_cached(model, margin)
        if cached is not None:
            return cached
    began = time.monotonic()
    s = _Search(model, timeout, progress)
    if progress is not None:
        progress(total=20, completed=0)

    # 1. a size that works, with the allocator's own report
    hi = estimate_arena_upper_bound(model)
    first = s.probe(hi, allocations=True)
    while not first.ok:
        if not _is_memory_failure(first.reason):
            raise InterpreterError(f"TFLM cannot run this model: {first.reason}")
        if hi >= _MAX_ARENA:
            raise ArenaError(f"no arena up to {_MAX_ARENA} bytes works ({first.reason})")
        hi = min(hi * 4, _MAX_ARENA)
        first = s.probe(hi, allocations=True)
    breakdown = first.breakdown

    # 2. bracket the minimum near the reported total: lo fails (0: none yet), hi works
    lo = 0
    guess = breakdown.total_bytes if breakdown is not None else hi // 2
    if 0 < guess < hi:
        if s.probe(guess).ok:
            hi = guess
            step = ALIGN
            while hi - step > lo:  # gallop down until a size fails
                if not s.probe(hi - step).ok:
                    lo = hi - step
                    break
                hi -= step
                step *= 4
        else:
            lo = guess
            step = ALIGN
            while lo + step < hi:  # gallop up until a size works
                if s.probe(lo + step).ok:
                    hi = lo + step
                    break
                lo += step
                step *= 4
    # 3. bisect to the byte
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if s.probe(mid).ok:
            hi = mid
        else:
            lo = mid
    minimum = hi
    if minimum <= 0:
        raise ArenaError("arena search found no lower bound (a model that needs no arena?)")

    # 4. verify: minimum works (probed), minimum - 16 fails, recommended works
    below = s.probe(minimum - ALIGN) if minimum > ALIGN else None
    below_fails = below is not None and not below.ok
    recommended = _align(minimum + margin)
    rec = s.probe(recommended)
    if not rec.ok:
        raise ArenaError(f"the measured minimum {minimum} B works but the recommended "
                         f"{recommended} B does not ({rec.reason}): non-monotonic allocator?")
    build = interpreter_build()
    matches = build.endswith(f"-g{TFLM_VERSION}")
    report = ArenaReport(
        model_sha256=model.sha256,
        model_bytes=model.size,
        minimum_bytes=minimum,
        arena_bytes=recommended,
        margin_bytes=margin,
        below_minimum_fails=below_fails,
        recommended_verified=True,
        breakdown=breakdown,
        largest_tensors=_largest_tensors(model),
        peak_op=_peak_op(model),
        probes=len(s.results),
        search_seconds=round(time.monotonic() - began, 3),
        cached=False,
        interpreter=build,
        tflm_version=TFLM_VERSION,
        interpreter_matches_pin=matches,
        host_pointer_bits=8 * _pointer_size(),
        note=_HOST_NOTE if matches else
        f"{_HOST_NOTE}; the interpreter is TFLM {build}, not the pinned {TFLM_VERSION}",
    )
    if below_fails:
        _store_cached(model, report)
    return report


def _pointer_size() -> int:
    import struct

    return struct.calcsize("P")
