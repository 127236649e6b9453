"""``stlink``: the open-source ``st-flash`` (Debian ``stlink-tools``) with a binary image."""

from __future__ import annotations

import tempfile
from pathlib import Path

from tinyrig.flash.base import FlashJob, Progress, Reset, WriteResult
from tinyrig.flash.errors import FlashError, FlashWriteError, ProbeNotFoundError, VerificationError
from tinyrig.flash.tools import require, run_tool


def stflash_command(job: FlashJob, binary: Path, program: str = "st-flash") -> list[str]:
    """``st-flash [--serial S] [--reset] write IMAGE.bin ADDRESS`` (st-flash verifies every
    write itself; ``--no-verify`` cannot turn that off)."""
    if not job.write:
        raise FlashError("st-flash cannot verify without writing", method="stlink",
                         hint="use --via openocd or pyocd to check what a board holds")
    argv = [program]
    if job.probe:
        argv += ["--serial", job.probe]
    if job.reset is Reset.HARD:
        argv.append("--reset")
    return [*argv, "write", str(binary), f"{job.image.start:#x}"]


class StlinkMethod:
    """Flash an STM32 through an ST-Link with st-flash."""

    name = "stlink"

    def run(self, job: FlashJob, progress: Progress) -> WriteResult:
        program = require("st-flash", method=self.name, package="stlink-tools")
        with tempfile.TemporaryDirectory(prefix="tinyrig-stlink-") as tmp:
            binary = Path(tmp) / "firmware.bin"
            binary.write_bytes(job.image.to_binary())
            progress(completed=0, total=job.image.size, description="st-flash")
            out = run_tool(stflash_command(job, binary, program), method=self.name)
        return parse_stflash(out, job)


def parse_stflash(out: str, job: FlashJob) -> WriteResult:
    if "Couldn't find any ST-Link" in out or "No ST-Link" in out or "Found 0 stlink" in out:
        raise ProbeNotFoundError("st-flash found no ST-Link", method="stlink", found=[],
                                 hint="check the USB cable and udev rules (stlink-tools "
                                      "installs /lib/udev/rules.d/49-stlinkv*.rules)")
    if "Verification of flash failed" in out or "verify failed" in out.lower():
        raise VerificationError(method="stlink", regions=["the image"], first_address=None,
                                differing_bytes=None)
    if "[exit 0]" not in out:
        raise FlashWriteError("st-flash failed", method="stlink", log=out)
    return WriteResult(bytes_written=job.image.size, verified="verified" in out.lower(),
                       destination="st-link " + (job.probe or "(first found)"))
