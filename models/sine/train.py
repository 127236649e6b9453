"""Train the sine example: a tiny regressor for y = sin(x), x in [0, 2π] (like TFLM's hello_world).

Writes, next to this file (all a few KB):

- ``sine_float.keras``   the float Keras model (Dense 16 relu - Dense 16 relu - Dense 1)
- ``calibration.npy``    representative set for int8 calibration, float32 [200, 1]
- ``validation.npz``     ``x`` float32 [256, 1] evenly spaced over [0, 2π], ``y = sin(x)``
- ``sine_int8.tflite``   full-integer int8 model made by tinyrig's own ``convert_model()``
- ``demo_inputs.npy``    8 x values quantized to the model's int8 input, int8 [8, 1]

Deterministic: fixed seeds, one thread. Runs in well under a minute on one core::

    .venv/bin/python models/sine/train.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # models/_common.py

from _common import configure_tensorflow, quantize_input, save_keras, write_results  # noqa: E402

SEED = 1234
TRAIN_SAMPLES = 2000
CALIBRATION_SAMPLES = 200
VALIDATION_SAMPLES = 256
EPOCHS = 300
# The x values the demo sends to the board (also listed in models/README.md).
DEMO_X = np.array([0.0, 0.5, 1.0, 1.5707964, 2.5, 3.1415927, 4.712389, 6.0], dtype=np.float32)


def build_model() -> Any:
    import keras

    return keras.Sequential(
        [
            keras.Input(shape=(1,), name="x"),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(1, name="y"),
        ],
        name="sine",
    )


def main() -> None:
    tf = configure_tensorflow(SEED)
    import keras

    from tinyrig.model.convert import convert_model

    rng = np.random.default_rng(SEED)
    x_train = rng.uniform(0.0, 2 * np.pi, size=(TRAIN_SAMPLES, 1)).astype(np.float32)
    y_train = np.sin(x_train).astype(np.float32)
    x_cal = rng.uniform(0.0, 2 * np.pi, size=(CALIBRATION_SAMPLES, 1)).astype(np.float32)
    x_val = np.linspace(0.0, 2 * np.pi, VALIDATION_SAMPLES, dtype=np.float32).reshape(-1, 1)
    y_val = np.sin(x_val).astype(np.float32)

    model = build_model()
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    model.fit(x_train, y_train, epochs=EPOCHS, batch_size=64, verbose=0, shuffle=True)
    pred = np.asarray(model.predict(x_val, verbose=0))
    float_err = np.abs(pred - y_val)
    print(f"float: max abs error {float_err.max():.4f}, mean abs error {float_err.mean():.4f}")

    save_keras(model, HERE / "sine_float.keras")
    np.save(HERE / "calibration.npy", x_cal)
    np.savez(HERE / "validation.npz", x=x_val, y=y_val)

    report = convert_model(
        HERE / "sine_float.keras",
        HERE / "sine_int8.tflite",
        quantize="int8",
        representative=HERE / "calibration.npy",
        validate=HERE / "validation.npz",
    )
    v = report.validation
    assert v is not None
    print(f"int8: {report.output_bytes} bytes, vs float max abs {v.max_abs_error:.4f}, "
          f"vs sin(x) max abs {v.quantized_label_max_abs_error:.4f} "
          f"mean abs {v.quantized_label_mean_abs_error:.4f} ({v.runtime})")

    inp = report.inputs[0]
    demo = quantize_input(DEMO_X.reshape(-1, 1), inp.scale, inp.zero_point, np.int8)
    np.save(HERE / "demo_inputs.npy", demo)
    print(f"demo inputs (int8, scale {inp.scale:.6g}, zero point {inp.zero_point}): "
          f"{demo.ravel().tolist()}")

    write_results(HERE / "results.json", {
        "model": "sine",
        "seed": SEED,
        "float": {"max_abs_error": float(float_err.max()),
                  "mean_abs_error": float(float_err.mean())},
        "int8": {"max_abs_error": v.quantized_label_max_abs_error,
                 "mean_abs_error": v.quantized_label_mean_abs_error,
                 "max_abs_error_vs_float": v.max_abs_error,
                 "cosine_vs_float": v.cosine,
                 "runtime": v.runtime},
        "tflite_bytes": report.output_bytes,
        "validation_samples": v.samples,
    })
    del tf


if __name__ == "__main__":
    main()
