"""Arena sizing on the target itself: the runner firmware of an emulated board loads the model
with the target's own kernels (e.g. CMSIS-NN, whose scratch buffers the host reference does not
allocate) and 32-bit pointers; the host bisects the arena size on the device with ARENA_LIMIT
(docs/protocol.md §3.1). ``arena_used`` alone is not enough: it leaves out the planner's
temporary memory, which tiny models notice."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tinyrig.device.errors import DeviceError
from tinyrig.device.open import build_target, open_device
from tinyrig.device.remote import RemoteDevice
from tinyrig.errors import TinyrigError
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


def bisect_arena(probe: Callable[[int], tuple[bool, int, int]],
                 progress: Callable[..., None] | None = None) -> tuple[int, int, int]:
    """(minimum, arena_used, probes) by bisection with ``probe(arena_bytes) -> (fits,
    arena_used, arena_size)``; ``probe(0)`` loads with the whole arena."""
    fits, used, full = probe(0)
    if not fits:
        raise DeviceError(f"the model does not load even with the whole {full} B arena")
    low, high = _align(used) // ARENA_ALIGNMENT - 1, _align(full) // ARENA_ALIGNMENT
    probes = 1
    # Invariant: low * 16 fails (or is below what was used), high * 16 works.
    while high - low > 1:
        middle = (low + high) // 2
        probes += 1
        if probe(middle * ARENA_ALIGNMENT)[0]:
            high = middle
        else:
            low = middle
        if progress is not None:
            progress(advance=1)
    return high * ARENA_ALIGNMENT, used, probes


def measure_target_arena(model: Path, device_url: str = "qemu", *, margin: int = 256,
                         progress: Callable[..., None] | None = None) -> TargetArenaReport:
    """Boot ``device_url``'s runner firmware, upload ``model`` and bisect its arena there.

    TFLM kernels can crash at sizes just under the minimum; like the host-side search in child
    processes, a board that dies or stops answering counts as "does not fit" and is rebooted.
    """
    target = build_target(device_url)
    if target is None:
        raise DeviceError(f"'{device_url}' is not an emulated board",
                          hint="use native or qemu[:board]; real boards do not offer "
                               "ARENA_LIMIT (a near-minimum arena can crash TFLM)")
    load_model(model)
    state: dict[str, RemoteDevice] = {}

    def device() -> RemoteDevice:
        if "device" not in state:
            opened = open_device(device_url, model=model, runner=True)
            assert isinstance(opened, RemoteDevice)
            state["device"] = opened
        return state["device"]

    def probe(arena_bytes: int) -> tuple[bool, int, int]:
        try:
            info = device().client.set_arena_limit(arena_bytes)
        except TinyrigError:
            if arena_bytes == 0:
                raise
            state.pop("device").close()  # crashed or hung: reboot for the next probe
            return False, 0, 0
        return info.model_status == ErrorCode.OK, info.arena_used, info.arena_size

    try:
        minimum, used, probes = bisect_arena(probe, progress)
        board = device().info().board
    finally:
        if "device" in state:
            state["device"].close()
    return TargetArenaReport(device=device_url, target=target, board=board, arena_used=used,
                             minimum_bytes=minimum, arena_bytes=_align(minimum + margin),
                             margin=margin, probes=probes)
