"""Train the gesture example: a 1-D CNN on a synthetic 3-axis accelerometer task (offline).

Windows of 64 samples at 50 Hz (1.28 s) of (x, y, z) acceleration in g, four classes made
procedurally, each with a random device tilt (where gravity points), sensor noise and offsets:

====  ======  ================================================================================
0     idle    gravity, slow drift, small hand tremor and noise
1     shake   a 3-9 Hz back-and-forth oscillation of 0.25-1.5 g along a random direction
2     circle  a 0.7-2.5 Hz circular motion of 0.15-0.8 g in a random plane
3     tap     idle plus 1-3 sharp, quickly decaying 0.5-3 g impulses (the taps) at random times
====  ======  ================================================================================

Writes, next to this file:

- ``gesture_float.keras``   Conv1D(8) - MaxPool(4) - Conv1D(16) - MaxPool(4) - Dense(4, softmax)
- ``calibration.npz``       128 training windows (array ``x``, float16 [128, 64, 3])
- ``validation.npz``        240 held-out windows (``x`` float16 [240, 64, 3], ``y`` labels)
- ``gesture_int8.tflite``   full-integer int8 model made by tinyrig's ``convert_model()``
- ``results.json``          float and int8 accuracy on the validation set

Deterministic (fixed seeds, one thread); well under a minute on one core::

    .venv/bin/python models/gesture/train.py
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

from _common import configure_tensorflow, save_keras, write_results  # noqa: E402

SEED = 1234
CLASSES = ("idle", "shake", "circle", "tap")
WINDOW = 64
RATE_HZ = 50.0
TRAIN_PER_CLASS = 600
VALIDATION_PER_CLASS = 60
CALIBRATION_SAMPLES = 128
EPOCHS = 40


def _unit(rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=3)
    return v / np.linalg.norm(v)


def _plane(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    a = _unit(rng)
    b = np.cross(a, _unit(rng))
    return a, b / np.linalg.norm(b)


def make_window(label: int, rng: np.random.Generator) -> np.ndarray:
    """One (WINDOW, 3) window of class ``label`` in g."""
    t = np.arange(WINDOW) / RATE_HZ
    # Gravity: mostly "screen up" (+z) with a random tilt of up to ~35 degrees.
    gravity = np.array([0.0, 0.0, 1.0]) + rng.normal(scale=0.35, size=3)
    gravity /= np.linalg.norm(gravity)
    drift = np.outer(np.sin(2 * np.pi * rng.uniform(0.05, 0.3) * t + rng.uniform(0, 2 * np.pi)),
                     rng.normal(scale=0.03, size=3))
    w = gravity[np.newaxis, :] + drift
    # Hand tremor / small movements, present in every class (the confusable part).
    tremor_f = rng.uniform(0.5, 4.0)
    w += rng.uniform(0.0, 0.15) * np.outer(
        np.sin(2 * np.pi * tremor_f * t + rng.uniform(0, 2 * np.pi)), _unit(rng))
    if label == 1:  # shake
        f = rng.uniform(3.0, 9.0)
        amp = rng.uniform(0.25, 1.5)
        direction = _unit(rng)
        wave = np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
        wave *= 1.0 + 0.15 * rng.normal(size=WINDOW)  # uneven strokes
        w += amp * np.outer(wave, direction)
    elif label == 2:  # circle
        f = rng.uniform(0.7, 2.5)
        amp = rng.uniform(0.15, 0.8)
        a, b = _plane(rng)
        phase = 2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)
        w += amp * (np.outer(np.cos(phase), a) + np.outer(np.sin(phase), b))
    elif label == 3:  # tap
        for _ in range(rng.integers(1, 4)):
            at = rng.integers(2, WINDOW - 6)
            peak = rng.uniform(0.5, 3.0)
            decay = np.exp(-np.arange(6) / rng.uniform(0.6, 1.5))
            ring = decay * np.cos(np.pi * np.arange(6) * rng.uniform(0.6, 1.0))
            direction = np.array([0.0, 0.0, 1.0]) + rng.normal(scale=0.3, size=3)
            direction /= np.linalg.norm(direction)
            w[at:at + 6] += peak * np.outer(ring, direction)
    w += rng.normal(scale=rng.uniform(0.03, 0.15), size=w.shape)  # sensor noise
    w += rng.normal(scale=0.02, size=3)  # per-axis offset
    return w.astype(np.float32)


def make_set(per_class: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    labels = np.repeat(np.arange(len(CLASSES)), per_class)
    rng.shuffle(labels)
    x = np.stack([make_window(int(label), rng) for label in labels])
    return x, labels.astype(np.int64)


def build_model() -> Any:
    import keras

    return keras.Sequential(
        [
            keras.Input(shape=(WINDOW, 3), name="accel"),
            keras.layers.Conv1D(8, 5, padding="same", activation="relu"),
            keras.layers.MaxPooling1D(4),
            keras.layers.Conv1D(16, 5, padding="same", activation="relu"),
            keras.layers.MaxPooling1D(4),
            keras.layers.Flatten(),
            keras.layers.Dense(len(CLASSES), activation="softmax", name="gesture"),
        ],
        name="gesture",
    )


def main() -> None:
    configure_tensorflow(SEED)
    import keras

    from tinyrig.model.convert import convert_model

    rng = np.random.default_rng(SEED)
    x_train, y_train = make_set(TRAIN_PER_CLASS, rng)
    x_val, y_val = make_set(VALIDATION_PER_CLASS, rng)
    x_val = x_val.astype(np.float16)  # what is committed; float16 keeps the file small
    x_cal = x_train[rng.choice(len(x_train), CALIBRATION_SAMPLES, replace=False)]

    model = build_model()
    model.compile(optimizer=keras.optimizers.Adam(0.005),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=EPOCHS, batch_size=64, verbose=0, shuffle=True)
    pred = model.predict(x_val.astype(np.float32), verbose=0).argmax(axis=1)
    float_acc = float(np.mean(pred == y_val))
    print(f"float: validation accuracy {float_acc:.4f} ({len(y_val)} windows)")

    save_keras(model, HERE / "gesture_float.keras")
    np.savez_compressed(HERE / "calibration.npz", x=x_cal.astype(np.float16))
    np.savez_compressed(HERE / "validation.npz", x=x_val, y=y_val)

    report = convert_model(
        HERE / "gesture_float.keras",
        HERE / "gesture_int8.tflite",
        quantize="int8",
        representative=HERE / "calibration.npz",
        validate=HERE / "validation.npz",
    )
    v = report.validation
    assert v is not None and v.quantized_accuracy is not None
    print(f"int8: {report.output_bytes} bytes, validation accuracy {v.quantized_accuracy:.4f}, "
          f"top-1 agreement with float {v.top1_agreement:.4f} ({v.runtime})")

    write_results(HERE / "results.json", {
        "model": "gesture",
        "seed": SEED,
        "classes": list(CLASSES),
        "validation_samples": v.samples,
        "float": {"accuracy": float_acc},
        "int8": {"accuracy": v.quantized_accuracy, "top1_agreement": v.top1_agreement,
                 "runtime": v.runtime},
        "parameters": report.parameters,
        "tflite_bytes": report.output_bytes,
    })


if __name__ == "__main__":
    main()
