"""Firmware commands: build."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tinyrig.cli.common import JsonOption, console, emit, handle_errors, progress
from tinyrig.cli.main import app


def _render_image(image: Any) -> None:
    table = Table(show_header=False, title=f"firmware for {image.target}", title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("image", str(image.elf))
    table.add_row("flash", f"{image.flash_bytes:,} B")
    table.add_row("RAM", f"{image.ram_bytes:,} B (arena {image.arena_bytes:,} B)")
    table.add_row("kernels", image.kernel_set)
    table.add_row("model", image.model_sha256[:16])
    table.add_row("cache", "reused" if image.cached else "built")
    console.print(table)


@app.command()
@handle_errors
def build(
    target: Annotated[str, typer.Option("--target", "-t",
                                        help="PlatformIO environment: native, qemu-m4, ...")],
    model: Annotated[Path, typer.Option("--model", "-m", help="The .tflite to build in.")],
    arena: Annotated[int | None, typer.Option(
        "--arena", help="Tensor arena bytes (default: measured by `tinyrig arena`).")] = None,
    kernels: Annotated[str | None, typer.Option(
        "--kernels", help="TFLM kernels: reference or cmsis-nn (default: cmsis-nn on a Cortex-M "
        "with DSP, reference elsewhere).")] = None,
    json: JsonOption = False,
) -> None:
    """Build TFLM firmware with PlatformIO for a model (cached); report the image and sizes."""
    from tinyrig.boards import board
    from tinyrig.builder.firmware import build_firmware, check_kernel_set
    from tinyrig.model.arena import measure_arena
    from tinyrig.model.flatbuffer import load_model

    facts = board(target)  # an unknown target or kernel set fails before any measuring
    if kernels is not None:
        check_kernel_set(facts, kernels)
    load_model(model)  # a clear error for a missing or corrupt model before any build
    arena_bytes = arena if arena is not None else measure_arena(model).arena_bytes
    with progress(f"building {target}", quiet=json) as update:
        image = build_firmware(target, model, arena_bytes=arena_bytes, progress=update,
                               kernel_set=kernels)
    emit(image, json, _render_image)
