"""``list_devices()``: the serial ports of this machine with a guess of the board behind each,
and the debug probes pyOCD sees (when installed)."""

from __future__ import annotations

from dataclasses import dataclass

from tinyrig.transport.discovery import PortInfo, annotate, scan_ports


@dataclass(frozen=True)
class DevicesReport:
    ports: list[PortInfo]
    probes: list[str] | None  # None when pyOCD is not installed
    probes_note: str
    usb_probes: list[str]  # known debug probes on the USB bus (sysfs), openable or not


def list_devices() -> DevicesReport:
    from tinyrig.errors import TinyrigError
    from tinyrig.flash.board import board_entries

    try:
        boards = {name: entry.usb_ids for name, entry in board_entries().items()
                  if entry.usb_ids}
    except TinyrigError:
        boards = {}
    ports = annotate(scan_ports(), boards)
    try:
        from tinyrig.flash.pyocd_method import list_probes

        probes: list[str] | None = list_probes()
        note = "listed by pyOCD"
    except TinyrigError as exc:  # pyOCD is not installed
        probes, note = None, f"{exc.message} ({exc.hint})"
    from tinyrig.flash.pyocd_method import usb_probes_present

    return DevicesReport(ports=ports, probes=probes, probes_note=note,
                         usb_probes=usb_probes_present())
