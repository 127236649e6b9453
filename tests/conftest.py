"""Shared fixtures: models, built firmware images and running emulated boards.

Firmware is built once per session per target (and cached across sessions by tinyrig itself);
emulated boards are real processes running the real firmware.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[1]
SHARED_MODELS = REPO.parent / "shared" / "models"
HELLO_WORLD = SHARED_MODELS / "hello_world_int8.tflite"
SINE = REPO / "models" / "sine" / "sine_int8.tflite"

# Offline: use the pinned TFLM tarball beside the repo when the caller did not choose one.
_SHARED_TFLM = REPO.parent / "shared" / "vendor" / "tflite-micro" / "tflm-90b983c.tar.gz"
if not os.environ.get("TINYRIG_TFLM_SOURCE") and _SHARED_TFLM.is_file():
    os.environ["TINYRIG_TFLM_SOURCE"] = str(_SHARED_TFLM)


def hello_world_model() -> Path:
    if HELLO_WORLD.is_file():
        return HELLO_WORLD
    return SINE


def missing_tool_reason(target: str) -> str | None:
    """Why firmware for ``target`` cannot be built or run here, or None if it can."""
    from tinyrig.boards import board

    facts = board(target)
    needed = ["g++"] if facts.toolchain == "host" else ["arm-none-eabi-g++"]
    if facts.emulator_kind == "qemu":
        needed.append("qemu-system-arm")
    absent = [tool for tool in needed if shutil.which(tool) is None]
    if absent:
        return f"{', '.join(absent)} not installed (make system-deps installs it)"
    return None


@pytest.fixture(scope="session")
def model_path() -> Path:
    return hello_world_model()


@pytest.fixture(scope="session")
def firmware_images(model_path: Path) -> Iterator[dict[str, object]]:
    """Built lazily per target: {target: FirmwareImage}."""
    yield {}


def build_image(cache: dict[str, object], target: str, model: Path) -> object:
    """The session's hello_world image for ``target`` (shared with tests/firmware)."""
    from tests.firmware.images import HELLO_WORLD, hello_world_image

    if model != HELLO_WORLD:
        raise ValueError(f"only {HELLO_WORLD.name} images are shared, not {model.name}")
    if target not in cache:
        reason = missing_tool_reason(target)
        if reason:
            pytest.skip(reason)
        cache[target] = hello_world_image(target).image
    return cache[target]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Fail a whole-suite run when a test file under tests/ was not collected.

    pytest silently skips folders it is told to ignore (``norecursedirs`` holds ``build`` by
    default): a renamed folder or a new ignore rule must not drop tests without anyone noticing.
    Runs only when pytest collects the configured testpaths (no path or -k/-m narrowing).
    """
    config = session.config
    if config.args != [str(REPO / "tests")] and config.args != ["tests"]:
        return
    if config.getoption("keyword") or config.getoption("markexpr"):
        return
    expected = {p.resolve() for p in (REPO / "tests").rglob("test_*.py")
                if "data" not in p.relative_to(REPO / "tests").parts}
    collected = {Path(str(item.path)).resolve() for item in session.items}
    missing = sorted(str(p.relative_to(REPO)) for p in expected - collected)
    if missing:
        raise pytest.UsageError(
            "test files under tests/ that pytest did not collect (renamed folder, "
            "norecursedirs, or an import error?): " + ", ".join(missing))
