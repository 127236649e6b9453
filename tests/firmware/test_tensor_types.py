"""One table of tensor types (issue 8, finding 8): the firmware's accepted types
(firmware/src/runner/tensor_types.h), TFLM's TfLiteType codes and sizes (the pinned tree), the
.tflite schema's TensorType and the host's TfLiteType / numpy dtypes must agree."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest

from tinyrig.builder.errors import ToolchainMissingError
from tinyrig.builder.tflm import tflm_tree
from tinyrig.device.sim import tensor_spec
from tinyrig.model.flatbuffer import Tensor, TensorType
from tinyrig.protocol.messages import TensorSpec, TfLiteType, _Reader

REPO = Path(__file__).resolve().parents[2]
FIRMWARE_TABLE = REPO / "firmware" / "src" / "runner" / "tensor_types.h"
_SIZES = {"int8_t": 1, "uint8_t": 1, "bool": 1, "int16_t": 2, "uint16_t": 2, "int32_t": 4,
          "uint32_t": 4, "float": 4, "int64_t": 8, "uint64_t": 8, "double": 8}


def _name(tflm: str) -> str:
    """kTfLiteFloat8E4M3FN -> FLOAT8E4M3FN; schema names compare without underscores."""
    return tflm.upper().replace("_", "")


def _firmware_table() -> list[tuple[str, str, int, bool]]:
    rows = re.findall(r"\{tflite::TensorType_(\w+), kTfLite(\w+), (\d+), (true|false)\}",
                      FIRMWARE_TABLE.read_text())
    assert rows, FIRMWARE_TABLE
    return [(schema, tflm, int(size), io == "true") for schema, tflm, size, io in rows]


@pytest.fixture(scope="module")
def tflm_root() -> Path:
    try:
        return tflm_tree().root
    except ToolchainMissingError as exc:
        pytest.skip(f"no pinned TFLM tree: {exc}")


def _tflm_codes(root: Path) -> dict[str, int]:
    text = (root / "tensorflow/compiler/mlir/lite/core/c/tflite_types.h").read_text()
    enum = text[text.index("kTfLiteNoType = 0"):]
    enum = enum[:enum.index("}")]
    return {_name(name): int(code) for name, code in re.findall(r"kTfLite(\w+) = (\d+),", enum)}


def _tflm_sizes(root: Path) -> dict[str, int]:
    text = (root / "tensorflow/lite/micro/memory_helpers.cc").read_text()
    body = text[text.index("TfLiteStatus TfLiteTypeSizeOf"):]
    body = body[:body.index("default:")]
    return {_name(name): _SIZES[ctype] * (2 if twice else 1) for name, ctype, twice in
            re.findall(r"case kTfLite(\w+):\s*\*size = sizeof\((\w+)\)( \* 2)?;", body)}


def test_host_decodes_every_tflm_type_code(tflm_root: Path) -> None:
    codes = _tflm_codes(tflm_root)
    host = {member.name.replace("_", ""): int(member) for member in TfLiteType}
    assert host == codes
    for code in codes.values():  # a tensor of every code decodes (HELLO / INFO)
        payload = struct.pack("<BBiifiI", code, 2, 1, 3, 0.5, 0, 3)
        spec = TensorSpec.read(_Reader(payload, "INFO"))
        assert spec.dtype == code and spec.shape == (1, 3)


def test_every_schema_type_has_a_host_type() -> None:
    """sim describes a model's tensors with TfLiteType[schema name]: never a KeyError."""
    for schema in TensorType:
        assert TfLiteType[schema.name].name == schema.name


def test_firmware_types_match_tflm_and_the_host(tflm_root: Path) -> None:
    codes = _tflm_codes(tflm_root)
    sizes = _tflm_sizes(tflm_root)
    table = _firmware_table()
    assert len({schema for schema, *_ in table}) == len(table)
    for schema, tflm, size, io in table:
        assert _name(schema) == _name(tflm), (schema, tflm)
        host = TfLiteType[schema]
        assert int(host) == codes[_name(tflm)]
        assert sizes[_name(tflm)] == size, schema
        if io:  # the host reads and writes these as numpy arrays of the same width
            assert host.numpy.itemsize == size, schema
    # What the firmware refuses the verifier names (tests/firmware/test_model_upload.py uploads
    # a UINT16 model): the types no TFLM kernel of the pinned tree computes on.
    accepted = {schema for schema, *_ in table}
    assert {"STRING", "RESOURCE", "VARIANT", "UINT16", "UINT32", "UINT64", "COMPLEX128",
            "BFLOAT16"}.isdisjoint(accepted)


@pytest.mark.parametrize("dtype", list(TensorType), ids=lambda t: t.name)
def test_sim_describes_a_tensor_of_every_schema_type(dtype: TensorType) -> None:
    """`run --device sim` on a model with such an input raised KeyError (exit 70)."""
    spec = tensor_spec(Tensor(index=0, name="x", shape=(1, 2), dtype=dtype, buffer=0))
    assert spec.dtype.name == dtype.name
    assert spec.shape == (1, 2)
