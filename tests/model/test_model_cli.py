"""The model commands: JSON output, exit codes, and one clear error line for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from typer.testing import CliRunner

import tinyrig.cli.model_cmds  # noqa: F401  (registers the commands)
from tinyrig.cli.main import app

from .conftest import model_file, needs_tflm
from .test_inspect_check import _unsupported, independent_op_names

runner = CliRunner()


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


def assert_one_error(result: Any, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    err = result.stderr
    assert err.startswith("error: ")
    assert err.count("error:") == 1 and "Traceback" not in err
    flat = " ".join(err.split())
    for fragment in fragments:
        assert fragment in flat


@pytest.fixture()
def bad_files(tmp_path: Path, make_variant: Callable[[str, Callable[[Any], None]], bytes]
              ) -> dict[str, Path]:
    good = model_file("hello_world_int8").read_bytes()
    files = {
        "text": b"this is a README, not a model\n",
        "empty": b"",
        "truncated": good[: len(good) // 2],
        "corrupt": good[:8] + bytes(b ^ 0x5A for b in good[8:40]) + good[40:],
        "unknown_op": make_variant("hello_world_int8", _unsupported),
    }
    out = {}
    for name, data in files.items():
        path = tmp_path / f"{name}.tflite"
        path.write_bytes(data)
        out[name] = path
    out["missing"] = tmp_path / "missing.tflite"
    return out


def test_inspect_json_ops_match_independent_parse(schema: ModuleType) -> None:
    path = model_file("micro_speech_quantized")
    result = invoke("inspect", str(path), "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert [o["op"] for o in data["operators"]] == independent_op_names(schema, path.read_bytes())
    assert data["inputs"][0]["shape"] == [1, 1960]
    assert data["total_macs"] == 336_000


def test_inspect_table() -> None:
    result = invoke("inspect", str(model_file("trained_lstm_int8")))
    assert result.exit_code == 0
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in result.stdout


@pytest.mark.parametrize("command", ["inspect", "check", "arena", "export"])
@pytest.mark.parametrize("case, fragment", [
    ("missing", "no such file"),
    ("text", "not a TFLite model"),
    ("empty", "not a TFLite model"),
    ("truncated", "truncated or corrupt model"),
    ("corrupt", "truncated or corrupt model"),
])
def test_bad_input_gives_one_error_line(bad_files: dict[str, Path], tmp_path: Path,
                                        command: str, case: str, fragment: str) -> None:
    extra = ["--out", str(tmp_path / "out"), "--arena", "4096"] if command == "export" else []
    result = invoke(command, str(bad_files[case]), *extra)
    assert_one_error(result, fragment, bad_files[case].name)


@pytest.mark.parametrize("command", ["arena", "export"])
def test_unknown_op_gives_one_error_line(bad_files: dict[str, Path], tmp_path: Path,
                                         command: str) -> None:
    extra = ["--out", str(tmp_path / "out")] if command == "export" else []
    result = invoke(command, str(bad_files["unknown_op"]), *extra)
    assert_one_error(result, "does not support op: CUSTOM(MyFancyOp)")


def test_check_exit_codes(bad_files: dict[str, Path]) -> None:
    result = invoke("check", str(bad_files["unknown_op"]), "--no-run", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["unsupported_ops"] == ["CUSTOM(MyFancyOp)"]
    float_as_int8 = invoke("check", str(model_file("hello_world_float")), "--expect", "int8",
                           "--no-run")
    assert float_as_int8.exit_code == 1 and "float-model" in float_as_int8.stdout
    good = invoke("check", str(model_file("hello_world_int8")), "--no-run", "-t", "qemu-m4")
    assert good.exit_code == 0, good.output


def test_export_cli(tmp_path: Path) -> None:
    result = invoke("export", str(model_file("hello_world_int8")), "--out", str(tmp_path),
                    "--arena", "3008", "--name", "sine model", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["symbol"] == "sine_model" and data["arena_bytes"] == 3008
    assert (tmp_path / "tinyrig_model.h").is_file()


@needs_tflm
def test_arena_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TINYRIG_CACHE_DIR", str(tmp_path))
    result = invoke("arena", str(model_file("hello_world_int8")), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["below_minimum_fails"] and data["arena_bytes"] % 16 == 0
    table = invoke("arena", str(model_file("hello_world_int8")))
    assert "cached" in table.stdout


def test_real_entry_point_prints_no_traceback(bad_files: dict[str, Path]) -> None:
    env = {**os.environ, "COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-m", "tinyrig", "inspect", str(bad_files["corrupt"])],
                          capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
