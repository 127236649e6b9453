"""What every CLI command shares: the console, --json output, and the error edge.

Commands are thin: parse options, call one library function that returns a dataclass, then
render it with :func:`emit` (a rich table for people, JSON with ``--json``). Exit codes are
decided here and nowhere else.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import numpy as np
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from tinyrig.errors import TinyrigError

console = Console()
err_console = Console(stderr=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]

P = ParamSpec("P")
R = TypeVar("R")


def to_jsonable(value: Any) -> Any:
    """Dataclasses, enums, paths and numpy values as plain JSON types."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(to_jsonable(value), indent=2) + "\n")
    sys.stdout.flush()


def emit(value: Any, as_json: bool, render: Callable[[Any], None]) -> None:
    """Render ``value`` for people, or as JSON."""
    if as_json:
        print_json(value)
    else:
        render(value)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn TinyrigError into one clear line and exit 1; anything else is a bug (exit 70)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except TinyrigError as exc:
            # soft_wrap: one message is one line, however narrow the terminal or pipe.
            err_console.print(f"[bold red]error:[/] {exc.message}", highlight=False,
                              soft_wrap=True)
            if exc.hint:
                err_console.print(f"[dim]hint:[/] {exc.hint}", highlight=False, soft_wrap=True)
            details = exc.details()  # e.g. a compiler's errors: the lines that matter
            if details:
                err_console.print("\n".join(details), style="dim", highlight=False,
                                  markup=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err_console.print("[bold red]interrupted[/]")
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:
            if os.environ.get("TINYRIG_DEBUG"):
                raise
            err_console.print(
                f"[bold red]internal error:[/] {type(exc).__name__}: {exc}", highlight=False,
                soft_wrap=True,
            )
            err_console.print("[dim]hint:[/] this is a tinyrig bug; rerun with TINYRIG_DEBUG=1 "
                              "for the traceback and report it")
            raise typer.Exit(70) from None

    return wrapper


@contextmanager
def progress(description: str, total: float | None = None, *, quiet: bool = False
             ) -> Iterator[Callable[..., None]]:
    """A rich progress bar on stderr; yields ``update(advance=..., completed=..., total=...,
    description=...)``. Silent when ``quiet`` (e.g. with --json) or stderr is not a terminal."""
    if quiet or not err_console.is_terminal:
        yield lambda **_: None
        return
    columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
               MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task(description, total=total)

        def update(**kwargs: Any) -> None:
            bar.update(task, **kwargs)

        yield update
