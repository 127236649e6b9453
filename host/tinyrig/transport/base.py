"""The one interface every byte stream implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Transport(Protocol):
    """A bidirectional byte stream to one device.

    ``read`` returns what is available (at most ``max_bytes``), waiting up to ``timeout``
    seconds for the first byte; ``b""`` means nothing arrived in time. Failures raise
    :class:`~tinyrig.transport.errors.TransportError`.
    """

    @property
    def url(self) -> str: ...

    @property
    def bytes_per_second(self) -> float | None:
        """Nominal link rate if the link has one (a UART's baud rate / 10), else None."""
        ...

    def write(self, data: bytes) -> None: ...

    def read(self, max_bytes: int, timeout: float) -> bytes: ...

    def discard_input(self) -> None: ...

    def close(self) -> None: ...
