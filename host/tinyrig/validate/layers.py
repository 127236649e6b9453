"""Layer by layer on the device: run one sample on debug runner firmware (every intermediate
tensor kept), read each op's outputs back over READ_TENSOR, run the host TFLM the same way, and
name the first op whose output differs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tinyrig.device.base import Device
from tinyrig.device.sim import tensor_spec
from tinyrig.model.flatbuffer import Model, load_model, numpy_dtype_name
from tinyrig.model.reference import ReferenceInterpreter, estimate_arena_upper_bound
from tinyrig.protocol import MessageType, TfLiteType
from tinyrig.protocol.tensor_read import ReadTensor, TensorChunk
from tinyrig.validate.errors import ValidationError
from tinyrig.validate.metrics import compare_output
from tinyrig.validate.report import LayerDiff, LayerRow

Array = npt.NDArray[Any]

__all__ = ["diff_layers", "read_tensor"]


def read_tensor(device: Device, index: int) -> Array:
    """Tensor ``index`` of the model on ``device`` after its last invoke (READ_TENSOR)."""
    client = getattr(device, "client", None)
    if client is None:
        raise ValidationError(f"{device.url} has no READ_TENSOR: layer by layer needs a board "
                              "running tinyrig's debug runner firmware")
    data = b""
    header: TensorChunk | None = None
    while header is None or len(data) < header.nbytes:
        payload = client.request(MessageType.READ_TENSOR,
                                 ReadTensor(index, len(data), 0xFFFFFFFF).encode(),
                                 reply_bytes=client.max_payload)
        chunk = TensorChunk.decode(payload)
        if header is None:
            header = chunk
        elif not chunk.data:
            break
        data += chunk.data
    assert header is not None
    if len(data) != header.nbytes:
        raise ValidationError(f"READ_TENSOR {index} returned {len(data)} of {header.nbytes} "
                              "bytes")
    if not isinstance(header.dtype, TfLiteType):
        raise ValidationError(f"tensor {index} has an unknown dtype code {header.dtype}")
    array: Array = np.frombuffer(data, dtype=header.dtype.numpy).reshape(header.shape).copy()
    return array


def _host(model: Model) -> ReferenceInterpreter:
    # Every tensor kept: the planned arena is too small; the generous estimate holds them all.
    return ReferenceInterpreter(model, estimate_arena_upper_bound(model), probe=False,
                                preserve_all_tensors=True)


def diff_layers(device: Device, model_path: Path, sample: Sequence[Array], *,
                sample_index: int = 0) -> LayerDiff:
    """Run ``sample`` on ``device`` (debug runner firmware) and on the host TFLM, and compare
    the outputs of every op of the main subgraph, in execution order."""
    model = load_model(model_path)
    host = _host(model)
    host.run(list(sample))
    device.infer(list(sample))
    main = model.main
    rows: list[LayerRow] = []
    first: int | None = None
    for op in main.operators:
        name = model.opcode(op).name
        for index in op.outputs:
            if index < 0:
                continue
            tensor = main.tensors[index]
            if numpy_dtype_name(tensor.dtype) is None:
                continue
            want = host.tensor(index).reshape(tensor.shape)
            got = read_tensor(device, index)
            if got.shape != want.shape:
                got = got.reshape(want.shape)
            spec = tensor_spec(tensor)
            quantized = spec if want.dtype.kind in "iu" and spec.scale else None
            m = compare_output(0, got[np.newaxis], want[np.newaxis], spec_a=quantized,
                               spec_b=quantized)
            exact = m.exact == 1
            if not exact and first is None:
                first = op.index
            rows.append(LayerRow(op.index, name, index, tensor.name, tuple(want.shape), exact,
                                 m.steps_max, m.max_abs, m.rmse, m.cosine))
    return LayerDiff(sample_index, rows, first)
