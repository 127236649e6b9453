"""The host reference interpreter: correct results, strict inputs, safe arenas."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator

import numpy as np
import pytest

from tinyrig.model.errors import ArenaError, InputError
from tinyrig.model.reference import ReferenceInterpreter, run_reference

from .conftest import model_file, needs_tflm

pytestmark = needs_tflm


@pytest.fixture(autouse=True, scope="module")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Arena measurements (the default arena) go to a private cache."""
    old = os.environ.get("TINYRIG_CACHE_DIR")
    os.environ["TINYRIG_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        del os.environ["TINYRIG_CACHE_DIR"]
    else:
        os.environ["TINYRIG_CACHE_DIR"] = old


def _quantize(x: np.ndarray, scale: float, zp: int) -> np.ndarray:
    return np.clip(np.round(x / scale) + zp, -128, 127).astype(np.int8)


def test_hello_world_computes_sine() -> None:
    interp = ReferenceInterpreter(model_file("hello_world_int8"))
    (spec,) = interp.inputs
    (out,) = interp.outputs
    assert spec.describe() == "int8[1,1]"
    for x in np.linspace(0.0, 6.0, 25):
        (y,) = interp.run([_quantize(np.array([[x]]), spec.scale, spec.zero_point)])
        assert y.dtype == np.int8 and y.shape == (1, 1)
        value = (float(y[0, 0]) - out.zero_point) * out.scale
        # a small regression model: within 0.1 of sin(x) over the trained range
        assert abs(value - np.sin(x)) < 0.1


def test_float_model() -> None:
    (y,) = run_reference(model_file("hello_world_float"), [np.array([[1.0]], np.float32)])
    assert abs(float(y[0, 0]) - np.sin(1.0)) < 0.05


@pytest.mark.parametrize("inputs, message", [
    ([np.zeros(4, np.float32)], "input 0 expects int8[1,1], got float32[4]"),
    ([np.zeros((1, 1), np.float32)], "input 0 expects int8[1,1], got float32[1,1]"),
    ([np.zeros((1, 2), np.int8)], "input 0 expects int8[1,1], got int8[1,2]"),
    ([], "the model has 1 input(s), 0 given"),
    ([np.zeros((1, 1), np.int8)] * 2, "the model has 1 input(s), 2 given"),
])
def test_strict_inputs(inputs: list[np.ndarray], message: str) -> None:
    interp = ReferenceInterpreter(model_file("hello_world_int8"))
    with pytest.raises(InputError) as info:
        interp.run(inputs)
    assert str(info.value) == message


def test_batch_runs_each_sample() -> None:
    interp = ReferenceInterpreter(model_file("hello_world_int8"))
    batch = np.arange(-128, 128, 16, dtype=np.int8).reshape(-1, 1, 1)
    (out,) = interp.run_batch([batch])
    assert out.shape == (len(batch), 1, 1)
    for k, sample in enumerate(batch):
        assert out[k] == interp.run([sample])[0]
    with pytest.raises(InputError, match="expects a batch of int8"):
        interp.run_batch([np.zeros((3, 1), np.int8)])


def test_stateful_model_runs_stateless_unless_asked_to_keep_state() -> None:
    """The LSTM's variable tensors are reset before every run: a sample's output does not
    depend on what ran before. With keep_state they carry over (and differ for some runs)."""
    interp = ReferenceInterpreter(model_file("trained_lstm_int8"))
    assert interp.stateful and not interp.keep_state
    xs = np.random.default_rng(7).integers(-128, 127, (6, 1, 28, 28), dtype=np.int8)
    alone = [ReferenceInterpreter(model_file("trained_lstm_int8")).run([x])[0] for x in xs]
    in_sequence = [interp.run([x])[0] for x in xs]
    assert all(a.tobytes() == b.tobytes() for a, b in zip(alone, in_sequence, strict=True))
    interp.set_keep_state(True)
    kept = [interp.run([x])[0] for x in xs]
    assert kept[0].tobytes() == alone[0].tobytes()  # set_keep_state reset the state
    assert any(a.tobytes() != b.tobytes() for a, b in zip(alone, kept, strict=True))


def test_too_small_arena_is_an_error_not_a_crash() -> None:
    with pytest.raises(ArenaError, match="too small"):
        ReferenceInterpreter(model_file("hello_world_int8"), arena_bytes=300)


@pytest.mark.skipif(importlib.util.find_spec("ai_edge_litert") is None,
                    reason="ai-edge-litert not installed")
@pytest.mark.parametrize("name", ["hello_world_int8", "micro_speech_quantized"])
def test_bit_exact_with_litert_without_delegates(name: str) -> None:
    from ai_edge_litert import interpreter as litert

    path = model_file(name)
    ours = ReferenceInterpreter(path)
    theirs = litert.Interpreter(
        model_path=str(path),
        experimental_op_resolver_type=litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    theirs.allocate_tensors()
    rng = np.random.default_rng(1234)
    (spec,) = ours.inputs
    for _ in range(20):
        x = rng.integers(-128, 128, spec.shape, dtype=np.int8)
        theirs.set_tensor(theirs.get_input_details()[0]["index"], x)
        theirs.invoke()
        expected = theirs.get_tensor(theirs.get_output_details()[0]["index"])
        assert np.array_equal(ours.run([x])[0], expected)
