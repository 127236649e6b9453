"""Train the digits example: a small CNN on scikit-learn's bundled 8x8 handwritten digits.

The data ships inside scikit-learn (``load_digits``): no download. Writes, next to this file:

- ``digits_float.keras``   Conv2D(8) - MaxPool - Conv2D(16) - MaxPool - Dense(10, softmax)
- ``calibration.npz``      200 training images (array ``x``), float32 [200, 8, 8, 1] in [0, 1]
- ``validation.npz``       the held-out 20 % (``x`` float32 [360, 8, 8, 1], ``y`` int labels)
- ``digits_int8.tflite``   full-integer int8 model made by tinyrig's ``convert_model()``
- ``results.json``         float and int8 accuracy on the validation set

Deterministic (fixed seeds, one thread); about half a minute on one core::

    .venv/bin/python models/digits/train.py
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
EPOCHS = 60
CALIBRATION_SAMPLES = 200


def load_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stratified 80/20 split of the 1797 digits, pixels scaled from 0..16 to 0..1."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images.astype(np.float32) / 16.0)[..., np.newaxis]
    y = digits.target.astype(np.int64)
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=0.2, random_state=SEED, stratify=y)
    return x_train, y_train, x_val, y_val


def build_model() -> Any:
    import keras

    return keras.Sequential(
        [
            keras.Input(shape=(8, 8, 1), name="image"),
            keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax", name="digit"),
        ],
        name="digits",
    )


def main() -> None:
    configure_tensorflow(SEED)
    import keras

    from tinyrig.model.convert import convert_model

    x_train, y_train, x_val, y_val = load_data()
    model = build_model()
    model.compile(optimizer=keras.optimizers.Adam(0.005),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=EPOCHS, batch_size=32, verbose=0, shuffle=True)
    float_acc = float(np.mean(model.predict(x_val, verbose=0).argmax(axis=1) == y_val))
    print(f"float: validation accuracy {float_acc:.4f} ({len(y_val)} images)")

    rng = np.random.default_rng(SEED)
    x_cal = x_train[rng.choice(len(x_train), CALIBRATION_SAMPLES, replace=False)]
    save_keras(model, HERE / "digits_float.keras")
    np.savez_compressed(HERE / "calibration.npz", x=x_cal)
    np.savez_compressed(HERE / "validation.npz", x=x_val, y=y_val)

    report = convert_model(
        HERE / "digits_float.keras",
        HERE / "digits_int8.tflite",
        quantize="int8",
        representative=HERE / "calibration.npz",
        validate=HERE / "validation.npz",
    )
    v = report.validation
    assert v is not None and v.quantized_accuracy is not None
    print(f"int8: {report.output_bytes} bytes, validation accuracy {v.quantized_accuracy:.4f}, "
          f"top-1 agreement with float {v.top1_agreement:.4f} ({v.runtime})")

    write_results(HERE / "results.json", {
        "model": "digits",
        "seed": SEED,
        "validation_samples": v.samples,
        "float": {"accuracy": float_acc},
        "int8": {"accuracy": v.quantized_accuracy, "top1_agreement": v.top1_agreement,
                 "runtime": v.runtime},
        "parameters": report.parameters,
        "tflite_bytes": report.output_bytes,
    })


if __name__ == "__main__":
    main()
