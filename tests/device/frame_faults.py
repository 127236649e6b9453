"""A transport proxy that loses or delays whole reply frames (not bytes), so that a test can aim
at one message — the reply to INVOKE, say — and make the client time out and retry it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tinyrig.protocol import Frame, FrameDecoder, encode_frame
from tinyrig.transport import Transport

# Decides the fate of one reply frame: "pass", "lose" or "delay".
Rule = Callable[[Frame, int], str]


@dataclass
class FrameFaultCounts:
    lost: int = 0
    delayed: int = 0
    passed: int = 0
    by_type: dict[int, int] = field(default_factory=dict)


class FrameFaults:
    """Wraps a transport; each frame read from the device goes through ``rule(frame, n)``
    (``n``: how many frames of that type and seq were seen before). Delayed frames are
    delivered ``delay`` seconds later, after anything read in between."""

    def __init__(self, inner: Transport, rule: Rule, *, delay: float = 3.0) -> None:
        self.inner = inner
        self.rule = rule
        self.delay = delay
        self.enabled = True
        self.counts = FrameFaultCounts()
        self._decoder = FrameDecoder()
        self._seen: dict[tuple[int, int], int] = {}
        self._held: list[tuple[float, Frame]] = []
        self._ready = bytearray()

    @property
    def url(self) -> str:
        return self.inner.url

    @property
    def bytes_per_second(self) -> float | None:
        return self.inner.bytes_per_second

    def write(self, data: bytes) -> None:
        self.inner.write(data)

    def _release_due(self) -> None:
        now = time.monotonic()
        due = [frame for when, frame in self._held if when <= now]
        self._held = [(when, frame) for when, frame in self._held if when > now]
        for frame in due:
            self._ready += encode_frame(frame)

    def read(self, max_bytes: int, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while True:
            self._release_due()
            if self._ready:
                out = bytes(self._ready[:max_bytes])
                del self._ready[:max_bytes]
                return out
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return b""
            data = self.inner.read(65536, min(remaining, 0.05))
            for item in self._decoder.feed(data):
                if not isinstance(item, Frame):
                    continue  # this proxy only sees a clean link
                key = (item.type, item.seq)
                seen = self._seen.get(key, 0)
                self._seen[key] = seen + 1
                fate = self.rule(item, seen) if self.enabled else "pass"
                self.counts.by_type[item.type] = self.counts.by_type.get(item.type, 0) + 1
                if fate == "lose":
                    self.counts.lost += 1
                elif fate == "delay":
                    self.counts.delayed += 1
                    self._held.append((time.monotonic() + self.delay, item))
                else:
                    self.counts.passed += 1
                    self._ready += encode_frame(item)

    def discard_input(self) -> None:
        self.inner.discard_input()
        self._ready.clear()
        self._held.clear()

    def close(self) -> None:
        self.inner.close()
