"""Runs INSIDE gdb (``gdb -batch -x gdb_agent.py``): connect, load, compare, reset, detach.

Standalone on purpose (gdb's embedded Python has no tinyrig): the job comes as JSON in the
environment variable ``TINYRIG_GDB_JOB`` and every event goes to stdout as one line
``TINYRIG-GDB {json}``. Steps that fail report ``{"event": "error", "step": ..., "message":
...}``; the agent always tries to detach, so the board keeps running and the server (QEMU's
gdbstub, OpenOCD, a Black Magic Probe) stays usable.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import Any

import gdb

_PREFIX = "TINYRIG-GDB "
_AIRCR_SYSRESETREQ = "set *(unsigned int *)0xE000ED0C = 0x05FA0004"


def emit(event: str, **fields: Any) -> None:
    sys.stdout.write(_PREFIX + json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


def run(command: str) -> str:
    return str(gdb.execute(command, to_string=True) or "")


def main() -> None:
    job = json.loads(os.environ["TINYRIG_GDB_JOB"])
    step = "connect"
    connected = False
    try:
        run("set confirm off")
        run("set pagination off")
        run("set tcp connect-timeout 5")
        run("set remotetimeout 20")
        run(f"file {job['elf']}")
        if job["serial"]:  # a Black Magic Probe: its GDB server is on a serial port
            run(f"target extended-remote {job['remote']}")
            scan = run("monitor swdp_scan")
            emit("scan", output=scan)
            run("attach 1")
        else:
            run(f"target remote {job['remote']}")
        connected = True
        emit("connected")
        if job["write"]:
            step = "load"
            gdb.execute("load")  # prints "Loading section NAME, size 0x.. lma 0x.." as it goes
            emit("loaded")
        if job["verify"]:
            step = "verify"
            sections = []
            for section in job["sections"]:  # {"name", "start", "end"} (load addresses)
                try:
                    out = run(f"compare-sections {section['name']}")
                except gdb.error as exc:
                    if "not match" not in str(exc):
                        raise
                    out = "MIS-MATCHED"
                matched = "MIS-MATCHED" not in out and "matched" in out
                sections.append({**section, "matched": matched, "output": out.strip()})
            dumps = []
            for index, section in enumerate(s for s in sections if not s["matched"]):
                path = f"{job['dump_dir']}/region{index}.bin"
                run(f"dump binary memory {path} {section['start']} {section['end']}")
                dumps.append({"name": section["name"], "start": section["start"],
                              "path": path})
            emit("verified", sections=sections, dumps=dumps)
        step = "reset"
        if job["reset"] == "hard":
            emit("reset", output=run(f"monitor {job['reset_command']}"))
        elif job["reset"] == "soft":
            run(_AIRCR_SYSRESETREQ)
            emit("reset", output="SYSRESETREQ")
        step = "detach"
        run("detach")
        connected = False
        emit("done")
    except gdb.error as exc:
        emit("error", step=step, message=str(exc))
        if connected:
            with contextlib.suppress(gdb.error):
                run("detach")


main()
