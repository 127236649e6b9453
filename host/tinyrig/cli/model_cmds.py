"""Model commands: inspect, check, arena, export. Each calls one library function and renders
its report (a rich table, or JSON with --json)."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from tinyrig.cli.common import JsonOption, console, emit, handle_errors, progress
from tinyrig.cli.main import app

if TYPE_CHECKING:
    from tinyrig.device.target_arena import TargetArenaReport
    from tinyrig.model.arena import ArenaReport
    from tinyrig.model.check import CheckReport
    from tinyrig.model.export import ExportResult
    from tinyrig.model.inspect import ModelReport, TensorInfo

ModelArg = Annotated[Path, typer.Argument(help="A .tflite model.", show_default=False)]


def _kib(n: int) -> str:
    return f"{n:,} B ({n / 1024:.1f} KiB)"


def _quant(scale: tuple[float, ...], zero_point: tuple[int, ...]) -> str:
    if not scale:
        return "-"
    if len(scale) == 1:
        return f"scale {scale[0]:.6g}, zp {zero_point[0] if zero_point else 0}"
    return f"{len(scale)} channels"


def _tensor_row(t: TensorInfo) -> tuple[str, ...]:
    return (str(t.index), t.name, t.dtype, "[" + ",".join(map(str, t.shape)) + "]",
            _quant(t.scale, t.zero_point))


def _render_inspect(r: ModelReport) -> None:
    summary = Table(show_header=False, title=r.path or "model", title_justify="left")
    summary.add_column(style="bold")
    summary.add_column()
    summary.add_row("size", _kib(r.size_bytes))
    summary.add_row("sha256", r.sha256)
    summary.add_row("schema", f"v{r.schema_version}" + ("" if r.schema_supported
                                                         else " (TFLM reads v3)"))
    if r.description:
        summary.add_row("description", r.description)
    summary.add_row("subgraphs", ", ".join(f"{s.index}:{s.name or '-'} ({s.operators} ops)"
                                           for s in r.subgraphs))
    summary.add_row("parameters", f"{r.parameter_count:,} ({_kib(r.parameter_bytes)})")
    summary.add_row("weights", ", ".join(f"{n} {d}" for d, n in r.weight_dtypes.items()) or "-")
    summary.add_row("activations", f"{_kib(r.activation_bytes)} (unplanned sum)")
    summary.add_row("MACs", f"{r.total_macs:,}")
    console.print(summary)
    io = Table(title="inputs / outputs", title_justify="left")
    for col in ("", "#", "name", "dtype", "shape", "quantization"):
        io.add_column(col, overflow="fold", no_wrap=col in ("dtype", "shape"))
    for role, tensors in (("in", r.inputs), ("out", r.outputs)):
        for t in tensors:
            io.add_row(role, *_tensor_row(t))
    console.print(io)
    ops = Table(title="ops", title_justify="left")
    for col in ("op", "count", "versions", "MACs", "TFLM"):
        ops.add_column(col, justify="right" if col in ("count", "MACs") else "left",
                       no_wrap=col == "op", overflow="fold")
    for o in r.ops:
        ops.add_row(o.op, str(o.count), ",".join(map(str, o.versions)),
                    f"{o.macs:,}" if o.macs else "-",
                    o.resolver_method or "[red]unsupported[/]")
    console.print(ops)


@app.command()
@handle_errors
def inspect(model: ModelArg, json: JsonOption = False) -> None:
    """Show a model's inputs, outputs, ops, sizes, parameters and MACs."""
    from tinyrig.model.inspect import inspect_model

    emit(inspect_model(model), json, _render_inspect)


def _render_check(r: CheckReport) -> None:
    title = f"check for TFLM {r.tflm_version}" + (f" on {r.target.name}" if r.target else "")
    table = Table(show_header=False, title=title, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("ops", ", ".join(r.ops) or "-")
    table.add_row("compute", r.compute_dtype)
    table.add_row("TFLM run", "initialized and invoked" if r.interpreter_checked
                  else "not run")
    arena = ("measured" if r.memory.arena_measured else "estimated")
    table.add_row("flash", f"~{_kib(r.memory.flash_bytes)}"
                  + (f" of {_kib(r.target.flash_bytes)}" if r.target else ""))
    table.add_row("RAM", f"~{_kib(r.memory.ram_bytes)} (arena {r.memory.arena_bytes:,} B "
                  f"{arena})" + (f" of {_kib(r.target.ram_bytes)}" if r.target else ""))
    console.print(table)
    if not r.problems:
        console.print("[green]no problems found[/]")
        return
    colors = {"error": "red", "warning": "yellow", "info": "blue"}
    for p in r.problems:
        color = colors[p.severity.value]
        console.print(f"[{color}]{p.severity.value}[/] {escape(f'[{p.code}]')} "
                      f"{escape(p.message)}", highlight=False)


class Expect(str, enum.Enum):
    int8 = "int8"
    float32 = "float32"


@app.command()
@handle_errors
def check(
    model: ModelArg,
    target: Annotated[str | None, typer.Option(
        "--target", "-t", help="A board to check flash/RAM against (qemu-m4, nucleo-f446re, "
        "nucleo-l4r5zi, disco-f746ng, nrf52840, rp2040, esp32-s3, apollo3).")] = None,
    expect: Annotated[Expect | None, typer.Option(
        "--expect", help="The compute type the model must have.")] = None,
    no_run: Annotated[bool, typer.Option(
        "--no-run", help="Do not run the model on the host TFLM (static checks only).")] = False,
    json: JsonOption = False,
) -> None:
    """Pre-flight check against the pinned TFLM (and a board's memory); exit 1 on errors."""
    from tinyrig.model.check import check_model

    report = check_model(model, target, run_interpreter=not no_run,
                         expect=None if expect is None else
                         ("int8" if expect is Expect.int8 else "float32"))
    emit(report, json, _render_check)
    if not report.ok:
        raise typer.Exit(1)


def _render_arena(r: ArenaReport) -> None:
    table = Table(show_header=False, title="tensor arena", title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("minimum", f"{r.minimum_bytes:,} B"
                  + (" (verified: 16 B less fails)" if r.below_minimum_fails else ""))
    table.add_row("recommended", f"[bold]{r.arena_bytes:,} B[/] (minimum + {r.margin_bytes} B "
                  "margin, 16-aligned)")
    if r.breakdown is not None:
        b = r.breakdown
        table.add_row("reported", f"{b.total_bytes:,} B used: {b.non_persistent_bytes:,} B "
                      f"non-persistent + {b.persistent_bytes:,} B persistent")
    if r.peak_op is not None:
        table.add_row("peak op", f"#{r.peak_op.index} {r.peak_op.op}: "
                      f"{r.peak_op.live_bytes:,} B of activations live")
    if r.largest_tensors:
        table.add_row("largest", ", ".join(
            f"{t.name or t.index} {t.dtype}[{','.join(map(str, t.shape))}] {t.bytes:,} B"
            for t in r.largest_tensors[:3]))
    table.add_row("search", "cached" if r.cached else
                  f"{r.probes} probes in {r.search_seconds:.2f} s")
    table.add_row("interpreter", f"tflite_micro {r.interpreter} ({r.host_pointer_bits}-bit host)")
    console.print(table)
    console.print(f"[dim]{r.note}[/]", highlight=False)
    if r.breakdown is not None and r.breakdown.records:
        rec = Table(title="persistent allocations", title_justify="left")
        for col in ("what", "bytes", "count"):
            rec.add_column(col, justify="left" if col == "what" else "right")
        for a in r.breakdown.records:
            rec.add_row(a.name, f"{a.used_bytes:,}", str(a.count))
        console.print(rec)


@app.command()
@handle_errors
def arena(
    model: ModelArg,
    margin: Annotated[int, typer.Option(
        "--margin", min=0, help="Bytes added to the measured minimum (then 16-aligned).")] = 256,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Measure again.")] = False,
    on_device: Annotated[str | None, typer.Option(
        "--on-device", help="Measure on an emulated board's own build instead (native, qemu, "
                            "qemu:mps2-an385, ...): its kernels (CMSIS-NN scratch) and pointer "
                            "size, via the runner firmware.")] = None,
    json: JsonOption = False,
) -> None:
    """Measure the smallest tensor arena with the real TFLM allocator (bisection in child
    processes; cached by model SHA-256)."""
    from tinyrig.model.arena import measure_arena

    if on_device is not None:
        from tinyrig.device.target_arena import measure_target_arena

        with progress(f"bisecting on {on_device}", quiet=json) as update:
            target_report = measure_target_arena(model, on_device, margin=margin,
                                                 progress=update, use_cache=not no_cache)
        emit(target_report, json, _render_target_arena)
        return
    with progress("measuring the arena", total=20, quiet=json) as update:
        report = measure_arena(model, margin=margin, progress=update, use_cache=not no_cache)
    emit(report, json, _render_arena)


def _render_target_arena(r: TargetArenaReport) -> None:
    table = Table(show_header=False, title=f"arena on {r.device} ({r.board})",
                  title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("minimum", f"{r.minimum_bytes:,} B (bisected on the device in {r.probes} "
                  "loads; 16 B less fails)" + (", cached" if r.cached else ""))
    table.add_row("arena_used", f"{r.arena_used:,} B (what TFLM reports; excludes planner "
                  "scratch)")
    table.add_row("recommended", f"{r.arena_bytes:,} B (+{r.margin} B margin)")
    console.print(table)


def _render_export(r: ExportResult) -> None:
    table = Table(show_header=False, title=f"exported {r.name} to {r.out_dir}",
                  title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("files", ", ".join(p.name for p in r.files)
                  + ("" if r.written else " (unchanged)"))
    table.add_row("data", f"{r.data_symbol}[{r.model_bytes}] (alignas 16)")
    table.add_row("resolver", f"{r.resolver_type} = MicroMutableOpResolver<{r.op_count}>, "
                  f"{r.register_function}()")
    table.add_row("ops", ", ".join(r.ops))
    table.add_row("arena", f"{r.arena_bytes:,} B")
    table.add_row("model id", r.model_id)
    table.add_row("TFLM", r.tflm_version)
    console.print(table)


@app.command()
@handle_errors
def export(
    model: ModelArg,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Directory for the sources.")],
    arena_bytes: Annotated[int | None, typer.Option(
        "--arena", min=1, help="Tensor arena bytes (default: measured, as `tinyrig arena`).")
    ] = None,
    name: Annotated[str | None, typer.Option(
        "--name", help="Model name for the C symbols (default: the file name).")] = None,
    plan: Annotated[bool, typer.Option(
        "--plan", help="Add an offline memory plan first (as `tinyrig plan`): the planned "
                       ".tflite is written beside the sources and the C array holds it.")
    ] = False,
    json: JsonOption = False,
) -> None:
    """Write the model as C++ sources for the firmware (data, op resolver, metadata)."""
    from tinyrig.model.export import export_model
    from tinyrig.model.flatbuffer import load_model
    from tinyrig.model.ops import require_supported

    parsed = load_model(model)
    require_supported(parsed)
    if plan:
        from tinyrig.model.plan import plan_model

        out_dir.mkdir(parents=True, exist_ok=True)
        planned_path = out_dir / f"{model.stem}_planned.tflite"
        plan_model(parsed, planned_path)
        name = name if name is not None else model.stem
        model = planned_path
        parsed = load_model(planned_path)
    if arena_bytes is None:
        from tinyrig.model.arena import measure_arena

        with progress("measuring the arena", total=20, quiet=json) as update:
            arena_bytes = measure_arena(parsed, progress=update).arena_bytes
    result = export_model(model, out_dir, arena_bytes=arena_bytes,
                          name=name if name is not None else model.stem)
    emit(result, json, _render_export)
