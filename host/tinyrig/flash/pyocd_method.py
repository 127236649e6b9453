"""``pyocd``: CMSIS-DAP, ST-Link and J-Link probes through pyOCD's Python API.

Only pyOCD's built-in targets are used (``custom_tinyrig_pyocd_target``): its CMSIS-Pack index
is downloaded at run time, which fails offline, so pack targets are refused up front.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from tinyrig.flash.base import FlashJob, Progress, Reset, WriteResult
from tinyrig.flash.errors import (
    FlashError,
    FlashToolMissingError,
    FlashWriteError,
    ProbeNotFoundError,
    VerificationError,
)
from tinyrig.flash.image import Image

_SYSFS_USB: Final = Path("/sys/bus/usb/devices")


def _pyocd() -> Any:
    try:
        import pyocd
    except ImportError:
        raise FlashToolMissingError("pyocd", method="pyocd",
                                    hint="pip install 'tinyrig[flash]'") from None
    return pyocd


def list_probes() -> list[str]:
    """Attached probes pyOCD can open, as ``"<unique id> (<description>)"``."""
    _pyocd()
    from pyocd.core.helpers import ConnectHelper

    return [f"{p.unique_id} ({p.description})"
            for p in ConnectHelper.get_all_connected_probes(blocking=False)]


def usb_probes_present(sysfs: Path = _SYSFS_USB) -> list[str]:
    """Known debug probes on the USB bus (from sysfs), whether or not we may open them."""
    from tinyrig.transport.discovery import known_usb

    found = []
    if sysfs.is_dir():
        for device in sorted(sysfs.iterdir()):
            try:
                vid = int((device / "idVendor").read_text(), 16)
                pid = int((device / "idProduct").read_text(), 16)
            except (OSError, ValueError):
                continue
            known = known_usb(vid, pid)
            if known is not None and known.kind == "probe":
                found.append(f"{known.name} ({vid:04x}:{pid:04x}) at {device.name}")
    return found


def builtin_target(name: str | None) -> str:
    _pyocd()
    from pyocd.target import TARGET

    if name is None:
        raise FlashError("this board has no pyOCD target", method="pyocd",
                         hint="set custom_tinyrig_pyocd_target in its platformio.ini entry")
    if name.lower() not in TARGET:
        raise FlashError(f"pyOCD has no built-in target {name!r} (pack targets need a download)",
                         method="pyocd", hint="flash with --via openocd or --via stlink")
    return name.lower()


def compare(image: Image, read: Any) -> tuple[int | None, int]:
    """(first differing address, count) between ``image`` and ``read(address, length)``."""
    first, count = None, 0
    for segment in image.segments:
        got = bytes(read(segment.address, len(segment.data)))
        for offset, (a, b) in enumerate(zip(got, segment.data, strict=True)):
            if a != b:
                count += 1
                first = segment.address + offset if first is None else first
    return first, count


class PyocdMethod:
    """Flash through pyOCD with a built-in target."""

    name = "pyocd"

    def run(self, job: FlashJob, progress: Progress) -> WriteResult:
        from pyocd.core.exceptions import Error as PyocdError
        from pyocd.core.helpers import ConnectHelper
        from pyocd.flash.file_programmer import FileProgrammer

        probes = list_probes()
        if not probes or (job.probe and not any(p.startswith(job.probe) for p in probes)):
            present = usb_probes_present()
            hint = ("probes are on the USB bus but pyOCD cannot open them: install pyOCD's "
                    "udev rules (https://github.com/pyocd/pyOCD/tree/main/udev) or check "
                    f"permissions ({'; '.join(present)})" if present else
                    "plug in the probe (and power the board); `tinyrig devices` lists what "
                    "is attached")
            wanted = f"probe {job.probe}" if job.probe else "debug probe"
            raise ProbeNotFoundError(f"pyOCD found no {wanted}", method=self.name,
                                     found=probes, hint=hint)
        target = builtin_target(job.board.pyocd_target)
        options = {"target_override": target, "frequency": 4_000_000, "connect_mode": "halt"}
        try:
            session = ConnectHelper.session_with_chosen_probe(
                blocking=False, unique_id=job.probe, options=options)
            if session is None:
                raise ProbeNotFoundError("pyOCD found no debug probe", method=self.name,
                                         found=probes)
            with session:
                if job.write:
                    total = job.image.size

                    def done(fraction: float) -> None:
                        progress(completed=int(fraction * total), total=total,
                                 description="writing")

                    FileProgrammer(session, progress=done, no_reset=True).program(
                        str(job.image.elf), file_format="elf")
                verified = False
                if job.verify or not job.write:
                    first, count = compare(job.image, session.target.read_memory_block8)
                    if count:
                        raise VerificationError(method=self.name, regions=["flash"],
                                                first_address=first, differing_bytes=count)
                    verified = True
                if job.reset is Reset.HARD:
                    session.target.reset(session.target.ResetType.HW)
                elif job.reset is Reset.SOFT:
                    session.target.reset(session.target.ResetType.SW)
                else:
                    session.target.resume()
                uid = session.probe.unique_id
        except PyocdError as exc:
            raise FlashWriteError(f"pyOCD: {exc}", method=self.name) from None
        return WriteResult(bytes_written=job.image.size if job.write else 0, verified=verified,
                           destination=f"pyOCD probe {uid} ({target})")
