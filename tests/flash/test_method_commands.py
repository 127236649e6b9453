"""The commands the probe methods run, and what they make of their tools' answers; pyOCD with
no probe attached."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinyrig.flash import (
    BoardEntry,
    FlashJob,
    ProbeNotFoundError,
    Reset,
    VerificationError,
    parse_via,
)
from tinyrig.flash.gdb import gdb_job, parse_remote
from tinyrig.flash.image import Image, Segment
from tinyrig.flash.openocd import openocd_command, parse_openocd
from tinyrig.flash.stlink import parse_stflash, stflash_command

NUCLEO = BoardEntry(target="nucleo-f446re", flash="openocd", emulator=None,
                    pyocd_target="stm32f429xi", openocd=("board/st_nucleo_f4.cfg",))
IMAGE = Image(Path("/tmp/fw.elf"), (Segment(0x08000000, b"\x01" * 512),
                                    Segment(0x08000400, b"\x02" * 16)))


def job(**kwargs: object) -> FlashJob:
    return FlashJob(image=IMAGE, board=NUCLEO, **kwargs)  # type: ignore[arg-type]


def test_openocd_program_verify_reset() -> None:
    assert openocd_command(job(probe="066DFF49")) == [
        "openocd", "-f", "board/st_nucleo_f4.cfg", "-c", "adapter serial 066DFF49",
        "-c", "program {/tmp/fw.elf} verify reset exit"]
    assert openocd_command(job(verify=False, reset=Reset.NONE))[-1] == "program {/tmp/fw.elf} exit"
    assert "verify_image {/tmp/fw.elf}" in openocd_command(job(write=False))


def test_openocd_output_becomes_typed_results() -> None:
    ok = "** Programming Finished **\n** Verify Started **\n** Verified OK **\n[exit 0]"
    assert parse_openocd(ok, job()).verified
    with pytest.raises(ProbeNotFoundError, match=r"no debug probe \(found: none\)"):
        parse_openocd("Error: open failed\n[exit 1]", job())
    with pytest.raises(VerificationError):
        parse_openocd("** Verify Failed **\n[exit 1]", job())


def test_st_flash_writes_a_binary_at_the_lowest_address() -> None:
    binary = Path("/tmp/fw.bin")
    assert stflash_command(job(probe="0670FF"), binary) == [
        "st-flash", "--serial", "0670FF", "--reset", "write", "/tmp/fw.bin", "0x8000000"]
    blob = IMAGE.to_binary()
    assert len(blob) == 0x410 and blob[0x200:0x400] == b"\xff" * 0x200
    assert parse_stflash("Flash written and verified! jolly good!\n[exit 0]", job()).verified
    with pytest.raises(ProbeNotFoundError):
        parse_stflash("Found 0 stlink programmers\n[exit 255]", job())


def test_gdb_addresses_and_job() -> None:
    assert parse_via("gdb://127.0.0.1:3333") == ("gdb", "127.0.0.1:3333")
    assert parse_via("gdb:/dev/ttyBmpGdb") == ("gdb", "/dev/ttyBmpGdb")
    assert parse_via("uf2:/media/me/RPI-RP2") == ("uf2", "/media/me/RPI-RP2")
    assert parse_via("pyocd") == ("pyocd", None)
    assert parse_remote("127.0.0.1:3333") == ("127.0.0.1:3333", False)
    assert parse_remote("/dev/ttyBmpGdb") == ("/dev/ttyBmpGdb", True)
    qemu = BoardEntry(target="qemu-m4", flash="emulated", emulator="mps2-an386")
    assert FlashJob(image=IMAGE, board=qemu).board.emulator == "mps2-an386"


def test_gdb_reset_commands(tmp_path: Path) -> None:
    from tests.conftest import missing_tool_reason

    if missing_tool_reason("qemu-m4"):
        pytest.skip("needs the qemu-m4 image")
    from tests.firmware.images import hello_world_image
    from tinyrig.flash.image import load_image

    image = load_image(hello_world_image("qemu-m4").image.elf)
    qemu = BoardEntry(target="qemu-m4", flash="emulated", emulator="mps2-an386")
    spec = gdb_job(FlashJob(image=image, board=qemu), "localhost:1234", False, str(tmp_path))
    assert spec["reset_command"] == "system_reset"
    assert {s["name"] for s in spec["sections"]} >= {".text"}
    bmp = gdb_job(FlashJob(image=image, board=NUCLEO), "/dev/ttyACM0", True, str(tmp_path))
    assert bmp["reset_command"] == "hard_srst" and bmp["serial"]


def test_pyocd_without_a_probe_lists_what_it_found() -> None:
    pytest.importorskip("pyocd")
    from tinyrig.flash.pyocd_method import PyocdMethod, list_probes

    if list_probes():
        pytest.skip("a debug probe is attached")
    with pytest.raises(ProbeNotFoundError) as caught:
        PyocdMethod().run(job(), lambda **_: None)
    assert caught.value.found == []
    assert "pyOCD found no debug probe (found: none)" in str(caught.value)


def test_probes_on_the_usb_bus_are_seen_without_opening_them(tmp_path: Path) -> None:
    from tinyrig.flash.pyocd_method import usb_probes_present

    for name, vid, pid in [("1-1", "0483", "374b"), ("1-2", "046d", "c077"),
                           ("1-3", "1366", "1015")]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "idVendor").write_text(vid + "\n")
        (tmp_path / name / "idProduct").write_text(pid + "\n")
    (tmp_path / "usb1").mkdir()  # a root hub without ids
    assert usb_probes_present(tmp_path) == [
        "ST-Link V2-1 (Nucleo/Discovery) (0483:374b) at 1-1",
        "SEGGER J-Link (1366:1015) at 1-3"]
