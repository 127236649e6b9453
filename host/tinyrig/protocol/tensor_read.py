"""READ_TENSOR (docs/protocol.md §3.4): any tensor of the model after the last invoke, read
from debug runner firmware that keeps every intermediate tensor."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from tinyrig.protocol.errors import PayloadError
from tinyrig.protocol.messages import TfLiteType


@dataclass(frozen=True)
class ReadTensor:
    """Request: ``tensor u16, offset u32, length u32``."""

    tensor: int
    offset: int
    length: int

    def encode(self) -> bytes:
        return struct.pack("<HII", self.tensor, self.offset, self.length)


@dataclass(frozen=True)
class TensorChunk:
    """Reply: ``dtype u8, rank u8, rank × dim i32, bytes u32``, then a piece of the data."""

    dtype: TfLiteType | int
    shape: tuple[int, ...]
    nbytes: int
    data: bytes

    def encode(self) -> bytes:
        return (struct.pack("<BB", self.dtype, len(self.shape))
                + struct.pack(f"<{len(self.shape)}i", *self.shape)
                + struct.pack("<I", self.nbytes) + self.data)

    @classmethod
    def decode(cls, payload: bytes) -> TensorChunk:
        if len(payload) < 2:
            raise PayloadError("READ_TENSOR reply", f"expected at least 2 bytes, got "
                                                    f"{len(payload)}")
        code, rank = payload[0], payload[1]
        head = 2 + 4 * rank + 4
        if len(payload) < head:
            raise PayloadError("READ_TENSOR reply", f"rank {rank} needs {head} header bytes, "
                                                    f"got {len(payload)}")
        shape = struct.unpack_from(f"<{rank}i", payload, 2)
        (nbytes,) = struct.unpack_from("<I", payload, 2 + 4 * rank)
        try:
            dtype: TfLiteType | int = TfLiteType(code)
        except ValueError:
            dtype = code
        return cls(dtype, tuple(shape), nbytes, payload[head:])
