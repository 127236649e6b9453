"""Arena sizing on the target itself: the runner firmware of an emulated board loads the model
with the target's own kernels (e.g. CMSIS-NN, whose scratch buffers the host reference does not
allocate) and 32-bit pointers, and reports what its allocator used."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tinyrig.device.errors import DeviceError
from tinyrig.device.open import build_target, open_device
from tinyrig.device.remote import RemoteDevice
from tinyrig.model.flatbuffer import load_model
from tinyrig.protocol import ErrorCode

ARENA_ALIGNMENT = 16


@dataclass(frozen=True)
class TargetArenaReport:
    """``arena_used`` is MicroInterpreter::arena_used_bytes() on the target after
    AllocateTensors; a 16-aligned arena of ``minimum_bytes`` holds it."""

    device: str
    target: str
    board: str
    arena_used: int
    minimum_bytes: int
    arena_bytes: int
    margin: int


def _align(value: int) -> int:
    return (value + ARENA_ALIGNMENT - 1) // ARENA_ALIGNMENT * ARENA_ALIGNMENT


def measure_target_arena(model: Path, device_url: str = "qemu", *, margin: int = 256
                         ) -> TargetArenaReport:
    """Boot ``device_url``'s runner firmware, upload ``model`` and read the arena it used."""
    target = build_target(device_url)
    if target is None:
        raise DeviceError(f"'{device_url}' is not an emulated board",
                          hint="use native or qemu[:board]; on a real board flash the runner "
                               "and read `tinyrig info` (arena used)")
    load_model(model)
    device = open_device(device_url, model=model, runner=True)
    try:
        assert isinstance(device, RemoteDevice)
        info = device.info()
        if info.model_status != ErrorCode.OK:
            raise DeviceError(f"the {target} runner could not load {model.name}: "
                              f"{info.model_status.name}")
        used = info.arena_used
        minimum = _align(used)
        return TargetArenaReport(device=device_url, target=target, board=info.board,
                                 arena_used=used, minimum_bytes=minimum,
                                 arena_bytes=_align(minimum + margin), margin=margin)
    finally:
        device.close()
