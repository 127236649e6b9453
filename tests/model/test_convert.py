"""Conversion: the sine model to int8 (numerics within a stated tolerance), the metrics the
report carries, the CLI, and one clear error per kind of bad input.

Conversion needs TensorFlow (the 'convert' extra) and takes a few seconds per model: the sine
model is converted once per module, and the CLI runs in-process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "2")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")

pytest.importorskip("tensorflow", reason="model conversion needs the 'convert' extra")

import typer
from typer.testing import CliRunner

from tinyrig.model.convert import (
    ConvertReport,
    DatasetError,
    ModelLoadError,
    UnsupportedModelError,
    convert_model,
    load_samples,
    run_converted,
)

MODELS = Path(__file__).resolve().parents[2] / "models"
SINE = MODELS / "sine"
DIGITS = MODELS / "digits"

# int8 sine vs sin(x) over [0, 2π]: the float model is within ~0.03 of sin(x); int8 input and
# output steps (0.025 and 0.008) add up to about two more hundredths. Measured: 0.044.
SINE_INT8_MAX_ABS_ERROR = 0.08
SINE_INT8_MEAN_ABS_ERROR = 0.02


@pytest.fixture(scope="module")
def sine_report(tmp_path_factory: pytest.TempPathFactory) -> ConvertReport:
    out = tmp_path_factory.mktemp("convert") / "sine_int8.tflite"
    return convert_model(SINE / "sine_float.keras", out, quantize="int8",
                         representative=SINE / "calibration.npy",
                         validate=SINE / "validation.npz")


@pytest.fixture(scope="module")
def cli() -> CliRunner:
    from tinyrig.cli import main

    main._register()
    return CliRunner()


def _sine_outputs(model: bytes) -> tuple[np.ndarray, np.ndarray]:
    x = np.linspace(0.0, 2 * np.pi, 500, dtype=np.float32).reshape(-1, 1)
    y, _runtime, _why = run_converted(model, x)
    return x, y


def test_sine_int8_matches_sin(sine_report: ConvertReport) -> None:
    assert sine_report.quantization == "int8"
    assert (sine_report.input_dtype, sine_report.output_dtype) == ("int8", "int8")
    assert sine_report.inputs[0].shape == (1, 1)
    assert 0 < sine_report.output_bytes < sine_report.source_bytes
    assert sine_report.output_bytes == sine_report.output.stat().st_size
    assert sine_report.calibration_samples == 200

    x, y = _sine_outputs(sine_report.output.read_bytes())
    error = np.abs(y - np.sin(x))
    assert error.max() < SINE_INT8_MAX_ABS_ERROR
    assert error.mean() < SINE_INT8_MEAN_ABS_ERROR


def test_committed_sine_model_matches_sin() -> None:
    model = (SINE / "sine_int8.tflite").read_bytes()
    x, y = _sine_outputs(model)
    assert np.abs(y - np.sin(x)).max() < SINE_INT8_MAX_ABS_ERROR
    # The demo inputs are x values quantized with this model's input parameters.
    demo = np.load(SINE / "demo_inputs.npy")
    assert demo.dtype == np.int8 and demo.shape == (8, 1)


def test_sine_validation_metrics(sine_report: ConvertReport) -> None:
    v = sine_report.validation
    assert v is not None
    assert (v.task, v.samples) == ("regression", 256)
    assert v.runtime in ("tflm", "litert-reference")
    assert v.max_abs_error is not None and v.max_abs_error < 0.06
    assert v.mean_abs_error is not None and v.mean_abs_error < 0.02
    assert v.cosine is not None and v.cosine > 0.999
    assert v.quantized_label_max_abs_error is not None
    assert v.quantized_label_max_abs_error < SINE_INT8_MAX_ABS_ERROR
    assert v.top1_agreement is None
    assert sine_report.timings.total_s >= sine_report.timings.convert_s > 0


def test_float_tflite_is_requantized(sine_report: ConvertReport, tmp_path: Path) -> None:
    float_model = convert_model(SINE / "sine_float.keras", tmp_path / "f32.tflite",
                                quantize="none")
    assert (float_model.input_dtype, float_model.calibration_samples) == ("float32", 0)
    report = convert_model(float_model.output, tmp_path / "int8.tflite", quantize="int8",
                           representative=SINE / "calibration.npy",
                           validate=SINE / "validation.npz")
    assert (report.input_dtype, report.output_dtype) == ("int8", "int8")
    assert any("re-quantized" in note for note in report.notes)
    assert report.validation is not None and report.validation.cosine is not None
    assert report.validation.cosine > 0.999
    x, y = _sine_outputs(report.output.read_bytes())
    assert np.abs(y - np.sin(x)).max() < SINE_INT8_MAX_ABS_ERROR


def test_cli_json_classifier_metrics(cli: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "digits.tflite"
    result = cli.invoke(_app(), [
        "convert", str(DIGITS / "digits_float.keras"), "-o", str(out),
        "--representative", str(DIGITS / "calibration.npz"), "--calibration-samples", "50",
        "--validate", str(DIGITS / "validation.npz"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["quantization"] == "int8"
    assert report["calibration_samples"] == 50
    assert report["input_dtype"] == report["output_dtype"] == "int8"
    v = report["validation"]
    assert v["task"] == "classification" and v["samples"] == 360
    assert v["top1_agreement"] >= 0.97
    assert v["quantized_accuracy"] >= 0.95 and v["float_accuracy"] >= 0.95
    assert out.is_file()


def test_cli_copies_an_int8_tflite(cli: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "copy.tflite"
    result = cli.invoke(_app(), ["convert", str(SINE / "sine_int8.tflite"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "copied unchanged" in result.stdout
    assert out.read_bytes() == (SINE / "sine_int8.tflite").read_bytes()


def _app() -> typer.Typer:
    from tinyrig.cli.main import app

    return app


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("bad")
    np.save(d / "empty.npy", np.zeros((0, 1), np.float32))
    np.save(d / "wrong_shape.npy", np.zeros((20, 3), np.float32))
    np.save(d / "nan.npy", np.full((20, 1), np.nan, np.float32))
    (d / "not_a_zip.keras").write_text("this is not a keras file")
    with zipfile.ZipFile(d / "junk.keras", "w") as z:
        z.writestr("config.json", "{not json")
    (d / "model.onnx").write_bytes(b"\x08\x01")
    (d / "empty_dir").mkdir()
    np.savez(d / "no_x.npz", a=np.zeros((3, 1)))
    return d


BAD_CASES = {
    "missing model": (["{d}/nope.keras"], "does not exist"),
    "unsupported format": (["{d}/model.onnx"], "unsupported model format '.onnx'"),
    "not a SavedModel": (["{d}/empty_dir"], "not a SavedModel"),
    "corrupt keras (not a zip)": (["{d}/not_a_zip.keras", "-r", "{cal}"],
                                  "not a valid .keras file"),
    "corrupt keras (bad config)": (["{d}/junk.keras", "-r", "{cal}"], "cannot load Keras model"),
    "no representative set": (["{keras}"], "needs a representative set"),
    "missing representative set": (["{keras}", "-r", "{d}/nope.npy"], "does not exist"),
    "empty representative set": (["{keras}", "-r", "{d}/empty.npy"], "is empty"),
    "representative shape mismatch": (["{keras}", "-r", "{d}/wrong_shape.npy"],
                                      "samples of shape (3,) but the model input expects (1,)"),
    "representative with NaN": (["{keras}", "-r", "{d}/nan.npy"], "NaN"),
    "empty representative directory": (["{keras}", "-r", "{d}/empty_dir"], "no .npy files"),
    "validation without x": (["{keras}", "-r", "{cal}", "--validate", "{d}/no_x.npz"],
                             "has no array 'x'"),
    "int8 tflite to float16": (["{tflite}", "-q", "float16"], "cannot be re-quantized"),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_input_gives_one_clear_error(cli: CliRunner, bad_inputs: Path, tmp_path: Path,
                                         case: str) -> None:
    args, message = BAD_CASES[case]
    subs = {"d": str(bad_inputs), "cal": str(SINE / "calibration.npy"),
            "keras": str(SINE / "sine_float.keras"), "tflite": str(SINE / "sine_int8.tflite")}
    argv = ["convert", *(a.format(**subs) for a in args), "-o", str(tmp_path / "out.tflite")]
    result = cli.invoke(_app(), argv)
    assert result.exit_code == 1, result.output
    assert "error:" in result.stderr
    assert message in " ".join(result.stderr.split()), result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "out.tflite").exists()


def test_error_as_a_user_sees_it(bad_inputs: Path, tmp_path: Path) -> None:
    """A real process: one error line and a hint on stderr, no TensorFlow log spam."""
    result = subprocess.run(
        [sys.executable, "-m", "tinyrig", "convert", str(bad_inputs / "junk.keras"),
         "-r", str(SINE / "calibration.npy"), "-o", str(tmp_path / "out.tflite")],
        capture_output=True, text=True, timeout=600, check=False,
        env=dict(os.environ, COLUMNS="200"))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: cannot load Keras model"), result.stderr
    assert len(lines) == 2 and lines[1].startswith("hint:"), result.stderr
    assert result.stdout == ""


def test_library_errors_are_typed(bad_inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.tflite"
    with pytest.raises(ModelLoadError):
        convert_model(bad_inputs / "nope.keras", out, representative=SINE / "calibration.npy")
    with pytest.raises(UnsupportedModelError):
        convert_model(bad_inputs / "model.onnx", out)
    with pytest.raises(DatasetError):
        convert_model(SINE / "sine_float.keras", out, representative=bad_inputs / "empty.npy")


def test_load_samples_from_a_directory(tmp_path: Path) -> None:
    for i in range(3):
        np.save(tmp_path / f"{i:02d}.npy", np.full((1,), i, np.float32))  # one sample per file
    assert load_samples(tmp_path, sample_shape=(1,)).shape == (3, 1)
    batches = tmp_path / "batches"
    batches.mkdir()
    np.save(batches / "a.npy", np.zeros((4, 1), np.float32))
    np.save(batches / "b.npy", np.ones((2, 1), np.float32))
    assert load_samples(batches).shape == (6, 1)
