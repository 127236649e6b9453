"""A strict, bounds-checked reader of ``.tflite`` flatbuffers.

Only the parts of the TFLite schema tinyrig needs are decoded (model, subgraphs, tensors with
their quantization, operators, operator codes, buffer sizes, metadata names) into frozen
dataclasses. Every offset, vtable and vector is checked against the input before it is read:
any malformed input raises :class:`~tinyrig.model.errors.ModelFormatError` carrying the byte
offset of the problem, never ``struct.error``, ``IndexError`` or ``UnicodeDecodeError``.

Field numbers follow ``tensorflow/lite/schema/schema.fbs`` of the pinned TFLM; the enums come
from the generated :mod:`tinyrig.model._tflm_ops_generated`.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, TypeVar

from tinyrig.model._tflm_ops_generated import BuiltinOperator, TensorType
from tinyrig.model.errors import ModelFileError, ModelFormatError, NotTfliteError

__all__ = [
    "FILE_IDENTIFIER",
    "SCHEMA_VERSION",
    "BuiltinOperator",
    "Model",
    "Operator",
    "OperatorCode",
    "SubGraph",
    "Tensor",
    "TensorType",
    "load_model",
    "parse_model",
    "read_model_bytes",
]

FILE_IDENTIFIER: Final = b"TFL3"
SCHEMA_VERSION: Final = 3
# A flatbuffer is addressed with 32-bit offsets; TFLite models above 2 GiB use another layout.
_MAX_SIZE: Final = 2**31 - 1

T = TypeVar("T")

# numpy dtype names of the schema's tensor types (None: no numpy equivalent)
_NUMPY_DTYPES: Final[dict[TensorType, str | None]] = {
    TensorType.FLOAT32: "float32", TensorType.FLOAT16: "float16", TensorType.INT32: "int32",
    TensorType.UINT8: "uint8", TensorType.INT64: "int64", TensorType.STRING: None,
    TensorType.BOOL: "bool", TensorType.INT16: "int16", TensorType.COMPLEX64: "complex64",
    TensorType.INT8: "int8", TensorType.FLOAT64: "float64", TensorType.COMPLEX128: "complex128",
    TensorType.UINT64: "uint64", TensorType.RESOURCE: None, TensorType.VARIANT: None,
    TensorType.UINT32: "uint32", TensorType.UINT16: "uint16", TensorType.INT4: None,
    TensorType.BFLOAT16: None, TensorType.INT2: None, TensorType.UINT4: None,
    TensorType.FLOAT8_E4M3FN: None, TensorType.FLOAT8_E5M2: None,
}
# bits per element as stored in buffers
_BITS: Final[dict[TensorType, int]] = {
    TensorType.FLOAT32: 32, TensorType.FLOAT16: 16, TensorType.INT32: 32, TensorType.UINT8: 8,
    TensorType.INT64: 64, TensorType.STRING: 8, TensorType.BOOL: 8, TensorType.INT16: 16,
    TensorType.COMPLEX64: 64, TensorType.INT8: 8, TensorType.FLOAT64: 64,
    TensorType.COMPLEX128: 128, TensorType.UINT64: 64, TensorType.RESOURCE: 32,
    TensorType.VARIANT: 32, TensorType.UINT32: 32, TensorType.UINT16: 16, TensorType.INT4: 4,
    TensorType.BFLOAT16: 16, TensorType.INT2: 2, TensorType.UINT4: 4,
    TensorType.FLOAT8_E4M3FN: 8, TensorType.FLOAT8_E5M2: 8,
}


def numpy_dtype_name(dtype: TensorType) -> str | None:
    """The numpy dtype name of a tensor type, or None when numpy has no equivalent."""
    return _NUMPY_DTYPES.get(dtype)


def dtype_bits(dtype: TensorType) -> int:
    """Bits per element of a tensor type as stored in a buffer."""
    return _BITS.get(dtype, 8)


@dataclass(frozen=True)
class Tensor:
    """One tensor of a subgraph."""

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: TensorType
    buffer: int
    scale: tuple[float, ...] = ()
    zero_point: tuple[int, ...] = ()
    quantized_dimension: int = 0
    is_variable: bool = False
    shape_signature: tuple[int, ...] = ()

    @property
    def is_quantized(self) -> bool:
        return len(self.scale) > 0

    @property
    def num_elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= max(d, 0)
        return n

    @property
    def nbytes(self) -> int:
        return (self.num_elements * dtype_bits(self.dtype) + 7) // 8

    def describe(self) -> str:
        """``int8[1,1]``: dtype and shape as users write them."""
        return f"{self.dtype.name.lower()}[{','.join(str(d) for d in self.shape)}]"


@dataclass(frozen=True)
class Operator:
    """One operator of a subgraph; ``inputs`` may hold -1 for omitted optional inputs."""

    index: int
    opcode_index: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    intermediates: tuple[int, ...] = ()


@dataclass(frozen=True)
class OperatorCode:
    """An entry of the model's operator code table."""

    builtin: BuiltinOperator
    custom_code: str | None
    version: int

    @property
    def name(self) -> str:
        """``FULLY_CONNECTED``, or ``CUSTOM(<code>)`` for custom ops."""
        if self.builtin is BuiltinOperator.CUSTOM:
            return f"CUSTOM({self.custom_code or ''})"
        return self.builtin.name


@dataclass(frozen=True)
class SubGraph:
    index: int
    name: str
    tensors: tuple[Tensor, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    operators: tuple[Operator, ...]

    @property
    def input_tensors(self) -> tuple[Tensor, ...]:
        return tuple(self.tensors[i] for i in self.inputs)

    @property
    def output_tensors(self) -> tuple[Tensor, ...]:
        return tuple(self.tensors[i] for i in self.outputs)


@dataclass(frozen=True)
class Model:
    """A parsed ``.tflite`` model. ``data`` keeps the original bytes."""

    version: int
    description: str
    subgraphs: tuple[SubGraph, ...]
    operator_codes: tuple[OperatorCode, ...]
    buffer_sizes: tuple[int, ...]
    metadata_names: tuple[str, ...]
    size: int
    sha256: str
    data: bytes = field(repr=False, compare=False)

    @property
    def main(self) -> SubGraph:
        """Subgraph 0, the one TFLM runs."""
        return self.subgraphs[0]

    def opcode(self, op: Operator) -> OperatorCode:
        return self.operator_codes[op.opcode_index]

    def distinct_ops(self) -> tuple[OperatorCode, ...]:
        """Operator codes used by any operator of any subgraph, in table order, deduplicated
        by (builtin, custom_code) regardless of version."""
        used = {op.opcode_index for sg in self.subgraphs for op in sg.operators}
        seen: set[tuple[BuiltinOperator, str | None]] = set()
        result = []
        for i, code in enumerate(self.operator_codes):
            key = (code.builtin, code.custom_code if code.builtin is BuiltinOperator.CUSTOM
                   else None)
            if i in used and key not in seen:
                seen.add(key)
                result.append(code)
        return tuple(result)


class _Reader:
    """Bounds-checked primitive reads over the whole buffer."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.size = len(data)

    def fail(self, message: str, offset: int | None) -> ModelFormatError:
        return ModelFormatError(f"truncated or corrupt model: {message}", offset=offset,
                                size=self.size)

    def _unpack(self, fmt: str, pos: int, what: str) -> int:
        width = struct.calcsize(fmt)
        if pos < 0 or pos + width > self.size:
            raise self.fail(f"{what} lies past the end", pos)
        value: int = struct.unpack_from(fmt, self.data, pos)[0]
        return value

    def u16(self, pos: int, what: str) -> int:
        return self._unpack("<H", pos, what)

    def i32(self, pos: int, what: str) -> int:
        return self._unpack("<i", pos, what)

    def u32(self, pos: int, what: str) -> int:
        return self._unpack("<I", pos, what)

    def deref(self, pos: int, what: str) -> int:
        """Follow the uoffset stored at ``pos``."""
        target = pos + self.u32(pos, what)
        if target >= self.size:
            raise self.fail(f"{what} points to byte {target}, past the end", pos)
        return target


class _Table:
    """A flatbuffer table: its position and checked vtable."""

    def __init__(self, r: _Reader, pos: int, what: str) -> None:
        self.r = r
        self.pos = pos
        self.what = what
        if pos % 4:
            raise r.fail(f"{what} table is misaligned", pos)
        vtable = pos - r.i32(pos, f"{what} vtable offset")
        if vtable < 0 or vtable % 2 or vtable + 4 > r.size:
            raise r.fail(f"{what} vtable offset points to byte {vtable}, outside the model",
                         pos)
        vt_size = r.u16(vtable, f"{what} vtable")
        self.inline_size = r.u16(vtable + 2, f"{what} vtable")
        if vt_size < 4 or vt_size % 2 or vtable + vt_size > r.size:
            raise r.fail(f"{what} vtable has an invalid size {vt_size}", vtable)
        if self.inline_size < 4 or pos + self.inline_size > r.size:
            raise r.fail(f"{what} table has an invalid size {self.inline_size}", pos)
        self.vtable = vtable
        self.n_fields = (vt_size - 4) // 2

    def field(self, index: int, width: int, name: str) -> int | None:
        """Absolute position of field ``index`` (``width`` bytes), or None when absent."""
        if index >= self.n_fields:
            return None
        rel = self.r.u16(self.vtable + 4 + 2 * index, f"{self.what}.{name} vtable entry")
        if rel == 0:
            return None
        if rel < 4 or rel + width > self.inline_size:
            raise self.r.fail(f"{self.what}.{name} lies outside its table", self.pos)
        return self.pos + rel

    def scalar(self, index: int, fmt: str, default: int, name: str) -> int:
        pos = self.field(index, struct.calcsize(fmt), name)
        if pos is None:
            return default
        return self.r._unpack(fmt, pos, f"{self.what}.{name}")

    def ref(self, index: int, name: str) -> int | None:
        pos = self.field(index, 4, name)
        if pos is None:
            return None
        return self.r.deref(pos, f"{self.what}.{name}")

    def table(self, index: int, name: str) -> _Table | None:
        pos = self.ref(index, name)
        return None if pos is None else _Table(self.r, pos, f"{self.what}.{name}")

    def string(self, index: int, name: str) -> str | None:
        pos = self.ref(index, name)
        return None if pos is None else _string(self.r, pos, f"{self.what}.{name}")

    def vector_len(self, index: int, elem: int, name: str) -> tuple[int, int] | None:
        """(position of the first element, length) of a vector field, checked."""
        pos = self.ref(index, name)
        if pos is None:
            return None
        return _vector(self.r, pos, elem, f"{self.what}.{name}")

    def scalars(self, index: int, fmt: str, name: str) -> tuple[int, ...]:
        elem = struct.calcsize(fmt)
        vec = self.vector_len(index, elem, name)
        if vec is None:
            return ()
        start, n = vec
        return tuple(v[0] for v in struct.iter_unpack(fmt, self.r.data[start:start + n * elem]))

    def floats(self, index: int, name: str) -> tuple[float, ...]:
        vec = self.vector_len(index, 4, name)
        if vec is None:
            return ()
        start, n = vec
        return tuple(float(v[0]) for v in
                     struct.iter_unpack("<f", self.r.data[start:start + n * 4]))

    def tables(self, index: int, name: str, build: Callable[[_Table, int], T]) -> tuple[T, ...]:
        vec = self.vector_len(index, 4, name)
        if vec is None:
            return ()
        start, n = vec
        return tuple(
            build(_Table(self.r, self.r.deref(start + 4 * i, f"{self.what}.{name}[{i}]"),
                         f"{self.what}.{name}[{i}]"), i)
            for i in range(n)
        )


def _vector(r: _Reader, pos: int, elem: int, what: str) -> tuple[int, int]:
    if pos % 4:
        raise r.fail(f"{what} vector is misaligned", pos)
    n = r.u32(pos, f"{what} length")
    start = pos + 4
    if start + n * elem > r.size:
        raise r.fail(f"{what} ({n} elements) runs past the end",
                     pos)
    return start, n


def _string(r: _Reader, pos: int, what: str) -> str:
    start, n = _vector(r, pos, 1, what)
    if start + n >= r.size or r.data[start + n] != 0:
        raise r.fail(f"{what} string is not NUL-terminated", start + n)
    try:
        return r.data[start:start + n].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise r.fail(f"{what} is not valid UTF-8", start + exc.start) from None


def _enum_value(r: _Reader, enum: type[TensorType] | type[BuiltinOperator], value: int,
                what: str, pos: int) -> int:
    try:
        enum(value)
    except ValueError:
        raise r.fail(f"{what} has unknown value {value} (newer schema than the pinned TFLM?)",
                     pos) from None
    return value


def _tensor(t: _Table, index: int) -> Tensor:
    r = t.r
    dtype_raw = t.scalar(1, "<b", 0, "type")
    dtype = TensorType(_enum_value(r, TensorType, dtype_raw, f"{t.what}.type", t.pos))
    scale: tuple[float, ...] = ()
    zero_point: tuple[int, ...] = ()
    qdim = 0
    q = t.table(4, "quantization")
    if q is not None:
        scale = q.floats(2, "scale")
        zero_point = q.scalars(3, "<q", "zero_point")
        qdim = q.scalar(6, "<i", 0, "quantized_dimension")
    name = t.string(3, "name") or ""
    return Tensor(
        index=index,
        name=name,
        shape=t.scalars(0, "<i", "shape"),
        dtype=dtype,
        buffer=t.scalar(2, "<I", 0, "buffer"),
        scale=scale,
        zero_point=zero_point,
        quantized_dimension=qdim,
        is_variable=bool(t.scalar(5, "<B", 0, "is_variable")),
        shape_signature=t.scalars(7, "<i", "shape_signature"),
    )


def _operator(t: _Table, index: int) -> Operator:
    return Operator(
        index=index,
        opcode_index=t.scalar(0, "<I", 0, "opcode_index"),
        inputs=t.scalars(1, "<i", "inputs"),
        outputs=t.scalars(2, "<i", "outputs"),
        intermediates=t.scalars(8, "<i", "intermediates"),
    )


def _subgraph(t: _Table, index: int) -> SubGraph:
    return SubGraph(
        index=index,
        name=t.string(4, "name") or "",
        tensors=t.tables(0, "tensors", _tensor),
        inputs=t.scalars(1, "<i", "inputs"),
        outputs=t.scalars(2, "<i", "outputs"),
        operators=t.tables(3, "operators", _operator),
    )


def _operator_code(t: _Table, index: int) -> OperatorCode:
    r = t.r
    deprecated = t.scalar(0, "<b", 0, "deprecated_builtin_code")
    builtin = t.scalar(3, "<i", 0, "builtin_code")
    # schema.fbs: the real code is the larger of the two (old files only set the deprecated one)
    code = max(deprecated, builtin)
    _enum_value(r, BuiltinOperator, code, f"{t.what}.builtin_code", t.pos)
    return OperatorCode(
        builtin=BuiltinOperator(code),
        custom_code=t.string(1, "custom_code"),
        version=t.scalar(2, "<i", 1, "version"),
    )


def _buffer_size(t: _Table, index: int) -> int:
    vec = t.vector_len(0, 1, "data")
    if vec is not None:
        return vec[1]
    # large models keep buffer data after the flatbuffer (offset/size fields)
    return t.scalar(2, "<Q", 0, "size")


def _metadata_name(t: _Table, index: int) -> str:
    return t.string(0, "name") or ""


def _check_indices(r: _Reader, model_pos: int, sg: SubGraph, n_codes: int,
                   n_buffers: int) -> None:
    n = len(sg.tensors)
    where = f"subgraph {sg.index}"
    for i in (*sg.inputs, *sg.outputs):
        if not 0 <= i < n:
            raise r.fail(f"{where} input/output tensor index {i} out of range ({n} tensors)",
                         model_pos)
    for op in sg.operators:
        if op.opcode_index >= n_codes:
            raise r.fail(f"{where} operator {op.index} uses opcode {op.opcode_index} "
                         f"of {n_codes}", model_pos)
        for i in (*op.inputs, *op.outputs, *op.intermediates):
            if not -1 <= i < n:
                raise r.fail(f"{where} operator {op.index} tensor index {i} out of range "
                             f"({n} tensors)", model_pos)
    for t in sg.tensors:
        if t.buffer >= max(n_buffers, 1):
            raise r.fail(f"{where} tensor {t.index} '{t.name}' uses buffer {t.buffer} "
                         f"of {n_buffers}", model_pos)
        if any(d < -1 for d in t.shape):
            raise r.fail(f"{where} tensor {t.index} '{t.name}' has a negative dimension "
                         f"{list(t.shape)}", model_pos)
        if t.zero_point and len(t.zero_point) != len(t.scale):
            raise r.fail(f"{where} tensor {t.index} '{t.name}' has {len(t.scale)} scales but "
                         f"{len(t.zero_point)} zero points", model_pos)


def parse_model(data: bytes) -> Model:
    """Parse the bytes of a ``.tflite`` model. Raises ModelFormatError (NotTfliteError when
    the bytes are not a TFLite flatbuffer at all)."""
    data = bytes(data)
    size = len(data)
    if size < 8:
        raise NotTfliteError(f"not a TFLite model: only {size} bytes", offset=0, size=size)
    if data[4:8] != FILE_IDENTIFIER:
        raise NotTfliteError(
            f"not a TFLite model: file identifier {data[4:8]!r}, expected {FILE_IDENTIFIER!r}",
            offset=4, size=size,
            hint="give a .tflite flatbuffer (convert Keras/SavedModel models first)",
        )
    if size > _MAX_SIZE:
        raise ModelFormatError(f"model of {size} bytes is too large for a flatbuffer")
    r = _Reader(data)
    model = _Table(r, r.deref(0, "root table offset"), "Model")
    version = model.scalar(0, "<I", 0, "version")
    operator_codes = model.tables(1, "operator_codes", _operator_code)
    subgraphs = model.tables(2, "subgraphs", _subgraph)
    description = model.string(3, "description") or ""
    buffer_sizes = model.tables(4, "buffers", _buffer_size)
    metadata_names = model.tables(6, "metadata", _metadata_name)
    if not subgraphs:
        raise r.fail("model has no subgraphs", model.pos)
    for sg in subgraphs:
        _check_indices(r, model.pos, sg, len(operator_codes), len(buffer_sizes))
    return Model(
        version=version,
        description=description,
        subgraphs=subgraphs,
        operator_codes=operator_codes,
        buffer_sizes=buffer_sizes,
        metadata_names=metadata_names,
        size=size,
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
    )


def read_model_bytes(source: str | os.PathLike[str] | bytes | bytearray | memoryview) -> bytes:
    """The bytes of a model given as a path or as bytes; ModelFileError when unreadable."""
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    path = Path(source)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such file", path=str(path)) from None
    except IsADirectoryError:
        raise ModelFileError(f"{path}: is a directory, not a .tflite file",
                             path=str(path)) from None
    except PermissionError:
        raise ModelFileError(f"{path}: permission denied", path=str(path)) from None
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read ({exc.strerror or exc})",
                             path=str(path)) from None


def load_model(source: str | os.PathLike[str] | bytes | bytearray | memoryview | Model) -> Model:
    """Read and parse a ``.tflite`` model from a path or bytes (a Model is returned as is)."""
    if isinstance(source, Model):
        return source
    data = read_model_bytes(source)
    try:
        return parse_model(data)
    except ModelFormatError as exc:
        if not isinstance(source, bytes | bytearray | memoryview):
            # name the file in the one-line message
            exc.message = f"{os.fspath(source)}: {exc.message}"
            exc.args = (exc.message,)
        raise
