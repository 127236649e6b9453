"""inspect_model() and check_model()."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from tinyrig.model.check import Severity, Target, check_model, targets
from tinyrig.model.errors import ModelError
from tinyrig.model.inspect import inspect_model

from .conftest import MODEL_NAMES, model_file, needs_tflm

Variant = Callable[[str, Callable[[Any], None]], bytes]


def independent_op_names(schema: ModuleType, data: bytes) -> list[str]:
    """Op names per operator of subgraph 0, read with TFLite's generated schema."""
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(data, 0))
    out = []
    for op in model.subgraphs[0].operators:
        code = model.operatorCodes[op.opcodeIndex]
        builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
        out.append(names[builtin] if names[builtin] != "CUSTOM"
                   else f"CUSTOM({code.customCode.decode()})")
    return out


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_inspect_ops_match_independent_parse(name: str, schema: ModuleType) -> None:
    path = model_file(name)
    report = inspect_model(path)
    expected = independent_op_names(schema, path.read_bytes())
    assert [o.op for o in report.operators] == expected
    assert {o.op: o.count for o in report.ops} == {n: expected.count(n) for n in set(expected)}
    assert all(o.supported for o in report.ops)


@pytest.mark.parametrize("name, macs", [
    ("hello_world_int8", 16 + 16 * 16 + 16),
    ("micro_speech_quantized", 25 * 20 * 8 * 10 * 8 + 4000 * 4),
    ("trained_lstm_int8", 28 * 4 * 20 * (28 + 20) + 560 * 10),
])
def test_mac_estimates(name: str, macs: int) -> None:
    assert inspect_model(model_file(name)).total_macs == macs


def test_inspect_details() -> None:
    report = inspect_model(model_file("person_detect"))
    (inp,) = report.inputs
    assert (inp.dtype, inp.shape) == ("int8", (1, 96, 96, 1))
    assert report.schema_version == 3 and report.schema_supported
    assert report.parameter_count > 200_000
    assert report.total_macs == sum(o.macs for o in report.ops)
    assert 7_000_000 < report.total_macs < 8_000_000


def _unsupported(m: Any) -> None:
    code = m.operatorCodes[0]
    code.builtinCode = code.deprecatedBuiltinCode = 32
    code.customCode = b"MyFancyOp"


def test_check_flags_an_unsupported_op(make_variant: Variant) -> None:
    report = check_model(make_variant("hello_world_int8", _unsupported))
    assert not report.ok
    assert report.unsupported_ops == ("CUSTOM(MyFancyOp)",)
    assert [p.code for p in report.errors] == ["unsupported-op"]
    assert "MyFancyOp" in report.errors[0].message


def test_check_flags_a_float_model_offered_as_int8() -> None:
    report = check_model(model_file("hello_world_float"), expect="int8", run_interpreter=False)
    assert not report.ok
    assert report.compute_dtype == "float32"
    assert [p.code for p in report.errors] == ["float-model"]
    assert check_model(model_file("hello_world_int8"), expect="int8",
                       run_interpreter=False).ok
    plain = check_model(model_file("hello_world_float"), run_interpreter=False)
    assert plain.ok and [p.code for p in plain.problems] == ["float-model"]


def test_check_flags_broken_quantization(make_variant: Variant) -> None:
    def edit(m: Any) -> None:
        q = m.subgraphs[0].tensors[0].quantization
        q.scale = [0.0]
        q.zeroPoint = [300]

    report = check_model(make_variant("hello_world_int8", edit), run_interpreter=False)
    messages = [p.message for p in report.errors if p.code == "quantization"]
    assert any("invalid scale" in m for m in messages)
    assert any("zero point 300 outside" in m for m in messages)


def test_check_budgets() -> None:
    tiny = Target("tiny", "a small part", flash_bytes=64 * 1024, ram_bytes=32 * 1024)
    report = check_model(model_file("person_detect"), tiny, run_interpreter=False)
    assert {p.code for p in report.errors} == {"flash-budget", "ram-budget"}
    assert check_model(model_file("person_detect"), "qemu-m4", run_interpreter=False).ok
    # Firmware targets come from their board entries (platformio.ini), with their numbers.
    known = targets()
    assert {"qemu-m4", "nucleo-f411re", "netduinoplus2", "nrf52840"} <= set(known)
    assert (known["nucleo-f411re"].flash_bytes, known["nucleo-f411re"].ram_bytes) == (
        512 * 1024, 128 * 1024)
    f411 = check_model(model_file("person_detect"), "nucleo-f411re", run_interpreter=False)
    assert f411.target == known["nucleo-f411re"]
    assert f411.ok, f411.errors  # ~390 KB of flash, ~112 KB of RAM (static arena estimate)
    with pytest.raises(ModelError, match="unknown target"):
        check_model(model_file("person_detect"), "no-such-board")


def test_person_detect_bias_quantization_is_only_a_warning() -> None:
    report = check_model(model_file("person_detect"), run_interpreter=False)
    assert report.ok
    assert {p.severity for p in report.problems if p.code == "quantization"} == {
        Severity.WARNING}


@needs_tflm
def test_check_reports_what_the_real_tflm_rejects(make_variant: Variant) -> None:
    def edit(m: Any) -> None:
        m.subgraphs[0].tensors[0].type = 3  # UINT8 input into an int8 FULLY_CONNECTED

    report = check_model(make_variant("hello_world_int8", edit))
    assert not report.ok and not report.interpreter_checked
    rejects = [p for p in report.errors if p.code == "tflm-rejects"]
    assert len(rejects) == 1 and "fully_connected" in rejects[0].message


@needs_tflm
def test_check_runs_the_real_tflm(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TINYRIG_CACHE_DIR", str(tmp_path))
    report = check_model(model_file("micro_speech_quantized"), "nucleo-f446re")
    assert report.ok and report.interpreter_checked and report.memory.arena_measured
