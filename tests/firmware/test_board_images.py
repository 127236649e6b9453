"""Images for real boards (no emulator in CI): they build, and what the chip boots from them is
sound. Every allocated section lies in the chip's flash or RAM (board facts, tinyrig.boards),
everything loaded is stored in flash, and the vector table holds an initial stack pointer in
RAM and a Thumb reset handler in flash."""

from __future__ import annotations

import re
import struct

import pytest
from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from tests.firmware.images import hello_world_image
from tinyrig.boards import MemoryRegion, board, parse_size

pytestmark = pytest.mark.slow

REAL_BOARDS = ["nucleo-f446re", "nucleo-f411re", "disco-f407vg", "nano33ble"]


def _within(regions: tuple[MemoryRegion, ...], address: int, size: int) -> bool:
    return any(region.contains(address, size) for region in regions)


@pytest.mark.parametrize("target", REAL_BOARDS)
def test_real_board_image_fits_the_chip(target: str) -> None:
    facts = board(target)
    assert facts.emulator is None and facts.flash is not None
    flash = (facts.flash,)
    ram = facts.ram_regions
    image = hello_world_image(target).image
    with image.elf.open("rb") as stream:
        elf = ELFFile(stream)
        assert elf["e_machine"] == "EM_ARM"
        checked = 0
        for section in elf.iter_sections():
            flags, size = section["sh_flags"], int(section["sh_size"])
            if not flags & SH_FLAGS.SHF_ALLOC or size == 0:
                continue
            regions = ram if flags & SH_FLAGS.SHF_WRITE else flash
            assert _within(regions, section["sh_addr"], size), (
                f"{section.name} at {section['sh_addr']:#x}+{size} is outside {regions}")
            checked += 1
        assert checked >= 4  # vectors, code, data, bss, stack
        for segment in elf.iter_segments():
            if segment["p_type"] == "PT_LOAD" and segment["p_filesz"]:
                # What a flasher writes (and QEMU loads) is stored in flash (.data's LMA).
                assert _within(flash, segment["p_paddr"], segment["p_filesz"]), segment.header

        vectors = elf.get_section_by_name(".isr_vector")
        assert vectors is not None
        assert vectors["sh_addr"] == facts.flash.origin  # where the core fetches them at reset
        initial_sp, reset = struct.unpack("<II", vectors.data()[:8])
        assert initial_sp % 8 == 0
        assert any(r.origin < initial_sp <= r.end for r in ram), f"SP {initial_sp:#x}"
        assert reset & 1, "the reset vector must have the Thumb bit set"
        assert facts.flash.contains(reset & ~1, 2)
        symbols = elf.get_section_by_name(".symtab")
        assert isinstance(symbols, SymbolTableSection)
        (handler,) = symbols.get_symbol_by_name("Reset_Handler")
        assert reset == handler["st_value"] | 1
    assert image.flash_bytes < facts.flash.size
    assert image.ram_bytes < sum(r.size for r in ram)


@pytest.mark.parametrize("target", [*REAL_BOARDS, "qemu-m4", "netduinoplus2", "microbit"])
def test_generated_memory_map_is_the_board_facts(target: str) -> None:
    """The MEMORY map the Cortex-M builder wrote for the linker is the board facts, region by
    region (firmware/platforms/cortex_m_builder.py; no linker script has one of its own)."""
    facts = board(target)
    image = hello_world_image(target).image
    script = (image.elf.parent / "tinyrig_memory.ld").read_text()
    regions = {name: (int(origin, 0), parse_size(length)) for name, origin, length in
               re.findall(r"(\w+)\s*\([rwx]+\)\s*:\s*ORIGIN = (\w+), LENGTH = (\w+)", script)}
    expected = {"FLASH": facts.flash, "RAM": facts.ram, "CCM": facts.ccm}
    assert regions == {name: (region.origin, region.size)
                       for name, region in expected.items() if region is not None}
