"""``tinyrig plan``: write an offline memory plan into a model and compare it with TFLM's."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from tinyrig.cli.common import JsonOption, console, emit, handle_errors, progress
from tinyrig.cli.main import app

if TYPE_CHECKING:
    from tinyrig.model.plan import PlanReport


def _bytes(n: int | None) -> str:
    return "-" if n is None else f"{n:,} B"


def render_plan(r: PlanReport) -> None:
    table = Table(show_header=False, title=f"memory plan of {r.model or 'model'}",
                  title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("tensors", f"{len(r.tensors)} {'placed' if r.fixed else 'left to TFLM'} "
                  f"({r.method}"
                  + (", optimal" if r.optimal else "") + f", {r.plan_seconds:g} s)")
    table.add_row("head", f"ours {_bytes(r.planned_head_bytes)}, TFLM greedy "
                  f"{_bytes(r.greedy_head_bytes)}, lower bound {_bytes(r.lower_bound_head_bytes)}")
    if r.planned_arena_bytes is not None:
        table.add_row("arena (measured)", f"ours {_bytes(r.planned_arena_bytes)}, TFLM greedy "
                      f"{_bytes(r.greedy_arena_bytes)}, saving {_bytes(r.saving_bytes)}")
        over = r.over_lower_bound
        table.add_row("lower bound", f"{_bytes(r.lower_bound_arena_bytes)} (max(live tensors, "
                      f"{_bytes(r.init_bytes)} init) + {_bytes(r.persistent_bytes)} persistent)"
                      + (f"; ours is {100 * over:.1f}% above" if over is not None else ""))
    if r.output:
        table.add_row("written", r.output)
    console.print(table)


@app.command()
@handle_errors
def plan(
    model: Annotated[Path, typer.Argument(help="A .tflite model.", show_default=False)],
    output: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Write the planned model here.")] = None,
    measure: Annotated[bool, typer.Option(
        "--measure/--no-measure", help="Bisect both arenas with the real TFLM allocator.")
    ] = True,
    time_limit: Annotated[float, typer.Option(
        "--time-limit", min=0.1, help="Seconds the exact (ILP) packing may take.")] = 20.0,
    fix_ties: Annotated[bool, typer.Option(
        "--fix-ties", help="Fix our offsets even where TFLM's greedy plan is as small.")
    ] = False,
    json: JsonOption = False,
) -> None:
    """Place the model's tensors offline (exact ILP for small graphs) and store the plan as
    OfflineMemoryAllocation metadata; report it against TFLM's greedy planner."""
    from tinyrig.model.plan import plan_model

    with progress("planning", quiet=json):
        report = plan_model(model, output, measure=measure, time_limit=time_limit,
                            fix_ties=fix_ties)
    emit(report, json, render_plan)
