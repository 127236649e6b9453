"""UF2: an image survives ELF -> UF2 -> bytes unchanged; a bootloader drive is found by its
INFO_UF2.TXT and gets the file."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.conftest import missing_tool_reason
from tinyrig.flash import BoardEntry, FlashJob, ProbeNotFoundError, Reset
from tinyrig.flash.image import Image, Segment, load_image
from tinyrig.flash.uf2 import (
    BLOCK,
    FAMILIES,
    INFO_FILE,
    Uf2Method,
    family_id,
    find_drives,
    parse_uf2,
    read_info,
    to_uf2,
)

PICO = BoardEntry(target="pico", flash="uf2", emulator=None, uf2_family="RP2040")


def unpack(segments: tuple[Segment, ...]) -> dict[int, int]:
    return {s.address + i: b for s in segments for i, b in enumerate(s.data)}


def synthetic_image() -> Image:
    rng = random.Random(7)
    # Unaligned starts and ends, a gap, and a segment sharing a 256-byte page with another.
    segments = (Segment(0x10000100 + 3, rng.randbytes(1000)),
                Segment(0x10000100 + 1003, rng.randbytes(17)),
                Segment(0x10004000, rng.randbytes(256)),
                Segment(0x10008010, rng.randbytes(5)))
    return Image(Path("synthetic.elf"), segments)


@pytest.mark.parametrize("family", ["RP2040", "NRF52840", "0x57755a57"])
def test_uf2_round_trips_to_the_same_bytes(family: str) -> None:
    image = synthetic_image()
    data = to_uf2(image, family_id(family))
    assert len(data) % BLOCK == 0
    parsed = parse_uf2(data)
    assert parsed.family == family_id(family)
    got, want = unpack(parsed.segments), unpack(image.segments)
    assert {a: got[a] for a in want} == want
    assert all(s.address % 256 == 0 and len(s.data) == 256 for s in parsed.segments)


def test_uf2_of_a_real_firmware_image() -> None:
    reason = missing_tool_reason("qemu-m4")
    if reason:
        pytest.skip(reason)
    from tests.firmware.images import hello_world_image

    image = load_image(hello_world_image("qemu-m4").image.elf)
    parsed = parse_uf2(to_uf2(image, FAMILIES["STM32F4"]))
    got, want = unpack(parsed.segments), unpack(image.segments)
    assert {a: got[a] for a in want} == want
    assert len(parsed.segments) == len({a & ~255 for a in want})


def test_a_damaged_uf2_is_refused() -> None:
    data = bytearray(to_uf2(synthetic_image(), FAMILIES["RP2040"]))
    data[BLOCK] ^= 0xFF  # second block's first magic
    with pytest.raises(Exception, match="bad magic"):
        parse_uf2(bytes(data))


def test_flash_copies_the_uf2_to_the_drive_with_info_uf2(tmp_path: Path) -> None:
    drive = tmp_path / "RPI-RP2"
    drive.mkdir()
    (drive / INFO_FILE).write_text("UF2 Bootloader v3.0\nModel: Raspberry Pi RP2\n"
                                   "Board-ID: RPI-RP2\n")
    (tmp_path / "not-a-drive").mkdir()
    assert find_drives([tmp_path / "not-a-drive", drive]) == [drive]
    assert read_info(drive)["Board-ID"] == "RPI-RP2"
    image = synthetic_image()
    job = FlashJob(image=image, board=PICO, address=str(drive), reset=Reset.HARD)
    result = Uf2Method().run(job, lambda **_: None)
    written = drive / "synthetic.uf2"
    assert result.destination == str(written)
    assert result.bytes_written == image.size
    parsed = parse_uf2(written.read_bytes())
    assert parsed.family == FAMILIES["RP2040"]
    got = unpack(parsed.segments)
    assert all(got[a] == b for a, b in unpack(image.segments).items())


def test_a_folder_without_info_uf2_is_not_a_drive(tmp_path: Path) -> None:
    job = FlashJob(image=synthetic_image(), board=PICO, address=str(tmp_path))
    with pytest.raises(ProbeNotFoundError, match="not a UF2 bootloader drive"):
        Uf2Method().run(job, lambda **_: None)
