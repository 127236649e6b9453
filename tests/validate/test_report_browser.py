"""The HTML report rendered by a real browser (headless Chromium): the DOM text people read and
a screenshot that is not blank. The report comes from a real run on the native firmware."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from tests.firmware.images import REPO
from tests.validate.boards import runner_device, upload
from tests.validate.browser import chromium, dump_dom, read_png, screenshot
from tinyrig.validate import load_dataset, validate

DIGITS = REPO / "models" / "digits"


@pytest.fixture(scope="module")
def report_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if chromium() is None:
        pytest.skip("chromium is not installed (apt-get install chromium; group test of "
                    "host/tinyrig/system_packages.txt)")
    folder = tmp_path_factory.mktemp("report")
    model = DIGITS / "digits_int8.tflite"
    with runner_device("native") as device:
        upload(device, model)
        dataset = load_dataset(model, DIGITS / "validation.npz", limit=40)
        report = validate(device, model, dataset, float_model=DIGITS / "digits_float.keras",
                          report_dir=folder, checks=["exact<1", "accuracy<0.5"])
    assert report.passed
    return Path(report.files["html"])


def test_the_report_renders_what_people_read(report_html: Path) -> None:
    html = report_html.read_text()
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<script" not in html and "https://" not in html  # self-contained, no network
    dom = dump_dom(report_html)
    text = re.sub(r"<[^>]+>", " ", dom)
    text = re.sub(r"\s+", " ", text)
    assert 'id="verdict">PASS<' in dom
    assert "tinyrig validate: digits_int8.tflite on native" in text
    assert "bit-exact with host TFLM 40/40" in text
    for heading in ("Per-output metrics", "Error histograms", "Confusion matrices",
                    "Per-op latency (PROFILE)", "Against the labels", "Checks"):
        assert heading in text, heading
    assert "device vs tflm" in text and "tflm vs litert" in text and "device vs float" in text
    assert dom.count("<svg") >= 3  # step histograms and the per-op chart


def test_the_screenshot_is_not_blank(report_html: Path, tmp_path: Path) -> None:
    image = read_png(screenshot(report_html, tmp_path / "report.png"))
    height, width = image.shape[:2]
    assert (height, width) == (1600, 1200)
    rgb = image[..., :3].reshape(-1, 3)
    colors = np.unique(rgb, axis=0)
    assert len(colors) > 50  # text, the green badge, blue bars
    non_white = np.mean(np.any(rgb < 240, axis=1))
    assert 0.01 < non_white < 0.9
    green_badge = np.any((rgb[:, 0] < 60) & (rgb[:, 1] > 100) & (rgb[:, 2] < 80))
    blue_bars = np.any((rgb[:, 0] < 30) & (rgb[:, 1] > 80) & (rgb[:, 1] < 130)
                       & (rgb[:, 2] > 190))
    assert green_badge and blue_bars
