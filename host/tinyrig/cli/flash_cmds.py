"""Board commands: flash, devices."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tinyrig.cli.common import JsonOption, console, emit, handle_errors, progress
from tinyrig.cli.main import app
from tinyrig.discovery import DevicesReport, list_devices
from tinyrig.flash import FlashReport, Reset, flash
from tinyrig.transport import DEFAULT_BAUDRATE


def _render_flash(report: FlashReport) -> None:
    table = Table(show_header=False, title=f"flashed {report.target}", title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    rate = report.bytes_written / report.seconds / 1024 if report.seconds > 0 else 0.0
    rows = [
        ("method", f"{report.method} → {report.destination}"),
        ("image", str(report.image)),
        ("written", f"{report.bytes_written:,} B in {report.seconds:.2f} s ({rate:.0f} KiB/s)"),
        ("verified", "[green]yes[/]" if report.verified else "[yellow]no[/]"),
        ("reset", report.reset),
    ]
    if report.info is not None:
        info = report.info
        rows += [("board", f"{info.board} on {report.port}"),
                 ("firmware", f"{info.firmware}, TFLM {info.tflm}"),
                 ("model", f"{info.model_id.hex()} "
                           + ("[green](the one flashed)[/]" if report.model_id else "")),
                 ("arena", f"{info.arena_used} of {info.arena_size} B used")]
    else:
        rows.append(("board", "[dim]not checked (give --port to reach it over the protocol)[/]"))
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)


@app.command("flash")
@handle_errors
def flash_cmd(
    target: Annotated[str, typer.Option("--target", "-t", help="Firmware target (platformio.ini "
                                                               "environment).")],
    model: Annotated[Path | None, typer.Option(
        "--model", "-m", help="Build (cached) and flash firmware with this .tflite.")] = None,
    image: Annotated[Path | None, typer.Option("--image", help="Flash this ELF as is.")] = None,
    via: Annotated[str | None, typer.Option(
        "--via", help="gdb://HOST:PORT | gdb:/dev/ttyBmpGdb | pyocd | openocd | stlink | "
                      "uf2[:DRIVE] | emulated (default: the board's)")] = None,
    port: Annotated[str | None, typer.Option(
        "--port", help="The board's serial port, to check it after the reset (auto: the only "
                       "board attached).")] = None,
    probe: Annotated[str | None, typer.Option(
        "--probe", help="Debug probe id / serial number (pyocd, openocd, stlink).")] = None,
    verify: Annotated[bool, typer.Option("--verify/--no-verify",
                                         help="Read back and compare.")] = True,
    verify_only: Annotated[bool, typer.Option(
        "--verify-only", help="Write nothing: check the board holds the image.")] = False,
    reset: Annotated[Reset, typer.Option("--reset", help="How to restart the board.")
                     ] = Reset.HARD,
    arena: Annotated[int | None, typer.Option(
        "--arena", help="Tensor arena bytes (default: measured).")] = None,
    baud: Annotated[int, typer.Option("--baud", help="UART baud rate for the check.")
                    ] = DEFAULT_BAUDRATE,
    json: JsonOption = False,
) -> None:
    """Build if needed, write firmware to a board, verify, reset, check the model it reports."""
    with progress(f"flashing {target}", quiet=json) as update:
        report = flash(target, model=model, image=image, via=via, port=port, probe=probe,
                       verify=verify, reset=reset, write=not verify_only, arena_bytes=arena,
                       baudrate=baud, progress=update)
    emit(report, json, _render_flash)


def _render_devices(report: DevicesReport) -> None:
    table = Table(title="serial ports", title_justify="left")
    for column in ("port", "by-id", "VID:PID", "serial", "description", "looks like"):
        table.add_column(column)
    for port in report.ports:
        guess = port.guess or ""
        if port.targets:
            guess += (" → " if guess else "") + ", ".join(port.targets)
        table.add_row(port.device, port.by_id or "", port.usb_id or "", port.serial_number or "",
                      port.description or "", guess)
    console.print(table if report.ports else "no serial ports")
    if report.probes is None:
        console.print(f"[dim]debug probes: {report.probes_note}[/]")
    else:
        console.print("debug probes (pyOCD): " + (", ".join(report.probes) or "none"))
    if report.usb_probes and not report.probes:
        console.print("[yellow]on the USB bus but not opened:[/] " + ", ".join(report.usb_probes)
                      + " (udev rules or permissions?)")


@app.command()
@handle_errors
def devices(json: JsonOption = False) -> None:
    """List serial ports and debug probes, and guess which board each one is."""
    emit(list_devices(), json, _render_devices)
