"""Desktop simulation of whole datasets at the interpreter's speed.

:func:`simulate` runs every sample along the leading axis of the inputs through the host TFLM
(``tflite_micro``) with nothing per sample but ``set_input``/``invoke``/``get_output`` into
preallocated output arrays, and, for large datasets, spreads contiguous chunks over forked
worker processes (one interpreter each). Results come back in input order and are identical to
a sequential run: TFLM is deterministic and, under the state rule (:mod:`tinyrig.model.state`:
a stateful model's variables are reset before every sample), no sample depends on the ones
before it. With ``keep_state`` a stateful model runs sequentially in one process instead, each
sample seeing the state the previous one left.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from tinyrig.model.errors import InputError
from tinyrig.model.flatbuffer import Model, load_model

if TYPE_CHECKING:
    from tinyrig.model.reference import ReferenceInterpreter

__all__ = ["BatchResult", "simulate"]

Array = npt.NDArray[Any]
_MIN_CHUNK = 256  # samples per task below which another process is not worth its start-up

# set in the parent before forking; the children read them (copy-on-write, no pickling)
_shared: dict[str, Any] = {}


@dataclass(frozen=True)
class BatchResult:
    outputs: list[Array]  # one per model output, stacked along a leading sample axis
    samples: int
    workers: int
    seconds: float


def _run_range(start: int, end: int) -> list[Array]:
    """Run samples ``start:end`` with the interpreter of this process."""
    from tinyrig.model.reference import ReferenceInterpreter

    interp = _shared.get("interpreter")
    if interp is None:
        interp = ReferenceInterpreter(_shared["model"], _shared["arena"], probe=False)
        _shared["interpreter"] = interp
    raw = interp._interpreter
    set_input, invoke, get_output = raw.set_input, raw.invoke, raw.get_output
    reset = raw.reset if _shared["reset"] else None
    arrays: list[Array] = _shared["inputs"]
    specs = interp.outputs
    if end <= start:
        return [np.empty((0, *spec.shape), spec.dtype) for spec in specs]
    if len(arrays) == 1 and len(specs) == 1 and reset is None:
        # the common case, with nothing in the loop but the three interpreter calls
        rows = arrays[0][start:end]
        results: list[Array] = []
        append = results.append
        for row in rows:
            set_input(row, 0)
            invoke()
            append(get_output(0))
        return [np.stack(results)]
    outs: list[list[Array]] = [[] for _ in specs]
    n_in = range(len(arrays))
    for k in range(start, end):
        if reset is not None:
            reset()
        for j in n_in:
            set_input(arrays[j][k], j)
        invoke()
        for j, out in enumerate(outs):
            out.append(get_output(j))
    return [np.stack(out) for out in outs]


def _task(bounds: tuple[int, int]) -> list[Array]:
    return _run_range(*bounds)


def _check(model: Model, inputs: Sequence[Array]) -> tuple[list[Array], int]:
    from tinyrig.model.reference import IOSpec, _spec

    specs: list[IOSpec] = [_spec(t, i, "input") for i, t in enumerate(model.main.input_tensors)]
    if len(inputs) != len(specs):
        raise InputError(f"the model has {len(specs)} input(s), {len(inputs)} given")
    arrays = [np.ascontiguousarray(a) for a in inputs]
    counts = set()
    for spec, arr in zip(specs, arrays, strict=True):
        if arr.ndim != len(spec.shape) + 1 or arr.shape[1:] != spec.shape \
                or arr.dtype != spec.dtype:
            raise InputError(f"input {spec.index} expects a batch of {spec.dtype.name}"
                             f"[N,{','.join(map(str, spec.shape))}], got {arr.dtype.name}"
                             f"[{','.join(map(str, arr.shape))}]")
        counts.add(arr.shape[0])
    if len(counts) > 1:
        raise InputError(f"inputs hold different numbers of samples: {sorted(counts)}")
    return arrays, counts.pop() if counts else 0


def simulate(model: Model | bytes | str | os.PathLike[str], inputs: Sequence[Array], *,
             workers: int | None = None, arena_bytes: int | None = None,
             keep_state: bool = False, interpreter: ReferenceInterpreter | None = None
             ) -> BatchResult:
    """Run every sample of ``inputs`` (one array per model input, samples along axis 0).

    ``workers``: processes to use (default: every CPU this process may run on, fewer for small
    datasets; 1 runs in this process, on ``interpreter`` when given).
    ``keep_state``: a stateful model's state carries over from sample to sample (and from what
    ``interpreter`` ran before); by default it is reset before every sample.
    Raises InputError for inputs that do not fit the model.
    """
    from tinyrig.model.reference import ReferenceInterpreter
    from tinyrig.model.state import is_stateful

    m = load_model(model)
    arrays, n = _check(m, inputs)
    stateful = is_stateful(m)
    if workers is None:
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
            else os.cpu_count() or 1
    workers = max(1, min(workers, n // _MIN_CHUNK or 1))
    if stateful and keep_state:
        workers = 1  # each sample sees the state the previous one left
    if arena_bytes is None:
        arena_bytes = ReferenceInterpreter(m).arena_bytes  # measured once, cached
    _shared.clear()
    _shared.update(model=m, arena=arena_bytes, inputs=arrays,
                   reset=stateful and not keep_state)
    if workers == 1 and interpreter is not None:
        _shared["interpreter"] = interpreter
    began = time.perf_counter()
    try:
        if workers == 1:
            outputs = _run_range(0, n)
        else:
            pieces = workers * 4
            bounds = [(n * i // pieces, n * (i + 1) // pieces) for i in range(pieces)]
            ctx = multiprocessing.get_context("fork")
            with ctx.Pool(workers) as pool:
                parts = pool.map(_task, bounds, chunksize=1)
            outputs = [np.concatenate([p[j] for p in parts]) for j in range(len(parts[0]))]
    finally:
        _shared.clear()
    return BatchResult(outputs, n, workers, time.perf_counter() - began)
