"""tinyrig validate: metrics, thresholds and exit codes, the four columns, bad input, and a
run cut short by a device reset or Ctrl-C keeping what finished."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.firmware.images import REPO
from tests.validate.boards import runner_device, upload
from tinyrig.device.remote import RemoteDevice
from tinyrig.protocol import Frame, MessageType, encode_frame
from tinyrig.validate import RunAbortedError, ThresholdError, load_dataset, parse_checks, validate
from tinyrig.validate.metrics import compare_output, label_metrics
from tinyrig.validate.output import load_run

DIGITS = REPO / "models" / "digits"
GESTURE = REPO / "models" / "gesture"
SINE = REPO / "models" / "sine"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tinyrig", "validate", *args],
                          capture_output=True, text=True, check=False, timeout=600)


def test_metrics_of_known_arrays() -> None:
    from tinyrig.protocol import TensorSpec, TfLiteType

    spec = TensorSpec(TfLiteType.INT8, (1, 4), 0.5, 0, 4)
    a = np.array([[[1, 2, 3, 4]], [[0, 0, 0, 9]]], dtype=np.int8)
    b = np.array([[[1, 2, 3, 4]], [[0, 0, 1, 7]]], dtype=np.int8)
    m = compare_output(0, a, b, spec_a=spec, spec_b=spec)
    assert (m.exact, m.samples, m.steps_max) == (1, 2, 2)
    assert m.steps_histogram == {-1: 1, 0: 6, 2: 1}
    assert m.max_abs == 1.0 and m.mae == pytest.approx(1.5 / 8)
    assert m.rmse == pytest.approx(math.sqrt((0.25 + 1.0) / 8))
    err = np.array([0, 0, 0, 0, 0, 0, -0.5, 1.0])
    rb = b.reshape(-1) * 0.5
    assert m.l2r == pytest.approx(np.linalg.norm(err) / np.linalg.norm(rb))
    assert m.nse == pytest.approx(1 - np.sum(err ** 2) / np.sum((rb - rb.mean()) ** 2))
    assert m.mean == pytest.approx(err.mean()) and m.std == pytest.approx(err.std())
    assert m.top1 == 1.0  # argmax 3 in both samples
    labels = label_metrics(a, np.array([3, 2]), spec)
    assert labels is not None and labels.accuracy == 0.5
    assert labels.confusion is not None and labels.confusion[2][3] == 1


def test_fail_on_expressions_are_checked() -> None:
    checks = parse_checks(["exact<1", "steps:litert>0", "accuracy:tflm<0.9",
                           "cosine:float<0.99"])
    assert [(c.metric, c.against, c.op) for c in checks] == [
        ("exact", "tflm", "<"), ("steps", "litert", ">"), ("accuracy", "tflm", "<"),
        ("cosine", "float", "<")]
    assert parse_checks(["none"]) == []
    for bad in ("exact", "speed>1", "steps:moon>1", "cosine:device<1", "exact<one"):
        with pytest.raises(ThresholdError):
            parse_check_one(bad)


def parse_check_one(expression: str) -> None:
    parse_checks([expression])


def test_exit_code_names_the_failed_kinds(tmp_path: Path) -> None:
    """On the host TFLM: thresholds that cannot hold fail with their own bits."""
    base = ["--device", "sim", "--model", str(DIGITS / "digits_int8.tflite"),
            "--data", str(DIGITS / "validation.npz"), "--limit", "20"]
    passed = _cli(*base, "--json")
    assert passed.returncode == 0, passed.stderr
    report = json.loads(passed.stdout)
    assert report["checks"][0]["expression"] == "exact<1" and not report["checks"][0]["failed"]
    failed = _cli(*base, "--fail-on", "accuracy<1.01", "--fail-on", "steps>-1",
                  "--fail-on", "cosine:float<0.5", "--report", str(tmp_path / "r"))
    assert failed.returncode == 32 + 8, failed.stderr
    assert "accuracy<1.01: FAILED" in failed.stdout
    assert "cosine:float<0.5: n/a" in failed.stdout  # no float column in this run
    junit = (tmp_path / "r" / "junit.xml").read_text()
    assert 'failures="2"' in junit and "<skipped" in junit


def test_four_columns_with_the_float_model(tmp_path: Path) -> None:
    with runner_device("native") as device:
        upload(device, DIGITS / "digits_int8.tflite")
        dataset = load_dataset(DIGITS / "digits_int8.tflite", DIGITS / "validation.npz",
                               limit=24)
        report = validate(device, DIGITS / "digits_int8.tflite", dataset,
                          float_model=DIGITS / "digits_float.keras", report_dir=tmp_path)
    assert report.sides == ["float", "litert", "tflm", "device"]
    for a, b in [("device", "tflm"), ("tflm", "litert")]:
        comparison = report.comparison(a, b)
        assert comparison is not None and comparison.exact == 24
    quantization = report.comparison("device", "float")
    assert quantization is not None
    m = quantization.outputs[0]
    assert m.exact == 0 and m.steps_max is None and 0 < m.max_abs < 0.5
    assert m.cosine > 0.99 and m.top1 is not None and m.top1 > 0.9
    assert set(report.labels) == {"float", "litert", "tflm", "device"}
    assert report.labels["device"].accuracy == report.labels["tflm"].accuracy
    run = load_run(tmp_path / "run.npz")
    assert run["float_output0"].dtype == np.float32 and run["litert_output0"].dtype == np.int8


@pytest.mark.parametrize(("args", "message"), [
    (["--model", "{digits}", "--data", "{gesture_data}"],
     "input 0 expects int8[1,8,8,1]"),
    (["--model", "{digits}", "--data", "{int16_data}"],
     "input 0 is int16 but the model takes int8[1,8,8,1]"),
    (["--model", "{digits}", "--data", "{digits_data}", "--labels", "{short_labels}"],
     "7 label(s) for 360 sample(s)"),
    (["--model", "{digits}", "--data", "{digits_data}", "--fail-on", "speed>1"],
     "unknown metric 'speed'"),
    (["--model", "{digits}", "--data", "{tmp}/missing.npz"], "does not exist"),
])
def test_bad_input_is_one_clear_line(tmp_path: Path, args: list[str], message: str) -> None:
    np.save(tmp_path / "int16.npy", np.zeros((5, 8, 8, 1), dtype=np.int16))
    np.save(tmp_path / "short.npy", np.arange(7))
    names = {"digits": str(DIGITS / "digits_int8.tflite"),
             "gesture_data": str(GESTURE / "validation.npz"),
             "digits_data": str(DIGITS / "validation.npz"),
             "int16_data": str(tmp_path / "int16.npy"),
             "short_labels": str(tmp_path / "short.npy"), "tmp": str(tmp_path)}
    # native: the data is checked before any firmware is built or booted.
    result = _cli("--device", "native", *[a.format(**names) for a in args])
    assert result.returncode == 1, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count("error:") == 1


def _reset_after(device: RemoteDevice, count: int) -> object:
    def hook(index: int) -> None:
        if index == count - 1:
            device.transport.write(encode_frame(Frame(MessageType.RESET, 0xFFFE)))
    return hook


def test_a_reset_mid_run_is_one_error_and_keeps_the_finished_part(tmp_path: Path) -> None:
    model = GESTURE / "gesture_int8.tflite"
    dataset = load_dataset(model, GESTURE / "validation.npz", limit=12)
    with runner_device("native") as device:
        upload(device, model)
        with pytest.raises(RunAbortedError) as caught:
            validate(device, model, dataset, report_dir=tmp_path,
                     after_sample=_reset_after(device, 5))  # type: ignore[arg-type]
    error = caught.value
    assert error.done == 5 and error.total == 12
    assert "reset" in error.message and str(tmp_path) in error.message
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["samples"] == 5 and saved["complete"] is False and "reset" in saved["error"]
    assert saved["comparisons"][0]["outputs"][0]["exact"] == 5
    assert load_run(tmp_path / "run.npz")["device_output0"].shape[0] == 5
    assert len((tmp_path / "samples.jsonl").read_text().splitlines()) == 5
    assert "errors=\"1\"" in (tmp_path / "junit.xml").read_text()


def test_ctrl_c_keeps_the_finished_part(tmp_path: Path) -> None:
    model = SINE / "sine_int8.tflite"
    dataset = load_dataset(model, SINE / "validation.npz", limit=20)

    def interrupt(index: int) -> None:
        if index == 2:
            raise KeyboardInterrupt

    with runner_device("native") as device:
        upload(device, model)
        with pytest.raises(KeyboardInterrupt):
            validate(device, model, dataset, report_dir=tmp_path, after_sample=interrupt)
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["samples"] == 3 and saved["error"] == "interrupted"
    assert saved["labels"]["device"]["mae"] is not None  # sine: regression against targets
    # The run.npz replays exactly the finished part, on the host TFLM this time.
    replay = _cli("--device", "sim", "--model", str(model), "--data",
                  str(tmp_path / "run.npz"), "--json")
    assert replay.returncode == 0, replay.stderr
    replayed = json.loads(replay.stdout)
    assert replayed["samples"] == 3
    assert replayed["labels"]["device"]["mae"] == saved["labels"]["device"]["mae"]
