#!/usr/bin/env python3
"""Make ``branchy_int8.tflite``: a small int8 CNN with skip connections and a two-branch block
(an Inception/U-Net-like shape), the graph kind where TFLM's greedy-by-size planner leaves gaps
that an exact offline plan closes. Untrained (seeded random weights): it exists to measure
memory plans, not accuracy.

Usage: python bench/models/make_branchy.py  (writes bench/models/branchy_int8.tflite)
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

OUT = Path(__file__).resolve().parent / "branchy_int8.tflite"


def build() -> bytes:
    import numpy as np
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    layers = tf.keras.layers
    x_in = tf.keras.Input(shape=(32, 32, 2), batch_size=1)
    e1 = layers.Conv2D(6, 3, padding="same", activation="relu")(x_in)      # 32x32x6
    e2 = layers.Conv2D(20, 3, strides=2, padding="same", activation="relu")(e1)  # 16x16x20
    e3 = layers.Conv2D(40, 3, strides=2, padding="same", activation="relu")(e2)  # 8x8x40
    mid = layers.Conv2D(12, 3, strides=2, padding="same", activation="relu")(e3)  # 4x4x12
    u3 = layers.Resizing(8, 8, interpolation="nearest")(mid)
    d3 = layers.Conv2D(40, 3, padding="same", activation="relu")(u3)
    d3 = layers.Add()([d3, e3])
    u2 = layers.Resizing(16, 16, interpolation="nearest")(layers.Conv2D(20, 1)(d3))
    d2 = layers.Concatenate()([u2, e2])
    d2 = layers.Conv2D(6, 3, padding="same", activation="relu")(d2)
    u1 = layers.Resizing(32, 32, interpolation="nearest")(d2)
    d1 = layers.Add()([u1, e1])
    head = layers.Conv2D(2, 3, strides=4, padding="same")(d1)
    out = layers.Dense(4, activation="softmax")(layers.Flatten()(head))
    model = tf.keras.Model(x_in, out)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    rng = np.random.default_rng(0)
    converter.representative_dataset = lambda: (
        [rng.uniform(0, 1, (1, 32, 32, 2)).astype("float32")] for _ in range(8))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    data: bytes = converter.convert()
    return data


if __name__ == "__main__":
    OUT.write_bytes(build())
    print(f"wrote {OUT}")
