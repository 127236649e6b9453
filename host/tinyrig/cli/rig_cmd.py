"""``tinyrig rig run RIG.toml``: validate a model on every board of a rig file, in parallel,
run the suites, and write one merged report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tinyrig.cli.common import JsonOption, console, emit, handle_errors
from tinyrig.cli.main import app

rig_app = typer.Typer(help="Rigs of boards: rig files (TOML) naming boards and what to run.",
                      no_args_is_help=True)
app.add_typer(rig_app, name="rig")


@rig_app.command("run")
@handle_errors
def run(
    rig_file: Annotated[Path, typer.Argument(help="The rig file (TOML).")],
    json: JsonOption = False,
) -> None:
    """Validate on every board (in parallel, each locked), run the suites, merge the reports.
    Exit 1 when any board or suite fails."""
    from tinyrig_hil.rigfile import RigReport, run_rig_file

    report = run_rig_file(rig_file)

    def render(value: RigReport) -> None:
        table = Table(title=f"rig {value.rig}: {value.model}", title_justify="left")
        for head in ("board", "url", "prepared", "bit-exact", "result"):
            table.add_column(head)
        for board in value.boards:
            main = board.report.comparison("device", "tflm") if board.report else None
            exact = "" if main is None or board.report is None else \
                f"{main.exact}/{board.report.samples}"
            table.add_row(board.board, board.url, board.prepared, exact,
                          "[green]PASS[/]" if board.passed else f"[red]FAIL[/] {board.error or ''}")
        console.print(table)
        if value.suites_exit_code is not None:
            console.print(f"suites: exit code {value.suites_exit_code}")
        console.print(f"report: {value.files['html']}")

    emit(report, json, render)
    if not report.passed:
        raise typer.Exit(1)
