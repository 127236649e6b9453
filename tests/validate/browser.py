"""Headless Chromium for report tests: the rendered DOM and a screenshot, decoded here (a
small PNG reader, no imaging library needed)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import numpy.typing as npt

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    browser = chromium()
    assert browser is not None
    with tempfile.TemporaryDirectory(prefix="tinyrig-chromium-") as profile:
        return subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, check=True, timeout=120)


def dump_dom(page: Path) -> str:
    return _run(["--dump-dom", page.resolve().as_uri()]).stdout


def screenshot(page: Path, out: Path, size: tuple[int, int] = (1200, 1600)) -> Path:
    _run([f"--screenshot={out}", f"--window-size={size[0]},{size[1]}", page.resolve().as_uri()])
    return out


def read_png(path: Path) -> npt.NDArray[np.uint8]:
    """A PNG as an array [h, w, channels] (decoded by TensorFlow, which the dev extra has)."""
    import tensorflow as tf

    image: npt.NDArray[np.uint8] = tf.io.decode_png(path.read_bytes()).numpy()
    return image
