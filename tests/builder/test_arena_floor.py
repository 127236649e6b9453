"""The arena floor the host checks before building is the firmware's own: each emulated runner
firmware, asked to load its model in a 1-byte arena (ARENA_LIMIT), refuses with ARENA_TOO_SMALL
and arg = kSmallestUsableArena, which must equal the host's table for its platform."""

from __future__ import annotations

import pytest

from tests.conftest import missing_tool_reason
from tests.firmware.images import runner_image
from tinyrig.builder.arena_floor import arena_floor
from tinyrig.builder.firmware import _read_targets
from tinyrig.device.emulators import launch_native, launch_qemu
from tinyrig.device.errors import DeviceRejectedError
from tinyrig.device.remote import RemoteDevice
from tinyrig.paths import project_dir
from tinyrig.protocol import ErrorCode
from tinyrig.transport import SerialTransport

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("target", ["native-runner", "qemu-m4-runner"])
def test_host_floor_is_what_the_firmware_refuses(target: str) -> None:
    reason = missing_tool_reason(target.removesuffix("-runner"))
    if reason:
        pytest.skip(reason)
    image = runner_image(target)
    board = launch_native(image.elf) if target.startswith("native") else launch_qemu(image.elf)
    with RemoteDevice(SerialTransport(board.uart), board=board) as device:
        limited = device.client.set_arena_limit(1)
        assert limited.model_status == ErrorCode.ARENA_TOO_SMALL
        with pytest.raises(DeviceRejectedError) as refused:
            device.client.invoke()
        assert refused.value.code == ErrorCode.ARENA_TOO_SMALL
        assert refused.value.detail == "arena smaller than TFLM's own allocator objects"
        floor = refused.value.arg
        # One byte less than the floor is refused by the firmware; the floor itself is not.
        assert device.client.set_arena_limit(floor - 1).model_status == ErrorCode.ARENA_TOO_SMALL
        device.client.set_arena_limit(floor)
        with pytest.raises(DeviceRejectedError) as at_floor:
            device.client.invoke()
        assert at_floor.value.detail != "arena smaller than TFLM's own allocator objects"
        assert device.client.set_arena_limit(0).model_status == ErrorCode.OK
    platform = _read_targets(project_dir())[target]
    assert arena_floor(platform) == floor
