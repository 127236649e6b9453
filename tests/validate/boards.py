"""Runner firmware booted once per target for the validation tests, and data for any model."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.firmware.images import (
    REPO,
    RUNNER_BUILT_IN,
    missing_compiler,
    runner_arena,
    runner_image,
)
from tests.firmware.link import qemu_missing
from tinyrig.device.emulators import EmulatedBoard, launch_native, launch_qemu
from tinyrig.device.remote import RemoteDevice
from tinyrig.transport import SerialTransport
from tinyrig.validate import model_specs

SHARED_MODELS = REPO.parent / "shared" / "models"
EXAMPLES = sorted((REPO / "models").glob("*/*_int8.tflite"))
TARGETS = {"native": "native-runner", "qemu": "qemu-m4-runner"}


def firmware(target: str) -> Path:
    """The ELF of a runner flavour (``native-debug``, ``native-debug-perturb``, ...)."""
    from tinyrig.builder.errors import ToolchainMissingError
    from tinyrig.builder.firmware import build_firmware

    compiler = missing_compiler(target.split("-")[0] + "-runner" if target.startswith("native")
                                else "qemu-m4-runner")
    if compiler is not None:
        pytest.skip(compiler)
    try:
        return build_firmware(target, RUNNER_BUILT_IN, arena_bytes=runner_arena()).elf
    except ToolchainMissingError as exc:
        pytest.skip(f"{exc} ({exc.hint})")


@contextmanager
def runner_board(url: str) -> Iterator[EmulatedBoard]:
    """The runner firmware of ``url`` booted, with nothing connected to its UART."""
    if url == "qemu" and qemu_missing():
        pytest.skip(str(qemu_missing()))
    elf = runner_image(TARGETS[url]).elf
    board = launch_native(elf) if url == "native" else launch_qemu(elf)
    try:
        yield board
    finally:
        board.stop()


@contextmanager
def runner_device(url: str, flavour: str = "runner") -> Iterator[RemoteDevice]:
    """The runner firmware of ``url`` (native or qemu), booted from the session's image;
    ``flavour`` ``debug`` or ``debug-perturb`` boots that build instead."""
    if url == "qemu" and qemu_missing():
        pytest.skip(str(qemu_missing()))
    elf = (runner_image(TARGETS[url]).elf if flavour == "runner"
           else firmware(TARGETS[url].replace("runner", flavour)))
    board = launch_native(elf) if url == "native" else launch_qemu(elf)
    device = RemoteDevice(SerialTransport(board.uart), url=url, board=board)
    try:
        yield device
    finally:
        device.close()


def upload(device: RemoteDevice, model: Path) -> None:
    data = model.read_bytes()
    device.client.upload_model(data, hashlib.sha256(data).digest()[:8])


def random_data(model: Path, count: int, path: Path, *, seed: int = 7) -> Path:
    """``count`` seeded samples for every input of ``model`` in a .npz (x, or x0, x1...):
    integers over the whole range of integer inputs, reals in [-1, 1] for float ones."""
    inputs, _ = model_specs(model)
    rng = np.random.default_rng(seed)
    arrays = []
    for spec in inputs:
        dtype = spec.dtype.numpy
        shape = (count, *spec.shape)
        if dtype.kind in "iu":
            info = np.iinfo(dtype.str)
            arrays.append(rng.integers(info.min, info.max, size=shape, endpoint=True,
                                       dtype=dtype))
        else:
            arrays.append(rng.uniform(-1, 1, size=shape).astype(dtype))
    if len(arrays) == 1:
        np.savez(path, x=arrays[0])
    else:
        named: dict[str, Any] = {f"x{i}": a for i, a in enumerate(arrays)}
        np.savez(path, **named)
    return path
