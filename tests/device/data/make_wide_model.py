"""Writes wide_conv_int8.tflite: a two-conv int8 model whose 72x72 input and output (5184 bytes
each) exceed one frame, so it runs on the chunked SET_INPUT/INVOKE/GET_OUTPUT path, and whose
second conv may reuse the input's arena memory (TFLM plans it after the input's last use): a
device that reran INVOKE without SET_INPUT would compute on garbage. Fixed seeds; rerun with
`python tests/device/data/make_wide_model.py` (needs tensorflow)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def main() -> None:
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
    main()
