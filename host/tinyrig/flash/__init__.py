"""Writing firmware to boards: one class per method behind :class:`FlashMethod`, and
:func:`flash`, which builds, writes, verifies, resets and checks what the board runs.

| method | how | module |
|---|---|---|
| ``gdb`` | any GDB remote server (OpenOCD, pyOCD, J-Link, Black Magic Probe, QEMU) | gdb.py |
| ``pyocd`` | CMSIS-DAP / ST-Link / J-Link through pyOCD's API, built-in targets | pyocd_method.py |
| ``openocd`` | OpenOCD ``program`` | openocd.py |
| ``stlink`` | ``st-flash write`` | stlink.py |
| ``uf2`` | copy a UF2 file to the bootloader drive | uf2.py |
| ``emulated`` | boot the image in QEMU / as a host process | emulated.py |
"""

from tinyrig.flash.api import FlashReport, flash, methods, parse_via
from tinyrig.flash.base import FlashJob, FlashMethod, Reset, WriteResult
from tinyrig.flash.board import BoardEntry, board_entries, board_entry
from tinyrig.flash.errors import (
    BoardCheckError,
    FlashError,
    FlashToolMissingError,
    FlashWriteError,
    ProbeNotFoundError,
    UnknownMethodError,
    VerificationError,
)
from tinyrig.flash.image import Image, Segment, load_image

__all__ = [
    "BoardCheckError", "BoardEntry", "FlashError", "FlashJob", "FlashMethod", "FlashReport",
    "FlashToolMissingError", "FlashWriteError", "Image", "ProbeNotFoundError", "Reset",
    "Segment", "UnknownMethodError", "VerificationError", "WriteResult", "board_entries",
    "board_entry", "flash", "load_image", "methods", "parse_via",
]
