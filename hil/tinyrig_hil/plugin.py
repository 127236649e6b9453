"""pytest plugin for HIL rigs and emulated boards (installed with tinyrig).

Options (each also read from the environment):
  --tinyrig-device URL   a board (``/dev/ttyACM0``, ``socket://...``, ``rfc2217://...``) or an
                         emulated one (``native``, ``qemu``); repeatable: every ``hil`` test
                         runs once per device. ``TINYRIG_DEVICE`` (comma-separated).
  --tinyrig-model M      the .tflite the boards run (uploaded to runner firmware, built into
                         emulated firmware). ``TINYRIG_MODEL``.
  --tinyrig-runner       emulated boards boot the runner firmware and take the model over the
                         link (one firmware for every model).
  --tinyrig-report DIR   where ``tinyrig_validate`` writes its reports (one folder per device).
  --tinyrig-data D       validation data for ``tinyrig_data``. ``TINYRIG_DATA``.

Markers: ``hil`` (needs a device; skipped with the reason when none is given or it cannot be
reached) and ``hardware`` (needs a real board, not an emulator). Fixtures: ``tinyrig_device``
(the connected device, one per ``--tinyrig-device``), ``tinyrig_model``, ``tinyrig_reference``
(the host TFLM running the same model) and ``tinyrig_validate`` (runs
:func:`tinyrig.validate.validate` on the device).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tinyrig.device import Device, build_target, open_device
from tinyrig.device.sim import SimDevice
from tinyrig.errors import TinyrigError
from tinyrig.validate import ValidationReport, validate
from tinyrig.validate.data import Dataset
from tinyrig.validate.run import load_dataset
from tinyrig_hil.locks import BoardLock

NO_DEVICE = ("needs a device: pass --tinyrig-device URL (native, qemu, /dev/ttyACM0, "
             "socket://, rfc2217://) or set TINYRIG_DEVICE")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tinyrig", "tinyrig hardware-in-the-loop")
    group.addoption("--tinyrig-device", dest="tinyrig_devices", action="append", default=[],
                    metavar="URL", help="device under test (repeatable; default: "
                                        "$TINYRIG_DEVICE, comma-separated)")
    group.addoption("--tinyrig-model", dest="tinyrig_model", default=None, metavar="M",
                    help="the .tflite the devices run (default: $TINYRIG_MODEL)")
    group.addoption("--tinyrig-runner", dest="tinyrig_runner", action="store_true",
                    help="emulated boards: runner firmware, model uploaded over the link")
    group.addoption("--tinyrig-report", dest="tinyrig_report", default=None, metavar="DIR",
                    help="directory for the reports of tinyrig_validate")
    group.addoption("--tinyrig-data", dest="tinyrig_data", default=None, metavar="D",
                    help="validation data for the model (default: $TINYRIG_DATA)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "hil: needs a device under test (--tinyrig-device URL)")
    config.addinivalue_line("markers", "hardware: needs a real board, not an emulator "
                                       "(--tinyrig-device /dev/ttyACM0)")
    # pytest-xdist registers it too; without xdist the marker is inert.
    config.addinivalue_line("markers", "xdist_group(name): run these tests on one xdist worker")


def device_urls(config: pytest.Config) -> list[str]:
    given = [str(u) for u in config.getoption("tinyrig_devices") or []]
    if not given:
        given = [u.strip() for u in os.environ.get("TINYRIG_DEVICE", "").split(",") if u.strip()]
    return given


def device_url(config: pytest.Config) -> str | None:
    """The first device given (None without one)."""
    urls = device_urls(config)
    return urls[0] if urls else None


def is_board(url: str | None) -> bool:
    """A real board URL (not sim or an emulator)."""
    return bool(url) and url != "sim" and build_target(url or "") is None


def model_path(config: pytest.Config) -> Path | None:
    value = config.getoption("tinyrig_model") or os.environ.get("TINYRIG_MODEL")
    return Path(str(value)) if value else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _group_by_device(items)
    urls = device_urls(config)
    boards = [u for u in urls if is_board(u)]
    for item in items:
        if item.get_closest_marker("hardware") is not None and not boards:
            reason = ("needs a real board: pass --tinyrig-device /dev/ttyACM0 (or socket://, "
                      "rfc2217://) or set TINYRIG_DEVICE" if not urls else
                      f"needs a real board; {', '.join(urls)} are emulated")
            item.add_marker(pytest.mark.skip(reason=reason))
        elif item.get_closest_marker("hil") is not None and not urls:
            item.add_marker(pytest.mark.skip(reason=NO_DEVICE))


def _group_by_device(items: list[pytest.Item]) -> None:
    """With pytest-xdist (``--dist loadgroup``) every test of one device runs on one worker:
    boards run in parallel, each driven by one process."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        url = callspec.params.get("tinyrig_device") if callspec is not None else None
        if url:
            item.add_marker(pytest.mark.xdist_group(name=re.sub(r"[^A-Za-z0-9_]+", "_", url)))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "tinyrig_device" not in metafunc.fixturenames:
        return
    urls = device_urls(metafunc.config)
    if metafunc.definition.get_closest_marker("hardware") is not None:
        urls = [u for u in urls if is_board(u)]
    ids = [re.sub(r"[^A-Za-z0-9_.-]+", "_", u) for u in urls]
    metafunc.parametrize("tinyrig_device", urls or [None], indirect=True, ids=ids or None,
                         scope="session")


class _Devices:
    """Devices opened once per session, by URL; a URL that failed is not retried. Real boards
    are locked while open (one lock file per board, see :mod:`tinyrig_hil.locks`)."""

    def __init__(self) -> None:
        self.open: dict[str, Device] = {}
        self.failed: dict[str, str] = {}
        self.locks: list[BoardLock] = []

    def get(self, url: str, model: Path | None, runner: bool) -> Device:
        if url in self.failed:
            pytest.skip(self.failed[url])
        if url not in self.open:
            try:
                if is_board(url):
                    lock = BoardLock(url)
                    lock.acquire()
                    self.locks.append(lock)
                self.open[url] = open_device(url, model=model, runner=runner)
            except TinyrigError as exc:
                self.failed[url] = f"{url} cannot be used: {exc.message}" + (
                    f" ({exc.hint})" if exc.hint else "")
                pytest.skip(self.failed[url])
        return self.open[url]

    def close(self) -> None:
        for device in self.open.values():
            device.close()
        self.open.clear()
        for lock in self.locks:
            lock.release()
        self.locks.clear()


@pytest.fixture(scope="session")
def _tinyrig_devices() -> Iterator[_Devices]:
    devices = _Devices()
    yield devices
    devices.close()


@pytest.fixture(scope="session")
def tinyrig_model(request: pytest.FixtureRequest) -> Path:
    """The model the devices run (--tinyrig-model); skips without one."""
    model = model_path(request.config)
    if model is None:
        pytest.skip("needs a model: pass --tinyrig-model M.tflite or set TINYRIG_MODEL")
    return model


@pytest.fixture(scope="session")
def tinyrig_data(request: pytest.FixtureRequest) -> Path:
    """The validation data (--tinyrig-data); skips without it."""
    value = request.config.getoption("tinyrig_data") or os.environ.get("TINYRIG_DATA")
    if not value:
        pytest.skip("needs validation data: pass --tinyrig-data D.npz or set TINYRIG_DATA")
    return Path(str(value))


@pytest.fixture(scope="session")
def tinyrig_device(request: pytest.FixtureRequest, _tinyrig_devices: _Devices) -> Device:
    """The device under test, connected once per session and URL."""
    url = getattr(request, "param", None) or device_url(request.config)
    if url is None:
        pytest.skip(NO_DEVICE)
    return _tinyrig_devices.get(str(url), model_path(request.config),
                                bool(request.config.getoption("tinyrig_runner")))


@pytest.fixture(scope="session")
def tinyrig_reference(tinyrig_model: Path) -> SimDevice:
    """The host TFLM running the model: what the device must match bit for bit."""
    return SimDevice(tinyrig_model)


@pytest.fixture()
def tinyrig_validate(request: pytest.FixtureRequest, tinyrig_device: Device,
                     tinyrig_model: Path, tmp_path: Path
                     ) -> Callable[..., ValidationReport]:
    """``tinyrig_validate(data, labels=None, limit=None, **options)``: validate the model on
    the device; reports go to --tinyrig-report/<device>/<test> (else a temporary folder)."""
    base = request.config.getoption("tinyrig_report")
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{tinyrig_device.url}/{request.node.name}")
    folder = Path(str(base)) / safe if base else tmp_path / "report"

    def run(data: Path | Dataset, *, labels: Path | None = None, limit: int | None = None,
            **options: Any) -> ValidationReport:
        dataset = (data if isinstance(data, Dataset)
                   else load_dataset(tinyrig_model, Path(data), labels, limit=limit))
        return validate(tinyrig_device, tinyrig_model, dataset, report_dir=folder, **options)

    return run
