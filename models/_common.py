"""Shared helpers of the example-model training scripts (models/*/train.py).

Every script is deterministic: fixed seeds, one TensorFlow thread, op determinism on.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# The build machines are shared: keep TensorFlow to one thread each way.
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")


def configure_tensorflow(seed: int) -> Any:
    """Import TensorFlow quietly with one thread, seed everything, return the module."""
    import absl.logging
    import tensorflow as tf

    absl.logging.set_verbosity(absl.logging.ERROR)
    tf.get_logger().setLevel("ERROR")
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    return tf


def quantize_input(x: np.ndarray, scale: float, zero_point: int, dtype: type) -> np.ndarray:
    """Quantize float values the way the model's input tensor expects them."""
    info = np.iinfo(dtype)
    q = np.round(x / scale) + zero_point
    return np.clip(q, info.min, info.max).astype(dtype)


def write_results(path: Path, results: dict[str, Any]) -> None:
    """Write a script's measured numbers (read by models/README.md and bench)."""
    path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
