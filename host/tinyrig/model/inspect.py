"""What is in a model: I/O, ops, tensors, sizes, parameters and a MAC estimate.

``inspect_model()`` only reads the flatbuffer (no interpreter, no TensorFlow).
MACs are counted for the ops whose cost is dominated by multiply-accumulates (CONV_2D,
DEPTHWISE_CONV_2D, TRANSPOSE_CONV, FULLY_CONNECTED, BATCH_MATMUL, UNIDIRECTIONAL_SEQUENCE_LSTM,
SVDF); other ops report ``None`` and count 0 in the total.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from tinyrig.model.flatbuffer import (
    SCHEMA_VERSION,
    BuiltinOperator,
    Model,
    Operator,
    SubGraph,
    Tensor,
    load_model,
)
from tinyrig.model.ops import resolver_method

__all__ = ["ModelReport", "OpInfo", "OpUse", "TensorInfo", "inspect_model", "op_macs"]


@dataclass(frozen=True)
class TensorInfo:
    index: int
    name: str
    dtype: str  # lower-case schema name: int8, float32, ...
    shape: tuple[int, ...]
    bytes: int
    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    quantized_dimension: int
    constant: bool  # has data in the model (weights, biases, constants)
    variable: bool


@dataclass(frozen=True)
class OpInfo:
    index: int
    op: str
    version: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    macs: int | None


@dataclass(frozen=True)
class OpUse:
    """One distinct op of the model (the op histogram)."""

    op: str
    count: int
    versions: tuple[int, ...]
    macs: int
    supported: bool  # by the pinned TFLM
    resolver_method: str | None


@dataclass(frozen=True)
class SubGraphInfo:
    index: int
    name: str
    tensors: int
    operators: int


@dataclass(frozen=True)
class ModelReport:
    path: str | None
    size_bytes: int
    sha256: str
    schema_version: int
    schema_supported: bool
    description: str
    subgraphs: tuple[SubGraphInfo, ...]
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    ops: tuple[OpUse, ...]  # histogram, in first-use order
    operators: tuple[OpInfo, ...]  # subgraph 0, execution order
    tensors: tuple[TensorInfo, ...]  # subgraph 0
    parameter_count: int  # elements of constant tensors
    parameter_bytes: int
    activation_bytes: int  # sum of non-constant tensors (no planning)
    total_macs: int
    weight_dtypes: dict[str, int]  # dtype -> number of constant tensors
    metadata: tuple[str, ...]


def _is_constant(model: Model, t: Tensor) -> bool:
    return 0 < t.buffer < len(model.buffer_sizes) and model.buffer_sizes[t.buffer] > 0


def _tensor_info(model: Model, t: Tensor) -> TensorInfo:
    return TensorInfo(index=t.index, name=t.name, dtype=t.dtype.name.lower(), shape=t.shape,
                      bytes=t.nbytes, scale=t.scale, zero_point=t.zero_point,
                      quantized_dimension=t.quantized_dimension,
                      constant=_is_constant(model, t), variable=t.is_variable)


def _shape(sg: SubGraph, op: Operator, pos: int, *,
           output: bool = False) -> tuple[int, ...] | None:
    ids = op.outputs if output else op.inputs
    if pos >= len(ids) or ids[pos] < 0:
        return None
    shape = sg.tensors[ids[pos]].shape
    return shape if shape and all(d > 0 for d in shape) else None


def op_macs(model: Model, sg: SubGraph, op: Operator) -> int | None:
    """Multiply-accumulates of one operator (None for ops not counted)."""
    kind = model.opcode(op).builtin
    out = _shape(sg, op, 0, output=True)
    inp = _shape(sg, op, 0)
    ops = BuiltinOperator
    if kind is ops.CONV_2D:  # filter [Cout, kh, kw, Cin/groups]
        w = _shape(sg, op, 1)
        if out is None or w is None or len(w) != 4:
            return None
        return math.prod(out) * w[1] * w[2] * w[3]
    if kind is ops.DEPTHWISE_CONV_2D:  # filter [1, kh, kw, Cout]
        w = _shape(sg, op, 1)
        if out is None or w is None or len(w) != 4:
            return None
        return math.prod(out) * w[1] * w[2]
    if kind is ops.TRANSPOSE_CONV:  # inputs: output_shape, filter [Cout, kh, kw, Cin], input
        w = _shape(sg, op, 1)
        x = _shape(sg, op, 2)
        if w is None or x is None or len(w) != 4:
            return None
        return math.prod(x) * w[0] * w[1] * w[2]
    if kind is ops.FULLY_CONNECTED:  # weights [units, depth]
        w = _shape(sg, op, 1)
        if out is None or w is None or len(w) != 2:
            return None
        return math.prod(out) * w[1]
    if kind is ops.BATCH_MATMUL:
        if out is None or inp is None:
            return None
        return math.prod(out) * inp[-1]
    if kind is ops.UNIDIRECTIONAL_SEQUENCE_LSTM:
        # input [B, T, In]; input weights [cells, In] (1-4); recurrent [cells, out] (5-8);
        # optional projection [out, cells] (16)
        w_in = _shape(sg, op, 2)  # input-to-forget weights are always present
        w_rec = _shape(sg, op, 6)
        if inp is None or w_in is None or w_rec is None:
            return None
        cells, n_in = w_in
        n_out = w_rec[1]
        per_step = 4 * cells * (n_in + n_out)
        proj = _shape(sg, op, 16)
        if proj is not None:
            per_step += proj[0] * proj[1]
        return math.prod(inp[:-1]) * per_step
    if kind is ops.SVDF:  # feature weights [filters, In], time weights [filters, memory]
        wf = _shape(sg, op, 1)
        wt = _shape(sg, op, 2)
        if inp is None or wf is None or wt is None:
            return None
        return inp[0] * wf[0] * (wf[1] + wt[1])
    return None


def inspect_model(model: Model | bytes | str | os.PathLike[str]) -> ModelReport:
    """Describe ``model`` (a path, bytes or a parsed Model)."""
    path = None if isinstance(model, Model | bytes | bytearray) else str(Path(model))
    m = load_model(model)
    sg = m.main
    operators = []
    hist: dict[str, list[int]] = {}
    versions: dict[str, set[int]] = {}
    macs_by_op: dict[str, int] = {}
    first_code: dict[str, int] = {}
    for op in sg.operators:
        code = m.opcode(op)
        macs = op_macs(m, sg, op)
        operators.append(OpInfo(index=op.index, op=code.name, version=code.version,
                                inputs=op.inputs, outputs=op.outputs, macs=macs))
        hist.setdefault(code.name, []).append(op.index)
        versions.setdefault(code.name, set()).add(code.version)
        macs_by_op[code.name] = macs_by_op.get(code.name, 0) + (macs or 0)
        first_code.setdefault(code.name, op.opcode_index)
    # ops of other subgraphs (control flow) still count for the histogram
    for other in m.subgraphs[1:]:
        for op in other.operators:
            code = m.opcode(op)
            hist.setdefault(code.name, [])
            versions.setdefault(code.name, set()).add(code.version)
            first_code.setdefault(code.name, op.opcode_index)
            macs_by_op.setdefault(code.name, 0)
    ops = []
    for name, indices in hist.items():
        code = m.operator_codes[first_code[name]]
        method = resolver_method(code)
        ops.append(OpUse(op=name, count=len(indices), versions=tuple(sorted(versions[name])),
                         macs=macs_by_op[name], supported=method is not None,
                         resolver_method=method))
    tensors = tuple(_tensor_info(m, t) for t in sg.tensors)
    constants = [t for sg_ in m.subgraphs for t in sg_.tensors if _is_constant(m, t)]
    weight_dtypes: dict[str, int] = {}
    for t in constants:
        weight_dtypes[t.dtype.name.lower()] = weight_dtypes.get(t.dtype.name.lower(), 0) + 1
    return ModelReport(
        path=path,
        size_bytes=m.size,
        sha256=m.sha256,
        schema_version=m.version,
        schema_supported=m.version == SCHEMA_VERSION,
        description=m.description,
        subgraphs=tuple(SubGraphInfo(index=s.index, name=s.name, tensors=len(s.tensors),
                                     operators=len(s.operators)) for s in m.subgraphs),
        inputs=tuple(tensors[i] for i in sg.inputs),
        outputs=tuple(tensors[i] for i in sg.outputs),
        ops=tuple(ops),
        operators=tuple(operators),
        tensors=tensors,
        parameter_count=sum(t.num_elements for t in constants),
        parameter_bytes=sum(t.nbytes for t in constants),
        activation_bytes=sum(t.bytes for t in tensors if not t.constant),
        total_macs=sum(o.macs or 0 for o in operators),
        weight_dtypes=weight_dtypes,
        metadata=m.metadata_names,
    )
