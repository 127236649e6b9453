"""In-place edits of .tflite flatbuffers for negative tests (a bad index, a huge tensor).

Walks the flatbuffer with ``flatbuffers.table.Table`` (field slots from the TFLite schema) and
overwrites int32 scalars inside vectors: the result has the same layout and is still a
well-formed flatbuffer, so only the device's semantic checks (or TFLM) can reject it.
"""

from __future__ import annotations

import struct
from typing import Final

from flatbuffers import encode, number_types, packer
from flatbuffers.table import Table

# Field slots of the TFLite schema (tensorflow/lite/schema/schema.fbs).
_MODEL_SUBGRAPHS: Final = 2
_MODEL_BUFFERS: Final = 4
_SUBGRAPH_TENSORS: Final = 0
_SUBGRAPH_OPERATORS: Final = 3
_TENSOR_SHAPE: Final = 0
_TENSOR_BUFFER: Final = 2
_OPERATOR_INPUTS: Final = 1
_BUFFER_DATA: Final = 0


def _root(buf: bytearray) -> Table:
    return Table(buf, encode.Get(packer.uoffset, buf, 0))


def _vector(table: Table, field: int) -> tuple[int, int]:
    """(position of element 0, length) of a vector field; (0, 0) when absent."""
    offset = table.Offset(4 + 2 * field)
    if offset == 0:
        return 0, 0
    return table.Vector(offset), table.VectorLen(offset)


def _tables(table: Table, field: int) -> list[Table]:
    start, length = _vector(table, field)
    return [Table(table.Bytes, table.Indirect(start + 4 * i)) for i in range(length)]


def _scalar_u32(table: Table, field: int) -> int:
    offset = table.Offset(4 + 2 * field)
    return 0 if offset == 0 else int(table.Get(number_types.Uint32Flags, table.Pos + offset))


def set_operator_input(model: bytes, op_index: int, input_index: int, tensor: int) -> bytes:
    """The model with operator ``op_index`` of subgraph 0 reading tensor ``tensor`` as its
    input ``input_index``."""
    buf = bytearray(model)
    subgraph = _tables(_root(buf), _MODEL_SUBGRAPHS)[0]
    op = _tables(subgraph, _SUBGRAPH_OPERATORS)[op_index]
    start, length = _vector(op, _OPERATOR_INPUTS)
    assert input_index < length
    struct.pack_into("<i", buf, start + 4 * input_index, tensor)
    return bytes(buf)


def scale_activations(model: bytes, leading_dim: int) -> bytes:
    """The model with dimension 0 of every non-constant tensor of subgraph 0 (those whose
    shape starts with 1) set to ``leading_dim``: same graph, arena needs grow about
    ``leading_dim`` times."""
    buf = bytearray(model)
    root = _root(buf)
    buffers = _tables(root, _MODEL_BUFFERS)
    subgraph = _tables(root, _MODEL_SUBGRAPHS)[0]
    for tensor in _tables(subgraph, _SUBGRAPH_TENSORS):
        _, data_length = _vector(buffers[_scalar_u32(tensor, _TENSOR_BUFFER)], _BUFFER_DATA)
        start, rank = _vector(tensor, _TENSOR_SHAPE)
        if data_length == 0 and rank >= 1 and struct.unpack_from("<i", buf, start)[0] == 1:
            struct.pack_into("<i", buf, start, leading_dim)
    return bytes(buf)


_MODEL_OPERATOR_CODES: Final = 1
_OPCODE_DEPRECATED_BUILTIN: Final = 0  # int8
_OPCODE_BUILTIN: Final = 3  # int32 (TFLM reads the larger of the two)


def set_builtin_code(model: bytes, opcode_index: int, builtin_code: int) -> bytes:
    """The model with operator code ``opcode_index`` naming builtin op ``builtin_code`` (< 127)
    instead: every operator using it now asks the op resolver for that op."""
    assert 0 <= builtin_code < 127
    buf = bytearray(model)
    code = _tables(_root(buf), _MODEL_OPERATOR_CODES)[opcode_index]
    written = 0
    for field, fmt in ((_OPCODE_DEPRECATED_BUILTIN, "<b"), (_OPCODE_BUILTIN, "<i")):
        offset = code.Offset(4 + 2 * field)
        if offset:
            struct.pack_into(fmt, buf, code.Pos + offset, builtin_code)
            written += 1
    assert written, "the operator code stores no builtin code to overwrite"
    return bytes(buf)
