#!/usr/bin/env python3
"""Flash benchmark: `tinyrig flash --via gdb://` onto an empty emulated board (QEMU mps2-an386
halted with its gdbstub, no -kernel), through the library API.

For each repetition: write + verify (compare-sections) + reset, then the protocol check (HELLO
and INFO on the UART). Also the same with --no-verify, to show what verification costs.

Usage: python bench/flash_bench.py [--image ELF] [--repeat 5]
Without --image it builds (cached) hello_world for qemu-m4 with a 4096-byte arena.
Writes bench/flash_results.json and bench/flash_results.md. Not a test: numbers vary by machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "host"))
SHARED = REPO.parent / "shared"
if not os.environ.get("TINYRIG_TFLM_SOURCE"):
    tarball = SHARED / "vendor/tflite-micro/tflm-90b983c.tar.gz"
    if tarball.is_file():
        os.environ["TINYRIG_TFLM_SOURCE"] = str(tarball)

from tinyrig.flash import FlashReport, flash  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def empty_board() -> tuple[subprocess.Popen[bytes], int, str]:
    gdb_port, uart_port = free_port(), free_port()
    process = subprocess.Popen(
        ["qemu-system-arm", "-M", "mps2-an386", "-nographic", "-monitor", "none", "-S",
         "-gdb", f"tcp:127.0.0.1:{gdb_port}",
         "-serial", f"tcp:127.0.0.1:{uart_port},server=on,wait=off"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", gdb_port), timeout=1).close()
            return process, gdb_port, f"socket://127.0.0.1:{uart_port}"
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise SystemExit("QEMU's gdbstub did not come up") from None
            time.sleep(0.05)


def once(image: Path, verify: bool) -> tuple[FlashReport, float]:
    process, gdb_port, uart = empty_board()
    try:
        start = time.monotonic()
        report = flash("qemu-m4", image=image, via=f"gdb://127.0.0.1:{gdb_port}", port=uart,
                       verify=verify)
        return report, time.monotonic() - start
    finally:
        process.kill()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--image", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    image = args.image
    if image is None:
        from tinyrig.builder.firmware import build_firmware

        image = build_firmware("qemu-m4", SHARED / "models" / "hello_world_int8.tflite",
                               arena_bytes=4096).elf
    rows = []
    for verify in (True, False):
        writes, totals = [], []
        report = None
        for _ in range(args.repeat):
            report, total = once(image, verify)
            writes.append(report.seconds)
            totals.append(total)
        assert report is not None
        rows.append({
            "verify": verify, "bytes": report.bytes_written,
            "write_s_median": statistics.median(writes),
            "kib_per_s": report.bytes_written / statistics.median(writes) / 1024,
            "flash_and_check_s_median": statistics.median(totals),
            "verified": report.verified,
            "model_id": report.info.model_id.hex() if report.info else None,
        })
    result = {"machine": platform.platform(), "cpus": os.cpu_count(),
              "load_average": os.getloadavg()[0], "repeat": args.repeat,
              "image": str(image), "rows": rows}
    out = Path(__file__).with_name("flash_results.json")
    out.write_text(json.dumps(result, indent=2) + "\n")
    lines = ["# Flash benchmark (gdb-multiarch -> QEMU gdbstub, empty mps2-an386)", "",
             f"{result['machine']}, {result['cpus']} CPUs, load average "
             f"{result['load_average']:.1f} while measuring; median of {args.repeat}.", "",
             "| verify | bytes | write (+verify, reset) s | KiB/s | flash + protocol check s |",
             "|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {'yes' if row['verify'] else 'no'} | {row['bytes']:,} | "
                     f"{row['write_s_median']:.2f} | {row['kib_per_s']:.0f} | "
                     f"{row['flash_and_check_s_median']:.2f} |")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
