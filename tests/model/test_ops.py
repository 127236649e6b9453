"""The generated op table matches the pinned TFLM tree."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tinyrig.model import _tflm_ops_generated as generated
from tinyrig.model.flatbuffer import BuiltinOperator, OperatorCode
from tinyrig.model.ops import RESOLVER_METHODS, resolver_method

REPO = Path(__file__).resolve().parents[2]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_tflm_ops", REPO / "tools/gen_tflm_ops.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_tflm_ops"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tree_root() -> Path:
    from tinyrig.builder.errors import SourceUnavailableError
    from tinyrig.builder.tflm import tflm_tree

    try:
        return tflm_tree().root
    except SourceUnavailableError as exc:
        pytest.skip(f"pinned TFLM tree unavailable: {exc}")


def test_regenerating_gives_the_committed_module(tree_root: Path) -> None:
    gen = _generator()
    committed = (REPO / "host/tinyrig/model/_tflm_ops_generated.py").read_text()
    assert gen.render(tree_root, generated.TFLM_COMMIT) == committed, \
        "stale: run python tools/gen_tflm_ops.py"


def test_every_method_exists_in_the_resolver(tree_root: Path) -> None:
    header = (tree_root / "tensorflow/lite/micro/micro_mutable_op_resolver.h").read_text()
    declared = set(re.findall(r"TfLiteStatus (Add\w+)\(", header))
    assert set(RESOLVER_METHODS.values()) <= declared
    assert set(generated.CUSTOM_RESOLVER_METHODS.values()) <= declared


def test_known_entries() -> None:
    assert RESOLVER_METHODS[BuiltinOperator.FULLY_CONNECTED] == "AddFullyConnected"
    assert RESOLVER_METHODS[BuiltinOperator.CONV_2D] == "AddConv2D"
    assert RESOLVER_METHODS[BuiltinOperator.UNIDIRECTIONAL_SEQUENCE_LSTM] == \
        "AddUnidirectionalSequenceLSTM"
    assert BuiltinOperator.CUSTOM not in RESOLVER_METHODS
    assert generated.TFLM_COMMIT == "90b983c"
    detection = OperatorCode(BuiltinOperator.CUSTOM, "TFLite_Detection_PostProcess", 1)
    assert resolver_method(detection) == "AddDetectionPostprocess"
    assert resolver_method(OperatorCode(BuiltinOperator.CUSTOM, "MyOp", 1)) is None
    assert resolver_method(OperatorCode(BuiltinOperator.STABLEHLO_CBRT, None, 1)) is None
