"""Shared helpers of the example-model training scripts (models/*/train.py).

Every script is deterministic: fixed seeds, one TensorFlow thread, op determinism on.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import zipfile
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


def _stable_object_ids(config: bytes) -> bytes:
    """Number Keras' ``shared_object_id`` values (memory addresses) 1, 2, ... in order."""
    ids: dict[bytes, bytes] = {}

    def renumber(match: re.Match[bytes]) -> bytes:
        new = ids.setdefault(match.group(1), str(len(ids) + 1).encode())
        return b'"shared_object_id": ' + new

    return re.sub(rb'"shared_object_id": (\d+)', renumber, config)


def save_keras(model: Any, path: Path) -> None:
    """``model.save(path)``, made byte-reproducible: Keras stores the save time, memory
    addresses (``shared_object_id``) and a file timestamp, which would change the committed
    ``.keras`` on every run although the model is the same."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / path.name
        model.save(raw)
        with zipfile.ZipFile(raw) as src, zipfile.ZipFile(
                path, "w", compression=zipfile.ZIP_DEFLATED) as dst:
            for name in sorted(src.namelist()):
                data = src.read(name)
                if name == "metadata.json":
                    meta = json.loads(data)
                    meta.pop("date_saved", None)
                    data = json.dumps(meta, sort_keys=True).encode()
                elif name == "config.json":
                    data = _stable_object_ids(data)
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                dst.writestr(info, data)
