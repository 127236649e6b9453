"""Arena sizing on the target (runner firmware on QEMU): the reported minimum is exact for that
build — firmware built with it loads the model, 16 bytes less does not."""

from __future__ import annotations

import pytest

from tests.conftest import HELLO_WORLD, missing_tool_reason
from tinyrig.builder.firmware import build_firmware
from tinyrig.device.emulators import launch_qemu
from tinyrig.device.remote import RemoteDevice
from tinyrig.device.target_arena import measure_target_arena
from tinyrig.protocol import ErrorCode
from tinyrig.transport import SerialTransport


def _status_with_arena(arena: int) -> ErrorCode:
    image = build_firmware("qemu-m4", HELLO_WORLD, arena_bytes=arena)
    board = launch_qemu(image.elf)
    with RemoteDevice(SerialTransport(board.uart), board=board) as device:
        return device.info().model_status


def test_minimum_measured_on_qemu_is_exact() -> None:
    reason = missing_tool_reason("qemu-m4")
    if reason:
        pytest.skip(reason)
    report = measure_target_arena(HELLO_WORLD, "qemu", use_cache=False)
    assert not report.cached
    again = measure_target_arena(HELLO_WORLD, "qemu:mps2-an386")  # the same target: cached
    assert again.cached and again.minimum_bytes == report.minimum_bytes
    assert report.target == "qemu-m4"
    assert 0 < report.arena_used <= report.minimum_bytes < report.arena_bytes
    # The per-model firmware (same kernels, same allocator) agrees with the runner's bisection.
    assert _status_with_arena(report.minimum_bytes) == ErrorCode.OK
    assert _status_with_arena(report.minimum_bytes - 16) == ErrorCode.ARENA_TOO_SMALL
