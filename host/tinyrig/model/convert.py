"""Keras / SavedModel -> TFLite conversion with post-training quantization, and its validation.

:func:`convert_model` is the one entry point. It loads a float model (``.keras``, ``.h5``, a
SavedModel directory, or an existing ``.tflite``), converts it with the TFLite converter
(full-integer int8 by default: int8 weights, activations, input and output, calibrated on a
representative set), writes the ``.tflite`` and, when given a validation set, runs the float
model and the converted model side by side and reports how far apart they are.

The converted model is run by the TFLite Micro interpreter (``tflite_micro``), because what
TFLM computes is what the device computes. If that package cannot be imported, the LiteRT
reference kernels without delegates are used instead (bit-exact with TFLM for int8, see
docs/OFFLINE.md) and the report says so (:attr:`ValidationReport.runtime`).

TensorFlow is imported lazily, only here (the ``convert`` extra). Its native log output is
captured while it runs and only surfaces inside an error message when conversion fails.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import time
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final, Literal, cast, get_args

import numpy as np

from tinyrig.errors import MissingExtraError
from tinyrig.model.errors import ModelError
from tinyrig.model.quantize import dequantize_values, quantize_values

__all__ = [
    "ConversionFailedError",
    "ConvertError",
    "ConvertReport",
    "DatasetError",
    "ModelLoadError",
    "Quantization",
    "TensorInfo",
    "Timings",
    "UnsupportedModelError",
    "ValidationReport",
    "convert_model",
    "float_predictor",
    "load_samples",
    "run_converted",
]

Quantization = Literal["int8", "int16x8", "float16", "none"]
QUANTIZATIONS: Final[tuple[str, ...]] = get_args(Quantization)
SourceFormat = Literal["keras", "h5", "saved_model", "tflite"]
Task = Literal["classification", "regression"]
Runtime = Literal["tflm", "litert-reference"]

#: Called with a short description of each stage ("loading model", "calibrating", ...).
ProgressFn = Callable[[str], None]

_TFLITE_MAGIC: Final = b"TFL3"
_SAMPLE_SEED: Final = 0
_TFLM_MIN_ARENA: Final = 16 * 1024


# --------------------------------------------------------------------------------------------
# Errors


class ConvertError(ModelError):
    """Root of the conversion errors (a :class:`~tinyrig.model.errors.ModelError`)."""


class ModelLoadError(ConvertError):
    """The source model is missing, unreadable or corrupt."""


class UnsupportedModelError(ConvertError):
    """The source is not something this converter handles (format, inputs, requested mode)."""


class DatasetError(ConvertError):
    """A representative or validation set is missing, empty or does not fit the model."""


class ConversionFailedError(ConvertError):
    """The TFLite converter rejected the model (the converter's own message is included)."""


# --------------------------------------------------------------------------------------------
# Report


@dataclass(frozen=True)
class TensorInfo:
    """One input or output tensor of the converted model."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    scale: float
    zero_point: int


@dataclass(frozen=True)
class Timings:
    """Wall-clock seconds of each stage."""

    load_s: float
    convert_s: float
    validate_s: float
    total_s: float


@dataclass(frozen=True)
class ValidationReport:
    """The converted model against the float model (and the labels, when given).

    Classification (output with more than one class and integer labels or no labels):
    ``top1_agreement`` and accuracies. Regression: absolute errors and cosine similarity of the
    flattened outputs. Fields that do not apply are ``None``.
    """

    samples: int
    task: Task
    runtime: Runtime
    top1_agreement: float | None = None
    float_accuracy: float | None = None
    quantized_accuracy: float | None = None
    max_abs_error: float | None = None
    mean_abs_error: float | None = None
    cosine: float | None = None
    float_label_mean_abs_error: float | None = None
    quantized_label_max_abs_error: float | None = None
    quantized_label_mean_abs_error: float | None = None


@dataclass(frozen=True)
class ConvertReport:
    """What :func:`convert_model` did."""

    source: Path
    output: Path
    source_format: SourceFormat
    quantization: Quantization
    source_bytes: int
    output_bytes: int
    parameters: int | None
    input_dtype: str
    output_dtype: str
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    calibration_samples: int
    timings: Timings
    validation: ValidationReport | None
    notes: tuple[str, ...] = ()

    @property
    def size_ratio(self) -> float:
        return self.output_bytes / self.source_bytes if self.source_bytes else 0.0


# --------------------------------------------------------------------------------------------
# Quiet TensorFlow


@contextlib.contextmanager
def _captured_native_output() -> Iterator[IO[str]]:
    """Send fd 1/2 (TensorFlow's C++ logging, converter chatter) and Python prints to a temp file.

    ``sys.stderr`` is pointed at a duplicate of the original fd 2 meanwhile, so Python-level
    writes to stderr (a progress spinner, our own messages) still reach the terminal.
    Yields the capture file; read it to put the converter's own words into an error.
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    old_stdout, old_stderr = sys.stdout, sys.stderr
    with contextlib.ExitStack() as stack:
        capture = stack.enter_context(
            tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace"))
        saved = [os.dup(1), os.dup(2)]
        term = stack.enter_context(
            os.fdopen(os.dup(saved[1]), "w", buffering=1, encoding="utf-8", errors="replace"))
        try:
            os.dup2(capture.fileno(), 1)
            os.dup2(capture.fileno(), 2)
            sys.stdout = cast(Any, io.StringIO())
            if _fileno(old_stderr) == 2:
                sys.stderr = term
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                yield capture
        finally:
            sys.stdout, sys.stderr = old_stdout, old_stderr
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def _fileno(stream: object) -> int | None:
    try:
        return int(stream.fileno())  # type: ignore[attr-defined]
    except Exception:
        return None


def _converter_message(capture: IO[str], exc: BaseException) -> str:
    """The most useful line of a converter failure: its 'error:' lines, else the exception."""
    with contextlib.suppress(Exception):
        capture.flush()
        capture.seek(0)
        lines = [ln.strip() for ln in capture.read().splitlines()]
        errors = [ln for ln in lines if "error:" in ln.lower()]
        if errors:
            return "; ".join(dict.fromkeys(errors))[:600]
    text = str(exc).strip().splitlines()
    return (text[-1] if text else type(exc).__name__)[:600]


def _import_tensorflow() -> Any:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        with _captured_native_output():
            import tensorflow as tf
    except ImportError as exc:
        raise MissingExtraError("convert", "model conversion") from exc
    with contextlib.suppress(Exception):
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    tf.get_logger().setLevel("ERROR")
    return tf


# --------------------------------------------------------------------------------------------
# Data sets


def _load_array_file(path: Path, *, what: str, key: str = "x") -> np.ndarray:
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"{what} {path} is not a readable .npy/.npz file: {exc}") from None
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            names = list(loaded.files)
            if not names:
                raise DatasetError(f"{what} {path} holds no arrays")
            return np.asarray(loaded[key if key in names else names[0]])
    return np.asarray(loaded)


def load_samples(path: Path, *, sample_shape: tuple[int, ...] | None = None,
                 what: str = "representative set") -> np.ndarray:
    """Load samples from a ``.npy``, a ``.npz`` (array ``x``, else the first) or a directory of
    ``.npy`` files, in name order: each file is one sample when its shape is ``sample_shape``
    (or, without one, when all files have the same shape and it does not start with 1), else
    a batch of samples."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{what} {path} does not exist")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix == ".npy")
        if not files:
            raise DatasetError(f"{what} directory {path} contains no .npy files")
        parts = [_load_array_file(p, what=what) for p in files]
        ranks = {p.ndim for p in parts}
        if len(ranks) != 1:
            raise DatasetError(f"{what} files in {path} have different ranks {sorted(ranks)}")
        same = all(p.shape == parts[0].shape for p in parts)
        if sample_shape is not None:
            single = same and tuple(parts[0].shape) == tuple(sample_shape)
        else:
            single = same and (parts[0].ndim == 0 or parts[0].shape[0] != 1)
        try:
            return np.stack(parts) if single else np.concatenate(parts)
        except ValueError as exc:
            raise DatasetError(f"{what} files in {path} do not fit together: {exc}") from None
    if path.suffix not in (".npy", ".npz"):
        raise DatasetError(f"{what} {path} must be a .npy, a .npz or a directory of .npy files")
    return _load_array_file(path, what=what)


def _fit_to_input(data: np.ndarray, sample_shape: tuple[int, ...], *, what: str,
                  path: Path) -> np.ndarray:
    """Check ``data`` is a batch of samples of ``sample_shape`` (size-1 axes may differ)."""
    if data.dtype.kind not in "biuf":
        raise DatasetError(f"{what} {path} has dtype {data.dtype}; expected numbers")
    if data.ndim == 0 or data.shape[0] == 0 or data.size == 0:
        raise DatasetError(f"{what} {path} is empty", hint="it needs at least one sample")
    got = tuple(int(d) for d in data.shape[1:])
    if got != sample_shape:
        squeeze = tuple(d for d in got if d != 1)
        if squeeze != tuple(d for d in sample_shape if d != 1):
            # A single sample given without its batch axis.
            if tuple(data.shape) == sample_shape:
                data = data[np.newaxis]
            else:
                raise DatasetError(
                    f"{what} {path} has samples of shape {got} but the model input expects "
                    f"{sample_shape}",
                    hint="the first axis is the sample axis: an array of shape "
                         f"(N, {', '.join(map(str, sample_shape))})",
                )
        else:
            data = data.reshape((data.shape[0], *sample_shape))
    data = data.astype(np.float32, copy=False)
    if not np.all(np.isfinite(data)):
        raise DatasetError(f"{what} {path} contains NaN or infinite values")
    return data


def _subsample(data: np.ndarray, count: int) -> np.ndarray:
    """At most ``count`` samples, drawn with a fixed seed (data sets are often sorted)."""
    if count <= 0 or data.shape[0] <= count:
        return data
    idx = np.sort(np.random.default_rng(_SAMPLE_SEED).choice(data.shape[0], count, replace=False))
    return data[idx]


# --------------------------------------------------------------------------------------------
# Sources


@dataclass
class _Source:
    format: SourceFormat
    sample_shape: tuple[int, ...] | None
    input_dtype: str
    predict: Callable[[np.ndarray], np.ndarray] | None
    make_converter: Callable[[], Any] | None
    parameters: int | None
    tflite: bytes | None = None


def _source_format(src: Path) -> SourceFormat:
    if src.is_dir():
        if (src / "saved_model.pb").is_file() or (src / "saved_model.pbtxt").is_file():
            return "saved_model"
        raise UnsupportedModelError(
            f"{src} is a directory but not a SavedModel (no saved_model.pb)")
    suffix = src.suffix.lower()
    if suffix == ".keras":
        return "keras"
    if suffix in (".h5", ".hdf5"):
        return "h5"
    if suffix == ".tflite":
        return "tflite"
    raise UnsupportedModelError(
        f"unsupported model format '{src.suffix or src.name}'",
        hint="give a .keras or .h5 file, a SavedModel directory or a .tflite file",
    )


def _dir_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _load_keras(tf: Any, src: Path, fmt: SourceFormat) -> _Source:
    import keras

    if fmt == "keras" and not zipfile.is_zipfile(src):
        raise ModelLoadError(f"{src} is not a valid .keras file (not a zip archive)",
                             hint="re-save the model with model.save('model.keras')")
    try:
        with _captured_native_output():
            model = keras.models.load_model(src, compile=False)
    except ImportError as exc:
        raise MissingExtraError("convert", f"loading {src.suffix} models ({exc.name})") from None
    except Exception as exc:
        raise ModelLoadError(f"cannot load Keras model {src}: {type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": "),
                             hint="is the file complete and saved by Keras 3 / tf.keras?"
                             ) from None
    inputs = list(getattr(model, "inputs", None) or [])
    if len(inputs) != 1:
        raise UnsupportedModelError(
            f"{src} has {len(inputs)} inputs; tinyrig converts single-input models")
    shape = tuple(inputs[0].shape)
    if any(d is None for d in shape[1:]):
        raise UnsupportedModelError(
            f"{src} has an input of shape {shape} with unknown dimensions",
            hint="microcontroller models need fixed input shapes: "
                 "build it with keras.Input(shape=...)",
        )
    sample_shape = tuple(int(d) for d in shape[1:])
    dtype = str(np.dtype(getattr(inputs[0], "dtype", "float32")))

    # Fix the batch size to 1: TFLM models have static shapes.
    inp = keras.Input(batch_shape=(1, *sample_shape), dtype=dtype, name=inputs[0].name)
    fixed = keras.Model(inputs=inp, outputs=model(inp), name=model.name)

    def predict(x: np.ndarray) -> np.ndarray:
        return np.asarray(model.predict(x, batch_size=256, verbose=0))

    def make_converter() -> Any:
        return tf.lite.TFLiteConverter.from_keras_model(fixed)

    return _Source(fmt, sample_shape, dtype, predict, make_converter, int(model.count_params()))


def _load_saved_model(tf: Any, src: Path) -> _Source:
    try:
        with _captured_native_output():
            loaded = tf.saved_model.load(str(src))
    except Exception as exc:
        raise ModelLoadError(f"cannot load SavedModel {src}: {type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
    signatures = dict(getattr(loaded, "signatures", {}) or {})
    key = "serving_default" if "serving_default" in signatures else next(iter(signatures), None)
    if key is None:
        raise UnsupportedModelError(f"SavedModel {src} has no serving signature")
    fn = signatures[key]
    specs = fn.structured_input_signature[1]
    if len(specs) != 1:
        raise UnsupportedModelError(
            f"SavedModel {src} signature '{key}' has {len(specs)} inputs; "
            "tinyrig converts single-input models")
    arg, spec = next(iter(specs.items()))
    shape = tuple(spec.shape.as_list())
    if not shape or any(d is None for d in shape[1:]):
        raise UnsupportedModelError(f"SavedModel {src} input '{arg}' has shape {shape}",
                                    hint="microcontroller models need fixed input shapes")
    sample_shape = tuple(int(d) for d in shape[1:])
    dtype = str(np.dtype(spec.dtype.as_numpy_dtype))

    def predict(x: np.ndarray) -> np.ndarray:
        outs = []
        for start in range(0, x.shape[0], 256):
            result = fn(**{arg: tf.constant(x[start:start + 256].astype(dtype))})
            outs.append(np.asarray(next(iter(result.values()))))
        return np.concatenate(outs)

    def make_converter() -> Any:
        return tf.lite.TFLiteConverter.from_saved_model(str(src), signature_keys=[key])

    params = sum(int(np.prod(v.shape)) for v in getattr(loaded, "variables", []))
    return _Source("saved_model", sample_shape, dtype, predict, make_converter, params or None)


def _load_tflite(src: Path) -> _Source:
    data = src.read_bytes()
    if len(data) < 8 or data[4:8] != _TFLITE_MAGIC:
        raise ModelLoadError(f"{src} is not a TFLite flatbuffer (no 'TFL3' identifier)")
    inputs, outputs = _tensor_infos(data)
    if len(inputs) != 1:
        raise UnsupportedModelError(
            f"{src} has {len(inputs)} inputs; tinyrig converts single-input models")
    predict = None
    if inputs[0].dtype == "float32" and outputs[0].dtype == "float32":
        # A float .tflite is its own float reference.
        def predict(x: np.ndarray) -> np.ndarray:
            return _run_litert(data, x, inputs[0], outputs[0])

    return _Source("tflite", inputs[0].shape[1:], inputs[0].dtype, predict, None, None,
                   tflite=data)


def _load_source(src: Path, fmt: SourceFormat) -> _Source:
    """Any source format; TensorFlow is imported only for Keras files and SavedModels."""
    if fmt == "tflite":
        return _load_tflite(src)
    tf = _import_tensorflow()
    return _load_saved_model(tf, src) if fmt == "saved_model" else _load_keras(tf, src, fmt)


def float_predictor(src: Path) -> tuple[tuple[int, ...], Callable[[np.ndarray], np.ndarray]]:
    """The float reference of a model: its sample shape and a batch ``predict`` (a Keras file, a
    SavedModel or a float ``.tflite``), as conversion validates against it."""
    src = Path(src)
    if not src.exists():
        raise ModelLoadError(f"float model {src} does not exist")
    source = _load_source(src, _source_format(src))
    if source.predict is None or source.sample_shape is None:
        raise UnsupportedModelError(f"{src} is not a float model (input {source.input_dtype})",
                                    hint="give the float source: .keras, .h5, a SavedModel "
                                         "or a float32 .tflite")
    return source.sample_shape, source.predict


# --------------------------------------------------------------------------------------------
# Running converted models


def _litert(model: bytes) -> Any:
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except ImportError:
        tf = _import_tensorflow()
        Interpreter = tf.lite.Interpreter  # noqa: N806
        OpResolverType = tf.lite.experimental.OpResolverType  # noqa: N806
    try:
        interp = Interpreter(
            model_content=model,
            experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        interp.allocate_tensors()
    except Exception as exc:
        raise ModelLoadError(f"the model cannot be loaded: {exc}") from None
    return interp


def _info(d: dict[str, Any]) -> TensorInfo:
    scale, zero_point = d.get("quantization", (0.0, 0))
    return TensorInfo(
        name=str(d.get("name", "")),
        shape=tuple(int(s) for s in d["shape"]),
        dtype=np.dtype(d["dtype"]).name,
        scale=float(scale),
        zero_point=int(zero_point),
    )


def _tensor_infos(model: bytes) -> tuple[tuple[TensorInfo, ...], tuple[TensorInfo, ...]]:
    try:
        interp = _litert(model)
    except ConvertError as exc:
        raise ModelLoadError(f"cannot read the model's tensors: {exc.message}") from None
    return (tuple(_info(d) for d in interp.get_input_details()),
            tuple(_info(d) for d in interp.get_output_details()))


def _quantize(x: np.ndarray, info: TensorInfo) -> np.ndarray:
    dtype = np.dtype(info.dtype)
    if dtype.kind == "f":
        return x.astype(dtype)
    if info.scale == 0.0:
        return x.astype(dtype)
    return quantize_values(x, info.scale, info.zero_point, dtype)


def _dequantize(y: np.ndarray, info: TensorInfo) -> np.ndarray:
    if np.dtype(info.dtype).kind == "f" or info.scale == 0.0:
        return y.astype(np.float32)
    return dequantize_values(y, info.scale, info.zero_point).astype(np.float32)


def _run_tflm(model: bytes, x: np.ndarray, inp: TensorInfo, out: TensorInfo
              ) -> np.ndarray | str:
    """Run every sample through the TFLM interpreter, or say why it cannot be used here."""
    try:
        with _captured_native_output():
            from tflite_micro import runtime
    except Exception as exc:
        text = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        head, _, tail = text.partition(": ")
        detail = f"{Path(head).name}: {tail}" if tail and "/" in head else text
        return f"tflite_micro cannot be imported ({detail[:160]})"
    arena = max(_TFLM_MIN_ARENA, len(model) * 10)
    results = []
    try:
        with _captured_native_output():
            interp = runtime.Interpreter.from_bytes(model, arena_size=arena)
            for sample in x:
                interp.set_input(_quantize(sample[np.newaxis], inp), 0)
                interp.invoke()
                results.append(np.array(interp.get_output(0)).reshape(out.shape))
    except Exception as exc:
        return f"TFLM cannot run this model ({str(exc).strip()[:200] or type(exc).__name__})"
    return np.concatenate(results) if results else np.zeros((0, *out.shape[1:]), np.float32)


def _run_litert(model: bytes, x: np.ndarray, inp: TensorInfo, out: TensorInfo) -> np.ndarray:
    interp = _litert(model)
    in_index = interp.get_input_details()[0]["index"]
    out_index = interp.get_output_details()[0]["index"]
    results = []
    for sample in x:
        interp.set_tensor(in_index, _quantize(sample[np.newaxis], inp))
        interp.invoke()
        results.append(np.array(interp.get_tensor(out_index)))
    return np.concatenate(results)


def run_converted(model: bytes, x: np.ndarray) -> tuple[np.ndarray, Runtime, str | None]:
    """Run float inputs ``x`` (a batch) through a converted model, sample by sample.

    Inputs are quantized and outputs dequantized with the model's own parameters. Uses the
    TFLM interpreter when it can, else the LiteRT reference kernels; returns the outputs, the
    runtime used and, when TFLM was not used, why not.
    """
    inputs, outputs = _tensor_infos(model)
    raw = _run_tflm(model, x, inputs[0], outputs[0])
    if isinstance(raw, str):
        return _dequantize(_run_litert(model, x, inputs[0], outputs[0]), outputs[0]), \
            "litert-reference", raw
    return _dequantize(raw, outputs[0]), "tflm", None


# --------------------------------------------------------------------------------------------
# Validation


def _load_validation(path: Path, sample_shape: tuple[int, ...]
                     ) -> tuple[np.ndarray, np.ndarray | None]:
    if not path.exists():
        raise DatasetError(f"validation set {path} does not exist")
    if path.suffix != ".npz":
        raise DatasetError(f"validation set {path} must be a .npz with an array 'x' "
                           "(and optionally 'y')")
    try:
        with np.load(path, allow_pickle=False) as npz:
            if "x" not in npz.files:
                raise DatasetError(f"validation set {path} has no array 'x' "
                                   f"(it has {', '.join(npz.files) or 'nothing'})")
            x_raw = np.asarray(npz["x"])
            y = np.asarray(npz["y"]) if "y" in npz.files else None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"validation set {path} is not a readable .npz file: {exc}") from None
    x = _fit_to_input(x_raw, sample_shape, what="validation set", path=path)
    if y is not None and (y.ndim == 0 or y.shape[0] != x.shape[0]):
        raise DatasetError(f"validation set {path}: x has {x.shape[0]} samples but y has "
                           f"{y.shape[0] if y.ndim else 0}")
    if y is not None and y.dtype.kind not in "biuf":
        raise DatasetError(f"validation set {path}: y has dtype {y.dtype}; expected numbers")
    return x, y


def _validate(model: bytes, source: _Source, x: np.ndarray, y: np.ndarray | None
              ) -> tuple[ValidationReport, str | None]:
    from tinyrig.validate.metrics import compare_output, is_classifier, label_metrics

    quant, runtime, why = run_converted(model, x)
    ref = source.predict(x) if source.predict is not None else None
    n = int(x.shape[0])
    q2 = quant.reshape(n, -1).astype(np.float64)
    classes = int(quant.shape[-1]) if quant.ndim > 1 else 1
    if (y is not None and classes > 1 and y.shape == (n, classes)
            and np.all((y == 0) | (y == 1)) and np.all(y.sum(axis=1) == 1)):
        y = y.argmax(axis=1)  # one-hot labels
    integer_labels = y is not None and y.ndim == 1 and (
        y.dtype.kind in "iub" or bool(np.all(np.mod(y, 1) == 0)))
    vs_ref = (compare_output(0, q2, ref.reshape(n, -1).astype(np.float64), spec_a=None,
                             spec_b=None) if ref is not None else None)
    fields: dict[str, Any] = {}
    if is_classifier(tuple(q2.shape[1:])) and (y is None or integer_labels):
        if vs_ref is not None:
            fields.update(top1_agreement=vs_ref.top1, max_abs_error=vs_ref.max_abs,
                          mean_abs_error=vs_ref.mae)
        if y is not None:
            q_labels = label_metrics(q2, y, None)
            fields["quantized_accuracy"] = q_labels.accuracy if q_labels else None
            if ref is not None:
                f_labels = label_metrics(ref.reshape(n, -1), y, None)
                fields["float_accuracy"] = f_labels.accuracy if f_labels else None
        return ValidationReport(n, "classification", runtime, **fields), why

    if vs_ref is not None:
        fields.update(max_abs_error=vs_ref.max_abs, mean_abs_error=vs_ref.mae,
                      cosine=vs_ref.cosine)
    if y is not None:
        against = label_metrics(q2, y.reshape(n, -1), None)
        if against is not None:
            fields["quantized_label_max_abs_error"] = against.max_abs
            fields["quantized_label_mean_abs_error"] = against.mae
            if ref is not None:
                float_against = label_metrics(ref.reshape(n, -1), y.reshape(n, -1), None)
                if float_against is not None:
                    fields["float_label_mean_abs_error"] = float_against.mae
    return ValidationReport(n, "regression", runtime, **fields), why


# --------------------------------------------------------------------------------------------
# Conversion


def _calibration_data(samples: np.ndarray, say: ProgressFn
                      ) -> Callable[[], Iterator[list[np.ndarray]]]:
    """The representative-dataset generator, reporting progress every ~10 %."""
    n = int(samples.shape[0])
    step = max(1, n // 10)

    def representative() -> Iterator[list[np.ndarray]]:
        for i, sample in enumerate(samples):
            if i % step == 0:
                say(f"calibrating: sample {i + 1}/{n}")
            yield [sample[np.newaxis].astype(np.float32)]

    return representative


def _requantize_tflite(tf: Any, model: bytes, quantize: Quantization, samples: np.ndarray,
                       say: ProgressFn) -> bytes:
    """Post-training quantization of a float .tflite (what the converter does internally)."""
    try:
        from tensorflow.lite.python.convert import mlir_quantize
        from tensorflow.lite.python.optimize import calibrator
        from tensorflow.lite.python.util import modify_model_io_type
    except ImportError:
        raise UnsupportedModelError(
            f"this TensorFlow ({tf.__version__}) cannot re-quantize a .tflite",
            hint="convert from the float source model (.keras, .h5 or SavedModel)") from None
    gen = _calibration_data(samples, say)
    prepared = calibrator.add_intermediate_tensors(model)
    if quantize == "int8":
        calibrated = calibrator.Calibrator(prepared).calibrate(gen)
        quantized = mlir_quantize(calibrated, input_data_type=tf.int8,
                                  output_data_type=tf.int8)
        return bytes(modify_model_io_type(quantized, tf.int8, tf.int8))
    quantized = calibrator.Calibrator(prepared).calibrate_and_quantize(
        gen, tf.int16, tf.int16, False, tf.int16, tf.int64)
    return bytes(modify_model_io_type(quantized, tf.int16, tf.int16))


def _configure(converter: Any, tf: Any, quantize: Quantization,
               samples: np.ndarray | None, say: ProgressFn) -> None:
    if quantize == "none":
        return
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
        return
    assert samples is not None
    converter.representative_dataset = _calibration_data(samples, say)
    if quantize == "int8":
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    else:  # int16x8
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
        converter.inference_input_type = tf.int16
        converter.inference_output_type = tf.int16


def _write_atomic(out: Path, data: bytes) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(out)


def convert_model(
    src: Path,
    out: Path,
    *,
    quantize: Quantization = "int8",
    representative: Path | None = None,
    calibration_samples: int = 200,
    validate: Path | None = None,
    progress: ProgressFn | None = None,
) -> ConvertReport:
    """Convert ``src`` to a TFLite flatbuffer at ``out`` and report sizes, tensors and accuracy.

    ``src``: a ``.keras`` / ``.h5`` file, a SavedModel directory, or a ``.tflite`` (a float
    ``.tflite`` can be re-quantized to ``int8``/``int16x8``; a ``.tflite`` that already has the
    requested type, or any ``.tflite`` with ``quantize="none"``, is copied unchanged).
    ``quantize``: ``int8`` (full integer, int8 input and output; the default), ``int16x8``
    (int16 activations, int8 weights), ``float16`` (float16 weights) or ``none`` (float32).
    ``representative``: calibration data for ``int8``/``int16x8`` (see :func:`load_samples`);
    at most ``calibration_samples`` of its samples are used, drawn with a fixed seed.
    ``validate``: a ``.npz`` with ``x`` (and optionally ``y``): the float model and the
    converted model (in the TFLM interpreter) are run on it and compared.
    ``progress``: called with a short description of each stage.

    Raises :class:`ConvertError` subclasses (all :class:`~tinyrig.errors.TinyrigError`) for bad
    input, and :class:`~tinyrig.errors.MissingExtraError` without TensorFlow.
    """
    started = time.perf_counter()
    src, out = Path(src), Path(out)
    say: ProgressFn = progress or (lambda _stage: None)
    if quantize not in QUANTIZATIONS:
        raise UnsupportedModelError(f"unknown quantization '{quantize}'",
                                    hint=f"choose one of {', '.join(QUANTIZATIONS)}")
    if calibration_samples < 1:
        raise DatasetError("calibration_samples must be at least 1")
    if not src.exists():
        raise ModelLoadError(f"model {src} does not exist")
    fmt = _source_format(src)
    if out.exists() and out.is_dir():
        raise UnsupportedModelError(f"output {out} is a directory; give a .tflite file path")
    if out.resolve() == src.resolve():
        raise UnsupportedModelError(f"output {out} would overwrite the source model")
    needs_calibration = quantize in ("int8", "int16x8")
    notes: list[str] = []

    say("loading model")
    source = _load_source(src, fmt)
    assert source.sample_shape is not None
    # Check the validation set before spending time on conversion.
    checks = None if validate is None else _load_validation(Path(validate), source.sample_shape)
    loaded = time.perf_counter()

    # What to do: convert a Keras/SavedModel source, re-quantize a float .tflite, or copy one.
    plan: Literal["convert", "requantize", "copy"] = "convert"
    if source.tflite is not None:
        kind = source.input_dtype
        already = {"int8": "int8", "int16": "int16x8"}.get(kind, "none")
        if quantize in ("none", already):
            plan = "copy"
        elif kind == "float32" and needs_calibration:
            plan = "requantize"
        else:
            raise UnsupportedModelError(
                f"{src} is already a TFLite model with {kind} input: it cannot be re-quantized "
                f"to {quantize}",
                hint="convert from the float source model (.keras, .h5 or SavedModel), or pass "
                     "--quantize none to copy it unchanged",
            )

    samples: np.ndarray | None = None
    used = 0
    if needs_calibration and plan != "copy":
        if representative is None:
            raise DatasetError(
                f"{quantize} quantization needs a representative set",
                hint="pass --representative data.npy: a few hundred typical inputs")
        data = _fit_to_input(load_samples(representative, sample_shape=source.sample_shape),
                             source.sample_shape, what="representative set", path=representative)
        samples = _subsample(data, calibration_samples)
        used = int(samples.shape[0])
    elif representative is not None:
        notes.append(f"the representative set was not used ({quantize}, {plan})")

    if plan == "copy":
        assert source.tflite is not None
        model = source.tflite
        notes.append(f"{src.name} is already a TFLite model ({source.input_dtype} input): "
                     "copied unchanged")
        say("copying")
    else:
        say(f"converting ({quantize})")
        tf = _import_tensorflow()
        with _captured_native_output() as capture:
            try:
                if plan == "requantize":
                    assert source.tflite is not None and samples is not None
                    model = _requantize_tflite(tf, source.tflite, quantize, samples, say)
                else:
                    assert source.make_converter is not None
                    converter = source.make_converter()
                    _configure(converter, tf, quantize, samples, say)
                    model = bytes(converter.convert())
            except ConvertError:
                raise
            except Exception as exc:
                message = _converter_message(capture, exc)
                raise ConversionFailedError(
                    f"the TFLite converter failed ({quantize}): {message}",
                    hint="ops without an int8 kernel need --quantize int16x8/none, or a "
                         "different layer" if needs_calibration else None,
                ) from None
        if plan == "requantize":
            notes.append(f"{src.name} is a float TFLite model: re-quantized to {quantize} "
                         "(the original float model is the validation reference)")
    converted = time.perf_counter()
    _write_atomic(out, model)
    inputs, outputs = _tensor_infos(model)

    validation: ValidationReport | None = None
    if checks is not None:
        say("validating: float model vs converted model")
        validation, why = _validate(model, source, *checks)
        if why is not None:
            notes.append(f"{why}: validated with the LiteRT reference kernels instead")
    validated = time.perf_counter()

    return ConvertReport(
        source=src,
        output=out,
        source_format=fmt,
        quantization=quantize,
        source_bytes=_dir_bytes(src),
        output_bytes=len(model),
        parameters=source.parameters,
        input_dtype=inputs[0].dtype,
        output_dtype=outputs[0].dtype,
        inputs=inputs,
        outputs=outputs,
        calibration_samples=used,
        timings=Timings(
            load_s=round(loaded - started, 4),
            convert_s=round(converted - loaded, 4),
            validate_s=round(validated - converted, 4),
            total_s=round(validated - started, 4),
        ),
        validation=validation,
        notes=tuple(notes),
    )
