"""Exceptions of the protocol codec layer. The codec does no I/O: these describe bytes."""

from __future__ import annotations

from tinyrig.errors import TinyrigError


class ProtocolError(TinyrigError):
    """Bytes that do not follow docs/protocol.md."""


class FrameError(ProtocolError):
    """A frame that cannot be decoded; the decoder drops it and resynchronises."""


class CobsError(FrameError):
    """The COBS encoding is broken (a code byte points past the end of the frame)."""


class ShortFrameError(FrameError):
    """Fewer bytes than a header and a CRC."""

    def __init__(self, length: int) -> None:
        super().__init__(f"frame of {length} bytes is shorter than the 10-byte minimum")
        self.length = length


class CrcMismatchError(FrameError):
    """The CRC-32 at the end of the frame does not match its contents."""

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"frame CRC mismatch: frame says {expected:#010x}, "
                         f"contents give {actual:#010x}")
        self.expected = expected
        self.actual = actual


class LengthMismatchError(FrameError):
    """The header's payload length disagrees with the frame's size."""

    def __init__(self, declared: int, actual: int) -> None:
        super().__init__(f"frame declares a {declared}-byte payload but carries {actual}")
        self.declared = declared
        self.actual = actual


class OversizedFrameError(FrameError):
    """More bytes arrived without a delimiter than the largest allowed frame."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"frame exceeds {limit} bytes without a delimiter")
        self.limit = limit


class PayloadError(ProtocolError):
    """A well-framed message whose payload does not fit its type."""

    def __init__(self, message_type: str, reason: str) -> None:
        super().__init__(f"malformed {message_type} payload: {reason}")
        self.message_type = message_type
        self.reason = reason


class VersionMismatchError(ProtocolError):
    """The peer speaks another protocol version."""

    def __init__(self, ours: int, theirs: int) -> None:
        super().__init__(
            f"device speaks protocol v{theirs}, this host speaks v{ours}",
            hint="flash firmware built by this version of tinyrig (tinyrig build / flash)",
        )
        self.ours = ours
        self.theirs = theirs
