"""``gdb``: flash through any GDB remote server with gdb-multiarch.

OpenOCD, pyOCD's gdbserver, SEGGER's J-Link GDB Server, a Black Magic Probe (its GDB server is
a serial port) and QEMU's ``-gdb`` stub all speak the GDB remote protocol. tinyrig runs
``gdb -batch`` with :mod:`tinyrig.flash.gdb_agent`, which loads the ELF, checks every loaded
section with ``compare-sections`` (a CRC computed by the server), resets and detaches.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections import deque
from pathlib import Path
from typing import Any, Final

from tinyrig.flash.base import FlashJob, Progress, WriteResult
from tinyrig.flash.errors import (
    FlashError,
    FlashToolMissingError,
    FlashWriteError,
    ProbeNotFoundError,
    VerificationError,
)
from tinyrig.flash.image import Image
from tinyrig.system_packages import install_hint

GDB_PROGRAMS: Final = ("gdb-multiarch", "arm-none-eabi-gdb", "gdb")
_AGENT: Final = Path(__file__).with_name("gdb_agent.py")
_PREFIX: Final = "TINYRIG-GDB "
_TIMEOUT: Final = 300.0
_LOADING: Final = re.compile(r"Loading section (\S+), size (0x[0-9a-fA-F]+)")
_CONNECT_FAILURES: Final = ("Connection refused", "Connection timed out", "No such file",
                            "No route to host", "could not connect", "Remote connection closed",
                            "No usable targets", "not responding", "Could not open")


def find_gdb() -> str:
    for program in GDB_PROGRAMS:
        path = shutil.which(program)
        if path is not None and (program != "gdb" or _is_multiarch(path)):
            return path
    raise FlashToolMissingError("gdb-multiarch", method="gdb",
                                hint=install_hint("flash"))


def _is_multiarch(gdb: str) -> bool:
    out = subprocess.run([gdb, "-nx", "-batch", "-ex", "set architecture arm"],
                         capture_output=True, text=True, check=False)
    return out.returncode == 0 and "Undefined" not in out.stderr


def loadable_sections(image: Image) -> list[dict[str, Any]]:
    """Allocated sections with contents, at their load addresses: what ``load`` writes."""
    from elftools.elf.constants import SH_FLAGS
    from elftools.elf.elffile import ELFFile

    sections = []
    with image.elf.open("rb") as stream:
        elf = ELFFile(stream)
        for section in elf.iter_sections():
            size = int(section["sh_size"])
            if (not section["sh_flags"] & SH_FLAGS.SHF_ALLOC or section["sh_type"] == "SHT_NOBITS"
                    or size == 0):
                continue
            vma = int(section["sh_addr"])
            lma = vma
            for segment in elf.iter_segments():
                if segment["p_type"] == "PT_LOAD" and segment.section_in_segment(section):
                    lma = int(segment["p_paddr"]) + vma - int(segment["p_vaddr"])
                    break
            sections.append({"name": section.name, "start": lma, "end": lma + size})
    return sections


def parse_remote(address: str) -> tuple[str, bool]:
    """A GDB server address -> (what ``target remote`` takes, is it a serial port).

    ``gdb://host:port``, ``host:port``, ``:port`` are TCP; ``/dev/...`` (also ``gdb:/dev/...``)
    is a Black Magic Probe's serial GDB port.
    """
    remote = address.removeprefix("gdb://").removeprefix("gdb:")
    if remote.startswith("/dev/") or remote.upper().startswith("COM"):
        return remote, True
    if ":" not in remote:
        raise FlashWriteError(f"bad GDB server address {address!r}", method="gdb",
                              hint="gdb://HOST:PORT, :PORT, or a Black Magic Probe's port "
                                   "such as /dev/ttyBmpGdb")
    return remote, False


def gdb_command(gdb: str) -> list[str]:
    return [gdb, "-nx", "-batch", "-x", str(_AGENT)]


def gdb_job(job: FlashJob, remote: str, serial: bool, dump_dir: str) -> dict[str, Any]:
    """The JSON handed to the agent (``TINYRIG_GDB_JOB``)."""
    reset_command = "system_reset" if job.board.emulator else job.board.gdb_reset
    if serial and job.board.gdb_reset == "reset":
        reset_command = "hard_srst"  # the Black Magic Probe's name for it
    return {"elf": str(job.image.elf), "remote": remote, "serial": serial, "write": job.write,
            "verify": job.verify or not job.write, "reset": job.reset.value,
            "reset_command": reset_command, "sections": loadable_sections(job.image),
            "dump_dir": dump_dir}


class GdbMethod:
    """Flash through a GDB remote server."""

    name = "gdb"

    def run(self, job: FlashJob, progress: Progress) -> WriteResult:
        if job.address is None:
            raise FlashError("no GDB server given", method=self.name,
                             hint="--via gdb://HOST:PORT (OpenOCD :3333, pyOCD :3333, J-Link "
                                  ":2331, QEMU -gdb tcp::PORT), or --via gdb:/dev/ttyBmpGdb "
                                  "for a Black Magic Probe")
        remote, serial = parse_remote(job.address)
        gdb = find_gdb()
        with tempfile.TemporaryDirectory(prefix="tinyrig-gdb-") as dump_dir:
            spec = gdb_job(job, remote, serial, dump_dir)
            events, log = _run_agent(gdb, spec, progress, job.image.size if job.write else 0)
            return self._result(job, spec, events, log)

    def _result(self, job: FlashJob, spec: dict[str, Any], events: list[dict[str, Any]],
                log: str) -> WriteResult:
        by_name = {e["event"]: e for e in events}
        error = by_name.get("error")
        if error is not None:
            message = error["message"]
            if error["step"] == "connect" and any(t in message for t in _CONNECT_FAILURES):
                raise ProbeNotFoundError(f"no GDB server answers at {spec['remote']}: "
                                         f"{message}", method=self.name, found=[],
                                         hint="start OpenOCD/pyOCD gdbserver/J-Link GDB "
                                              "Server, or check the probe's port")
            raise FlashWriteError(f"gdb failed during {error['step']}: {message}",
                                  method=self.name, log=log)
        if "done" not in by_name:
            raise FlashWriteError("gdb stopped before finishing (see its output)",
                                  method=self.name, log=log)
        verified = False
        if "verified" in by_name:
            _check(job.image, by_name["verified"], self.name)
            verified = True
        return WriteResult(bytes_written=job.image.size if job.write else 0, verified=verified,
                           destination=f"gdb {spec['remote']}")


def _check(image: Image, event: dict[str, Any], method: str) -> None:
    """Raise VerificationError naming the sections that differ and the first bad byte."""
    bad = [s for s in event["sections"] if not s["matched"]]
    if not event["sections"]:
        raise FlashWriteError("gdb compared no sections", method=method)
    if not bad:
        return
    first: int | None = None
    differing = 0
    for dump in event["dumps"]:
        data = Path(dump["path"]).read_bytes()
        start = int(dump["start"])
        expected = _expected(image, start, len(data))
        for offset, (got, want) in enumerate(zip(data, expected, strict=True)):
            if want is not None and got != want:
                differing += 1
                if first is None or start + offset < first:
                    first = start + offset
    regions = [f"{s['name']} ({s['start']:#x}-{s['end']:#x})" for s in bad]
    raise VerificationError(method=method, regions=regions, first_address=first,
                            differing_bytes=differing or None)


def _expected(image: Image, start: int, length: int) -> list[int | None]:
    out: list[int | None] = [None] * length
    for segment in image.segments:
        lo, hi = max(start, segment.address), min(start + length, segment.end)
        for address in range(lo, hi):
            out[address - start] = segment.data[address - segment.address]
    return out


def _run_agent(gdb: str, spec: dict[str, Any], progress: Progress, total: int
               ) -> tuple[list[dict[str, Any]], str]:
    """Run gdb with the agent; returns its events and its whole output."""
    env = {**os.environ, "TINYRIG_GDB_JOB": json.dumps(spec)}
    try:
        process = subprocess.Popen(gdb_command(gdb), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   errors="replace", env=env)
    except OSError as exc:
        raise FlashToolMissingError(gdb, method="gdb",
                                    hint=f"{exc}; {install_hint('flash')}") from None
    timer = threading.Timer(_TIMEOUT, process.kill)
    timer.start()
    events: list[dict[str, Any]] = []
    tail: deque[str] = deque(maxlen=60)
    written = 0
    try:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.rstrip("\n")
            tail.append(line)
            loading = _LOADING.match(line)
            if loading is not None and total:
                # gdb names a section before writing it: count the ones before as written.
                progress(completed=written, total=total,
                         description=f"writing {loading[1]}")
                written = min(total, written + int(loading[2], 16))
            elif line.startswith(_PREFIX):
                event = json.loads(line[len(_PREFIX):])
                events.append(event)
                if event["event"] == "connected":
                    progress(completed=0, total=total or None, description="writing")
                elif event["event"] == "loaded":
                    written = total
                    progress(completed=written, total=total or None, description="verifying")
        process.wait()
    finally:
        timer.cancel()
    if process.returncode and process.returncode < 0:
        raise FlashWriteError(f"gdb did not finish within {_TIMEOUT:.0f} s", method="gdb",
                              log="\n".join(tail))
    return events, "\n".join(tail)
