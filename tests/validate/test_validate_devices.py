"""``validate`` on the real firmware (native and QEMU runner images): every example model and
every shared model bit-exact with the host TFLM, reports written. The two images hold the two
TFLM kernel sets (native: reference, qemu-m4: CMSIS-NN; each says so in INFO), so every model is
compared with the host reference under both."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.validate.boards import (
    EXAMPLES,
    SHARED_MODELS,
    TARGETS,
    random_data,
    runner_device,
    upload,
)
from tinyrig.boards import board
from tinyrig.builder.firmware import default_kernel_set
from tinyrig.device.remote import RemoteDevice
from tinyrig.validate import load_dataset, validate
from tinyrig.validate.output import load_run

pytestmark = pytest.mark.slow

MODELS = [*EXAMPLES, *sorted(SHARED_MODELS.glob("*.tflite"))]
# Few samples per model: CI time. person_detect moves 9 KB per sample over QEMU's UART.
SAMPLES = {"person_detect.tflite": 2}
# Found by this test: the int8 LSTM on the Cortex-M build (CMSIS-NN) differed from the host on 2
# of 6 samples in sequence: the host carried the LSTM state across samples, CMSIS-NN's kernel
# never does. Every side is now stateless by default (tinyrig.model.state), so every model is
# bit-exact; --keep-state shows the kernel difference (tests/validate/test_layers.py).


@pytest.fixture(scope="module", params=["native", "qemu"])
def device(request: pytest.FixtureRequest) -> Iterator[RemoteDevice]:
    with runner_device(str(request.param)) as dev:
        # The kernel set under test, as the image reports it: reference on native, CMSIS-NN on
        # qemu-m4 (their targets' defaults).
        kernels = default_kernel_set(board(TARGETS[str(request.param)]))
        assert kernels == {"native": "reference", "qemu": "cmsis-nn"}[str(request.param)]
        assert dev.info().kernels.label == kernels
        yield dev


@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.stem)
def test_every_model_is_bit_exact_with_the_host(device: RemoteDevice, model: Path,
                                                tmp_path: Path) -> None:
    if not model.is_file():
        pytest.skip(f"{model} is not present")
    count = SAMPLES.get(model.name, 6)
    own = model.parent / "validation.npz"
    data = own if own.is_file() else random_data(model, count, tmp_path / "data.npz")
    dataset = load_dataset(model, data, limit=count)
    upload(device, model)
    report = validate(device, model, dataset, report_dir=tmp_path / "report")

    assert report.complete and report.samples == count
    main = report.comparison("device", "tflm")
    assert main is not None
    assert [m.exact for m in main.outputs] == [count] * len(report.outputs)
    assert all(m.steps_max in (0, None) and m.max_abs == 0.0 for m in main.outputs)
    assert report.passed and report.exit_code == 0
    assert report.latency is not None and report.latency.samples == count
    # The files: what the report says, and the replay archive holds every side's outputs.
    saved = json.loads(Path(report.files["json"]).read_text())
    assert saved["samples"] == count and saved["comparisons"][0]["a"] == "device"
    run = load_run(Path(report.files["npz"]))
    for j in range(len(report.outputs)):
        got, want = run[f"device_output{j}"], run[f"tflm_output{j}"]
        assert got.shape[0] == want.shape[0] == count
        assert int(np.all(got.reshape(count, -1) == want.reshape(count, -1), axis=1).sum()) \
            == main.outputs[j].exact
    assert np.array_equal(run["input0"], dataset.inputs[0])
    lines = Path(report.files["samples"]).read_text().splitlines()
    assert [json.loads(line)["sample"] for line in lines] == list(range(count))
    assert "<svg" in Path(report.files["html"]).read_text() or not any(
        m.steps_histogram for c in report.comparisons for m in c.outputs)
