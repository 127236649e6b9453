"""The ``sim`` backend: the TFLM interpreter in this process (the host reference)."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from tinyrig import TFLM_COMMIT, __version__
from tinyrig.device.base import Array, Inference
from tinyrig.device.batch import BatchResult
from tinyrig.device.tensors import check_sample
from tinyrig.model.flatbuffer import Model, Tensor, load_model
from tinyrig.protocol import (
    PROTOCOL_VERSION,
    DeviceInfo,
    ErrorCode,
    Feature,
    KernelSet,
    ProfileEntry,
    TensorSpec,
    TfLiteType,
    TimeUnit,
)


def tensor_spec(tensor: Tensor) -> TensorSpec:
    """The wire description of a model tensor (per-tensor quantization: the first scale)."""
    return TensorSpec(
        dtype=TfLiteType[tensor.dtype.name],
        shape=tensor.shape,
        scale=tensor.scale[0] if tensor.scale else 0.0,
        zero_point=tensor.zero_point[0] if tensor.zero_point else 0,
        nbytes=tensor.nbytes,
    )


def model_info(model: Model, *, board: str, arena_size: int, arena_used: int = 0,
               max_payload: int = 0xFFFF) -> DeviceInfo:
    """A DeviceInfo describing ``model`` as a device running it would."""
    return DeviceInfo(
        protocol_version=PROTOCOL_VERSION, features=Feature(0), max_payload=max_payload,
        cpu_hz=0, tick_hz=0, tick_unit=TimeUnit.NS,
        arena_size=arena_size, arena_used=arena_used, model_size=model.size,
        model_crc32=zlib.crc32(model.data) & 0xFFFFFFFF,
        model_id=bytes.fromhex(model.sha256)[:8], model_status=ErrorCode.OK,
        firmware=f"tinyrig-sim {__version__}", board="host", tflm=TFLM_COMMIT,
        kernels=KernelSet.REFERENCE,  # the host TFLM: reference kernels
        inputs=tuple(tensor_spec(t) for t in model.main.input_tensors),
        outputs=tuple(tensor_spec(t) for t in model.main.output_tensors),
    )


class SimDevice:
    """Runs the model with ``tflite_micro`` in process: the reference the devices must match."""

    url = "sim"

    def __init__(self, model: Path | bytes, *, arena_bytes: int | None = None) -> None:
        from tinyrig.model.reference import ReferenceInterpreter

        self.model = load_model(model)
        self.interpreter = ReferenceInterpreter(self.model.data, arena_bytes=arena_bytes)
        self._info = model_info(self.model, board="host",
                                arena_size=self.interpreter.arena_bytes)

    def info(self) -> DeviceInfo:
        return self._info

    def infer(self, inputs: Sequence[Array]) -> Inference:
        return Inference(outputs=list(self.interpreter.run(check_sample(self._info.inputs,
                                                                        inputs))))

    @property
    def keep_state(self) -> bool:
        return self.interpreter.keep_state

    def set_keep_state(self, keep: bool) -> None:
        """Stateless (the default) or keep a stateful model's state across inferences; resets
        the state now, like the STATE message of the firmware (:mod:`tinyrig.model.state`)."""
        self.interpreter.set_keep_state(keep)

    def infer_batch(self, inputs: Sequence[Array], *, workers: int | None = None
                    ) -> BatchResult:
        """Every sample along axis 0 of ``inputs`` at the interpreter's speed, spread over
        processes for large datasets (:func:`tinyrig.device.batch.simulate`), under this
        device's state rule."""
        from tinyrig.device.batch import simulate

        return simulate(self.model, inputs, workers=workers,
                        arena_bytes=self.interpreter.arena_bytes,
                        keep_state=self.interpreter.keep_state, interpreter=self.interpreter)

    def profile(self) -> list[ProfileEntry]:
        return []  # the Python interpreter exposes no per-op timings

    def stats(self) -> None:
        return None

    def close(self) -> None:
        pass

    def __enter__(self) -> SimDevice:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
