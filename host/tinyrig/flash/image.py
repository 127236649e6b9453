"""What a flash method writes: the load segments of an ELF, at their load (flash) addresses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tinyrig.flash.errors import FlashError


@dataclass(frozen=True)
class Segment:
    """Bytes to place at ``address`` (the physical/load address: flash for .data too)."""

    address: int
    data: bytes

    @property
    def end(self) -> int:
        return self.address + len(self.data)


@dataclass(frozen=True)
class Image:
    """A firmware image ready to write: its ELF and the segments in it."""

    elf: Path
    segments: tuple[Segment, ...]

    @property
    def size(self) -> int:
        return sum(len(s.data) for s in self.segments)

    @property
    def start(self) -> int:
        return min(s.address for s in self.segments)

    def to_binary(self, fill: int = 0xFF) -> bytes:
        """One contiguous blob from the lowest address; gaps filled (erased flash is 0xFF)."""
        start = self.start
        out = bytearray([fill]) * (max(s.end for s in self.segments) - start)
        for segment in self.segments:
            out[segment.address - start:segment.end - start] = segment.data
        return bytes(out)


def load_image(elf: Path) -> Image:
    """Read the PT_LOAD segments with file contents from ``elf``."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    method = "image"
    if not elf.is_file():
        raise FlashError(f"image {elf} does not exist", method=method,
                         hint="build it with `tinyrig build --target T --model M`")
    try:
        with elf.open("rb") as stream:
            segments = [
                Segment(int(seg["p_paddr"]), seg.data()[:int(seg["p_filesz"])])
                for seg in ELFFile(stream).iter_segments()
                if seg["p_type"] == "PT_LOAD" and int(seg["p_filesz"]) > 0
            ]
    except ELFError as exc:
        raise FlashError(f"{elf} is not an ELF image: {exc}", method=method) from None
    if not segments:
        raise FlashError(f"{elf} has nothing to load (no PT_LOAD segment with contents)",
                         method=method)
    return Image(elf, tuple(sorted(segments, key=lambda s: s.address)))
