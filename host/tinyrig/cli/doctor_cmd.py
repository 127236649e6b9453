"""``tinyrig doctor``: what each target needs, found or missing, and the command that fixes it."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from tinyrig.cli.common import JsonOption, console, emit, handle_errors
from tinyrig.cli.main import app
from tinyrig.doctor import DoctorReport, Status, run_doctor

_STYLE = {Status.FOUND: "green", Status.MISSING: "bold red", Status.WARNING: "yellow"}


def _render(report: DoctorReport) -> None:
    table = Table(title=f"tinyrig doctor: {', '.join(report.targets)}", title_justify="left")
    # The fix column only when there is something to fix: the table stays readable at 80 columns.
    fixes = any(check.fix for check in report.checks)
    for column in ("", "needs", "for", "found", *(("fix",) if fixes else ())):
        table.add_column(column, overflow="fold")
    for check in report.checks:
        style = _STYLE[check.status]
        row = [f"[{style}]{check.status.value}[/]", check.name, check.purpose, check.detail]
        table.add_row(*row, *((check.fix or "",) if fixes else ()))
    console.print(table)
    if report.ok:
        console.print("[green]everything the requested targets need is here[/]")
    else:
        names = ", ".join(c.name for c in report.missing)
        console.print(f"[bold red]missing:[/] {names} (run the commands in the fix column)")


@app.command()
@handle_errors
def doctor(
    target: Annotated[list[str] | None, typer.Option(
        "--target", "-t", help="Check only what this target needs (repeatable): native, "
        "qemu-m4, ..., board (a real board), fuzz (make test's fuzzers). Default: all.")] = None,
    json: JsonOption = False,
) -> None:
    """Check compilers, runtime headers, QEMU, gdb, TFLM sources, PlatformIO and serial access;
    exit 1 if anything a requested target needs is missing."""
    report = run_doctor(target)
    emit(report, json, _render)
    if not report.ok:
        raise typer.Exit(1)
