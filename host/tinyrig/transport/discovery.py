"""Which serial ports and boards are attached: pyserial's port list, by-id names, and a guess
of the board from its USB VID:PID. ``resolve_port("auto")`` picks the only candidate and
refuses to guess between several."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final

from tinyrig.transport.errors import AmbiguousPortError, PortNotFoundError

BY_ID_DIR: Final = Path("/dev/serial/by-id")


@dataclass(frozen=True)
class KnownUsb:
    """A USB device family recognised by VID (and PID, None = any of that vendor)."""

    vid: int
    pid: int | None
    name: str
    kind: str  # "probe" (a debug probe, often with a virtual COM port), "board", "bridge"


# Probes and boards first, generic USB-UART bridges last (their PIDs are on many boards).
KNOWN_USB: Final[tuple[KnownUsb, ...]] = (
    KnownUsb(0x0483, 0x3748, "ST-Link V2", "probe"),
    KnownUsb(0x0483, 0x374B, "ST-Link V2-1 (Nucleo/Discovery)", "probe"),
    KnownUsb(0x0483, 0x3752, "ST-Link V2-1 (Nucleo/Discovery)", "probe"),
    KnownUsb(0x0483, 0x374E, "ST-Link V3", "probe"),
    KnownUsb(0x0483, 0x374F, "ST-Link V3", "probe"),
    KnownUsb(0x0483, 0x3753, "ST-Link V3", "probe"),
    KnownUsb(0x0483, 0x3754, "ST-Link V3", "probe"),
    KnownUsb(0x1366, None, "SEGGER J-Link", "probe"),
    KnownUsb(0x0D28, 0x0204, "CMSIS-DAP (DAPLink)", "probe"),
    KnownUsb(0x2E8A, 0x000C, "CMSIS-DAP (Raspberry Pi Debug Probe)", "probe"),
    KnownUsb(0x1D50, 0x6018, "Black Magic Probe", "probe"),
    KnownUsb(0x2341, 0x805A, "Arduino Nano 33 BLE", "board"),
    KnownUsb(0x2341, 0x005A, "Arduino Nano 33 BLE (bootloader)", "board"),
    KnownUsb(0x2E8A, 0x0005, "Raspberry Pi Pico (MicroPython)", "board"),
    KnownUsb(0x2E8A, 0x000A, "Raspberry Pi Pico", "board"),
    KnownUsb(0x2E8A, 0x0003, "Raspberry Pi Pico (BOOTSEL)", "board"),
    KnownUsb(0x303A, 0x1001, "Espressif USB-JTAG/serial", "board"),
    KnownUsb(0x10C4, 0xEA60, "Silicon Labs CP210x USB-UART", "bridge"),
    KnownUsb(0x1A86, 0x7523, "WCH CH340 USB-UART", "bridge"),
    KnownUsb(0x1A86, 0x55D4, "WCH CH9102 USB-UART", "bridge"),
    KnownUsb(0x0403, 0x6001, "FTDI FT232R USB-UART", "bridge"),
    KnownUsb(0x0403, 0x6010, "FTDI FT2232 USB-UART", "bridge"),
    KnownUsb(0x0403, 0x6014, "FTDI FT232H USB-UART", "bridge"),
    KnownUsb(0x0403, 0x6015, "FTDI FT-X USB-UART", "bridge"),
)


def known_usb(vid: int | None, pid: int | None) -> KnownUsb | None:
    if vid is None:
        return None
    for entry in KNOWN_USB:
        if entry.vid == vid and entry.pid in (None, pid):
            return entry
    return None


@dataclass(frozen=True)
class PortInfo:
    """One serial port and what tinyrig makes of it."""

    device: str
    by_id: str | None = None
    vid: int | None = None
    pid: int | None = None
    serial_number: str | None = None
    description: str | None = None
    guess: str | None = None  # the known USB device it is, e.g. "ST-Link V2-1 (Nucleo...)"
    targets: tuple[str, ...] = field(default=())  # firmware targets whose board matches

    @property
    def usb_id(self) -> str | None:
        return None if self.vid is None else f"{self.vid:04x}:{(self.pid or 0):04x}"


def _by_id_links(directory: Path = BY_ID_DIR) -> dict[str, str]:
    """Resolved device -> /dev/serial/by-id link."""
    links: dict[str, str] = {}
    if directory.is_dir():
        for link in sorted(directory.iterdir()):
            links.setdefault(str(link.resolve()), str(link))
    return links


def scan_ports() -> list[PortInfo]:
    """The serial ports pyserial reports on this machine, with their USB facts."""
    try:
        from serial.tools import list_ports as pyserial_ports

        raw = list(pyserial_ports.comports())
    except (ImportError, OSError):
        raw = []
    links = _by_id_links()
    ports = [
        PortInfo(device=p.device, by_id=links.get(str(Path(p.device).resolve())), vid=p.vid,
                 pid=p.pid, serial_number=p.serial_number,
                 description=None if p.description in (None, "n/a") else p.description)
        for p in raw
    ]
    return sorted(ports, key=lambda p: p.device)


def annotate(ports: Iterable[PortInfo],
             boards: Mapping[str, Sequence[tuple[int, int]]] | None = None) -> list[PortInfo]:
    """Fill in ``guess`` (from :data:`KNOWN_USB`) and ``targets`` (board entries whose
    ``usb_ids`` match)."""
    out = []
    for port in ports:
        known = known_usb(port.vid, port.pid)
        targets = tuple(sorted(name for name, ids in (boards or {}).items()
                               if (port.vid, port.pid) in ids))
        out.append(replace(port, guess=known.name if known else None, targets=targets))
    return out


def pick_auto(ports: Sequence[PortInfo], usb_ids: Sequence[tuple[int, int]] = ()) -> PortInfo:
    """The one port ``auto`` means: a port with the board's own VID:PID if ``usb_ids`` are
    given and one matches, else a port with a known VID:PID. Several candidates: refuse."""
    candidates = [p for p in ports if (p.vid, p.pid) in usb_ids] if usb_ids else []
    if not candidates:
        candidates = [p for p in ports if known_usb(p.vid, p.pid) is not None]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise PortNotFoundError("auto", [p.device for p in ports])
    raise AmbiguousPortError([_describe(p) for p in candidates])


def _describe(port: PortInfo) -> str:
    name = port.by_id or port.device
    what = port.guess or port.description or "unknown"
    return f"{name} ({what}{', ' + port.usb_id if port.usb_id else ''})"


def resolve_port(url: str, *, usb_ids: Sequence[tuple[int, int]] = (),
                 ports: Sequence[PortInfo] | None = None) -> str:
    """``url`` itself, or for ``auto`` the device of the only attached board."""
    if url != "auto":
        return url
    return pick_auto(annotate(scan_ports() if ports is None else ports), usb_ids).device
