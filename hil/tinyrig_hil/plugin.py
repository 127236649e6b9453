"""pytest plugin for HIL rigs and emulated boards.

Options:
  --device URL     a board (``/dev/ttyACM0``, ``socket://...``, ``rfc2217://...``) or an
                   emulated one (``native``, ``qemu``); also ``TINYRIG_DEVICE``.
  --hil-model M    the .tflite the board runs (checked against the board's model id).

Tests marked ``@pytest.mark.hardware`` run only when a real board URL was given, and are
skipped with the reason otherwise. The ``tinyrig_device`` fixture opens that board once per
session.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tinyrig.device import Device, build_target, open_device


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tinyrig", "tinyrig hardware-in-the-loop")
    group.addoption("--device", dest="tinyrig_device", default=None,
                    help="device URL of a board under test (default: $TINYRIG_DEVICE)")
    group.addoption("--hil-model", dest="tinyrig_model", default=None,
                    help="the .tflite the board under test runs (default: $TINYRIG_MODEL)")


def device_url(config: pytest.Config) -> str | None:
    value = config.getoption("tinyrig_device") or os.environ.get("TINYRIG_DEVICE")
    return str(value) if value else None


def is_board(url: str | None) -> bool:
    """A real board URL (not sim or an emulator)."""
    return bool(url) and url != "sim" and build_target(url or "") is None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    url = device_url(config)
    if is_board(url):
        return
    reason = ("needs a real board: pass --device /dev/ttyACM0 (or socket://, rfc2217://) "
              "or set TINYRIG_DEVICE" if url is None
              else f"--device {url} is not a real board")
    for item in items:
        if "hardware" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def tinyrig_device(request: pytest.FixtureRequest) -> Iterator[Device]:
    """The board under test, connected once for the session."""
    url = device_url(request.config)
    if url is None:
        pytest.skip("no --device given")
    model_opt = request.config.getoption("tinyrig_model") or os.environ.get("TINYRIG_MODEL")
    model = Path(str(model_opt)) if model_opt else None
    with open_device(url, model=model) as device:
        yield device
