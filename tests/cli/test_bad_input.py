"""Bad input to every command, as a new user would give it: one row per command line.

Each row runs the real entry point (``python -m tinyrig``) in a subprocess and expects its exit
code and exactly one ``error:`` line (or click's usage error, exit 2) that matches the row's
regex — the line names the cause. No row may print a traceback or an internal error. Rows that
need firmware reuse images other tests build (``tests/firmware/images.py``) or one small extra.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO, missing_tool_reason
from tests.firmware.tflite_patch import scale_activations, set_builtin_code

HELLO_WORLD = REPO.parent / "shared" / "models" / "hello_world_int8.tflite"
# The case: hello_world needs 1,168 B on qemu-m4; 1,152 B loads nothing.
QEMU_TOO_SMALL_ARENA = 1152
LSH_PROJECTION = 15  # a builtin op TFLM does not implement
ADD = 0  # a builtin op the micro:bit's upload firmware has no kernel for
PERSON_DETECT = REPO.parent / "shared" / "models" / "person_detect.tflite"
# hello_world with 400x wider activations: a ~15 KB arena, more than the micro:bit's 16 KiB hold
# beside its firmware
WIDE = 400


@dataclass(frozen=True)
class Row:
    id: str
    args: tuple[str, ...]  # {hw}, {dir} are replaced by the model and a scratch folder
    code: int
    message: str  # a regex the one error line must match
    needs: str | None = None  # "native" or "qemu-m4": tools the row needs
    report: bool = False  # the cause is in the command's report on stdout (check)


def row(id: str, command: str, code: int, message: str, needs: str | None = None,
        report: bool = False) -> Row:
    return Row(id, tuple(command.split()), code, message, needs, report)


ROWS = [
    # convert
    row("convert-missing-file", "convert {dir}/missing.keras -o {dir}/o.tflite", 1,
        r"missing\.keras does not exist"),
    row("convert-not-a-model", "convert {dir}/notes.tflite -o {dir}/o.tflite", 1,
        r"notes\.tflite is not a TFLite flatbuffer"),
    row("convert-bad-quantize-mode", "convert {hw} --quantize int3", 2,
        r"Invalid value for '--quantize'"),
    # inspect
    row("inspect-missing-file", "inspect {dir}/missing.tflite", 1,
        r"missing\.tflite: no such file"),
    row("inspect-truncated", "inspect {dir}/truncated.tflite", 1,
        r"truncated\.tflite: truncated or corrupt model"),
    row("inspect-not-a-model", "inspect {dir}/notes.tflite", 1,
        r"notes\.tflite: not a TFLite model: file identifier"),
    row("inspect-empty-file", "inspect {dir}/empty.tflite", 1,
        r"empty\.tflite: not a TFLite model: only 0 bytes"),
    row("inspect-json-corrupt", "inspect {dir}/truncated.tflite --json", 1,
        r"truncated or corrupt model"),
    row("inspect-a-folder", "inspect {dir}", 1, r"is a directory|not a file|no such file"),
    # check
    row("check-truncated", "check {dir}/truncated.tflite", 1, r"truncated or corrupt model"),
    row("check-unknown-target", "check {hw} --target nosuchboard", 1,
        r"unknown target 'nosuchboard'"),
    row("check-unknown-expect", "check {hw} --expect int4", 2, r"Invalid value for '--expect'"),
    row("check-unsupported-op", "check {dir}/lsh.tflite --no-run", 1,
        r"error \[unsupported-op\] op LSH_PROJECTION is not supported", report=True),
    row("check-too-big-for-microbit", "check {dir}/wide.tflite --target microbit", 1,
        r"error \[ram-budget\] needs ~[\d,]+ B of RAM, microbit has 16,384 B", report=True),
    # arena
    row("arena-not-a-model", "arena {dir}/notes.tflite", 1, r"not a TFLite model"),
    row("arena-negative-margin", "arena {hw} --margin -1", 2, r"Invalid value for '--margin'"),
    row("arena-on-device-real-port", "arena {hw} --on-device /dev/ttyACM0", 1,
        r"'/dev/ttyACM0' is not an emulated board"),
    row("arena-on-device-unknown-board", "arena {hw} --on-device qemu:mps2-an999", 1,
        r"unknown QEMU board 'mps2-an999'"),
    row("arena-unsupported-op", "arena {dir}/lsh.tflite --json", 1, r"LSH_PROJECTION"),
    # export
    row("export-truncated", "export {dir}/truncated.tflite -o {dir}/out", 1,
        r"truncated or corrupt model"),
    row("export-zero-arena", "export {hw} -o {dir}/out --arena 0", 2,
        r"Invalid value for '--arena'"),
    row("export-unsupported-op", "export {dir}/lsh.tflite -o {dir}/out --arena 4096", 1,
        r"LSH_PROJECTION"),
    # build
    row("build-unknown-target", "build --target nosuch --model {hw}", 1,
        r"unknown firmware target 'nosuch'"),
    row("build-missing-model", "build --target qemu-m4 --model {dir}/missing.tflite", 1,
        r"missing\.tflite: no such file"),
    row("build-corrupt-model", "build --target native --model {dir}/truncated.tflite --json", 1,
        r"truncated or corrupt model"),
    # The second case: rejected before building, with the floor.
    row("build-arena-below-floor", "build --target qemu-m4 --model {hw} --arena 16", 1,
        r"an arena of 16 B is below the [\d,]+ B that TFLM's own allocator objects take on "
        r"qemu-m4"),
    # The micro:bit: the arena and the firmware's measured own RAM exceed 16 KiB: refused
    # before building, with the numbers.
    row("build-too-big-for-microbit", "build --target microbit --model {dir}/wide.tflite", 1,
        r"wide\.tflite does not fit microbit: its [\d,]+ B arena and the firmware's own "
        r"[\d,]+ B \(stack, buffers, \.data/\.bss; measured\) need [\d,]+ B of RAM, microbit "
        r"has 16,384 B", needs="microbit"),
    # run
    row("run-no-input", "run --device sim --model {hw}", 1, r"no input given"),
    row("run-missing-model", "run --device sim --model {dir}/missing.tflite --input {dir}/x.npy",
        1, r"missing\.tflite does not exist"),
    row("run-sim-without-model", "run --device sim --input {dir}/x.npy", 1,
        r"device 'sim' needs a model"),
    row("run-corrupt-model", "run --device native --model {dir}/truncated.tflite "
        "--input {dir}/x.npy", 1, r"truncated or corrupt model"),
    row("run-not-a-model", "run --device sim --model {dir}/notes.tflite --input {dir}/x.npy", 1,
        r"not a TFLite model"),
    row("run-wrong-shape", "run --device sim --model {hw} --input {dir}/wrongshape.npy", 1,
        r"input 0 expects int8\[1,1\]"),
    row("run-wrong-dtype", "run --device sim --model {hw} --input {dir}/float.npy", 1,
        r"float32.*--quantize|--quantize.*float32"),
    row("run-unreadable-input", "run --device sim --model {hw} --input {dir}/garbage.npy", 1,
        r"garbage\.npy is not a readable \.npy/\.npz file"),
    row("run-missing-input", "run --device sim --model {hw} --input {dir}/nope.npy", 1,
        r"input file .*nope\.npy does not exist"),
    row("run-missing-port", "run --device /dev/ttyACM97 --model {hw} --input {dir}/x.npy", 1,
        r"no device at /dev/ttyACM97"),
    row("run-unknown-url", "run --device nosuch://x --model {hw} --input {dir}/x.npy", 1,
        r"cannot open nosuch://x: invalid URL"),
    row("run-unknown-qemu-board", "run --device qemu:mps2-an999 --model {hw} "
        "--input {dir}/x.npy", 1, r"unknown QEMU board 'mps2-an999'"),
    row("run-refused-port-json", "run --device socket://127.0.0.1:9 --model {hw} "
        "--input {dir}/x.npy --json", 1, r"no device at socket://127\.0\.0\.1:9"),
    row("run-sim-arena-too-small", "run --device sim --model {hw} --input {dir}/x.npy "
        "--arena 16", 1, r"16-byte arena is too small for this model"),
    row("run-native-arena-below-floor", "run --device native --arena 16 --model {hw} "
        "--input {dir}/x.npy", 1,
        r"an arena of 16 B is below the [\d,]+ B that TFLM's own allocator objects take on "
        r"native", needs="native"),
    # The first case: the firmware's model did not load; say so, not "0 inputs".
    row("run-qemu-arena-too-small", f"run --device qemu --arena {QEMU_TOO_SMALL_ARENA} "
        "--model {hw} --input {dir}/x.npy", 1,
        r"^qemu: the model did not load \(ARENA_TOO_SMALL\): the firmware's tensor arena is "
        r"1,152 B, the model needs [\d,]+ B on qemu-m4", needs="qemu-m4"),
    row("run-runner-rejects-model", "run --device native --runner --model {dir}/lsh.tflite "
        "--input {dir}/x.npy", 1,
        r"^native: the model did not load \(MODEL_INVALID\): the firmware refused the model: "
        r".*LSH_PROJECTION", needs="native"),
    # the micro:bit's upload firmware: what its flash slot and kernels cannot take is refused
    # on the host, before a byte is sent
    row("run-upload-larger-than-microbit-slot", f"run --device qemu:microbit --runner --model "
        f"{PERSON_DETECT} --input {{dir}}/x.npy", 1,
        r"person_detect\.tflite cannot be uploaded to microbit-runner: the model is 300,568 B, "
        r"the flash model slot of microbit-runner holds 65,504 B", needs="microbit"),
    row("run-upload-op-not-on-microbit", "run --device qemu:microbit --runner --model "
        "{dir}/add.tflite --input {dir}/x.npy", 1,
        r"add\.tflite cannot be uploaded to microbit-runner: microbit-runner has no kernel for "
        r"ADD", needs="microbit"),
    # info
    row("info-missing-port", "info --device /dev/ttyACM97", 1, r"no device at /dev/ttyACM97"),
    row("info-unknown-url", "info --device nosuch://x --json", 1,
        r"cannot open nosuch://x: invalid URL"),
    row("info-qemu-without-model", "info --device qemu", 1, r"device 'qemu' needs a model"),
    row("info-auto-without-board", "info --device auto", 1,
        r"no board with a known USB id is attached \(auto\)"),
    # ports has no input to get wrong; an unknown option is click's usage error
    row("ports-unknown-option", "ports --jsn", 2, r"No such option: --jsn"),
    # flash
    row("flash-unknown-target", "flash --target nosuch --model {hw}", 1,
        r"unknown firmware target 'nosuch'"),
    row("flash-missing-image", "flash --target qemu-m4 --image {dir}/nope.elf", 1,
        r"image .*nope\.elf does not exist"),
    row("flash-corrupt-model", "flash --target qemu-m4 --model {dir}/truncated.tflite --json", 1,
        r"truncated or corrupt model"),
    row("flash-unknown-method", "flash --target qemu-m4 --model {hw} --via bogus", 1,
        r"unknown flash method 'bogus'"),
    row("flash-board-method-not-driven", "flash --target nano33ble --image {hw}", 1,
        r"nano33ble's usual flash method 'bossac' is not one tinyrig drives"),
    row("flash-arena-below-floor", "flash --target qemu-m4 --model {hw} --arena 16", 1,
        r"an arena of 16 B is below the [\d,]+ B that TFLM's own allocator objects take"),
    row("flash-nothing-to-flash", "flash --target qemu-m4", 1,
        r"give exactly one of --model or --image"),
    # devices
    row("devices-unknown-option", "devices --jsn", 2, r"No such option: --jsn"),
    # plan
    row("plan-truncated", "plan {dir}/truncated.tflite", 1, r"truncated or corrupt model"),
    row("plan-not-a-model-json", "plan {dir}/notes.tflite --json", 1, r"not a TFLite model"),
    row("plan-zero-time-limit", "plan {hw} --time-limit 0", 2,
        r"Invalid value for '--time-limit'"),
    # validate, debug-layers, rig
    row("validate-missing-data", "validate --device sim --model {hw} --data {dir}/nope.npz", 1,
        r"data set .*nope\.npz does not exist"),
    row("validate-corrupt-model", "validate --device sim --model {dir}/truncated.tflite "
        "--data {dir}/x.npy", 1, r"truncated or corrupt model"),
    row("validate-unreadable-data-json", "validate --device sim --model {hw} "
        "--data {dir}/garbage.npy --json", 1,
        r"data set .*garbage\.npy is not a readable \.npy/\.npz file"),
    row("debug-layers-missing-data", "debug-layers --device sim --model {hw} "
        "--data {dir}/nope.npz", 1, r"data set .*nope\.npz does not exist"),
    row("rig-missing-file", "rig run {dir}/nope.toml", 1, r"rig file .*nope\.toml does not exist"),
    row("rig-not-toml", "rig run {dir}/bad.toml", 1, r"rig file .*bad\.toml is not valid TOML"),
    # profile, doctor
    row("profile-missing-model", "profile --device sim --model {dir}/nope.tflite", 1,
        r"model file .*nope\.tflite does not exist"),
    row("profile-unknown-qemu-board", "profile --device qemu:nope --model {hw} --json", 1,
        r"unknown QEMU board 'nope'"),
    row("doctor-unknown-target", "doctor --target nosuchboard --json", 1,
        r"unknown target nosuchboard"),
    # bench
    row("bench-unwritable-out", "bench --quick --json --out /proc/tinyrig-bench", 1,
        r"cannot write the results to /proc/tinyrig-bench"),
]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("bad-input")
    data = HELLO_WORLD.read_bytes()
    (folder / "truncated.tflite").write_bytes(data[:700])
    (folder / "notes.tflite").write_text("these are not the weights you are looking for\n" * 5)
    (folder / "empty.tflite").write_bytes(b"")
    (folder / "lsh.tflite").write_bytes(set_builtin_code(data, 0, LSH_PROJECTION))
    (folder / "add.tflite").write_bytes(set_builtin_code(data, 0, ADD))
    (folder / "wide.tflite").write_bytes(scale_activations(data, WIDE))
    np.save(folder / "x.npy", np.array([-96, -63, -34, 0], dtype=np.int8))
    np.save(folder / "wrongshape.npy", np.zeros((3, 2), dtype=np.int8))
    np.save(folder / "float.npy", np.zeros((4,), dtype=np.float32))
    (folder / "garbage.npy").write_bytes(b"\x93NUMPY garbage")
    (folder / "bad.toml").write_text("not toml [[[\n")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def tinyrig(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, COLUMNS="200")
    env.pop("TINYRIG_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "tinyrig", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO, env=env, check=False)


def the_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one line that says what is wrong (``error: ...``, or click's usage error)."""
    out = result.stdout + result.stderr
    assert "Traceback" not in out, out
    assert "internal error" not in out, out
    if result.returncode == 2:  # click/typer usage error: a framed message on stderr
        found = re.search(r"(Invalid value for .*|No such option: \S+|Missing \w+ .*)",
                          result.stderr)
        assert found, result.stderr
        return found[1]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) <= 1, result.stderr
    return errors[0].removeprefix("error:").strip() if errors else ""


@pytest.mark.parametrize("case", [pytest.param(r, id=r.id) for r in ROWS])
def test_bad_input(case: Row, scratch: Path) -> None:
    if case.needs is not None and (reason := missing_tool_reason(case.needs)):
        pytest.skip(reason)
    args = [a.replace("{hw}", str(HELLO_WORLD)).replace("{dir}", str(scratch))
            for a in case.args]
    result = tinyrig(*args)
    assert result.returncode == case.code, result.stdout + result.stderr
    line = the_error_line(result)
    if case.report:
        assert line == ""
        line = next((x for x in result.stdout.splitlines() if re.search(case.message, x)), "")
    assert re.search(case.message, line), f"{line!r} does not match {case.message!r}"
    if "--json" in args:
        assert result.stdout == "", "an error must not leave partial JSON on stdout"


def test_every_command_has_a_row() -> None:
    """A new command gets rows here: compare with the commands the CLI registers."""
    from tinyrig.cli.main import _register, app

    _register()
    commands = {c.name or (c.callback.__name__ if c.callback else "")
                for c in app.registered_commands}
    commands |= {g.name or "" for g in app.registered_groups}
    assert commands - {r.args[0] for r in ROWS} == set()
