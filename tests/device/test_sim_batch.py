"""Batch simulation (tinyrig.device.batch): the same outputs as a sample-by-sample run, in input
order, with one process or several; stateful models stay sequential; bad input is refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.model.conftest import SHARED_MODELS, needs_tflm
from tinyrig.device.batch import simulate
from tinyrig.device.session import run_batch
from tinyrig.device.sim import SimDevice
from tinyrig.model.errors import InputError
from tinyrig.model.reference import ReferenceInterpreter

REPO = Path(__file__).resolve().parents[2]
DIGITS = REPO / "models" / "digits" / "digits_int8.tflite"
LSTM = SHARED_MODELS / "trained_lstm_int8.tflite"

pytestmark = needs_tflm


def _batch(path: Path, n: int, seed: int = 0) -> np.ndarray:
    spec = ReferenceInterpreter(path).inputs[0]
    return np.random.default_rng(seed).integers(-128, 127, (n, *spec.shape), dtype=np.int8)


def test_processes_give_the_sequential_outputs_in_order() -> None:
    x = _batch(DIGITS, 600)
    expected = ReferenceInterpreter(DIGITS).run_batch([x])[0]
    one = simulate(DIGITS, [x], workers=1)
    two = simulate(DIGITS, [x], workers=2)
    assert one.workers == 1 and two.workers == 2 and two.samples == 600
    assert one.outputs[0].tobytes() == expected.tobytes()
    assert two.outputs[0].tobytes() == expected.tobytes()


def test_stateful_model_is_stateless_by_default_and_runs_sequentially_keeping_state() -> None:
    if not LSTM.is_file():
        pytest.skip(f"{LSTM} not available")
    x = _batch(LSTM, 600)
    stateless = simulate(LSTM, [x], workers=2)
    assert stateless.workers == 2  # samples are independent: state reset before each
    expected = ReferenceInterpreter(LSTM).run_batch([x])[0]
    assert stateless.outputs[0].tobytes() == expected.tobytes()
    kept = simulate(LSTM, [x], workers=2, keep_state=True)
    assert kept.workers == 1
    streaming = ReferenceInterpreter(LSTM, keep_state=True).run_batch([x])[0]
    assert kept.outputs[0].tobytes() == streaming.tobytes()
    # the carried state changes some outputs: the two modes are really different
    assert kept.outputs[0].tobytes() != stateless.outputs[0].tobytes()


def test_sim_device_run_batch_takes_the_fast_path_with_the_same_results() -> None:
    x = _batch(DIGITS, 40, seed=3)
    with SimDevice(DIGITS) as device:
        report = run_batch(device, [x])
    expected = ReferenceInterpreter(DIGITS).run_batch([x])[0]
    assert len(report.samples) == 40
    for k, sample in enumerate(report.samples):
        assert sample.outputs[0].tobytes() == expected[k].tobytes()


def test_wrong_inputs_are_one_clear_error() -> None:
    with pytest.raises(InputError, match="expects a batch"):
        simulate(DIGITS, [np.zeros((4, 3), np.float32)])
    with pytest.raises(InputError, match="1 input"):
        simulate(DIGITS, [])
