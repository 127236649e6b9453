"""Arena sizing on the target itself: the runner firmware of an emulated board loads the model
with the target's own kernels (e.g. CMSIS-NN, whose scratch buffers the host reference does not
allocate) and 32-bit pointers; the host bisects the arena size on the device with ARENA_LIMIT
(docs/protocol.md §3.1). ``arena_used`` alone is not enough: it leaves out the planner's
temporary memory, which tiny models notice.

Results are cached by model SHA-256 and target in ``cache_dir()/arena-target/`` (reused while the
firmware sources and TFLM are the same); :func:`known_target_minimum` reads them for the error
of a board whose arena is too small."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from tinyrig import TFLM_COMMIT
from tinyrig.device.errors import DeviceError
from tinyrig.device.open import DEBUG_SUFFIX, RUNNER_SUFFIX, build_target, open_device
from tinyrig.device.remote import RemoteDevice
from tinyrig.errors import TinyrigError
from tinyrig.model.flatbuffer import load_model
from tinyrig.paths import cache_dir
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
    cached: bool = False


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


def _cache_path(model_sha256: str, target: str) -> Path:
    return cache_dir() / "arena-target" / f"{model_sha256}-{target}.json"


def _firmware_hash() -> str:
    from tinyrig.builder.firmware import firmware_sources_hash

    return firmware_sources_hash()


def _load_cached(path: Path) -> tuple[TargetArenaReport, dict[str, str]] | None:
    try:
        data = json.loads(path.read_text())
        stamp = data.pop("stamp")
        return TargetArenaReport(**data), stamp
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _store(model_sha256: str, report: TargetArenaReport) -> None:
    path = _cache_path(model_sha256, report.target)
    data = asdict(report) | {"cached": False, "stamp": {"tflm": TFLM_COMMIT,
                                                          "firmware": _firmware_hash()}}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2))
    except OSError:
        pass  # a cache that cannot be written only costs time


def known_target_minimum(model_sha256: str, target: str) -> TargetArenaReport | None:
    """The last on-device measurement of the model whose SHA-256 starts with ``model_sha256``
    (a device's 8-byte model id is enough) on ``target`` (its runner flavour counts as the
    target), made with the pinned TFLM; None if it was never measured."""
    target = target.removesuffix(RUNNER_SUFFIX).removesuffix(DEBUG_SUFFIX)
    folder = cache_dir() / "arena-target"
    for path in sorted(folder.glob(f"{model_sha256}*-{target}.json")):
        if path.name[64:] != f"-{target}.json":  # "<sha256>-<target>.json" exactly
            continue
        found = _load_cached(path)
        if found is not None and found[1].get("tflm") == TFLM_COMMIT:
            return found[0]
    return None


def measure_target_arena(model: Path, device_url: str = "qemu", *, margin: int = 256,
                         progress: Callable[..., None] | None = None,
                         use_cache: bool = True) -> TargetArenaReport:
    """Boot ``device_url``'s runner firmware, upload ``model`` and bisect its arena there.

    The runner answers every size with OK or ARENA_TOO_SMALL (firmware/src/runner/arena_guard.h;
    tests/firmware/test_arena_sweep.py); should a board still die or stop answering, the size
    counts as "does not fit" and the board is rebooted, like the host-side search in child
    processes.
    """
    target = build_target(device_url)
    if target is None:
        raise DeviceError(f"'{device_url}' is not an emulated board",
                          hint="use native or qemu[:board]; real boards do not offer "
                               "ARENA_LIMIT (a near-minimum arena can crash TFLM)")
    load_model(model)
    sha = hashlib.sha256(Path(model).read_bytes()).hexdigest()
    if use_cache:
        found = _load_cached(_cache_path(sha, target))
        if found is not None and found[1] == {"tflm": TFLM_COMMIT, "firmware": _firmware_hash()}:
            cached = found[0]
            return replace(cached, device=device_url, margin=margin, cached=True,
                           arena_bytes=_align(cached.minimum_bytes + margin))
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
    report = TargetArenaReport(device=device_url, target=target, board=board, arena_used=used,
                               minimum_bytes=minimum, arena_bytes=_align(minimum + margin),
                               margin=margin, probes=probes)
    _store(sha, report)
    return report
