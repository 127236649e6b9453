"""The smallest arena the firmware can ever use, per platform, checked before a build.

TFLM places its allocator, its memory planner and their arena allocator at the tail of the
arena; the firmware refuses an arena smaller than those objects (``kSmallestUsableArena`` in
``firmware/src/runner/model_runner.cc``: a ``static_assert`` for the built-in arena, and
``ARENA_TOO_SMALL`` with ``arg`` = that size for a smaller ARENA_LIMIT). The sizes depend on the
pinned TFLM and the target's pointer width, so they are recorded here per PlatformIO platform
and tied to the firmware by ``tests/builder/test_arena_floor.py``, which reads them back from
the real firmware (ARENA_LIMIT(1), then the ERROR reply's ``arg``).
"""

from __future__ import annotations

from typing import Final

from tinyrig import TFLM_COMMIT
from tinyrig.builder.errors import ArenaBelowFloorError

# platform (in platformio.ini, a folder under firmware/platforms) -> kSmallestUsableArena
# for TFLM at FLOOR_TFLM_COMMIT. A platform not listed is not checked before building (its
# static_assert still stops the build, and the build error shows it).
FLOOR_TFLM_COMMIT: Final = "90b983c"
SMALLEST_USABLE_ARENA: Final[dict[str, int]] = {
    "tinyrig-native": 252,  # x86-64: 64-bit pointers
    "tinyrig-mps2": 140,  # Cortex-M: 32-bit pointers
}


def _platform_key(platform: str) -> str | None:
    """``file://firmware/platforms/tinyrig-mps2`` -> ``tinyrig-mps2`` when it is listed."""
    return next((key for key in SMALLEST_USABLE_ARENA if key in platform), None)


def arena_floor(platform: str) -> int | None:
    """The smallest arena firmware of ``platform`` can use, or None when not recorded (another
    platform, or another TFLM than the one the table was measured with)."""
    key = _platform_key(platform)
    if key is None or not TFLM_COMMIT.startswith(FLOOR_TFLM_COMMIT):
        return None
    return SMALLEST_USABLE_ARENA[key]


def check_arena_floor(target: str, platform: str, arena_bytes: int) -> None:
    """Raise ArenaBelowFloorError when ``arena_bytes`` cannot hold TFLM on ``platform``."""
    floor = arena_floor(platform)
    if floor is not None and arena_bytes < floor:
        raise ArenaBelowFloorError(target, arena_bytes, floor)
