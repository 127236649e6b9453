"""The strict flatbuffer reader: equal to TFLite's own generated reader on real models, and
nothing but ModelFormatError on damaged input."""

from __future__ import annotations

import struct
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinyrig.model.errors import ModelFileError, ModelFormatError, NotTfliteError
from tinyrig.model.flatbuffer import (
    BuiltinOperator,
    TensorType,
    load_model,
    parse_model,
)

from .conftest import MODEL_NAMES, SHARED_MODELS, model_file

FUZZ = settings(max_examples=300, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])


def _ints(vec: object) -> tuple[int, ...]:
    return () if vec is None else tuple(int(v) for v in vec)  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_matches_tflite_generated_reader(name: str, schema: ModuleType) -> None:
    data = model_file(name).read_bytes()
    ref = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(data, 0))
    model = load_model(model_file(name))

    assert model.version == ref.version
    assert model.description == (ref.description or b"").decode()
    assert model.size == len(data)
    assert model.buffer_sizes == tuple(0 if b.data is None else len(b.data)
                                       for b in ref.buffers)
    assert model.metadata_names == tuple(m.name.decode() for m in ref.metadata or [])
    assert len(model.operator_codes) == len(ref.operatorCodes)
    for ours, theirs in zip(model.operator_codes, ref.operatorCodes, strict=True):
        assert ours.builtin == max(theirs.builtinCode, theirs.deprecatedBuiltinCode)
        assert ours.version == theirs.version
        assert ours.custom_code == (None if theirs.customCode is None
                                    else theirs.customCode.decode())
    assert len(model.subgraphs) == len(ref.subgraphs)
    for sg, rsg in zip(model.subgraphs, ref.subgraphs, strict=True):
        assert sg.inputs == _ints(rsg.inputs)
        assert sg.outputs == _ints(rsg.outputs)
        assert len(sg.tensors) == len(rsg.tensors)
        for t, rt in zip(sg.tensors, rsg.tensors, strict=True):
            assert t.name == rt.name.decode()
            assert t.shape == _ints(rt.shape)
            assert t.dtype == rt.type
            assert t.buffer == rt.buffer
            assert t.is_variable == bool(rt.isVariable)
            q = rt.quantization
            assert t.scale == (() if q is None or q.scale is None
                               else tuple(float(s) for s in q.scale))
            assert t.zero_point == (() if q is None else _ints(q.zeroPoint))
            assert t.quantized_dimension == (0 if q is None else q.quantizedDimension)
        assert len(sg.operators) == len(rsg.operators)
        for op, rop in zip(sg.operators, rsg.operators, strict=True):
            assert op.opcode_index == rop.opcodeIndex
            assert op.inputs == _ints(rop.inputs)
            assert op.outputs == _ints(rop.outputs)


def test_hello_world_details() -> None:
    model = load_model(model_file("hello_world_int8"))
    (inp,) = model.main.input_tensors
    assert inp.describe() == "int8[1,1]"
    assert inp.dtype is TensorType.INT8
    assert inp.zero_point == (-128,)
    assert [c.builtin for c in model.distinct_ops()] == [BuiltinOperator.FULLY_CONNECTED]
    assert model.sha256.startswith("505ee4fa")
    assert load_model(model) is model
    assert load_model(model_file("hello_world_int8").read_bytes()) == model


@pytest.mark.parametrize("data, offset", [
    (b"", 0),
    (b"TFL3", 0),
    (b"\x89PNG\r\n\x1a\n" + bytes(100), 4),
    (b"PK\x03\x04" + bytes(100), 4),
    (bytes(64), 4),
])
def test_not_a_tflite_model(data: bytes, offset: int) -> None:
    with pytest.raises(NotTfliteError, match="not a TFLite model") as info:
        parse_model(data)
    assert info.value.offset == offset
    assert info.value.size == len(data)


def test_file_errors(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    with pytest.raises(ModelFileError, match="no such file"):
        load_model(tmp_path / "missing.tflite")
    with pytest.raises(ModelFileError, match="is a directory"):
        load_model(tmp_path)
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"hello world, not a model")
    with pytest.raises(NotTfliteError, match=r"bad\.tflite: not a TFLite model"):
        load_model(bad)


@pytest.mark.parametrize("name", ["hello_world_int8", "trained_lstm_int8"])
def test_every_truncation_is_a_format_error(name: str) -> None:
    data = model_file(name).read_bytes()
    for cut in range(0, len(data), 7):
        with pytest.raises(ModelFormatError) as info:
            parse_model(data[:cut])
        assert info.value.offset is None or 0 <= info.value.offset <= cut


def test_root_offset_past_end() -> None:
    with pytest.raises(ModelFormatError, match="past the end") as info:
        parse_model(struct.pack("<I", 10_000) + b"TFL3" + bytes(24))
    assert info.value.offset == 0
    assert "at byte 0 of 32" in str(info.value)


def test_unknown_tensor_type_is_a_format_error(make_variant: object) -> None:
    def edit(m: object) -> None:
        m.subgraphs[0].tensors[0].type = 99  # type: ignore[attr-defined]

    data = make_variant("hello_world_int8", edit)  # type: ignore[operator]
    with pytest.raises(ModelFormatError, match="unknown value 99"):
        parse_model(data)


def test_tensor_index_out_of_range(make_variant: object) -> None:
    def edit(m: object) -> None:
        op = m.subgraphs[0].operators[0]  # type: ignore[attr-defined]
        op.inputs = [1000, *list(op.inputs)[1:]]

    data = make_variant("hello_world_int8", edit)  # type: ignore[operator]
    with pytest.raises(ModelFormatError, match="tensor index 1000 out of range"):
        parse_model(data)


def _only_format_errors(data: bytes) -> None:
    try:
        parse_model(data)
    except ModelFormatError as exc:
        assert exc.offset is None or 0 <= exc.offset <= len(data)


@FUZZ
@given(st.binary(max_size=512))
def test_fuzz_random_bytes(data: bytes) -> None:
    _only_format_errors(data)


@FUZZ
@given(st.binary(min_size=0, max_size=400))
def test_fuzz_random_bytes_with_identifier(tail: bytes) -> None:
    _only_format_errors(tail[:4] + b"TFL3" + tail[4:])


_HELLO_PATH = SHARED_MODELS / "hello_world_int8.tflite"
_HELLO = _HELLO_PATH.read_bytes() if _HELLO_PATH.is_file() else b""
needs_hello = pytest.mark.skipif(not _HELLO, reason=f"{_HELLO_PATH} not available")


@needs_hello
@FUZZ
@given(st.data())
def test_fuzz_damaged_real_model(data: st.DataObject) -> None:
    model = bytearray(_HELLO)
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(model) - 1))
        model[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(model)))
    _only_format_errors(bytes(model[:cut]))


@needs_hello
@FUZZ
@given(st.data())
def test_fuzz_damaged_offsets(data: st.DataObject) -> None:
    """Overwrite aligned 32-bit words (offsets, lengths, vtable entries) with extreme values."""
    model = bytearray(_HELLO)
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(model) // 4 - 1)) * 4
        value = data.draw(st.sampled_from([0, 1, 2, 3, 4, 0x7FFF_FFFF, 0xFFFF_FFFF, 0x8000_0000,
                                           len(model), len(model) - 4, 0xFFFF]))
        model[pos:pos + 4] = struct.pack("<I", value)
    _only_format_errors(bytes(model))
