"""Layer by layer on the device: READ_TENSOR from the debug runner firmware against the host
TFLM with every tensor kept; an op perturbed in the firmware (TINYRIG_PERTURB_OP=2) is named."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.firmware.images import REPO
from tests.validate.boards import runner_device, upload
from tinyrig.device.errors import DeviceRejectedError
from tinyrig.model.flatbuffer import load_model
from tinyrig.protocol import ErrorCode
from tinyrig.validate import load_dataset, validate
from tinyrig.validate.layers import diff_layers, read_tensor

pytestmark = pytest.mark.slow

DIGITS = REPO / "models" / "digits"
MODEL = DIGITS / "digits_int8.tflite"


def _sample() -> list[np.ndarray]:
    return load_dataset(MODEL, DIGITS / "validation.npz", limit=1).sample(0)


def test_every_layer_is_bit_exact_on_the_debug_runner() -> None:
    with runner_device("native", "debug") as device:
        upload(device, MODEL)
        diff = diff_layers(device, MODEL, _sample())
        ops = load_model(MODEL).main.operators
        assert [r.index for r in diff.rows] == [op.index for op in ops]
        assert diff.first_divergent is None and all(r.exact for r in diff.rows)
        # READ_TENSOR errors: an index beyond the subgraph, typed.
        count = len(load_model(MODEL).main.tensors)
        with pytest.raises(DeviceRejectedError) as caught:
            read_tensor(device, count)
        assert caught.value.code == ErrorCode.BAD_TENSOR


def test_the_perturbed_op_is_named(tmp_path: Path) -> None:
    with runner_device("native", "debug-perturb") as device:
        upload(device, MODEL)
        dataset = load_dataset(MODEL, DIGITS / "validation.npz", limit=4)
        report = validate(device, MODEL, dataset, report_dir=tmp_path, layers=True)
    diff = report.layers
    assert diff is not None and diff.first_divergent == 2
    before = [r for r in diff.rows if r.index < 2]
    assert before and all(r.exact for r in before)
    first = diff.first
    assert first is not None and not first.exact and first.steps_max is not None
    assert first.steps_max >= 1
    assert not report.passed and report.exit_code == 4  # and the outputs differ
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["layers"]["first_divergent"] == 2
    html = (tmp_path / "report.html").read_text()
    assert "First op whose output differs: #2" in html


def test_read_tensor_needs_the_debug_runner() -> None:
    with runner_device("native") as device:
        upload(device, MODEL)
        device.infer(_sample())
        with pytest.raises(DeviceRejectedError) as caught:
            read_tensor(device, 0)
        assert caught.value.code == ErrorCode.UNSUPPORTED


def test_debug_layers_command_on_native() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tinyrig", "debug-layers", "--device", "native", "--model",
         str(MODEL), "--data", str(DIGITS / "validation.npz"), "--sample", "3", "--json"],
        capture_output=True, text=True, check=False, timeout=900)
    assert result.returncode == 0, result.stderr
    diff = json.loads(result.stdout)
    assert diff["sample"] == 3 and diff["first_divergent"] is None
    assert {row["op"] for row in diff["rows"]} >= {"CONV_2D", "FULLY_CONNECTED"}


def test_a_history_dependent_divergence_is_named_as_such(tmp_path: Path) -> None:
    """QEMU, CMSIS-NN's int8 LSTM with --keep-state: the host carries the LSTM state from
    sample to sample, the kernel never reads it, so two of six seeded samples differ during
    the run, yet rerun alone every op is bit-exact; the report says the divergence depends on
    what ran before instead of blaming an op. (Stateless, the default, they are bit-exact.)"""
    from tests.validate.boards import SHARED_MODELS, random_data

    model = SHARED_MODELS / "trained_lstm_int8.tflite"
    if not model.is_file():
        pytest.skip(f"{model} is not present")
    dataset = load_dataset(model, random_data(model, 6, tmp_path / "data.npz"))
    with runner_device("qemu", "debug") as device:
        upload(device, model)
        report = validate(device, model, dataset, layers=True, keep_state=True)
    main = report.comparison("device", "tflm")
    assert main is not None and 0 < main.exact < 6
    assert report.layers is not None and report.layers.first_divergent is None
    assert report.layers.note is not None and "rerun alone" in report.layers.note
    assert "CMSIS-NN" in report.layers.note and report.keep_state
