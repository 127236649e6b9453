"""The one interface every backend implements: in-process sim, native, QEMU, real boards."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

import numpy as np
import numpy.typing as npt

from tinyrig.protocol import DeviceInfo, DeviceStats, ProfileEntry

Array = npt.NDArray[np.generic]


@dataclass(frozen=True)
class Inference:
    """One sample's outputs, and how long the invoke took where the backend can tell."""

    outputs: list[Array]
    ticks: int | None = None
    micros: int | None = None


class Device(Protocol):
    """A model runner. ``inputs`` must already have the tensors' exact shapes and dtypes
    (see :func:`tinyrig.device.tensors.prepare_batch`)."""

    @property
    def url(self) -> str: ...

    def info(self) -> DeviceInfo: ...

    def infer(self, inputs: Sequence[Array]) -> Inference: ...

    def profile(self) -> list[ProfileEntry]: ...

    def stats(self) -> DeviceStats | None: ...

    def close(self) -> None: ...

    def __enter__(self) -> Device: ...

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None: ...


def decode_outputs(info: DeviceInfo, raw: Sequence[bytes]) -> list[Array]:
    """Byte buffers from the wire as arrays shaped like the model's outputs."""
    return [np.frombuffer(data, dtype=spec.dtype.numpy).reshape(spec.shape).copy()
            for spec, data in zip(info.outputs, raw, strict=True)]


def set_keep_state(device: Device, keep: bool) -> None:
    """Put ``device`` under a state rule (:mod:`tinyrig.model.state`): stateless (each
    session's default, so nothing is sent unless the device keeps state now) or keeping a
    stateful model's state across inferences, from the initial state. Backends without
    ``set_keep_state`` are stateless only: asking them to keep state is a DeviceError."""
    from tinyrig.device.errors import DeviceError

    if not keep and not getattr(device, "keep_state", False):
        return
    setter = getattr(device, "set_keep_state", None)
    if setter is None:
        if keep:
            raise DeviceError(f"{device.url} cannot keep a model's state across inferences",
                              hint="leave out --keep-state")
        return
    setter(keep)
