"""Fixtures of the model-layer tests: the shared third-party models, an independent schema
reader (TFLite's generated Python schema, loaded from the installed packages), and a way to make
modified models (an unsupported op, broken quantization) with the flatbuffers object API."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tinyrig.errors import MissingExtraError

SHARED_MODELS = Path(__file__).resolve().parents[3] / "shared" / "models"
MODEL_NAMES = ["hello_world_int8", "hello_world_float", "micro_speech_quantized",
               "trained_lstm_int8", "person_detect"]


def model_file(name: str) -> Path:
    path = SHARED_MODELS / f"{name}.tflite"
    if not path.is_file():
        pytest.skip(f"{path} not available")
    return path


def _tflm_unavailable() -> str | None:
    from tinyrig.model.reference import import_tflite_micro

    try:
        import_tflite_micro()
    except MissingExtraError as exc:
        return exc.message
    return None


TFLM_REASON = _tflm_unavailable()
needs_tflm = pytest.mark.skipif(TFLM_REASON is not None, reason=TFLM_REASON or "")


def _load_schema() -> ModuleType | None:
    """``schema_py_generated`` from tflite_micro's files (without importing the tflite_micro
    package, whose extension may not load) or from TensorFlow."""
    candidates = []
    spec = importlib.util.find_spec("tflite_micro")
    if spec is not None and spec.submodule_search_locations:
        root = Path(next(iter(spec.submodule_search_locations)))
        candidates += [root / "tensorflow/lite/python/schema_py_generated.py",
                       root / "tensorflow/lite/micro/python/schema_py_generated.py"]
    tf = importlib.util.find_spec("tensorflow")
    if tf is not None and tf.submodule_search_locations:
        root = Path(next(iter(tf.submodule_search_locations)))
        candidates.append(root / "lite/python/schema_py_generated.py")
    for path in candidates:
        if path.is_file():
            mod_spec = importlib.util.spec_from_file_location("_tinyrig_test_schema", path)
            assert mod_spec is not None and mod_spec.loader is not None
            module = importlib.util.module_from_spec(mod_spec)
            sys.modules["_tinyrig_test_schema"] = module
            mod_spec.loader.exec_module(module)
            return module
    return None


@pytest.fixture(scope="session")
def schema() -> ModuleType:
    module = _load_schema()
    if module is None:
        pytest.skip("no schema_py_generated.py (install tflite-micro or tensorflow)")
    return module


@pytest.fixture(scope="session")
def make_variant(schema: ModuleType) -> Callable[[str, Callable[[Any], None]], bytes]:
    """``make_variant(model_name, edit)``: the model unpacked to ModelT, edited, repacked."""
    import flatbuffers

    def build(name: str, edit: Callable[[Any], None]) -> bytes:
        data = model_file(name).read_bytes()
        obj = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(data, 0))
        edit(obj)
        builder = flatbuffers.Builder(len(data) + 1024)
        builder.Finish(obj.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())

    return build
