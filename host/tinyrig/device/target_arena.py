"""Arena sizing on the target itself: the runner firmware of an emulated board loads the model
with the target's own kernels (e.g. CMSIS-NN, whose scratch buffers the host reference does not
allocate) and 32-bit pointers; the host bisects the arena size on the device with ARENA_LIMIT
(docs/protocol.md §3.1). ``arena_used`` alone is not enough: it leaves out the planner's
temporary memory, which tiny models notice."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tinyrig.device.client import DeviceClient
from tinyrig.device.errors import DeviceError
from tinyrig.device.open import build_target, open_device
from tinyrig.device.remote import RemoteDevice
from tinyrig.model.flatbuffer import load_model
from tinyrig.protocol import ErrorCode

ARENA_ALIGNMENT = 16


@dataclass(frozen=True)
class TargetArenaReport:
    """``minimum_bytes`` is the smallest 16-byte multiple with which the target's build
    allocates the model (16 bytes less fails, checked); ``arena_bytes`` adds ``margin``."""

    device: str
    target: str
    board: str
    arena_used: int
    minimum_bytes: int
    arena_bytes: int
    margin: int
    probes: int


def _align(value: int) -> int:
    return (value + ARENA_ALIGNMENT - 1) // ARENA_ALIGNMENT * ARENA_ALIGNMENT


def bisect_arena(client: DeviceClient, progress: Callable[..., None] | None = None
                 ) -> tuple[int, int, int]:
    """(minimum, arena_used, probes) for the device's active model, found with ARENA_LIMIT."""
    full = client.set_arena_limit(0)
    if full.model_status != ErrorCode.OK:
        raise DeviceError(f"the model does not load even with the whole {full.arena_size} B "
                          f"arena: {full.model_status.name}")
    used = full.arena_used
    low, high = _align(used) // ARENA_ALIGNMENT - 1, _align(full.arena_size) // ARENA_ALIGNMENT
    probes = 1
    # Invariant: low * 16 fails (or is below what was used), high * 16 works.
    while high - low > 1:
        middle = (low + high) // 2
        fits = client.set_arena_limit(middle * ARENA_ALIGNMENT).model_status == ErrorCode.OK
        probes += 1
        if progress is not None:
            progress(advance=1)
        if fits:
            high = middle
        else:
            low = middle
    client.set_arena_limit(0)
    return high * ARENA_ALIGNMENT, used, probes


def measure_target_arena(model: Path, device_url: str = "qemu", *, margin: int = 256,
                         progress: Callable[..., None] | None = None) -> TargetArenaReport:
    """Boot ``device_url``'s runner firmware, upload ``model`` and bisect its arena there."""
    target = build_target(device_url)
    if target is None:
        raise DeviceError(f"'{device_url}' is not an emulated board",
                          hint="use native or qemu[:board]; a real board running the runner "
                               "firmware is measured the same way by tinyrig.device."
                               "target_arena.bisect_arena")
    load_model(model)
    device = open_device(device_url, model=model, runner=True)
    try:
        assert isinstance(device, RemoteDevice)
        minimum, used, probes = bisect_arena(device.client, progress)
        return TargetArenaReport(device=device_url, target=target, board=device.info().board,
                                 arena_used=used, minimum_bytes=minimum,
                                 arena_bytes=_align(minimum + margin), margin=margin,
                                 probes=probes)
    finally:
        device.close()
