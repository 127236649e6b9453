"""Frames: header, payload and CRC-32, COBS-encoded and delimited by 0x00 (docs/protocol.md §1).

``encode_frame`` turns a :class:`Frame` into wire bytes. :class:`FrameDecoder` is fed whatever
bytes arrive, in any split, and returns complete frames plus the errors of frames it dropped; it
never raises on bad input and resynchronises at the next delimiter. Neither does any I/O.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Final

from tinyrig.protocol.cobs import cobs_decode, cobs_encode, cobs_max_encoded_size
from tinyrig.protocol.errors import (
    CobsError,
    CrcMismatchError,
    FrameError,
    LengthMismatchError,
    OversizedFrameError,
    ShortFrameError,
)

PROTOCOL_VERSION: Final = 3
DELIMITER: Final = b"\x00"
HEADER = struct.Struct("<BBHH")  # version, type, seq, payload length
CRC = struct.Struct("<I")
OVERHEAD: Final = HEADER.size + CRC.size
# Every device accepts this much payload before it has advertised its own max_payload.
BASELINE_MAX_PAYLOAD: Final = 256
MAX_PAYLOAD_LIMIT: Final = 0xFFFF


def crc32(data: bytes) -> int:
    """CRC-32/ISO-HDLC, the zlib CRC (poly 0x04C11DB7 reflected, init/xorout 0xFFFFFFFF)."""
    return zlib.crc32(data) & 0xFFFFFFFF


@dataclass(frozen=True)
class Frame:
    """One decoded frame. ``type`` is a raw byte; see :class:`~tinyrig.protocol.MessageType`."""

    type: int
    seq: int
    payload: bytes = b""
    version: int = PROTOCOL_VERSION

    def pack(self) -> bytes:
        """The frame before COBS: header, payload, CRC."""
        if len(self.payload) > MAX_PAYLOAD_LIMIT:
            raise ValueError(f"payload of {len(self.payload)} bytes exceeds {MAX_PAYLOAD_LIMIT}")
        body = HEADER.pack(self.version, self.type, self.seq, len(self.payload)) + self.payload
        return body + CRC.pack(crc32(body))


def encode_frame(frame: Frame) -> bytes:
    """Wire bytes of ``frame``: COBS(header + payload + crc) followed by the 0x00 delimiter."""
    return cobs_encode(frame.pack()) + DELIMITER


def wire_size(payload_length: int) -> int:
    """Upper bound of the wire bytes for a frame with ``payload_length`` payload bytes."""
    return cobs_max_encoded_size(payload_length + OVERHEAD) + 1


def parse_frame(raw: bytes) -> Frame:
    """Decode one frame from its unstuffed bytes (``cobs_decode`` output)."""
    if len(raw) < OVERHEAD:
        raise ShortFrameError(len(raw))
    body, (expected,) = raw[: -CRC.size], CRC.unpack(raw[-CRC.size :])
    actual = crc32(body)
    if actual != expected:
        raise CrcMismatchError(expected, actual)
    version, type_, seq, length = HEADER.unpack_from(body)
    payload = body[HEADER.size :]
    if length != len(payload):
        raise LengthMismatchError(length, len(payload))
    return Frame(type=type_, seq=seq, payload=payload, version=version)


class FrameDecoder:
    """Incremental decoder: ``feed(bytes) -> [Frame | FrameError, ...]``.

    Bytes beyond ``max_frame`` without a delimiter are dropped and reported once as an
    :class:`OversizedFrameError`. Empty frames (consecutive delimiters) are skipped silently:
    senders use a lone 0x00 to flush a half-sent frame.
    """

    def __init__(self, max_payload: int = MAX_PAYLOAD_LIMIT) -> None:
        self.max_encoded = cobs_max_encoded_size(max_payload + OVERHEAD)
        self._buffer = bytearray()
        self._overflowed = False
        self.frames_ok = 0
        self.frames_bad = 0

    def reset(self) -> None:
        self._buffer.clear()
        self._overflowed = False

    def feed(self, data: bytes) -> list[Frame | FrameError]:
        results: list[Frame | FrameError] = []
        start = 0
        while start < len(data):
            end = data.find(DELIMITER, start)
            chunk = data[start:] if end == -1 else data[start:end]
            if not self._overflowed:
                self._buffer += chunk
                if len(self._buffer) > self.max_encoded:
                    self._overflowed = True
                    self._buffer.clear()
                    self.frames_bad += 1
                    results.append(OversizedFrameError(self.max_encoded))
            if end == -1:
                break
            if self._buffer and not self._overflowed:
                results.append(self._decode(bytes(self._buffer)))
            self._buffer.clear()
            self._overflowed = False
            start = end + 1
        return results

    def _decode(self, encoded: bytes) -> Frame | FrameError:
        try:
            frame = parse_frame(cobs_decode(encoded))
        except (CobsError, FrameError) as exc:
            self.frames_bad += 1
            return exc
        self.frames_ok += 1
        return frame
