"""A transport proxy that damages the byte stream on purpose, for fault-injection tests and
for rehearsing a rig's behaviour on a bad cable. Seeded: the same seed damages the same bytes."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from tinyrig.transport.base import Transport


@dataclass
class FaultPlan:
    """Per-byte probabilities of each kind of damage, in each direction."""

    flip: float = 0.0        # flip one random bit of the byte
    drop: float = 0.0        # lose the byte
    duplicate: float = 0.0   # send the byte twice
    truncate: float = 0.0    # lose the rest of this write/read chunk
    seed: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("flip", "drop", "duplicate", "truncate"), 0))


class FaultyTransport:
    """Wraps another transport; damages bytes written (to the device) and read (from it).

    ``on_write`` is called with each intact chunk before damage, so a test can e.g. reset the
    device in the middle of a transfer.
    """

    def __init__(self, inner: Transport, plan: FaultPlan,
                 on_write: Callable[[bytes], None] | None = None) -> None:
        self.inner = inner
        self.plan = plan
        self.enabled = True
        self.on_write = on_write
        self._rng = random.Random(plan.seed)

    @property
    def url(self) -> str:
        return self.inner.url

    @property
    def bytes_per_second(self) -> float | None:
        return self.inner.bytes_per_second

    def _damage(self, data: bytes) -> bytes:
        if not self.enabled or not data:
            return data
        plan, rng, out = self.plan, self._rng, bytearray()
        for byte in data:
            roll = rng.random()
            if roll < plan.truncate:
                plan.counts["truncate"] += 1
                break
            roll -= plan.truncate
            if roll < plan.drop:
                plan.counts["drop"] += 1
                continue
            roll -= plan.drop
            if roll < plan.flip:
                plan.counts["flip"] += 1
                out.append(byte ^ (1 << rng.randrange(8)))
                continue
            roll -= plan.flip
            if roll < plan.duplicate:
                plan.counts["duplicate"] += 1
                out += bytes([byte, byte])
                continue
            out.append(byte)
        return bytes(out)

    def write(self, data: bytes) -> None:
        if self.on_write is not None:
            self.on_write(data)
        self.inner.write(self._damage(data))

    def read(self, max_bytes: int, timeout: float) -> bytes:
        return self._damage(self.inner.read(max_bytes, timeout))

    def discard_input(self) -> None:
        self.inner.discard_input()

    def close(self) -> None:
        self.inner.close()
