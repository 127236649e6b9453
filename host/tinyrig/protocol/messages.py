"""Message ids, error codes and typed payloads of the wire protocol (docs/protocol.md §3-4).

The id, error, feature, time-unit and kernel-set tables mirror the firmware's headers
(``firmware/src/protocol/messages.h``, ``status.h``); ``tests/protocol/test_tables.py`` fails
when they drift.

Each payload is a frozen dataclass with ``encode() -> bytes`` and ``decode(bytes) -> Self``.
Decoding is strict: a short, long or inconsistent payload raises :class:`PayloadError`.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from tinyrig.protocol.errors import PayloadError


class MessageType(enum.IntEnum):
    HELLO = 0x01
    INFO = 0x02
    PING = 0x03
    LINK_TEST = 0x04
    SET_INPUT = 0x10
    INVOKE = 0x11
    GET_OUTPUT = 0x12
    INFER = 0x13
    PROFILE = 0x14
    STATS = 0x15
    RESET = 0x16
    READ_TENSOR = 0x17
    STATE = 0x18
    MODEL_BEGIN = 0x20
    MODEL_CHUNK = 0x21
    MODEL_COMMIT = 0x22
    ARENA_LIMIT = 0x23
    INVOKE_DELAY = 0x24
    BOOT = 0x40
    LOG = 0x41
    ERROR = 0x7F


REPLY_FLAG = 0x80


def reply_type(request: MessageType) -> int:
    return int(request) | REPLY_FLAG


class ErrorCode(enum.IntEnum):
    """The device's error codes; the same table is ``firmware/src/protocol/status.h``."""

    OK = 0
    BAD_VERSION = 1
    UNKNOWN_MESSAGE = 2
    BAD_PAYLOAD = 3
    FRAME_TOO_LARGE = 4
    NO_SESSION = 5
    NO_MODEL = 6
    MODEL_INVALID = 7
    ARENA_TOO_SMALL = 8
    INVOKE_FAILED = 9
    BAD_TENSOR = 10
    OUT_OF_RANGE = 11
    MODEL_TOO_LARGE = 12
    MODEL_CRC_MISMATCH = 13
    BAD_SEQUENCE = 14
    UNSUPPORTED = 15


class BootReason(enum.IntEnum):
    POWER_ON = 0
    SOFTWARE_RESET = 1
    WATCHDOG = 2


class Feature(enum.IntFlag):
    MODEL_UPLOAD = 1
    PROFILE = 2
    TEST_HOOKS = 4  # ARENA_LIMIT and INVOKE_DELAY (emulated runner firmware)


class TimeUnit(enum.IntEnum):
    """What a device's ``ticks`` count (INFO ``tick_unit``). Never call instructions cycles."""

    INSTRUCTIONS = 0
    CYCLES = 1
    TICKS = 2
    NS = 3

    @property
    def label(self) -> str:
        """Plural noun for tables and JSON ("instructions", "cycles", "ticks", "ns")."""
        return self.name.lower()


class KernelSet(enum.IntEnum):
    """The TFLM kernels compiled into a device's image (INFO ``kernels``)."""

    REFERENCE = 0
    CMSIS_NN = 1

    @property
    def label(self) -> str:
        """The name ``tinyrig build --kernels`` takes ("reference", "cmsis-nn")."""
        return self.name.lower().replace("_", "-")


class TfLiteType(enum.IntEnum):
    """TfLiteType values as the device reports them: every code of the pinned TFLM
    (tflite_types.h), named as the .tflite schema names the type. The firmware accepts the
    types of ``firmware/src/runner/tensor_types.h`` only; tests/firmware/test_tensor_types.py
    ties the three tables together."""

    NOTYPE = 0
    FLOAT32 = 1
    INT32 = 2
    UINT8 = 3
    INT64 = 4
    STRING = 5
    BOOL = 6
    INT16 = 7
    COMPLEX64 = 8
    INT8 = 9
    FLOAT16 = 10
    FLOAT64 = 11
    COMPLEX128 = 12
    UINT64 = 13
    RESOURCE = 14
    VARIANT = 15
    UINT32 = 16
    UINT16 = 17
    INT4 = 18
    BFLOAT16 = 19
    INT2 = 20
    UINT4 = 21
    FLOAT8_E4M3FN = 22
    FLOAT8_E5M2 = 23

    @property
    def numpy(self) -> np.dtype[np.generic]:
        try:
            return np.dtype(_NUMPY_DTYPES[self])
        except KeyError:
            raise PayloadError("TENSOR", f"dtype {self.name} has no numpy equivalent") from None


_NUMPY_DTYPES: dict[TfLiteType, str] = {
    TfLiteType.FLOAT32: "<f4",
    TfLiteType.INT32: "<i4",
    TfLiteType.UINT8: "u1",
    TfLiteType.INT64: "<i8",
    TfLiteType.BOOL: "?",
    TfLiteType.INT16: "<i2",
    TfLiteType.INT8: "i1",
    TfLiteType.FLOAT16: "<f2",
    TfLiteType.FLOAT64: "<f8",
    TfLiteType.COMPLEX64: "<c8",
    TfLiteType.COMPLEX128: "<c16",
    TfLiteType.UINT16: "<u2",
    TfLiteType.UINT32: "<u4",
    TfLiteType.UINT64: "<u8",
}


class _Reader:
    """Bounds-checked little-endian reader over a payload."""

    def __init__(self, data: bytes, what: str) -> None:
        self.data = data
        self.offset = 0
        self.what = what

    def take(self, fmt: str) -> tuple[int | float, ...]:
        layout = struct.Struct("<" + fmt)
        if self.offset + layout.size > len(self.data):
            raise PayloadError(self.what, f"needs {layout.size} more bytes at offset "
                               f"{self.offset}, has {len(self.data) - self.offset}")
        values = layout.unpack_from(self.data, self.offset)
        self.offset += layout.size
        return values

    def number(self, fmt: str) -> int:
        (value,) = self.take(fmt)
        assert isinstance(value, int)
        return value

    def f32(self) -> float:
        (value,) = self.take("f")
        return float(value)

    def raw(self, count: int) -> bytes:
        if self.offset + count > len(self.data):
            raise PayloadError(self.what, f"needs {count} bytes at offset {self.offset}, "
                               f"has {len(self.data) - self.offset}")
        chunk = self.data[self.offset : self.offset + count]
        self.offset += count
        return chunk

    def str8(self) -> str:
        return self.raw(self.number("B")).decode("utf-8", errors="replace")

    def rest(self) -> bytes:
        chunk = self.data[self.offset :]
        self.offset = len(self.data)
        return chunk

    def done(self) -> None:
        if self.offset != len(self.data):
            raise PayloadError(self.what, f"{len(self.data) - self.offset} unexpected "
                               "trailing bytes")


def _str8(text: str) -> bytes:
    raw = text.encode("utf-8")[:255]
    return bytes([len(raw)]) + raw


@dataclass(frozen=True)
class TensorSpec:
    dtype: TfLiteType
    shape: tuple[int, ...]
    scale: float
    zero_point: int
    nbytes: int

    def encode(self) -> bytes:
        return (struct.pack("<BB", self.dtype, len(self.shape))
                + struct.pack(f"<{len(self.shape)}i", *self.shape)
                + struct.pack("<fiI", self.scale, self.zero_point, self.nbytes))

    @classmethod
    def read(cls, reader: _Reader) -> TensorSpec:
        code = reader.number("B")
        try:
            dtype = TfLiteType(code)
        except ValueError:
            raise PayloadError(reader.what, f"unknown tensor dtype {code}") from None
        rank = reader.number("B")
        shape = tuple(reader.number("i") for _ in range(rank))
        scale = reader.f32()
        zero_point = reader.number("i")
        nbytes = reader.number("I")
        return cls(dtype, shape, scale, zero_point, nbytes)

    def describe(self) -> str:
        return f"{self.dtype.name.lower()}[{','.join(map(str, self.shape))}]"


@dataclass(frozen=True)
class DeviceInfo:
    """What a device says about itself and its model (the INFO blob)."""

    protocol_version: int
    features: Feature
    max_payload: int
    cpu_hz: int
    tick_hz: int
    tick_unit: TimeUnit
    arena_size: int
    arena_used: int
    model_size: int
    model_crc32: int
    model_id: bytes
    model_status: ErrorCode
    firmware: str
    board: str
    tflm: str
    kernels: KernelSet
    inputs: tuple[TensorSpec, ...] = field(default_factory=tuple)
    outputs: tuple[TensorSpec, ...] = field(default_factory=tuple)

    _FIXED: ClassVar[struct.Struct] = struct.Struct("<BBHIIBIIII8sH")

    def encode(self) -> bytes:
        if len(self.model_id) != 8:
            raise ValueError("model_id must be 8 bytes")
        out = self._FIXED.pack(self.protocol_version, self.features, self.max_payload,
                               self.cpu_hz, self.tick_hz, self.tick_unit, self.arena_size,
                               self.arena_used,
                               self.model_size, self.model_crc32, self.model_id,
                               self.model_status)
        out += _str8(self.firmware) + _str8(self.board) + _str8(self.tflm)
        out += bytes([self.kernels])
        for specs in (self.inputs, self.outputs):
            out += bytes([len(specs)]) + b"".join(spec.encode() for spec in specs)
        return out

    @classmethod
    def read(cls, reader: _Reader) -> DeviceInfo:
        fixed = reader.raw(cls._FIXED.size)
        (version, features, max_payload, cpu_hz, tick_hz, unit, arena_size, arena_used,
         model_size, model_crc, model_id, status) = cls._FIXED.unpack(fixed)
        try:
            model_status = ErrorCode(status)
        except ValueError:
            raise PayloadError(reader.what, f"unknown model status {status}") from None
        try:
            tick_unit = TimeUnit(unit)
        except ValueError:
            raise PayloadError(reader.what, f"unknown tick unit {unit}") from None
        firmware, board, tflm = reader.str8(), reader.str8(), reader.str8()
        code = reader.number("B")
        try:
            kernels = KernelSet(code)
        except ValueError:
            raise PayloadError(reader.what, f"unknown kernel set {code}") from None
        inputs = tuple(TensorSpec.read(reader) for _ in range(reader.number("B")))
        outputs = tuple(TensorSpec.read(reader) for _ in range(reader.number("B")))
        return cls(version, Feature(features), max_payload, cpu_hz, tick_hz, tick_unit,
                   arena_size,
                   arena_used, model_size, model_crc, model_id, model_status, firmware, board,
                   tflm, kernels, inputs, outputs)

    @classmethod
    def decode(cls, payload: bytes) -> DeviceInfo:
        reader = _Reader(payload, "INFO")
        info = cls.read(reader)
        reader.done()
        return info


@dataclass(frozen=True)
class Hello:
    nonce: int

    def encode(self) -> bytes:
        return struct.pack("<I", self.nonce)


@dataclass(frozen=True)
class HelloReply:
    nonce: int
    info: DeviceInfo

    def encode(self) -> bytes:
        return struct.pack("<I", self.nonce) + self.info.encode()

    @classmethod
    def decode(cls, payload: bytes) -> HelloReply:
        reader = _Reader(payload, "HELLO reply")
        nonce = reader.number("I")
        info = DeviceInfo.read(reader)
        reader.done()
        return cls(nonce, info)


@dataclass(frozen=True)
class SetInput:
    tensor: int
    offset: int
    data: bytes

    def encode(self) -> bytes:
        return struct.pack("<BI", self.tensor, self.offset) + self.data


@dataclass(frozen=True)
class GetOutput:
    tensor: int
    offset: int
    length: int

    def encode(self) -> bytes:
        return struct.pack("<BII", self.tensor, self.offset, self.length)


@dataclass(frozen=True)
class InvokeTiming:
    """How long the last invoke took on the device: ``ticks`` in INFO's ``tick_unit`` at
    ``tick_hz``, and the same converted to microseconds (64 bits each: never wraps)."""

    ticks: int
    micros: int

    _LAYOUT: ClassVar[struct.Struct] = struct.Struct("<QQ")
    SIZE: ClassVar[int] = 16

    def encode(self) -> bytes:
        return self._LAYOUT.pack(self.ticks, self.micros)

    @classmethod
    def decode(cls, payload: bytes) -> InvokeTiming:
        if len(payload) != cls._LAYOUT.size:
            raise PayloadError("INVOKE reply",
                               f"expected {cls.SIZE} bytes, got {len(payload)}")
        ticks, micros = cls._LAYOUT.unpack(payload)
        return cls(ticks, micros)


@dataclass(frozen=True)
class InferReply:
    timing: InvokeTiming
    outputs: bytes

    @classmethod
    def decode(cls, payload: bytes) -> InferReply:
        size = InvokeTiming.SIZE
        if len(payload) < size:
            raise PayloadError("INFER reply",
                               f"expected at least {size} bytes, got {len(payload)}")
        return cls(InvokeTiming.decode(payload[:size]), payload[size:])


@dataclass(frozen=True)
class ProfileEntry:
    name: str
    ticks: int


@dataclass(frozen=True)
class ProfileReply:
    total: int
    entries: tuple[ProfileEntry, ...]

    def encode(self) -> bytes:
        out = struct.pack("<HH", self.total, len(self.entries))
        for entry in self.entries:
            out += struct.pack("<I", entry.ticks) + _str8(entry.name)
        return out

    @classmethod
    def decode(cls, payload: bytes) -> ProfileReply:
        reader = _Reader(payload, "PROFILE reply")
        total = reader.number("H")
        count = reader.number("H")
        entries = []
        for _ in range(count):
            ticks = reader.number("I")
            entries.append(ProfileEntry(reader.str8(), ticks))
        reader.done()
        return cls(total, tuple(entries))


@dataclass(frozen=True)
class DeviceStats:
    uptime_ms: int
    frames_rx: int
    frames_tx: int
    crc_errors: int
    framing_errors: int
    overflow_errors: int
    invokes: int
    replays: int  # duplicated/retried requests answered from the device's reply cache
    last_invoke_ticks: int

    _LAYOUT: ClassVar[struct.Struct] = struct.Struct("<Q7IQ")
    SIZE: ClassVar[int] = 44

    def encode(self) -> bytes:
        return self._LAYOUT.pack(self.uptime_ms, self.frames_rx, self.frames_tx,
                                 self.crc_errors, self.framing_errors, self.overflow_errors,
                                 self.invokes, self.replays, self.last_invoke_ticks)

    @classmethod
    def decode(cls, payload: bytes) -> DeviceStats:
        if len(payload) != cls._LAYOUT.size:
            raise PayloadError("STATS reply",
                               f"expected {cls.SIZE} bytes, got {len(payload)}")
        return cls(*cls._LAYOUT.unpack(payload))


@dataclass(frozen=True)
class ModelBegin:
    size: int
    crc32: int
    model_id: bytes

    def encode(self) -> bytes:
        return struct.pack("<II8s", self.size, self.crc32, self.model_id)


@dataclass(frozen=True)
class ModelChunk:
    offset: int
    data: bytes

    def encode(self) -> bytes:
        return struct.pack("<I", self.offset) + self.data


@dataclass(frozen=True)
class ErrorReply:
    """A typed error answer from the device."""

    code: ErrorCode | int
    request_type: int
    arg: int
    detail: str

    _FIXED: ClassVar[struct.Struct] = struct.Struct("<HBI")

    def encode(self) -> bytes:
        return self._FIXED.pack(self.code, self.request_type, self.arg) + _str8(self.detail)

    @classmethod
    def decode(cls, payload: bytes) -> ErrorReply:
        reader = _Reader(payload, "ERROR")
        code, request_type, arg = cls._FIXED.unpack(reader.raw(cls._FIXED.size))
        detail = reader.str8()
        reader.done()
        try:
            typed: ErrorCode | int = ErrorCode(code)
        except ValueError:
            typed = code
        return cls(typed, request_type, arg, detail)


@dataclass(frozen=True)
class Boot:
    reason: BootReason | int

    @classmethod
    def decode(cls, payload: bytes) -> Boot:
        if len(payload) != 1:
            raise PayloadError("BOOT", f"expected 1 byte, got {len(payload)}")
        try:
            return cls(BootReason(payload[0]))
        except ValueError:
            return cls(payload[0])


@dataclass(frozen=True)
class Log:
    level: int
    text: str

    @classmethod
    def decode(cls, payload: bytes) -> Log:
        if not payload:
            raise PayloadError("LOG", "empty payload")
        return cls(payload[0], payload[1:].decode("utf-8", errors="replace"))
