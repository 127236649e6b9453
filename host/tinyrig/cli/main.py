"""The ``tinyrig`` command: one typer app, one module per command group."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="tinyrig",
    help="Convert, size, export, build, flash and run TFLite Micro models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register() -> None:
    # Each command module registers itself on ``app``; imported here so that a broken optional
    # module cannot stop the others from loading.
    import importlib

    for module in ("model_cmds", "convert_cmd", "build_cmds", "device_cmds", "flash_cmds",
                   "plan_cmd", "bench_cmd", "validate_cmd", "rig_cmd", "doctor_cmd"):
        try:
            importlib.import_module(f"tinyrig.cli.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"tinyrig.cli.{module}":
                raise


def main() -> None:
    from tinyrig.device.emulators import exit_on_sigterm

    exit_on_sigterm()  # a SIGTERM unwinds like Ctrl-C: emulators are stopped, not orphaned
    _register()
    app()


if __name__ == "__main__":
    main()
