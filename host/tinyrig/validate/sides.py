"""The sides a validation compares: the float model, LiteRT int8 without delegates, the host
TFLM and the device. Each turns samples of a :class:`~tinyrig.validate.data.Dataset` into
outputs; host sides run up front, the device sample by sample."""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tinyrig.device.base import Device
from tinyrig.errors import MissingExtraError
from tinyrig.protocol import TensorSpec
from tinyrig.validate.data import Dataset
from tinyrig.validate.errors import ValidationError

Array = npt.NDArray[Any]
Tick = Callable[[], None]

__all__ = ["Side", "run_float", "run_litert", "run_reference"]


class Side(Enum):
    """A column of the comparison, in the order the report shows them."""

    FLOAT = "float"
    LITERT = "litert"
    TFLM = "tflm"
    DEVICE = "device"

    @property
    def title(self) -> str:
        return {"float": "float model", "litert": "LiteRT int8", "tflm": "host TFLM",
                "device": "device"}[self.value]


def _stack(per_sample: list[list[Array]], outputs: int) -> list[Array]:
    return [np.stack([sample[j] for sample in per_sample]) for j in range(outputs)]


def run_reference(model: Path, data: Dataset, tick: Tick, *, keep_state: bool = False
                  ) -> list[Array]:
    """The host TFLM (``sim``): one batch per output, under the run's state rule."""
    from tinyrig.device.sim import SimDevice

    sim = SimDevice(model)
    sim.set_keep_state(keep_state)
    # The batch path of the sim backend (processes for large data sets), where it exists.
    batch = getattr(sim, "infer_batch", None)
    if batch is not None:
        outputs: list[Array] = list(batch(data.inputs).outputs)
        for _ in range(data.count):
            tick()
        return outputs
    results = []
    for index in range(data.count):
        results.append(sim.infer(data.sample(index)).outputs)
        tick()
    return _stack(results, len(sim.info().outputs))


def run_litert(model: Path, data: Dataset, tick: Tick, *, keep_state: bool = False
               ) -> list[Array]:
    """LiteRT's builtin kernels without default delegates (no XNNPACK): the independent
    int8 reference."""
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except ImportError:
        raise MissingExtraError("validate", "the LiteRT column") from None
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            interp = Interpreter(
                model_content=model.read_bytes(),
                experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
            interp.allocate_tensors()
    except (RuntimeError, ValueError) as exc:
        raise ValidationError(f"LiteRT cannot load {model.name}: {exc}") from None
    ins = [d["index"] for d in interp.get_input_details()]
    outs = [d["index"] for d in interp.get_output_details()]
    results = []
    for index in range(data.count):
        # the state rule of every backend (tinyrig.model.state): unless keep_state, each
        # sample from the initial state (LiteRT itself would carry an LSTM's state over)
        if not keep_state:
            interp.reset_all_variables()
        for slot, value in zip(ins, data.sample(index), strict=True):
            interp.set_tensor(slot, value)
        interp.invoke()
        results.append([np.array(interp.get_tensor(slot)) for slot in outs])
        tick()
    return _stack(results, len(outs))


def run_float(float_model: Path, data: Dataset, out_specs: tuple[TensorSpec, ...]
              ) -> list[Array]:
    """The float model on the real-valued samples (single input and output)."""
    from tinyrig.model.convert import float_predictor

    if len(data.real) != 1 or len(out_specs) != 1:
        raise ValidationError("the float column needs a model with one input and one output",
                              hint="leave out --float for multi-input or multi-output models")
    sample_shape, predict = float_predictor(float_model)
    real = data.real[0]
    if math.prod(sample_shape) != math.prod(real.shape[1:]):
        raise ValidationError(f"the float model {float_model.name} takes samples of shape "
                              f"{sample_shape}, the int8 model {tuple(real.shape[1:])}")
    batch = real.reshape(data.count, *sample_shape).astype(np.float32)
    predicted = np.asarray(predict(batch), dtype=np.float32)
    want = out_specs[0].shape
    if predicted.size == data.count * math.prod(want):
        predicted = predicted.reshape(data.count, *want)
    return [predicted]


def run_device(device: Device, data: Dataset, index: int) -> tuple[list[Array], int | None]:
    """One sample on the device: its outputs and the invoke time in µs (if it tells)."""
    result = device.infer(data.sample(index))
    return result.outputs, result.micros
