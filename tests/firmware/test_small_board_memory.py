"""The 16 KiB micro:bit: where its RAM goes, measured on the images the other tests boot
(hello_world on microbit, the upload firmware microbit-runner), against its board facts.

- the firmware's own RAM (everything but the arena) stays within ``custom_tinyrig_firmware_ram``,
  the figure ``check --target`` and the build's pre-flight add to a model's arena;
- the upload firmware's image ends before its flash model slot, and the slot the firmware
  writes is the one the board facts declare.
"""

from __future__ import annotations

import pytest
from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from tests.firmware.images import HELLO_WORLD, hello_world_image, runner_image
from tinyrig.boards import FLASH_SLOT_RECORD_BYTES, board
from tinyrig.builder.firmware import FirmwareImage

pytestmark = pytest.mark.slow


def _ram_map(image: FirmwareImage) -> dict[str, int]:
    """Bytes of each RAM section, and the arena and model-slot symbols."""
    sizes: dict[str, int] = {}
    with image.elf.open("rb") as stream:
        elf = ELFFile(stream)
        for section in elf.iter_sections():
            writable = SH_FLAGS.SHF_WRITE | SH_FLAGS.SHF_ALLOC
            if section["sh_flags"] & writable == writable:
                sizes[section.name] = int(section["sh_size"])
        symbols = elf.get_section_by_name(".symtab")
        assert isinstance(symbols, SymbolTableSection)
        for symbol in symbols.iter_symbols():
            if "g_tensor_arena" in symbol.name:
                sizes["arena"] = int(symbol["st_size"])
            elif symbol.name in ("__tinyrig_model_slot_start__", "__tinyrig_model_slot_end__"):
                sizes[symbol.name] = int(symbol["st_value"])
    return sizes


@pytest.mark.parametrize("which", ["microbit", "microbit-runner"])
def test_firmware_ram_besides_the_arena_is_within_the_board_fact(which: str) -> None:
    image = (hello_world_image(which).image if which == "microbit" else runner_image(which))
    facts = board(which)
    assert facts.ram is not None and facts.firmware_ram_bytes is not None
    ram = _ram_map(image)
    used = ram[".data"] + ram[".bss"] + ram.get(".noinit", 0) + ram[".stack"]
    own = used - ram["arena"]
    print(f"{which}: RAM {used} of {facts.ram.size} B: .data {ram['.data']}, .bss {ram['.bss']} "
          f"(arena {ram['arena']}), stack {ram['.stack']}; firmware's own {own} B")
    assert used <= facts.ram.size
    assert own <= facts.firmware_ram_bytes, (
        f"{which}'s own RAM is {own} B, above custom_tinyrig_firmware_ram "
        f"({facts.firmware_ram_bytes} B): measure again and update platformio.ini")


def test_firmware_flash_besides_the_model_is_within_the_board_fact() -> None:
    """`check --target microbit` starts its flash estimate from custom_tinyrig_firmware_flash:
    the hello_world image less its model must not exceed it."""
    image = hello_world_image("microbit").image
    facts = board("microbit")
    assert facts.firmware_flash_bytes is not None
    own = image.flash_bytes - HELLO_WORLD.stat().st_size
    print(f"microbit: flash {image.flash_bytes} B, {own} B besides hello_world")
    assert own <= facts.firmware_flash_bytes, (
        f"the firmware's own flash is {own} B, above custom_tinyrig_firmware_flash "
        f"({facts.firmware_flash_bytes} B): measure again and update platformio.ini")


def test_upload_image_ends_before_the_flash_model_slot() -> None:
    facts = board("microbit-runner")
    assert facts.model_slot is not None and facts.flash is not None
    assert facts.model_slot.end == facts.flash.end  # the last pages of the chip's flash
    assert facts.model_slot_bytes == facts.model_slot.size - FLASH_SLOT_RECORD_BYTES
    image = runner_image("microbit-runner")
    ram = _ram_map(image)
    assert ram["__tinyrig_model_slot_start__"] == facts.model_slot.origin
    assert ram["__tinyrig_model_slot_end__"] == facts.model_slot.end
    with image.elf.open("rb") as stream:
        for segment in ELFFile(stream).iter_segments():
            # what is written to flash ends before the slot
            if (segment["p_type"] == "PT_LOAD" and segment["p_filesz"]
                    and facts.flash.contains(segment["p_paddr"])):
                end = segment["p_paddr"] + segment["p_filesz"]
                assert end <= facts.model_slot.origin, segment.header
