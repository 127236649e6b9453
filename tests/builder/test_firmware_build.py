"""Firmware builds through the offline PlatformIO core: both targets, sizes, caching."""

from __future__ import annotations

import json

import pytest

from tests.firmware.images import HELLO_WORLD, HELLO_WORLD_ARENA, hello_world_image
from tinyrig.builder.errors import BuildError
from tinyrig.builder.firmware import available_targets, build_firmware
from tinyrig.builder.platformio import TOOL_SCONS_VERSION, ensure_core
from tinyrig.paths import project_dir

pytestmark = pytest.mark.slow


def test_core_is_provisioned_offline() -> None:
    core = ensure_core()
    scons = core / "packages" / "tool-scons"
    meta = json.loads((scons / ".piopm").read_text())
    assert meta["spec"]["owner"] == "platformio"
    assert meta["name"] == "tool-scons"
    assert meta["version"] == TOOL_SCONS_VERSION
    assert (scons / "scons.py").is_file()
    assert core == project_dir() / ".pio-core"


def test_targets_include_native_and_qemu() -> None:
    assert {"native", "qemu-m4"} <= set(available_targets())


def test_unknown_target_is_a_build_error() -> None:
    with pytest.raises(BuildError, match="unknown firmware target"):
        build_firmware("no-such-board", project_dir() / "platformio.ini", arena_bytes=4096)


@pytest.mark.parametrize("target", ["native", "qemu-m4"])
def test_build_hello_world(target: str) -> None:
    built = hello_world_image(target)
    image = built.image
    assert image.elf.is_file()
    assert image.target == target
    assert image.arena_bytes == HELLO_WORLD_ARENA
    assert len(image.model_sha256) == 64
    # hello_world: a 2.7 KB model, one op; the arena is in RAM.
    assert image.ram_bytes > image.arena_bytes
    if target == "qemu-m4":
        assert 20_000 < image.flash_bytes < 200_000
        assert image.ram_bytes < 200_000
    else:
        assert 20_000 < image.flash_bytes < 2_000_000


@pytest.mark.parametrize("target", ["native", "qemu-m4"])
def test_second_build_is_cached_without_running_pio(target: str) -> None:
    first = hello_world_image(target).image
    mtime = first.elf.stat().st_mtime_ns
    second = build_firmware(target, HELLO_WORLD, arena_bytes=HELLO_WORLD_ARENA)
    # Reused without running PlatformIO: the same ELF, untouched (speed is in bench/).
    assert second.cached
    assert second.elf == first.elf
    assert second.elf.stat().st_mtime_ns == mtime
    assert (second.flash_bytes, second.ram_bytes) == (first.flash_bytes, first.ram_bytes)
