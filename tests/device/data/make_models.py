"""Writes the protocol tests' models (fixed seeds; rerun with
`python tests/device/data/make_models.py`, needs tensorflow):

- many_io_float.tflite: 18 rank-4 inputs, each through a RELU to its own output: 36 I/O
  tensors, whose INFO (34 bytes each) exceeds a 1 KiB max_payload (issue 8, finding 7).
- wide_conv_int8.tflite: a two-conv int8 model whose 72x72 input and output (5184 bytes
each) exceed one frame, so it runs on the chunked SET_INPUT/INVOKE/GET_OUTPUT path, and whose
second conv may reuse the input's arena memory (TFLM plans it after the input's last use): a
device that reran INVOKE without SET_INPUT would compute on garbage."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def many_io() -> None:
    import tensorflow as tf

    inputs = [tf.keras.layers.Input((1, 1, 1), batch_size=1, name=f"in{i}") for i in range(18)]
    outputs = [tf.keras.layers.ReLU(name=f"out{i}")(x) for i, x in enumerate(inputs)]
    model = tf.keras.Model(inputs, outputs)
    out = Path(__file__).with_name("many_io_float.tflite")
    out.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    print(out, out.stat().st_size)


def wide_conv() -> None:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(7)
    model = tf.keras.Sequential([
        tf.keras.layers.Input((72, 72, 1), batch_size=1),
        tf.keras.layers.Conv2D(4, 3, padding="same", activation="relu"),
        tf.keras.layers.Conv2D(1, 3, padding="same"),
    ])
    rng = np.random.default_rng(7)

    def representative() -> object:
        for _ in range(16):
            yield [rng.uniform(-1, 1, (1, 72, 72, 1)).astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    out = Path(__file__).with_name("wide_conv_int8.tflite")
    out.write_bytes(converter.convert())
    print(out, out.stat().st_size)


if __name__ == "__main__":
    many_io()
    wide_conv()
