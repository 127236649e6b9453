"""``openocd``: OpenOCD's ``program`` command (ST-Link, CMSIS-DAP, J-Link, FTDI adapters)."""

from __future__ import annotations

from typing import Final

from tinyrig.flash.base import FlashJob, Progress, Reset, WriteResult
from tinyrig.flash.errors import FlashError, FlashWriteError, ProbeNotFoundError, VerificationError
from tinyrig.flash.tools import require, run_tool

_NO_PROBE: Final = ("open failed", "No J-Link device found", "unable to find a matching CMSIS-DAP",
                    "No device found", "Error: libusb_open() failed", "LIBUSB_ERROR")


def openocd_command(job: FlashJob, program: str = "openocd") -> list[str]:
    """The OpenOCD command line for ``job`` (the board entry's config files)."""
    if not job.board.openocd:
        raise FlashError(f"{job.board.target} has no OpenOCD configuration", method="openocd",
                         hint="set custom_tinyrig_openocd (e.g. board/st_nucleo_f4.cfg) in "
                              "its platformio.ini entry")
    argv = [program]
    for config in job.board.openocd:
        argv += ["-f", config]
    if job.probe:
        argv += ["-c", f"adapter serial {job.probe}"]
    if job.write:
        words = ["program", f"{{{job.image.elf}}}"]
        if job.verify:
            words.append("verify")
        if job.reset is not Reset.NONE:
            words.append("reset")
        words.append("exit")
        argv += ["-c", " ".join(words)]
    else:
        argv += ["-c", "init", "-c", "halt", "-c", f"verify_image {{{job.image.elf}}}",
                 "-c", "resume", "-c", "shutdown"]
    return argv


class OpenocdMethod:
    """Flash with OpenOCD (Debian's ``openocd``)."""

    name = "openocd"

    def run(self, job: FlashJob, progress: Progress) -> WriteResult:
        argv = openocd_command(job, require("openocd", method=self.name, package="openocd"))
        progress(completed=0, total=job.image.size, description="openocd")
        out = run_tool(argv, method=self.name)
        return parse_openocd(out, job)


def parse_openocd(out: str, job: FlashJob) -> WriteResult:
    """Turn OpenOCD's output into a result or a typed error."""
    if any(text in out for text in _NO_PROBE):
        raise ProbeNotFoundError("OpenOCD found no debug probe", method="openocd", found=[],
                                 hint="check the USB cable and udev rules "
                                      "(/usr/share/openocd/contrib/60-openocd.rules)")
    if "Verify Failed" in out or "checksum mismatch" in out:
        raise VerificationError(method="openocd", regions=["the image"], first_address=None,
                                differing_bytes=None)
    if "[exit 0]" not in out:
        raise FlashWriteError("OpenOCD failed", method="openocd", log=out)
    verified = "Verified OK" in out or (not job.write and "verified " in out)
    return WriteResult(bytes_written=job.image.size if job.write else 0, verified=verified,
                       destination="openocd " + " ".join(job.board.openocd))
