"""Consistent Overhead Byte Stuffing: removes every 0x00 so that 0x00 can end a frame.

Overhead is 1 + floor(n / 254) bytes. Pure functions, no I/O.
"""

from __future__ import annotations

from tinyrig.protocol.errors import CobsError


def cobs_encode(data: bytes) -> bytes:
    """Encode ``data``; the result contains no zero byte (the delimiter is not appended)."""
    out = bytearray()
    start = 0
    while True:
        zero = data.find(b"\x00", start, start + 254)
        if zero != -1:
            out.append(zero - start + 1)
            out += data[start:zero]
            start = zero + 1
            continue  # a zero at the very end leaves an empty final block (code 1)
        end = min(len(data), start + 254)
        out.append(end - start + 1)
        out += data[start:end]
        if end - start < 254 or end == len(data):
            return bytes(out)  # a short block, or a full one that ends the data
        start = end


def cobs_decode(encoded: bytes) -> bytes:
    """Decode one COBS block sequence (without its delimiter)."""
    out = bytearray()
    index = 0
    length = len(encoded)
    while index < length:
        code = encoded[index]
        if code == 0:
            raise CobsError(f"zero byte inside a COBS frame at offset {index}")
        end = index + code
        if end > length:
            raise CobsError(
                f"COBS code {code} at offset {index} points past the end of the "
                f"{length}-byte frame"
            )
        block = encoded[index + 1 : end]
        if 0 in block:
            raise CobsError(f"zero byte inside a COBS frame near offset {index}")
        out += block
        index = end
        if code != 0xFF and index < length:
            out.append(0)
    return bytes(out)


def cobs_max_encoded_size(n: int) -> int:
    """Upper bound of ``len(cobs_encode(x))`` for ``len(x) == n``."""
    return n + n // 254 + 1
