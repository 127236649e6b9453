"""An example HIL suite: what a rig runs against every board, every night.

    pytest hil/examples --tinyrig-device /dev/ttyACM0 --tinyrig-model m.tflite \\
        --tinyrig-data validation.npz [--tinyrig-device rfc2217://rig-host:4000 ...]

Every test is marked ``hil``: without ``--tinyrig-device`` it is skipped with the reason, and a
device that cannot be reached skips its tests with what went wrong. CI runs it against the
emulated boards (``native``, ``qemu``) and a board behind an RFC 2217 server.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tinyrig.device import Device
from tinyrig.device.sim import SimDevice
from tinyrig.validate import ValidationReport

pytestmark = pytest.mark.hil


def test_the_board_runs_the_model(tinyrig_device: Device, tinyrig_model: Path) -> None:
    info = tinyrig_device.info()
    assert info.model_id == hashlib.sha256(tinyrig_model.read_bytes()).digest()[:8]
    assert info.model_status == 0


def test_random_inputs_are_bit_exact(tinyrig_device: Device,
                                     tinyrig_reference: SimDevice) -> None:
    rng = np.random.default_rng(2024)
    for _ in range(5):
        sample = []
        for spec in tinyrig_device.info().inputs:
            dtype = spec.dtype.numpy
            if dtype.kind in "iu":
                limits = np.iinfo(dtype.str)
                sample.append(rng.integers(limits.min, limits.max, size=spec.shape,
                                           endpoint=True, dtype=dtype))
            else:
                sample.append(rng.uniform(-1, 1, size=spec.shape).astype(dtype))
        got = tinyrig_device.infer(sample).outputs
        want = tinyrig_reference.infer(sample).outputs
        for a, b in zip(got, want, strict=True):
            assert a.dtype == b.dtype and np.array_equal(a, b)


def test_validation_set(tinyrig_validate: Callable[..., ValidationReport],
                        tinyrig_data: Path) -> None:
    report = tinyrig_validate(tinyrig_data, limit=16)
    main = report.comparison("device", "tflm")
    assert main is not None and main.exact == report.samples == 16
    assert report.passed, [c for c in report.checks if c.failed]


@pytest.mark.hardware
def test_a_real_board_reports_its_timer(tinyrig_device: Device) -> None:
    info = tinyrig_device.info()
    assert info.board and info.tick_hz > 0
