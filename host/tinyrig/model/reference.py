"""The host reference: the TFLM interpreter (``tflite_micro``) running a model in this process.

The ``sim`` device backend wraps :class:`ReferenceInterpreter`; firmware outputs are compared
with its outputs. ``tflite_micro`` is imported lazily (the ``sim`` extra).

A tensor arena that is too small can make ``tflite_micro`` crash the whole process instead of
raising. An explicit ``arena_bytes`` is therefore first tried in a child process; without one, the
recommended size of :func:`tinyrig.model.arena.measure_arena` is used (measured in child
processes and cached), the same size firmware builds default to.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from tinyrig.errors import MissingExtraError
from tinyrig.model.errors import ArenaError, InputError, InterpreterError
from tinyrig.model.flatbuffer import Model, Tensor, load_model, numpy_dtype_name
from tinyrig.model.ops import require_supported

__all__ = [
    "IOSpec",
    "ReferenceInterpreter",
    "TfliteMicroUnavailableError",
    "import_tflite_micro",
    "run_reference",
]

Array = npt.NDArray[Any]


class TfliteMicroUnavailableError(MissingExtraError):
    """``tflite_micro`` is missing, or installed but cannot be loaded."""

    def __init__(self, feature: str, detail: str | None = None) -> None:
        super().__init__("sim", feature)
        if detail is not None:
            self.message = f"{feature} cannot load tflite_micro: {detail}"
            self.args = (self.message,)
            self.hint = ("the installed tflite-micro nightly does not load on this Python "
                         "(a build for another CPython version?); install a nightly built for "
                         "this interpreter: pip install --pre 'tflite-micro==<version>'")


def import_tflite_micro(feature: str = "the host TFLM interpreter") -> ModuleType:
    """``tflite_micro.runtime``, or TfliteMicroUnavailableError (a MissingExtraError)."""
    try:
        from tflite_micro import runtime
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] == "tflite_micro":
            raise TfliteMicroUnavailableError(feature) from None
        raise TfliteMicroUnavailableError(feature, str(exc)) from None
    except ImportError as exc:
        text = str(exc)
        detail = ("undefined symbol " + text.rsplit(": ", 1)[-1]
                  if "undefined symbol" in text else text)
        raise TfliteMicroUnavailableError(feature, detail) from None
    module: ModuleType = runtime
    return module


@dataclass(frozen=True)
class IOSpec:
    """An input or output of the model as the interpreter sees it."""

    index: int
    name: str
    dtype: np.dtype[Any]
    shape: tuple[int, ...]
    scale: float
    zero_point: int

    def describe(self) -> str:
        return f"{self.dtype.name}[{','.join(str(d) for d in self.shape)}]"


def _spec(t: Tensor, index: int, role: str) -> IOSpec:
    name = numpy_dtype_name(t.dtype)
    if name is None:
        raise InterpreterError(f"{role} {index} '{t.name}' has type {t.dtype.name}, "
                               "which numpy cannot hold")
    return IOSpec(index=index, name=t.name, dtype=np.dtype(name), shape=t.shape,
                  scale=t.scale[0] if t.scale else 0.0,
                  zero_point=t.zero_point[0] if t.zero_point else 0)


def _describe(arr: Array) -> str:
    return f"{arr.dtype.name}[{','.join(str(d) for d in arr.shape)}]"


def estimate_arena_upper_bound(model: Model) -> int:
    """A generous arena size (no planning, every non-constant tensor kept, large per-tensor and
    per-op overheads) used only when nothing better is known."""
    sizes = model.buffer_sizes
    activations = sum(t.nbytes for sg in model.subgraphs for t in sg.tensors
                      if t.buffer >= len(sizes) or sizes[t.buffer] == 0)
    n_tensors = sum(len(sg.tensors) for sg in model.subgraphs)
    n_ops = sum(len(sg.operators) for sg in model.subgraphs)
    estimate = 2 * activations + 256 * n_tensors + 1024 * n_ops + 64 * 1024
    return (estimate + 15) // 16 * 16


def _known_good_arena(model: Model) -> int:
    """The recommended size of :func:`~tinyrig.model.arena.measure_arena` (cached; the first
    measurement takes well under a second for typical models), else a generous estimate."""
    from tinyrig.model.arena import measure_arena

    try:
        return measure_arena(model).arena_bytes
    except ArenaError:
        return estimate_arena_upper_bound(model)


class ReferenceInterpreter:
    """The pinned TFLM running ``model`` on the host.

    ``run()`` takes one array per input with exactly the input's dtype and shape and returns one
    array per output. ``run_batch()`` takes arrays with an extra leading batch axis.
    Stateless by default: a stateful model's variables are reset before every inference;
    ``keep_state`` carries them over (:mod:`tinyrig.model.state`).
    """

    def __init__(self, model: bytes | str | os.PathLike[str] | Model,
                 arena_bytes: int | None = None, *, probe: bool = True,
                 preserve_all_tensors: bool = False, keep_state: bool = False) -> None:
        from tinyrig.model.state import is_stateful

        runtime = import_tflite_micro()
        self.model = load_model(model)
        require_supported(self.model)
        self.stateful = is_stateful(self.model)
        self.keep_state = keep_state
        sg = self.model.main
        self.inputs = tuple(_spec(t, i, "input") for i, t in enumerate(sg.input_tensors))
        self.outputs = tuple(_spec(t, i, "output") for i, t in enumerate(sg.output_tensors))
        if arena_bytes is None:
            arena_bytes = _known_good_arena(self.model)
        elif probe:
            from tinyrig.model.arena import probe_arena

            result = probe_arena(self.model, arena_bytes)
            if not result.ok:
                raise ArenaError(
                    f"a {arena_bytes}-byte arena is too small for this model ({result.reason})",
                    hint="run `tinyrig arena MODEL` for the measured minimum")
        self.arena_bytes = arena_bytes
        try:
            # some tflite_micro builds print() while loading: keep stdout for our output (--json)
            with contextlib.redirect_stdout(io.StringIO()):
                self._interpreter = runtime.Interpreter.from_bytes(
                    self.model.data, arena_size=arena_bytes,
                    intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors
                    if preserve_all_tensors else runtime.InterpreterConfig.kAllocationRecording)
        except (RuntimeError, ValueError) as exc:
            raise InterpreterError(f"TFLM could not load the model: {exc}") from None

    def check_inputs(self, inputs: Sequence[Array]) -> list[Array]:
        """Validate dtype and shape of one sample's inputs (InputError otherwise)."""
        if len(inputs) != len(self.inputs):
            raise InputError(f"the model has {len(self.inputs)} input(s), {len(inputs)} given")
        checked = []
        for spec, value in zip(self.inputs, inputs, strict=True):
            arr = np.asarray(value)
            if arr.dtype != spec.dtype or arr.shape != spec.shape:
                raise InputError(f"input {spec.index} expects {spec.describe()}, "
                                 f"got {_describe(arr)}")
            checked.append(np.ascontiguousarray(arr))
        return checked

    def run(self, inputs: Sequence[Array]) -> list[Array]:
        """One inference: set every input, invoke, copy every output (after resetting the
        state of a stateful model unless ``keep_state``)."""
        arrays = self.check_inputs(inputs)
        if self.stateful and not self.keep_state:
            self.reset()
        try:
            for i, arr in enumerate(arrays):
                self._interpreter.set_input(arr, i)
            self._interpreter.invoke()
            return [np.array(self._interpreter.get_output(i), copy=True)
                    for i in range(len(self.outputs))]
        except (RuntimeError, ValueError) as exc:
            raise InterpreterError(f"TFLM inference failed: {exc}") from None

    def tensor(self, index: int) -> Array:
        """Tensor ``index`` of the main subgraph after the last run (only with
        ``preserve_all_tensors``, which keeps every intermediate tensor)."""
        try:
            found = self._interpreter.GetTensor(index, 0)
        except (RuntimeError, ValueError, IndexError) as exc:
            raise InterpreterError(f"TFLM cannot read tensor {index}: {exc}") from None
        data: Array = np.array(found["tensor_data"], copy=True)
        return data

    def run_batch(self, inputs: Sequence[Array]) -> list[Array]:
        """Run each sample along the leading axis of every input, in order (each one as
        ``run()`` does, so under the same state rule); outputs are stacked the same way."""
        if len(inputs) != len(self.inputs):
            raise InputError(f"the model has {len(self.inputs)} input(s), {len(inputs)} given")
        arrays = [np.asarray(a) for a in inputs]
        counts = set()
        for spec, arr in zip(self.inputs, arrays, strict=True):
            if arr.ndim != len(spec.shape) + 1 or arr.shape[1:] != spec.shape \
                    or arr.dtype != spec.dtype:
                raise InputError(f"input {spec.index} expects a batch of {spec.describe()} "
                                 f"({spec.dtype.name}[N,{','.join(map(str, spec.shape))}]), "
                                 f"got {_describe(arr)}")
            counts.add(arr.shape[0])
        if len(counts) > 1:
            raise InputError(f"inputs hold different batch sizes: {sorted(counts)}")
        n = counts.pop() if counts else 0
        results: list[list[Array]] = [[] for _ in self.outputs]
        for k in range(n):
            for j, out in enumerate(self.run([a[k] for a in arrays])):
                results[j].append(out)
        return [np.stack(r) if r else np.zeros((0, *spec.shape), spec.dtype)
                for r, spec in zip(results, self.outputs, strict=True)]

    def set_keep_state(self, keep: bool) -> None:
        """Keep the state across inferences (streaming) or not (the default); resets it now,
        as the STATE message does on a device."""
        self.keep_state = keep
        self.reset()

    def reset(self) -> None:
        """Back to the state after initialization (variable tensors of stateful models)."""
        try:
            self._interpreter.reset()
        except RuntimeError as exc:
            raise InterpreterError(f"TFLM reset failed: {exc}") from None


def run_reference(model: bytes | str | os.PathLike[str] | Model, inputs: Sequence[Array], *,
                  arena_bytes: int | None = None) -> list[Array]:
    """One inference of ``model`` on the host TFLM."""
    return ReferenceInterpreter(model, arena_bytes).run(inputs)
