"""``uf2``: convert the ELF to UF2 and copy it to the board's bootloader drive.

A UF2 file is a sequence of 512-byte blocks, each carrying up to 476 bytes (256 by convention)
for one target address (https://github.com/microsoft/uf2). Bootloaders that take it (RP2040,
nRF52840 Adafruit/Arduino, SAMD, STM32 tinyuf2) show up as a USB drive with ``INFO_UF2.TXT``.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from tinyrig.flash.base import FlashJob, Progress, WriteResult
from tinyrig.flash.errors import FlashError, ProbeNotFoundError
from tinyrig.flash.image import Image, Segment

MAGIC_START0: Final = 0x0A324655
MAGIC_START1: Final = 0x9E5D5157
MAGIC_END: Final = 0x0AB16F30
FLAG_FAMILY_ID: Final = 0x00002000
FLAG_NOT_MAIN_FLASH: Final = 0x00000001
BLOCK: Final = 512
PAYLOAD: Final = 256
_HEADER: Final = struct.Struct("<8I")
INFO_FILE: Final = "INFO_UF2.TXT"

# Family ids of the bootloaders tinyrig's boards use (from the UF2 spec's families list).
FAMILIES: Final[dict[str, int]] = {
    "RP2040": 0xE48BFF56,
    "NRF52840": 0xADA52840,
    "STM32F4": 0x57755A57,
    "SAMD21": 0x68ED2B88,
    "SAMD51": 0x55114460,
}


def family_id(value: str) -> int:
    """A family given as a name of :data:`FAMILIES` or a number (``0xe48bff56``)."""
    if value.upper() in FAMILIES:
        return FAMILIES[value.upper()]
    try:
        return int(value, 0)
    except ValueError:
        raise FlashError(f"unknown UF2 family {value!r}", method="uf2",
                         hint=f"a number or one of {', '.join(FAMILIES)}") from None


def to_uf2(image: Image, family: int) -> bytes:
    """The UF2 file of ``image``: 256-byte payloads at 256-aligned addresses; bytes of a block
    outside every segment are 0x00 (the bootloader writes whole pages)."""
    pages: dict[int, bytearray] = {}
    for segment in image.segments:
        for address in range(segment.address & ~(PAYLOAD - 1), segment.end, PAYLOAD):
            page = pages.setdefault(address, bytearray(PAYLOAD))
            lo, hi = max(address, segment.address), min(address + PAYLOAD, segment.end)
            page[lo - address:hi - address] = segment.data[lo - segment.address:
                                                           hi - segment.address]
    blocks = []
    ordered = sorted(pages)
    for number, address in enumerate(ordered):
        header = _HEADER.pack(MAGIC_START0, MAGIC_START1, FLAG_FAMILY_ID, address, PAYLOAD,
                              number, len(ordered), family)
        data = bytes(pages[address]).ljust(476, b"\0")
        blocks.append(header + data + struct.pack("<I", MAGIC_END))
    return b"".join(blocks)


@dataclass(frozen=True)
class Uf2Contents:
    family: int | None
    segments: tuple[Segment, ...]  # one per block, in file order


def parse_uf2(data: bytes) -> Uf2Contents:
    """Decode a UF2 file (checking magics and block numbering)."""
    if not data or len(data) % BLOCK:
        raise FlashError(f"not a UF2 file: {len(data)} bytes is not a multiple of {BLOCK}",
                         method="uf2")
    family: int | None = None
    segments = []
    count = len(data) // BLOCK
    for index in range(count):
        block = data[index * BLOCK:(index + 1) * BLOCK]
        m0, m1, flags, address, size, number, total, fam = _HEADER.unpack_from(block)
        (end,) = struct.unpack_from("<I", block, BLOCK - 4)
        if (m0, m1, end) != (MAGIC_START0, MAGIC_START1, MAGIC_END):
            raise FlashError(f"UF2 block {index} has bad magic numbers", method="uf2")
        if number != index or total != count or size > 476:
            raise FlashError(f"UF2 block {index} is out of sequence ({number}/{total})",
                             method="uf2")
        if flags & FLAG_NOT_MAIN_FLASH:
            continue
        if flags & FLAG_FAMILY_ID:
            family = fam
        segments.append(Segment(address, block[32:32 + size]))
    return Uf2Contents(family, tuple(segments))


def read_info(drive: Path) -> dict[str, str]:
    """``INFO_UF2.TXT`` as key -> value (``Board-ID``, ``Model``, ...)."""
    fields = {}
    for line in (drive / INFO_FILE).read_text(errors="replace").splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def mount_points() -> list[Path]:
    """Mounted file systems (from /proc/mounts) plus the usual automount folders."""
    found: list[Path] = []
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            parts = line.split()
            if len(parts) > 1:
                found.append(Path(parts[1].replace("\\040", " ")))
    except OSError:
        pass
    user = os.environ.get("USER", "")
    for root in (Path("/media") / user, Path("/run/media") / user, Path("/Volumes")):
        if root.is_dir():
            found += sorted(p for p in root.iterdir() if p.is_dir())
    return found


def find_drives(candidates: list[Path] | None = None) -> list[Path]:
    """Directories that are UF2 bootloader drives (they hold INFO_UF2.TXT)."""
    out = []
    for path in mount_points() if candidates is None else candidates:
        try:
            if (path / INFO_FILE).is_file() and path not in out:
                out.append(path)
        except OSError:
            continue
    return out


class Uf2Method:
    """Copy a UF2 image to a bootloader drive (``--via uf2:/media/you/RPI-RP2``, or found)."""

    name = "uf2"

    def run(self, job: FlashJob, progress: Progress) -> WriteResult:
        if not job.write:
            raise FlashError("a UF2 drive cannot be read back: nothing to verify",
                             method=self.name)
        if job.board.uf2_family is None:
            raise FlashError(f"{job.board.target} has no UF2 family id",
                             method=self.name,
                             hint="set custom_tinyrig_uf2_family in its platformio.ini entry")
        if job.address is not None:
            drive = Path(job.address)
            if not (drive / INFO_FILE).is_file():
                raise ProbeNotFoundError(f"{drive} is not a UF2 bootloader drive (no "
                                         f"{INFO_FILE})", method=self.name,
                                         found=[str(d) for d in find_drives()])
        else:
            drives = find_drives()
            if len(drives) != 1:
                raise ProbeNotFoundError(
                    "no single UF2 bootloader drive is mounted" if drives else
                    "no UF2 bootloader drive is mounted", method=self.name,
                    found=[str(d) for d in drives],
                    hint="double-tap reset (or hold BOOTSEL while plugging in), then name "
                         "the drive: --via uf2:/media/$USER/DRIVE")
            drive = drives[0]
        data = to_uf2(job.image, family_id(job.board.uf2_family))
        target = drive / (job.image.elf.stem + ".uf2")
        progress(completed=0, total=len(data), description=f"copying to {drive}")
        with target.open("wb") as out:
            for offset in range(0, len(data), 64 * BLOCK):
                out.write(data[offset:offset + 64 * BLOCK])
                progress(completed=min(offset + 64 * BLOCK, len(data)), total=len(data))
            out.flush()
            os.fsync(out.fileno())
        # The bootloader writes, checks and resets by itself once the copy completes.
        return WriteResult(bytes_written=job.image.size, verified=False,
                           destination=str(target))
